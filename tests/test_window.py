"""lmkit.models.window: the fixed-window LM's shapes, normalisation, parameters and errors."""

import math

import pytest
import torch

from lmkit import metrics, set_seed
from lmkit.batching import Batches, window_pairs
from lmkit.models import FixedWindowLM, WindowConfig
from lmkit.train import evaluate

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
    log_probs = model.log_probs(context)
    assert log_probs.shape == (7, V)
    assert torch.allclose(log_probs.exp().sum(dim=-1), torch.ones(7), atol=1e-5)
    assert torch.allclose(torch.logsumexp(log_probs, dim=-1), torch.zeros(7), atol=1e-5)
    assert (log_probs <= 0).all()


def test_logprob_picks_the_targets_log_probability(model):
    context, targets = torch.randint(0, V, (5, K)), torch.randint(0, V, (5,))
    lp = model.logprob(context, targets)
    assert lp.shape == (5,)
    assert torch.allclose(lp, model.log_probs(context)[torch.arange(5), targets])


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


def test_token_logprobs_scores_every_token_and_agrees_with_evaluate(model):
    stream = torch.randint(0, V, (300,))
    lp = model.token_logprobs(stream, pad_id=1, batch_size=64)
    assert lp.shape == (300,) and (lp <= 0).all()
    assert model.token_logprobs(stream).shape == (300 - K,)
    contexts, targets = window_pairs(stream, K, pad_id=1)
    assert torch.allclose(lp, model.logprob(contexts, targets), atol=1e-6)
    # lmkit.metrics on the log-probabilities == exp of fit's evaluation loss: one definition.
    ppl = math.exp(evaluate(model, Batches(contexts, targets, batch_size=64)))
    assert math.isclose(metrics.perplexity(lp), ppl, rel_tol=1e-5)
    assert math.isclose(model.perplexity(stream, pad_id=1), ppl, rel_tol=1e-5)
    assert model.training  # the mode is restored


@pytest.mark.parametrize(("kwargs", "exc", "msg"), [
    ({"vocab_size": V, "window": 0}, ValueError, "window must be >= 1"),
    ({"vocab_size": V, "window": -2}, ValueError, "window must be >= 1"),
    ({"vocab_size": V, "window": 2.5}, TypeError, "window must be an int"),
    ({"vocab_size": 0}, ValueError, "vocab_size must be >= 1"),
    ({"vocab_size": V, "embed_dim": 0}, ValueError, "embed_dim"),
    ({"vocab_size": V, "hidden_dim": True}, TypeError, "hidden_dim must be an int"),
    ({"vocab_size": V, "direct": "yes"}, TypeError, "direct must be True or False"),
    ({"vocab_size": V, "embed_init_std": 0}, ValueError, "embed_init_std must be a positive"),
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


def test_logprob_rejects_bad_targets(model):
    context = torch.zeros(2, K, dtype=torch.long)
    with pytest.raises(ValueError, match="one id per context"):
        model.logprob(context, torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        model.logprob(context, torch.zeros(2))
    with pytest.raises(ValueError, match="outside the model's vocabulary"):
        model.logprob(context, torch.tensor([0, V]))
