"""lmkit.models.gated and cho_gru: the scratch LSTM and GRU equal PyTorch's, the lecture's GRU
does not, the forget-gate bias is set as asked, bad input is refused."""

import pytest
import torch
from torch import nn

from lmkit import set_seed
from lmkit.models import ChoGRUCell, ScratchGRU, ScratchLSTM, init_forget_bias
from lmkit.models.gated import gru_step, lstm_gates, lstm_step

pytestmark = pytest.mark.usefixtures("one_thread")

KINDS = {"lstm": (nn.LSTM, ScratchLSTM), "gru": (nn.GRU, ScratchGRU)}


def pair(kind, D, H, L=1, dropout=0.0):
    """A PyTorch layer (float64) and the scratch layer holding a copy of its weights."""
    torch_class, scratch_class = KINDS[kind]
    layer = torch_class(D, H, L, dropout=dropout, batch_first=True).double()
    return layer, scratch_class.from_torch(layer)


def random_state(kind, L, B, H):
    h = torch.randn(L, B, H, dtype=torch.double)
    return (h, torch.randn(L, B, H, dtype=torch.double)) if kind == "lstm" else h


def parts(state):
    return state if isinstance(state, tuple) else (state,)


SHAPES = [  # B, T, D, H, L
    (1, 1, 1, 1, 1), (1, 7, 3, 5, 1), (4, 1, 6, 2, 1), (3, 9, 4, 8, 2), (5, 3, 2, 6, 3),
    (2, 4, 3, 3, 3),
]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(("B", "T", "D", "H", "L"), SHAPES)
@pytest.mark.parametrize("with_state", [False, True])
def test_scratch_layer_equals_torch_outputs_states_and_gradients(kind, B, T, D, H, L,
                                                                 with_state):
    set_seed(B * 100 + T * 10 + L)
    torch_layer, scratch = pair(kind, D, H, L)
    x = torch.randn(B, T, D, dtype=torch.double)
    state = random_state(kind, L, B, H) if with_state else None
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out1, s1 = torch_layer(x1, state)
    out2, s2 = scratch(x2, state)
    assert out2.shape == (B, T, H)
    assert isinstance(s2, tuple) == (kind == "lstm")
    assert torch.allclose(out1, out2, atol=1e-12)
    for a, b in zip(parts(s1), parts(s2), strict=True):
        assert b.shape == (L, B, H) and torch.allclose(a, b, atol=1e-12)
    # a loss that uses every output and every final state (h and c for an LSTM)
    weights = [torch.randn_like(out1)] + [torch.randn_like(s) for s in parts(s1)]
    for out, s in ((out1, s1), (out2, s2)):
        sum((t * w).sum() for t, w in zip((out, *parts(s)), weights, strict=True)).backward()
    grads = dict(torch_layer.named_parameters())
    assert len(grads) == 4 * L
    for name, p in scratch.named_parameters():
        assert torch.allclose(p.grad, grads[name].grad, atol=1e-10), name
    assert torch.allclose(x1.grad, x2.grad, atol=1e-10)


def test_lstm_is_the_lectures_equations_with_pytorchs_gate_order_and_two_biases():
    """The lecture's f = σ(W_f h + U_f x + b_f) etc., read out of PyTorch's stacked weights."""
    set_seed(1)
    D, H = 3, 4
    lstm = ScratchLSTM(D, H).double()
    W_ih, W_hh, b_ih, b_hh = lstm.layer_weights(0)
    rows = {gate: slice(k * H, (k + 1) * H) for k, gate in enumerate("ifgo")}  # i, f, g, o
    U = {gate: W_ih[r] for gate, r in rows.items()}              # input weights (H, D)
    W = {gate: W_hh[r] for gate, r in rows.items()}              # recurrent weights (H, H)
    b = {gate: b_ih[r] + b_hh[r] for gate, r in rows.items()}    # one bias = the sum of two
    x = torch.randn(2, 6, D, dtype=torch.double)
    h = c = torch.zeros(2, H, dtype=torch.double)
    hs = []
    for t in range(6):
        f = torch.sigmoid(h @ W["f"].T + x[:, t] @ U["f"].T + b["f"])
        i = torch.sigmoid(h @ W["i"].T + x[:, t] @ U["i"].T + b["i"])
        o = torch.sigmoid(h @ W["o"].T + x[:, t] @ U["o"].T + b["o"])
        c_tilde = torch.tanh(h @ W["g"].T + x[:, t] @ U["g"].T + b["g"])
        c = f * c + i * c_tilde
        h = o * torch.tanh(c)
        hs.append(h)
    out, (h_n, c_n) = lstm(x)
    assert torch.allclose(out, torch.stack(hs, 1)) and torch.allclose(c_n[0], c)
    # one step of lstm_step is one step of torch's LSTMCell with the same weights
    cell = nn.LSTMCell(D, H).double()
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})   # drop "_l0"
    for new, expected in zip(lstm_step(x[:, 0], h, c, lstm.layer_weights(0)),
                             cell(x[:, 0], (h, c)), strict=True):
        assert torch.allclose(new, expected)


