"""RNNLM with gated cells: named LSTM/GRU layers, the (h, c) state through training, scoring and
sampling, and the state checks."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmkit import set_seed
from lmkit.batching import StreamBatches
from lmkit.grad import hidden_grad_norms
from lmkit.models import (
    RNNLM,
    Bidirectional,
    RNNConfig,
    ScratchGRU,
    ScratchLSTM,
    ScratchRNN,
    init_forget_bias,
)
from lmkit.text import Vocab
from lmkit.train import fit, mean_loss

pytestmark = pytest.mark.usefixtures("one_thread")

V = 20


def lm(cell, **sizes):
    set_seed(0)
    return RNNLM(RNNConfig(vocab_size=V, embed_dim=sizes.pop("d", 8),
                           hidden_size=sizes.pop("H", 12), cell=cell, **sizes))


@pytest.mark.parametrize(("cell", "layer_class"), [
    ("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU), ("scratch", ScratchRNN),
    ("scratch-lstm", ScratchLSTM), ("scratch-gru", ScratchGRU)])
def test_every_named_cell_builds_its_layer(cell, layer_class):
    model = lm(cell, num_layers=2, dropout=0.3)
    assert type(model.rnn) is layer_class
    assert model.rnn.num_layers == 2 and model.rnn.dropout == 0.3
    assert model.rnn.input_size == 8 and model.rnn.hidden_size == 12
    gates = {"rnn": 1, "scratch": 1, "lstm": 4, "scratch-lstm": 4, "gru": 3, "scratch-gru": 3}
    assert model.rnn.weight_hh_l1.shape == (gates[cell] * 12, 12)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("L", [1, 2])
def test_scratch_and_torch_cells_give_the_same_logits_and_states(kind, L):
    torch_lm, scratch_lm = lm(kind, num_layers=L), lm(f"scratch-{kind}", num_layers=L)
    scratch_lm.load_state_dict(torch_lm.state_dict())    # identical parameter names
    x = torch.randint(0, V, (3, 7))
    (l1, s1), (l2, s2) = torch_lm(x), scratch_lm(x)
    assert l1.shape == (3, 7, V) and isinstance(s2, tuple) == (kind == "lstm")
    assert torch.allclose(l1, l2, atol=1e-5)
    for a, b in zip(s1 if kind == "lstm" else (s1,), s2 if kind == "lstm" else (s2,),
                    strict=True):
        assert a.shape == (L, 3, 12) and torch.allclose(a, b, atol=1e-5)
    # continuing from a state is the same as reading the whole sequence at once
    first, state = scratch_lm(x[:, :4])
    rest, _ = scratch_lm(x[:, 4:], state)
    assert torch.allclose(torch.cat([first, rest], 1), l2, atol=1e-5)


def test_state_checks_say_what_each_cell_carries():
    x = torch.randint(0, V, (3, 4))
    h = torch.zeros(1, 3, 12)
    for cell in ("lstm", "scratch-lstm"):
        with pytest.raises(TypeError, match=r"an LSTM's state is a pair \(h, c\).*got a tensor"):
            lm(cell)(x, h)
        with pytest.raises(TypeError, match=r"pair \(h, c\)"):
            lm(cell)(x, (h,))
        with pytest.raises(ValueError, match=r"\(num_layers, B, hidden_size\) = \(1, 3, 12\)"):
            lm(cell)(x, (h, torch.zeros(1, 2, 12)))
        assert lm(cell)(x, (h, h))[0].shape == (3, 4, V)
    for cell, kind in (("gru", "GRU"), ("scratch-gru", "GRU"), ("rnn", "vanilla RNN"),
                       ("scratch", "vanilla RNN")):
        with pytest.raises(TypeError, match=f"a {kind}'s state is one tensor.*an LSTM's state"):
            lm(cell)(x, (h, h))
    with pytest.raises(TypeError, match="state must be"):
        lm("lstm")(x, ("h", "c"))


def test_a_bidirectional_layer_of_ones_own_is_checked_by_its_own_sizes():
    set_seed(1)
    layer = Bidirectional(ScratchLSTM, 8, 6, num_layers=2)          # outputs 2 * 6 = 12
    model = RNNLM(RNNConfig(V, embed_dim=8, hidden_size=12), layer=layer)
    x = torch.randint(0, V, (2, 5))
    logits, (h, c) = model(x)
    assert logits.shape == (2, 5, V) and h.shape == c.shape == (4, 2, 6)
    assert model(x, (h, c))[0].shape == (2, 5, V)
    with pytest.raises(ValueError, match=r"\(4, 2, 6\)"):
        model(x, (h[:2], c[:2]))
    torch_layer = nn.LSTM(8, 6, batch_first=True, bidirectional=True)
    model = RNNLM(RNNConfig(V, embed_dim=8, hidden_size=12), layer=torch_layer)
    logits, state = model(x)
    assert model(x, state)[0].shape == (2, 5, V)


def periodic_stream():
    """In "a b a c a d a e a f …" what follows an "a" depends on the token before it."""
    set_seed(5)
    ids = torch.randperm(V)[:6]
    period = torch.stack([ids[0].repeat(5), ids[1:]], 1).reshape(-1)  # (10,) a b a c a d …
    return period.repeat(60)


@pytest.mark.parametrize("cell", ["lstm", "scratch-lstm", "gru"])
def test_gated_rnnlm_trains_with_fit_carrying_the_state(cell):
    batches = StreamBatches(periodic_stream(), batch_size=4, seq_len=5)
    assert batches.sequential
    model = lm(cell, d=8, H=32)
    before = mean_loss(model, batches)
    history = fit(model, batches, epochs=6, lr=2e-2, progress=False)
    assert history.stop_reason == "epochs"
    after = mean_loss(model, batches)
    assert after < 0.05 * before and after < 0.1, (before, after)
    # without the carried (h, c), blocks that start at an "a" lose their context
    no_carry = mean_loss(model, batches, carry_state=False)
    assert no_carry > after + 0.1, (after, no_carry)


def test_lstm_lm_scores_and_samples_with_the_state_carried():
    vocab = Vocab([chr(97 + i) for i in range(V - 1)], specials=["<unk>"])
    set_seed(2)
    model = RNNLM(RNNConfig(V, embed_dim=12, hidden_size=12, cell="lstm"), vocab=vocab,
                  start="a")
    text = [vocab.itos[int(i)] for i in torch.randint(0, V, (1200,))]   # > one scoring block
    lp = model.token_logprobs([text])
    stream = torch.tensor([vocab["a"]] + vocab.encode(text))
    model.eval()
    with torch.no_grad():
        logits, _ = model(stream[None, :-1])
    expected = F.log_softmax(logits[0], -1).gather(1, stream[1:, None])[:, 0].double()
    assert torch.allclose(torch.from_numpy(lp), expected, atol=1e-5)
    assert model.perplexity([text]) == pytest.approx(math.exp(-float(expected.mean())), rel=1e-5)
    # sampling token by token, with the (h, c) carried, gives the distribution of the prefix
    sample = model.generate(1, 10, seed=3)[0]
    assert len(sample) == 10
    with torch.no_grad():
        ids = torch.tensor([[vocab["a"]] + vocab.encode(sample[:5])])
        p = F.softmax(model(ids)[0][0, -1].double(), -1).numpy()
    assert p == pytest.approx(model.distribution(sample[:5]), abs=1e-6)


def test_forget_bias_of_an_lstm_lm_and_gradient_norms_of_a_scratch_lstm():
    model = init_forget_bias(lm("lstm", num_layers=2), 2.0)
    for layer in range(2):
        b = getattr(model.rnn, f"bias_ih_l{layer}") + getattr(model.rnn, f"bias_hh_l{layer}")
        assert torch.allclose(b[12:24], torch.full((12,), 2.0))
    set_seed(3)
    torch_lstm = nn.LSTM(3, 5, batch_first=True).double()
    x = torch.randn(2, 6, 3, dtype=torch.double)
    norms = hidden_grad_norms(ScratchLSTM.from_torch(torch_lstm), x)
    assert torch.allclose(norms, hidden_grad_norms(torch_lstm, x))
    scratch = ScratchLSTM.from_torch(torch_lstm)
    assert torch.allclose(hidden_grad_norms(scratch.step, x, wrt="c"),
                          hidden_grad_norms(torch_lstm, x, wrt="c"))
    gru = nn.GRU(3, 5, batch_first=True).double()
    assert torch.allclose(hidden_grad_norms(ScratchGRU.from_torch(gru).step, x),
                          hidden_grad_norms(gru, x))
