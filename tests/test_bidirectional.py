"""lmkit.models.bidirectional: two directions of scratch layers equal bidirectional=True."""

import pytest
import torch
from torch import nn

from lmkit import set_seed
from lmkit.models import Bidirectional, ScratchGRU, ScratchLSTM, ScratchRNN

pytestmark = pytest.mark.usefixtures("one_thread")

TORCH = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def parts(state):
    return state if isinstance(state, tuple) else (state,)


SHAPES = [(1, 1, 2, 3, 1), (3, 6, 4, 5, 1), (2, 5, 3, 4, 2), (1, 4, 2, 3, 3)]  # B, T, D, H, L


@pytest.mark.parametrize("kind", list(TORCH))
@pytest.mark.parametrize(("B", "T", "D", "H", "L"), SHAPES)
@pytest.mark.parametrize("with_state", [False, True])
def test_bidirectional_equals_torch_outputs_states_and_gradients(kind, B, T, D, H, L, with_state):
    set_seed(B + 10 * T + 100 * L)
    torch_layer = TORCH[kind](D, H, L, batch_first=True, bidirectional=True).double()
    bi = Bidirectional.from_torch(torch_layer)
    assert bi.mode == torch_layer.mode
    state = None
    if with_state:
        state = tuple(torch.randn(2 * L, B, H, dtype=torch.double)
                      for _ in range(2 if kind == "lstm" else 1))
        state = state if kind == "lstm" else state[0]
    x = torch.randn(B, T, D, dtype=torch.double)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out1, s1 = torch_layer(x1, state)
    out2, s2 = bi(x2, state)
    assert out2.shape == (B, T, 2 * H) and torch.allclose(out1, out2, atol=1e-12)
    for a, b in zip(parts(s1), parts(s2), strict=True):
        assert b.shape == (2 * L, B, H) and torch.allclose(a, b, atol=1e-12)
    weights = [torch.randn_like(out1)] + [torch.randn_like(s) for s in parts(s1)]
    for out, s in ((out1, s1), (out2, s2)):
        sum((t * w).sum() for t, w in zip((out, *parts(s)), weights, strict=True)).backward()
    grads = dict(torch_layer.named_parameters())
    assert len(grads) == len(list(bi.parameters())) == 8 * L
    for name, p in bi.named_parameters():
        assert torch.allclose(p.grad, grads[Bidirectional._torch_name(name)].grad,
                              atol=1e-10), name
    assert torch.allclose(x1.grad, x2.grad, atol=1e-10)


def test_each_output_sees_the_whole_sequence():
    set_seed(1)
    bi = Bidirectional(ScratchGRU, 3, 4).double()
    x = torch.randn(1, 6, 3, dtype=torch.double)
    changed = x.clone()
    changed[0, -1] += 1.0                       # change only the last input
    out, out_changed = bi(x)[0], bi(changed)[0]
    H = 4
    assert torch.equal(out[0, :-1, :H], out_changed[0, :-1, :H])   # forward half: the past only
    assert not torch.allclose(out[0, 0, H:], out_changed[0, 0, H:])  # backward half: the future
    # the backward direction's final state is its state after reading x_1
    assert torch.allclose(bi(x)[1][1], out[:, 0, H:])


@pytest.mark.parametrize(("cell", "kwargs", "torch_class"), [
    (ScratchRNN, {"nonlinearity": "relu"}, nn.RNN), (ScratchLSTM, {}, nn.LSTM),
    (ScratchGRU, {}, nn.GRU)])
def test_weights_round_trip_and_torch_layers_work_inside(cell, kwargs, torch_class):
    set_seed(2)
    bi = Bidirectional(cell, 3, 5, num_layers=2, dropout=0.1, **kwargs)
    torch_layer = bi.to_torch()
    assert isinstance(torch_layer, torch_class) and torch_layer.bidirectional
    assert torch_layer.batch_first and torch_layer.dropout == 0.1
    assert getattr(torch_layer, "nonlinearity", "relu") == "relu"
    back = Bidirectional.from_torch(torch_layer)
    for a, b in zip(back.state_dict().values(), bi.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    x = torch.randn(2, 4, 3)
    bi.eval(), torch_layer.eval()
    assert torch.allclose(bi(x)[0], torch_layer(x)[0], atol=1e-6)
    # PyTorch's own one-direction layers as the two directions give the same function
    make = {nn.RNN: lambda d, h: nn.RNN(d, h, nonlinearity="relu", batch_first=True),
            nn.LSTM: lambda d, h: nn.LSTM(d, h, batch_first=True),
            nn.GRU: lambda d, h: nn.GRU(d, h, batch_first=True)}[torch_class]
    fused = Bidirectional(make, 3, 5, num_layers=2).eval()
    fused.load_state_dict(bi.state_dict())
    assert torch.allclose(fused(x)[0], torch_layer(x)[0], atol=1e-6)


def test_dropout_between_layers_in_training_mode_only():
    set_seed(3)
    bi = Bidirectional(ScratchLSTM, 3, 6, num_layers=2, dropout=0.5).double()
    x = torch.randn(4, 5, 3, dtype=torch.double)
    out_eval, (h_eval, _) = bi.eval()(x)
    assert torch.allclose(out_eval, bi.to_torch().eval()(x)[0], atol=1e-12)
    out_train, (h_train, _) = bi.train()(x)
    assert not torch.allclose(out_train, out_eval)
    assert torch.allclose(h_train[:2], h_eval[:2])   # layer 0, both directions: no dropout


def test_bidirectional_rejects_bad_input():
    lstm = Bidirectional(ScratchLSTM, 3, 4, num_layers=2)
    gru = Bidirectional(ScratchGRU, 3, 4)
    x = torch.randn(2, 5, 3)
    with pytest.raises(TypeError, match=r"an LSTM's state is a pair \(h, c\)"):
        lstm(x, torch.zeros(4, 2, 4))
    with pytest.raises(ValueError, match=r"\(2 \* num_layers, B, hidden_size\) = \(4, 2, 4\)"):
        lstm(x, (torch.zeros(2, 2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match="a GRU layer's state is one tensor"):
        gru(x, (torch.zeros(2, 2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match="input_size=3"):
        gru(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match=r"\(B, T, 3\)"):
        gru(torch.randn(5, 3))
    with pytest.raises(TypeError, match="floating-point"):
        gru(torch.ones(2, 5, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="bidirectional=False"):
        Bidirectional.from_torch(nn.LSTM(3, 4, batch_first=True))
    with pytest.raises(TypeError, match="nn.RNN, nn.GRU or nn.LSTM"):
        Bidirectional.from_torch(lstm)
    with pytest.raises(ValueError, match="one-layer"):
        Bidirectional(lambda d, h: nn.LSTM(d, h, 2, batch_first=True), 3, 4)
    with pytest.raises(TypeError, match="layer class or factory"):
        Bidirectional("lstm", 3, 4)
    with pytest.raises(TypeError, match="must return an nn.Module"):
        Bidirectional(lambda d, h: None, 3, 4)
    with pytest.raises(ValueError, match="to_torch needs layers of a kind"):
        Bidirectional(lambda d, h: _Plain(d, h), 3, 4).to_torch()


class _Plain(nn.Module):
    """A one-direction layer of unknown kind (no ``mode``)."""

    def __init__(self, d, h):
        super().__init__()
        self.linear = nn.Linear(d, h)

    def forward(self, x, state=None):
        out = torch.tanh(self.linear(x))
        return out, out[:, -1][None]