def test_gru_is_pytorchs_variant_written_out():
    set_seed(2)
    D, H = 3, 5
    gru = ScratchGRU(D, H).double()
    W_ih, W_hh, b_ih, b_hh = gru.layer_weights(0)
    r_, z_, n_ = (slice(k * H, (k + 1) * H) for k in range(3))   # r, z, n
    x = torch.randn(2, 4, D, dtype=torch.double)
    h, hs = torch.zeros(2, H, dtype=torch.double), []
    for t in range(4):
        r = torch.sigmoid(x[:, t] @ W_ih[r_].T + b_ih[r_] + h @ W_hh[r_].T + b_hh[r_])
        z = torch.sigmoid(x[:, t] @ W_ih[z_].T + b_ih[z_] + h @ W_hh[z_].T + b_hh[z_])
        n = torch.tanh(x[:, t] @ W_ih[n_].T + b_ih[n_] + r * (h @ W_hh[n_].T + b_hh[n_]))
        h = (1 - z) * n + z * h
        hs.append(h)
    assert torch.allclose(gru(x)[0], torch.stack(hs, 1))
    cell = nn.GRUCell(D, H).double()
    cell.load_state_dict({k[:-3]: v for k, v in gru.state_dict().items()})
    assert torch.allclose(gru_step(x[:, 0], h, gru.layer_weights(0)), cell(x[:, 0], h))


def test_the_lectures_gru_is_another_function_and_agrees_only_when_r_is_one():
    set_seed(3)
    D, H = 4, 6
    gru = nn.GRU(D, H, batch_first=True).double()
    x = torch.randn(3, 8, D, dtype=torch.double)
    cho = ChoGRUCell.from_torch(gru)
    out_cho, h_cho = cho.run(x)
    out_torch, h_torch = gru(x)
    assert out_cho.shape == out_torch.shape and torch.allclose(h_cho, out_cho[:, -1])
    assert (out_cho - out_torch).abs().max() > 1e-3        # the same weights, another function
    with torch.no_grad():
        gru.bias_ih_l0[:H] = 1e3                           # r = 1: the reset gate does nothing
    cho = ChoGRUCell.from_torch(gru)
    assert torch.allclose(cho.run(x)[0], gru(x)[0], atol=1e-12)
    # u = 1 - z: the lecture's update gate weighs the candidate, PyTorch's z the old state
    assert torch.allclose(cho.W_u, -gru.weight_hh_l0[H:2 * H])
    for source in (nn.GRUCell(D, H).double(), ScratchGRU(D, H).double()):
        assert ChoGRUCell.from_torch(source).U_h.shape == (H, D)


def test_cho_cell_rejects_bad_input():
    cell = ChoGRUCell(3, 4)
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        cell(torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match=r"h must be a tensor of shape \(2, 4\)"):
        cell(torch.randn(2, 3), torch.zeros(2, 5))
    with pytest.raises(TypeError, match="nn.GRU"):
        ChoGRUCell.from_torch(nn.LSTM(3, 4))


@pytest.mark.parametrize("kind", list(KINDS))
def test_weights_round_trip_both_ways_and_names_match_torch(kind):
    set_seed(4)
    scratch = KINDS[kind][1](5, 6, num_layers=2, dropout=0.25)
    torch_layer = scratch.to_torch()
    assert isinstance(torch_layer, KINDS[kind][0]) and torch_layer.batch_first
    assert torch_layer.dropout == 0.25
    names = [n for n, _ in scratch.named_parameters()]
    assert names == [n for n, _ in torch_layer.named_parameters()]
    for (_, a), (_, b) in zip(scratch.named_parameters(), torch_layer.named_parameters(),
                              strict=True):
        assert a.shape == b.shape and torch.equal(a, b) and a.data_ptr() != b.data_ptr()
    back = KINDS[kind][1].from_torch(torch_layer)
    for a, b in zip(back.parameters(), scratch.parameters(), strict=True):
        assert torch.equal(a, b)
    gates = 4 if kind == "lstm" else 3
    assert scratch.weight_ih_l0.shape == (gates * 6, 5) and scratch.weight_hh_l1.shape == (
        gates * 6, 6)
    x = torch.randn(3, 4, 5)
    scratch.eval(), torch_layer.eval()
    assert torch.allclose(back.eval()(x)[0], torch_layer(x)[0], atol=1e-6)


