"""lmkit.models.window: the fixed-window LM's shapes, normalisation, parameters and errors."""

import math

import pytest
import torch

from lmkit import metrics, set_seed
from lmkit.batching import Batches, window_pairs
from lmkit.models import FixedWindowLM, WindowConfig
from lmkit.text import Vocab
from lmkit.train import mean_loss

pytestmark = pytest.mark.usefixtures("one_thread")


V, K, D, H = 50, 3, 8, 16


@pytest.fixture
def model():
    set_seed(0)
    return FixedWindowLM(WindowConfig(vocab_size=V, window=K, embed_dim=D, hidden_dim=H))


def test_output_shape_and_log_softmax_normalisation(model):
    context = torch.randint(0, V, (7, K))
    logits = model(context)
    assert logits.shape == (7, V) and logits.dtype == torch.float32
    log_probs = torch.log_softmax(logits, -1)
    assert torch.allclose(log_probs.exp().sum(dim=-1), torch.ones(7), atol=1e-5)


def test_forward_is_the_equations_of_the_chapter(model):
    """x = [e1; …; ek], h = tanh(V x + b1), y = W h + b2 (+ D x), written out by hand."""
    context = torch.randint(0, V, (4, K))
    e = model.embed.weight
    x = torch.cat([e[context[:, j]] for j in range(K)], dim=1)           # (B, k·d)
    h = torch.tanh(x @ model.hidden.weight.T + model.hidden.bias)         # (B, H)
    y = h @ model.output.weight.T + model.output.bias                     # (B, V)
    assert torch.allclose(model(context), y, atol=1e-6)
    set_seed(0)
    direct = FixedWindowLM(WindowConfig(V, K, D, H, direct=True))
    x = torch.cat([direct.embed.weight[context[:, j]] for j in range(K)], dim=1)
    h = torch.tanh(x @ direct.hidden.weight.T + direct.hidden.bias)
    y = h @ direct.output.weight.T + direct.output.bias + x @ direct.direct.weight.T
    assert torch.allclose(direct(context), y, atol=1e-6)


@pytest.mark.parametrize("direct", [False, True])
@pytest.mark.parametrize("window", [1, 2, 5])
def test_parameter_count_grows_linearly_with_the_window(window, direct):
    model = FixedWindowLM(WindowConfig(V, window, D, H, direct=direct))
    expected = V * D + (window * D * H + H) + (H * V + V) + (window * D * V if direct else 0)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_only_the_last_k_tokens_matter_and_order_matters(model):
    a = torch.tensor([[1, 2, 3]])
    assert not torch.allclose(model(a), model(torch.tensor([[3, 2, 1]])))  # positions differ


def test_token_logprobs_pad_the_start_with_the_start_token_and_agree_with_mean_loss():
    set_seed(0)
    vocab = Vocab([str(i) for i in range(V - 2)], specials=["<unk>", "</s>"])
    model = FixedWindowLM(WindowConfig(vocab_size=V, window=K, embed_dim=D, hidden_dim=H),
                          vocab=vocab)
    sentences = [[str(int(i)) for i in torch.randint(0, V - 2, (n,))] for n in (40, 1, 70)]
    lp = model.token_logprobs(sentences)
    assert lp.shape == (40 + 1 + 70 + 3,) and (lp <= 0).all()
    # the same numbers, by hand: the stream of sentences, each ended by </s>, with K copies of
    # </s> before the first token (window_pairs' pad_id), scored window by window
    stream = torch.tensor([i for s in sentences for i in vocab.encode(s) + [vocab["</s>"]]])
    contexts, targets = window_pairs(stream, K, pad_id=vocab["</s>"])
    with torch.no_grad():
        by_hand = torch.log_softmax(model(contexts), -1).gather(1, targets[:, None])[:, 0]
    assert torch.allclose(torch.from_numpy(lp).float(), by_hand, atol=1e-6)
    # lmkit.metrics on the log-probabilities == exp of fit's evaluation loss: one definition.
    ppl = math.exp(mean_loss(model, Batches(contexts, targets, batch_size=64)))
    assert math.isclose(metrics.perplexity(lp), ppl, rel_tol=1e-5)
    assert math.isclose(model.perplexity(sentences), ppl, rel_tol=1e-5)
    assert model.training  # the mode is restored


@pytest.mark.parametrize(("kwargs", "exc", "msg"), [
    ({"vocab_size": V, "window": 0}, ValueError, "window must be an int >= 1"),
    ({"vocab_size": V, "window": -2}, ValueError, "window must be an int >= 1"),
    ({"vocab_size": V, "window": 2.5}, TypeError, "window must be an int"),
    ({"vocab_size": 0}, ValueError, "vocab_size must be an int >= 1"),
    ({"vocab_size": V, "embed_dim": 0}, ValueError, "embed_dim"),
    ({"vocab_size": V, "hidden_dim": True}, TypeError, "hidden_dim must be an int"),
    ({"vocab_size": V, "direct": "yes"}, TypeError, "direct must be True or False"),
    ({"vocab_size": V, "embed_init_std": 0}, ValueError, "embed_init_std must be a finite"),
])
def test_config_rejects_bad_sizes(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        WindowConfig(**kwargs)


def test_embeddings_start_small():
    set_seed(0)
    big = FixedWindowLM(WindowConfig(vocab_size=2000, embed_dim=32))
    assert abs(float(big.embed.weight.detach().std()) - 0.1) < 0.005
    set_seed(0)
    other = FixedWindowLM(WindowConfig(vocab_size=2000, embed_dim=32, embed_init_std=0.5))
    assert abs(float(other.embed.weight.detach().std()) - 0.5) < 0.025


def test_model_needs_a_config():
    with pytest.raises(TypeError, match="WindowConfig"):
        FixedWindowLM({"vocab_size": V})


@pytest.mark.parametrize(("context", "exc", "msg"), [
    (torch.zeros(4, K + 1, dtype=torch.long), ValueError, r"shape \(B, 3\)"),
    (torch.zeros(K, dtype=torch.long), ValueError, "unsqueeze"),
    (torch.zeros(4, K), TypeError, "integer token ids"),
    (torch.full((2, K), V), ValueError, f"id {V}, outside the model's vocabulary"),
    (torch.full((2, K), -1), ValueError, "id -1"),
    ([[1, 2, 3]], TypeError, "torch.Tensor"),
])
def test_forward_rejects_bad_contexts(model, context, exc, msg):
    with pytest.raises(exc, match=msg):
        model(context)


def test_a_batch_of_zero_windows_is_refused_with_a_message(model):
    with pytest.raises(ValueError, match="no windows"):
        model(torch.zeros(0, K, dtype=torch.long))
