"""lmkit.generate: the sampling distribution, greedy/temperature/top-k sampling, seeds, errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmkit import set_seed
from lmkit.generate import greedy, next_token_distribution, sample, sample_text, top_k_filter
from lmkit.models import RNNLM, FixedWindowLM, RNNConfig, WindowConfig
from lmkit.text import Vocab

pytestmark = pytest.mark.usefixtures("one_thread")


V = 15


@pytest.fixture
def rnn():
    set_seed(0)
    model = RNNLM(RNNConfig(vocab_size=V, embed_dim=8, hidden_size=16))
    with torch.no_grad():  # sharper than an untrained model, so greedy and sampling differ
        model.output.weight.mul_(8)
    return model


@pytest.fixture
def window():
    set_seed(0)
    return FixedWindowLM(WindowConfig(vocab_size=V, window=3, embed_dim=4, hidden_dim=8))


class Constant(nn.Module):
    """A fixed-window "model" (k = 1) whose next-token logits never change."""

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(torch.as_tensor(logits, dtype=torch.float32))
        self.config = WindowConfig(vocab_size=len(logits), window=1)

    def forward(self, context):
        return self.logits.expand(context.shape[0], -1)


# ------------------------------------------------------------------------------------------------
# The distribution

@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0, 2.0, 10.0])
def test_temperature_divides_the_logits_before_the_softmax(temperature):
    logits = torch.randn(4, V)
    probs = next_token_distribution(logits, temperature)
    assert torch.allclose(probs, torch.softmax(logits / temperature, -1))
    assert torch.allclose(probs.sum(-1), torch.ones(4))
    # written out: p_i = exp(z_i / τ) / Σ_j exp(z_j / τ)
    z = logits[0].double()
    manual = [math.exp(v / temperature) for v in z.tolist()]
    assert probs[0].tolist() == pytest.approx([m / sum(manual) for m in manual], rel=1e-4)


def test_low_temperature_sharpens_and_high_temperature_flattens():
    logits = torch.tensor([2.0, 1.0, 0.5, -1.0])
    peak = [float(next_token_distribution(logits, t).max()) for t in (0.25, 0.5, 1.0, 2.0, 8.0)]
    assert all(a > b for a, b in zip(peak, peak[1:], strict=False))
    assert peak[0] > 0.95 and abs(peak[-1] - 0.25) < 0.05


def test_temperature_zero_and_top_1_put_all_mass_on_the_argmax():
    logits = torch.randn(6, V)
    best = logits.argmax(-1)
    for probs in (next_token_distribution(logits, 0.0),
                  next_token_distribution(logits, 1.0, top_k=1),
                  next_token_distribution(logits, 3.0, top_k=1)):
        assert torch.equal(probs, F.one_hot(best, V).float())


def test_top_k_keeps_exactly_k_tokens_renormalised():
    logits = torch.randn(5, V)
    for k in (1, 3, V, V + 4):
        probs = next_token_distribution(logits, 1.0, top_k=k)
        kept = probs > 0
        assert (kept.sum(-1) == min(k, V)).all()
        top = torch.topk(logits, min(k, V), dim=-1).indices
        assert kept.gather(1, top).all()
        expected = torch.softmax(logits.gather(1, top), -1)
        assert torch.allclose(probs.gather(1, top), expected)
    ties = torch.zeros(V)  # all tied: still exactly k survive
    assert int((top_k_filter(ties, 4) > -math.inf).sum()) == 4


@pytest.mark.parametrize(("kwargs", "exc", "msg"), [
    ({"temperature": -0.5}, ValueError, ">= 0"),
    ({"temperature": math.inf}, ValueError, "finite"),
    ({"temperature": "hot"}, TypeError, "number"),
    ({"top_k": 0}, ValueError, "top_k must be >= 1"),
    ({"top_k": 2.0}, TypeError, "top_k must be an int"),
])
def test_distribution_rejects_bad_settings(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        next_token_distribution(torch.randn(V), **kwargs)


def test_distribution_rejects_bad_logits():
    with pytest.raises(TypeError, match="floating-point"):
        next_token_distribution(torch.arange(5))
    with pytest.raises(ValueError, match="NaN"):
        next_token_distribution(torch.tensor([0.0, math.nan]))
    with pytest.raises(ValueError, match="last dimension"):
        next_token_distribution(torch.zeros(3, 0))


# ------------------------------------------------------------------------------------------------
# Sampling from models

def manual_greedy(model, prompt, n):
    """Greedy decoding the slow way: rerun the whole prefix, no state carried."""
    ids = list(prompt)
    model.eval()
    with torch.no_grad():
        for _ in range(n):
            logits, _ = model(torch.tensor([ids]))
            ids.append(int(logits[0, -1].argmax()))
    return ids[len(prompt):]


def test_greedy_is_the_argmax_at_every_step_with_the_state_carried(rnn):
    prompt = [3, 1, 4]
    expected = manual_greedy(rnn, prompt, 25)
    assert greedy(rnn, prompt, 25) == expected
    assert sample(rnn, prompt, 25, temperature=0) == expected
    assert sample(rnn, prompt, 25, temperature=1e-4, seed=5) == expected
    assert sample(rnn, prompt, 25, top_k=1, seed=7) == expected
    assert sample(rnn, prompt, 25, temperature=1.0, seed=0) != expected


def test_top_k_never_samples_outside_the_k_most_likely(rnn):
    prompt, k = [2], 3
    for seed in range(8):
        out = sample(rnn, prompt, 40, temperature=2.0, top_k=k, seed=seed)
        full = torch.tensor([prompt + out])
        with torch.no_grad():
            logits, _ = rnn(full[:, :-1])
        positions = range(len(prompt) - 1, full.shape[1] - 1)
        for p, token in zip(positions, out, strict=True):
            assert token in torch.topk(logits[0, p], k).indices.tolist()


def test_same_seed_same_text_different_seed_different_text(rnn):
    a = sample(rnn, [0, 1], 60, temperature=1.5, seed=11)
    assert sample(rnn, [0, 1], 60, temperature=1.5, seed=11) == a
    assert sample(rnn, [0, 1], 60, temperature=1.5, seed=12) != a
    state = torch.random.get_rng_state()
    sample(rnn, [0, 1], 10, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator is untouched


def test_samples_follow_the_tempered_distribution():
    logits = [2.0, 1.0, 0.0, -1.0]
    model = Constant(logits)
    n = 2500
    for temperature in (0.5, 2.0):
        out = sample(model, [0], n, temperature=temperature, seed=1)
        freq = torch.bincount(torch.tensor(out), minlength=4).double() / n
        p = torch.softmax(torch.tensor(logits, dtype=torch.double) / temperature, -1)
        assert torch.allclose(freq, p, atol=4 * math.sqrt(0.25 / n)), (freq, p)


def test_window_model_uses_the_last_k_tokens_and_pads_short_prompts(window):
    prompt = [5, 6, 7, 8]
    out = greedy(window, prompt, 12)
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(12):
            ids.append(int(window(torch.tensor([ids[-3:]]))[0].argmax()))
    assert out == ids[4:]
    short = greedy(window, [5], 6, pad_id=0)
    with torch.no_grad():
        first = int(window(torch.tensor([[0, 0, 5]]))[0].argmax())
    assert short[0] == first
    with pytest.raises(ValueError, match="pad_id"):
        sample(window, [5], 3)
    assert len(sample(window, [], 4, pad_id=0, seed=0)) == 4


def test_stop_id_ends_the_sample_and_is_not_included(rnn):
    out = greedy(rnn, [1], 30)
    stop = out[4]
    first = out.index(stop)
    assert greedy(rnn, [1], 30, stop_id=stop) == out[:first]
    assert sample(rnn, [1], 0) == []


def test_sampling_runs_in_eval_mode_and_restores_the_mode():
    set_seed(0)
    model = RNNLM(RNNConfig(vocab_size=V, embed_dim=8, hidden_size=16, dropout=0.5))
    model.train()
    a, b = greedy(model, [1, 2], 20), greedy(model, [1, 2], 20)
    assert a == b and model.training


def test_sample_text_encodes_samples_and_decodes(rnn):
    vocab = Vocab(list("abcdefghijklm"), specials=["<unk>", "\n"])
    assert len(vocab) == V
    text = sample_text(rnn, vocab, "abc", 30, temperature=0.7, seed=4)
    ids = sample(rnn, vocab.encode(list("abc")), 30, temperature=0.7, seed=4)
    assert len(ids) == 30 and text == "".join(vocab.decode(ids))
    stop = vocab.itos[ids[5]]
    stopped = sample_text(rnn, vocab, "abc", 30, temperature=0.7, seed=4, stop=stop)
    assert stopped == "".join(vocab.decode(ids[:ids.index(ids[5])]))
    with pytest.raises(ValueError, match="not in the vocabulary"):
        sample_text(rnn, vocab, "abc", 5, stop="z")


@pytest.mark.parametrize(("call", "exc", "msg"), [
    (lambda m: sample(m, [], 5), ValueError, "prompt is empty"),
    (lambda m: sample(m, "abc", 5), TypeError, "encode it first"),
    (lambda m: sample(m, [1, V], 5), ValueError, f"id {V}, outside"),
    (lambda m: sample(m, [1.0], 5), TypeError, "int token ids"),
    (lambda m: sample(m, [1], -1), ValueError, "max_tokens"),
    (lambda m: sample(m, [1], 5, temperature=-1), ValueError, ">= 0"),
    (lambda m: sample(m, [1], 5, top_k=0), ValueError, "top_k"),
    (lambda m: sample(m, [1], 5, seed=1.5), TypeError, "seed"),
    (lambda m: sample("model", [1], 5), TypeError, "nn.Module"),
    (lambda m: sample(nn.Sequential(nn.Embedding(V, 4), nn.Linear(4, V)), [1], 5), TypeError,
     "neither a recurrent"),
])
def test_sample_rejects_bad_input(rnn, call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(rnn)