@pytest.mark.parametrize("kind", list(KINDS))
def test_dropout_acts_between_layers_in_training_mode_only(kind):
    set_seed(5)
    torch_layer, scratch = pair(kind, 3, 8, L=2, dropout=0.5)
    x = torch.randn(4, 6, 3, dtype=torch.double)
    torch_layer.eval(), scratch.eval()
    out_eval, s_eval = scratch(x)
    assert torch.allclose(out_eval, torch_layer(x)[0], atol=1e-12)    # no dropout in eval
    scratch.train()
    out_a, s_a = scratch(x)
    out_b, _ = scratch(x)
    assert not torch.allclose(out_a, out_eval) and not torch.allclose(out_a, out_b)
    h_eval, h_a = parts(s_eval)[0], parts(s_a)[0]
    assert torch.allclose(h_a[0], h_eval[0])          # layer 0's recurrence is untouched
    assert torch.allclose(h_a[1], out_a[:, -1])       # the last layer's outputs are not dropped
    one_layer = KINDS[kind][1](3, 8, num_layers=1, dropout=0.5).double().train()
    assert torch.equal(one_layer(x)[0], one_layer.eval()(x)[0])      # nothing to drop between


BAD_CALLS = [
    ("lstm", lambda m: m(torch.randn(5, 3)), ValueError, r"unsqueeze\(0\)"),
    ("gru", lambda m: m(torch.randn(2, 5, 4)), ValueError, r"\(B, T, 3\)"),
    ("lstm", lambda m: m(torch.randn(2, 5, 4)), ValueError, "input_size=3"),
    ("gru", lambda m: m(torch.zeros(2, 0, 3)), ValueError, "at least one step"),
    ("lstm", lambda m: m(torch.randint(0, 3, (2, 5, 3))), TypeError, "floating-point"),
    ("lstm", lambda m: m(torch.randn(2, 5, 3), torch.zeros(1, 2, 4)), TypeError,
     r"an LSTM's state is a pair \(h, c\)"),
    ("lstm", lambda m: m(torch.randn(2, 5, 3), (torch.zeros(1, 2, 4),)), TypeError,
     r"pair \(h, c\)"),
    ("lstm", lambda m: m(torch.randn(2, 5, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 3, 4))),
     ValueError, r"c0 must have shape .* \(1, 2, 4\)"),
    ("lstm", lambda m: m(torch.randn(2, 5, 3), (torch.zeros(2, 2, 4), torch.zeros(1, 2, 4))),
     ValueError, r"h0 must have shape"),
    ("gru", lambda m: m(torch.randn(2, 5, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))),
     TypeError, r"a GRU's state is one tensor .* an LSTM's state"),
    ("gru", lambda m: m(torch.randn(2, 5, 3), torch.zeros(1, 3, 4)), ValueError, r"\(1, 2, 4\)"),
    ("gru", lambda m: m(torch.randn(2, 5, 3), [0.0]), TypeError, "h0 must be a tensor"),
]


