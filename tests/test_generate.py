"""lmkit.generate: the sampling distribution, greedy/temperature/top-k sampling, seeds, errors."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmkit import set_seed
from lmkit.generate import next_token_distribution, top_k_filter
from lmkit.models import RNNLM, FixedWindowLM, RNNConfig, WindowConfig
from lmkit.models.neural import NeuralLM
from lmkit.text import Vocab

pytestmark = pytest.mark.usefixtures("one_thread")


V = 15


@pytest.fixture
def rnn():
    set_seed(0)
    model = RNNLM(RNNConfig(vocab_size=V, embed_dim=8, hidden_size=16), vocab=VOCAB)
    with torch.no_grad():  # sharper than an untrained model, so greedy and sampling differ
        model.output.weight.mul_(8)
    return model


@pytest.fixture
def window():
    set_seed(0)
    return FixedWindowLM(WindowConfig(vocab_size=V, window=3, embed_dim=4, hidden_dim=8),
                         vocab=VOCAB)


class Constant(NeuralLM):
    """A window "model" (k = 1) whose next-token logits never change: a learner's own model
    joins the contract by subclassing NeuralLM and declaring its kind."""

    recurrent, context_size = False, 1

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(torch.as_tensor(logits, dtype=torch.float32))
        self._set_vocab(VOCAB, None, len(logits))

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
    ({"top_k": 0}, ValueError, "top_k must be an int >= 1"),
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
# Sampling from models through the contract's generate (see also tests/test_lm_contract.py)

VOCAB = Vocab(list("abcdefghijklm"), specials=["<unk>", "</s>"])
assert len(VOCAB) == V


def ids(tokens):
    return VOCAB.encode(tokens)


def manual_greedy(model, prompt, n):
    """Greedy decoding the slow way: rerun the whole text from its start, no state carried."""
    seq = [VOCAB["</s>"]] + ids(prompt)
    model.eval()
    with torch.no_grad():
        for _ in range(n):
            logits, _ = model(torch.tensor([seq]))
            seq.append(int(logits[0, -1].argmax()))
    return VOCAB.decode(seq[1 + len(prompt):])


def test_greedy_is_the_argmax_at_every_step_with_the_state_carried(rnn):
    prompt = list("dbe")
    expected = manual_greedy(rnn, prompt, 25)
    if "</s>" in expected:  # generate stops there
        expected = expected[:expected.index("</s>")]
    assert rnn.generate(1, 25, prompt=prompt, temperature=0)[0] == expected
    assert rnn.generate(1, 25, prompt=prompt, temperature=1e-4, seed=5)[0] == expected
    assert rnn.generate(1, 25, prompt=prompt, top_k=1, seed=7)[0] == expected
    assert rnn.generate(1, 25, prompt=prompt, temperature=1.0, seed=0)[0] != expected


def test_top_k_never_samples_outside_the_k_most_likely(rnn):
    prompt, k = ["c"], 3
    for seed in range(8):
        out = rnn.generate(1, 40, prompt=prompt, temperature=2.0, top_k=k, seed=seed)[0]
        for i, token in enumerate(out):
            p = rnn.distribution(prompt + out[:i])
            assert VOCAB[token] in np.argsort(-p)[:k]


def test_same_seed_same_text_different_seed_different_text(rnn):
    a = rnn.generate(3, 60, prompt=["a"], temperature=1.5, seed=11)
    assert rnn.generate(3, 60, prompt=["a"], temperature=1.5, seed=11) == a
    assert rnn.generate(3, 60, prompt=["a"], temperature=1.5, seed=12) != a
    state = torch.random.get_rng_state()
    rnn.generate(1, 10, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator is untouched


def test_samples_follow_the_tempered_distribution():
    scores = [2.0, 1.0, 0.0, -1.0]
    model = Constant([-math.inf] * 2 + scores + [-math.inf] * (V - 6))  # only a, b, c, d
    n = 2500
    for temperature in (0.5, 2.0):
        out = model.generate(1, n, temperature=temperature, seed=1)[0]
        freq = torch.bincount(torch.tensor(ids(out)), minlength=V)[2:6].double() / n
        p = torch.softmax(torch.tensor(scores, dtype=torch.double) / temperature, -1)
        assert torch.allclose(freq, p, atol=4 * math.sqrt(0.25 / n)), (freq, p)


def test_window_model_uses_the_last_k_tokens_and_pads_short_prompts(window):
    prompt = list("defg")
    out = window.generate(1, 12, prompt=prompt, temperature=0)[0]
    seq = ids(prompt)
    with torch.no_grad():
        for _ in range(12):
            seq.append(int(window(torch.tensor([seq[-3:]]))[0].argmax()))
    expected = VOCAB.decode(seq[4:])
    expected = expected[:expected.index("</s>")] if "</s>" in expected else expected
    assert out == expected
    short = window.generate(1, 6, prompt=["d"], temperature=0)[0]
    with torch.no_grad():
        eos = VOCAB["</s>"]
        first = int(window(torch.tensor([[eos, eos, VOCAB["d"]]]))[0].argmax())
    assert (short[:1] or ["</s>"]) == [VOCAB.itos[first]]


def test_generation_stops_at_the_end_of_text_and_never_returns_it(rnn):
    samples = rnn.generate(40, 30, temperature=1.5, seed=2)
    assert any(len(s) < 30 for s in samples)  # some stopped at </s>
    assert all("</s>" not in s for s in samples)
    assert rnn.generate(1, 0) == [[]]


def test_sampling_runs_in_eval_mode_and_restores_the_mode():
    set_seed(0)
    model = RNNLM(RNNConfig(vocab_size=V, embed_dim=8, hidden_size=16, dropout=0.5), vocab=VOCAB)
    model.train()
    a, b = model.generate(1, 20, temperature=0), model.generate(1, 20, temperature=0)
    assert a == b and model.training


def test_a_tiny_temperature_is_greedy_and_non_finite_logits_are_refused():
    p = next_token_distribution(torch.tensor([1.0, 2.0]), temperature=1e-39)
    assert torch.equal(p, torch.tensor([0.0, 1.0]))
    masked = next_token_distribution(torch.tensor([1.0, 2.0, -math.inf]), temperature=0.5)
    assert masked[2] == 0 and torch.isclose(masked.sum(), torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"\+inf"):
        next_token_distribution(torch.tensor([1.0, math.inf]))
    with pytest.raises(ValueError, match="all -inf"):
        next_token_distribution(torch.full((3,), -math.inf))