@pytest.mark.parametrize(("kind", "call", "exc", "msg"), BAD_CALLS)
def test_scratch_layers_reject_bad_input(kind, call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(KINDS[kind][1](3, 4))


def test_scratch_layers_reject_bad_construction_and_copies():
    with pytest.raises(ValueError, match="hidden_size must be an int >= 1"):
        ScratchLSTM(3, 0)
    with pytest.raises(TypeError, match="num_layers must be an int"):
        ScratchGRU(3, 4, num_layers=1.0)
    with pytest.raises(ValueError, match="dropout"):
        ScratchLSTM(3, 4, dropout=1.0)
    with pytest.raises(ValueError, match="batch_first=False"):
        ScratchLSTM.from_torch(nn.LSTM(3, 4))
    with pytest.raises(ValueError, match="Bidirectional.from_torch"):
        ScratchGRU.from_torch(nn.GRU(3, 4, batch_first=True, bidirectional=True))
    with pytest.raises(ValueError, match="proj_size"):
        ScratchLSTM.from_torch(nn.LSTM(3, 4, batch_first=True, proj_size=2))
    with pytest.raises(TypeError, match="torch.nn.LSTM"):
        ScratchLSTM.from_torch(nn.GRU(3, 4, batch_first=True))
    with pytest.raises(TypeError, match="torch.nn.GRU"):
        ScratchGRU.from_torch(ScratchGRU(3, 4))


# ------------------------------------------------------------------------------------------------
# Looking inside: gates, the forget-gate bias


def test_gate_values_are_the_gates_the_lstm_computes():
    set_seed(6)
    lstm = nn.LSTM(3, 5, 2, batch_first=True).double()
    x = torch.randn(2, 7, 3, dtype=torch.double)
    values = ScratchLSTM.from_torch(lstm).gate_values(x)
    assert set(values) == set("ifgoch") and values["f"].shape == (2, 2, 7, 5)
    out, (h_n, c_n) = lstm(x)
    assert torch.allclose(values["h"][-1], out) and torch.allclose(values["c"][:, :, -1], c_n)
    i, f, g, o = lstm_gates(x[:, 0], torch.zeros(2, 5, dtype=torch.double),
                            ScratchLSTM.from_torch(lstm).layer_weights(0))
    assert torch.allclose(values["f"][0, :, 0], f) and ((f > 0) & (f < 1)).all()


def test_a_cell_with_forget_gate_one_and_input_gate_zero_keeps_its_value():
    set_seed(7)
    lstm = ScratchLSTM(3, 4).double()
    with torch.no_grad():
        lstm.bias_ih_l0[:4] = -1e3     # i = 0
        lstm.bias_ih_l0[4:8] = 1e3     # f = 1
    c0 = torch.randn(1, 2, 4, dtype=torch.double)
    values = lstm.gate_values(torch.randn(2, 200, 3, dtype=torch.double),
                              (torch.zeros_like(c0), c0))
    assert torch.equal(values["c"][0, :, -1], c0[0])


@pytest.mark.parametrize("value", [3.0, -1.0, 0])
def test_init_forget_bias_sets_the_sum_of_the_two_forget_biases(value):
    set_seed(8)
    H = 4
    modules = [nn.LSTM(3, H, 2, batch_first=True, bidirectional=True), ScratchLSTM(3, H, 3),
               nn.LSTMCell(3, H)]
    for module in modules:
        before = {n: p.detach().clone() for n, p in module.named_parameters()}
        assert init_forget_bias(module, value) is module
        biases = [n for n in before if n.startswith("bias_ih")]
        assert biases
        for name in biases:
            b_ih = getattr(module, name)
            b_hh = getattr(module, name.replace("bias_ih", "bias_hh"))
            assert torch.allclose(b_ih[H:2 * H] + b_hh[H:2 * H], torch.full((H,), float(value)))
            for b, n in ((b_ih, name), (b_hh, name.replace("bias_ih", "bias_hh"))):
                rest = torch.cat([b[:H], b[2 * H:]])
                assert torch.equal(rest, torch.cat([before[n][:H], before[n][2 * H:]]))
        for name, p in module.named_parameters():
            if name.startswith("weight"):
                assert torch.equal(p, before[name])
    lstm = init_forget_bias(ScratchLSTM(3, H).double(), 3.0)
    with torch.no_grad():
        lstm.bias_ih_l0[:H], lstm.bias_hh_l0[:H] = 0, 0
        for p in (lstm.weight_ih_l0, lstm.weight_hh_l0):
            p.zero_()
    f = lstm.gate_values(torch.randn(1, 3, 3, dtype=torch.double))["f"]
    assert torch.allclose(f, torch.sigmoid(torch.tensor(3.0, dtype=torch.double)).expand_as(f))


def test_init_forget_bias_rejects_what_has_no_forget_gate():
    with pytest.raises(TypeError, match="holds no LSTM"):
        init_forget_bias(nn.GRU(3, 4), 1.0)
    with pytest.raises(TypeError, match="must be an nn.LSTM"):
        init_forget_bias("lstm", 1.0)
    with pytest.raises(ValueError, match="bias=True"):
        init_forget_bias(nn.LSTM(3, 4, bias=False), 1.0)
    with pytest.raises(TypeError, match="value must be a number"):
        init_forget_bias(nn.LSTM(3, 4), "3")
    with pytest.raises(ValueError, match="finite"):
        init_forget_bias(nn.LSTM(3, 4), float("inf"))
