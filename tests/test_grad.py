"""lmkit.grad: finite differences catch wrong gradients; hidden-state gradient norms are exact."""

import pytest
import torch
from torch import nn

from lmkit.grad import GradCheck, grad_check, hidden_grad_norms, numerical_grad

torch.set_default_dtype(torch.float32)  # the tests choose float64 explicitly where they need it


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- finite differences


def test_numerical_grad_of_a_cubic_is_3x2_and_leaves_x_alone():
    x = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    before = x.clone()
    g = numerical_grad(lambda v: (v ** 3).sum(), x)
    assert g.dtype == torch.float64 and g.shape == x.shape
    assert torch.allclose(g, 3 * x ** 2, rtol=1e-8, atol=1e-8)
    assert torch.equal(x, before)


def test_numerical_grad_matches_autograd_on_a_softmax_loss():
    W = torch.randn(4, 3, dtype=torch.float64, generator=gen(1))
    x = torch.randn(5, 3, dtype=torch.float64, generator=gen(2))
    y = torch.tensor([0, 1, 2, 3, 0])

    def f(w):
        return nn.functional.cross_entropy(torch.tanh(x @ w.T), y)

    w = W.clone().requires_grad_()
    (auto,) = torch.autograd.grad(f(w), w)
    assert torch.allclose(numerical_grad(f, W), auto, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("f", "x", "eps", "exc"), [
    ("not callable", torch.ones(2), 1e-6, TypeError),
    (lambda v: v.sum(), [1.0, 2.0], 1e-6, TypeError),
    (lambda v: v.sum(), torch.ones(2, dtype=torch.long), 1e-6, TypeError),
    (lambda v: v.sum(), torch.ones(0), 1e-6, ValueError),
    (lambda v: v.sum(), torch.ones(2), 0.0, ValueError),
    (lambda v: v.sum(), torch.ones(2), "1e-6", TypeError),
    (lambda v: v * 2, torch.ones(2), 1e-6, ValueError),     # not a scalar
])
def test_numerical_grad_rejects_bad_input(f, x, eps, exc):
    with pytest.raises(exc):
        numerical_grad(f, x, eps=eps)


# ---------------------------------------------------------------- grad_check


def small_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x = torch.randn(6, 3, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    return net, lambda: nn.functional.cross_entropy(net(x), y)


def test_grad_check_passes_for_autograd_on_a_module_and_restores_the_weights():
    net, loss = small_net()
    before = [p.detach().clone() for p in net.parameters()]
    report = grad_check(loss, net)
    assert isinstance(report, GradCheck) and report and report.passed
    assert list(report.errors) == [n for n, _ in net.named_parameters()]
    assert report.max_error < 1e-6
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert all(p.grad is None for p in net.parameters())
    assert "passed" in str(report) and "0.weight" in str(report)


class WrongTanh(torch.autograd.Function):
    """tanh with a deliberately wrong backward: 1 - y instead of 1 - y²."""

    @staticmethod
    def forward(ctx, a):
        y = torch.tanh(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y)


def test_grad_check_detects_a_wrong_backward():
    W = torch.randn(3, 3, dtype=torch.float64, generator=gen(3), requires_grad=True)
    x = torch.randn(4, 3, dtype=torch.float64, generator=gen(4))
    good = grad_check(lambda: torch.tanh(x @ W).pow(2).sum(), [W])
    bad = grad_check(lambda: WrongTanh.apply(x @ W).pow(2).sum(), [W])
    assert good.passed and not bad.passed and not bad
    assert bad.errors["0"] > 1e-2 and "WRONG" in str(bad) and "FAILED" in str(bad)


def test_grad_check_of_given_gradients_hand_written_or_wrong():
    W = torch.randn(2, 3, dtype=torch.float64, generator=gen(5))
    b = torch.randn(2, dtype=torch.float64, generator=gen(6))
    x = torch.randn(3, dtype=torch.float64, generator=gen(7))

    def loss():
        return 0.5 * ((W @ x + b) ** 2).sum()   # dW = r xᵀ, db = r

    r = W @ x + b
    assert grad_check(loss, {"W": W, "b": b}, grads={"W": torch.outer(r, x), "b": r})
    wrong = grad_check(loss, [W, b], grads=[torch.outer(r, x).T.contiguous().T * 1.01, r])
    assert not wrong and wrong.errors["1"] < 1e-6 < 5e-3 < wrong.errors["0"]


def test_grad_check_compares_tiny_gradients_absolutely():
    w = torch.tensor([1e-12, 1.0], dtype=torch.float64, requires_grad=True)
    report = grad_check(lambda: (w ** 4).sum() / 4, [w])   # gradient w³: 1e-36 and 1
    assert report.passed


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    (dict(f=1), TypeError, "function without arguments"),
    (dict(params=[torch.ones(2, requires_grad=True)]), TypeError, "float64"),
    (dict(params=[]), ValueError, "empty"),
    (dict(params=[torch.ones(2, 3, dtype=torch.float64).T]), ValueError, "contiguous"),
    (dict(params="W"), TypeError, "list of tensors"),
    (dict(params=[torch.ones(2, dtype=torch.float64)]), ValueError, "require grad"),
    (dict(grads=[torch.ones(3)]), ValueError, "shape"),
    (dict(grads=[]), ValueError, "grads has 0"),
    (dict(grads={"x": torch.ones(2)}), ValueError, "names"),
    (dict(eps=-1.0), ValueError, "eps"),
    (dict(rtol=0), ValueError, "rtol"),
    (dict(f=lambda: torch.ones(2, dtype=torch.float64, requires_grad=True) * 1), ValueError,
     "scalar"),
])
def test_grad_check_rejects_bad_input(kwargs, exc, match):
    w = torch.ones(2, dtype=torch.float64, requires_grad=True)
    args = dict(f=lambda: (w ** 2).sum(), params=[w])
    args.update(kwargs)
    f, params = args.pop("f"), args.pop("params")
    with pytest.raises(exc, match=match):
        grad_check(f, params, **args)


# ---------------------------------------------------------------- hidden_grad_norms


def test_linear_rnn_gradient_norms_are_powers_of_w_transposed():
    """h_t = W h_{t-1} + U x_t and J = Σ h_T: ∂J/∂h_t = (Wᵀ)^{T-t} 1, exactly."""
    T, H = 7, 3
    W = torch.randn(H, H, dtype=torch.float64, generator=gen(8))
    U = torch.randn(H, 2, dtype=torch.float64, generator=gen(9))
    x = torch.randn(4, T, 2, dtype=torch.float64, generator=gen(10))
    norms = hidden_grad_norms(lambda x_t, h: h @ W.T + x_t @ U.T, x,
                              torch.zeros(4, H, dtype=torch.float64))
    ones = torch.ones(H, dtype=torch.float64)
    expected = torch.stack([(torch.linalg.matrix_power(W.T, T - t) @ ones).norm()
                            for t in range(1, T + 1)])
    assert norms.shape == (T,)
    assert torch.allclose(norms, expected, rtol=1e-12, atol=0)
    # every step scored: ∂J/∂h_t = Σ_{s >= t} (Wᵀ)^{s-t} 1
    all_norms = hidden_grad_norms(lambda x_t, h: h @ W.T + x_t @ U.T, x,
                                  torch.zeros(4, H, dtype=torch.float64), loss="all")
    expected_all = torch.stack([sum(torch.linalg.matrix_power(W.T, s - t) @ ones
                                    for s in range(t, T + 1)).norm() for t in range(1, T + 1)])
    assert torch.allclose(all_norms, expected_all, rtol=1e-12, atol=0)


def test_nn_rnn_norms_follow_the_backward_recursion_by_hand():
    """δ_T = 1 and δ_t = W_hhᵀ ((1 - h_{t+1}²) ⊙ δ_{t+1}) for a one-layer tanh RNN."""
    torch.manual_seed(1)
    rnn = nn.RNN(3, 5, batch_first=True).double()
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    norms = hidden_grad_norms(rnn, x, reduction="none")               # (B, T)
    with torch.no_grad():
        h, _ = rnn(x)                                                  # (B, T, H)
        delta = torch.ones(2, 5, dtype=torch.float64)
        expected = [delta.norm(dim=1)]
        for t in range(4, -1, -1):                                     # 0-based h[:, t]
            delta = ((1 - h[:, t + 1] ** 2) * delta) @ rnn.weight_hh_l0
            expected.append(delta.norm(dim=1))
    assert torch.allclose(norms, torch.stack(expected[::-1], dim=1), rtol=1e-12)
    assert all(p.grad is None for p in rnn.parameters())


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_sequence_modules_agree_with_their_cells(kind):
    torch.manual_seed(2)
    module = getattr(nn, kind)(3, 4, batch_first=True).double()
    cell = getattr(nn, kind + "Cell")(3, 4).double()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data.copy_(getattr(module, name + "_l0"))
    x = torch.randn(3, 8, 3, dtype=torch.float64)

    def head(out):                       # a loss of every step, as a language model has
        return (out.tanh() * torch.linspace(-1, 1, 4, dtype=torch.float64)).sum()

    for loss in ("last", "all", head):
        a = hidden_grad_norms(module, x, loss=loss)
        b = hidden_grad_norms(cell, x, loss=loss)
        assert a.shape == (8,) and torch.allclose(a, b, rtol=1e-10)
    last = hidden_grad_norms(module, x)
    assert torch.isclose(last[-1], torch.tensor(2.0, dtype=torch.float64))  # ‖1‖ in R⁴
    assert (last[:-1] < last[-1]).all()  # a small random layer: the signal shrinks going back
    if kind == "LSTM":
        c = hidden_grad_norms(module, x, wrt="c")
        assert torch.allclose(c, hidden_grad_norms(cell, x, wrt="c"), rtol=1e-10)
        assert (c > 0).all() and not torch.allclose(c, last)
        assert c[-1] > 0  # the total derivative: c_T reaches J through h_T = o_T ⊙ tanh(c_T)


def test_frozen_weights_still_give_the_hidden_gradients():
    torch.manual_seed(4)
    rnn = nn.GRU(3, 4, batch_first=True)
    x = torch.randn(2, 5, 3)
    trainable = hidden_grad_norms(rnn, x)
    rnn.requires_grad_(False)
    assert torch.allclose(hidden_grad_norms(rnn, x), trainable)
    assert not x.requires_grad


def test_stacked_lstm_and_float32():
    torch.manual_seed(3)
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    norms = hidden_grad_norms(lstm, torch.randn(2, 5, 3))
    assert norms.shape == (5,) and norms.dtype == torch.float32
    assert torch.isclose(norms[-1], torch.tensor(2.0)) and (norms[:-1] > 0).all()


@pytest.mark.parametrize(("rnn", "x", "kwargs", "exc", "match"), [
    (nn.RNN(3, 4, batch_first=True), [[1.0]], {}, TypeError, "torch.Tensor"),
    (nn.RNN(3, 4, batch_first=True), torch.ones(2, 5, dtype=torch.long), {}, TypeError,
     "floating-point"),
    (nn.RNN(3, 4, batch_first=True), torch.ones(5, 3), {}, ValueError, r"\(B, T, D\)"),
    (nn.RNN(3, 4, batch_first=True), torch.ones(2, 0, 3), {}, ValueError, "T >= 1"),
    (nn.RNN(3, 4), torch.ones(2, 5, 3), {}, ValueError, "batch_first=True"),
    (nn.GRU(3, 4, batch_first=True, bidirectional=True), torch.ones(2, 5, 3), {}, ValueError,
     "bidirectional"),
    (nn.RNN(3, 4, batch_first=True), torch.ones(2, 5, 3), {"loss": "first"}, ValueError, "loss"),
    (nn.GRU(3, 4, batch_first=True), torch.ones(2, 5, 3), {"wrt": "c"}, ValueError, r"\(h, c\)"),
    (nn.LSTM(3, 4, num_layers=2, batch_first=True), torch.ones(2, 5, 3), {"wrt": "c"},
     ValueError, "one-layer"),
    (nn.RNN(3, 4, batch_first=True), torch.ones(2, 5, 3), {"reduction": "sum"}, ValueError,
     "reduction"),
    (nn.RNN(3, 4, batch_first=True), torch.ones(2, 5, 3), {"loss": lambda out: out}, ValueError,
     "scalar"),
    ("rnn", torch.ones(2, 5, 3), {}, TypeError, "recurrent module"),
])
def test_hidden_grad_norms_rejects_bad_input(rnn, x, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        hidden_grad_norms(rnn, x, **kwargs)


def test_a_failing_loss_leaves_the_parameters_exactly_as_they_were():
    w = torch.randn(5, dtype=torch.float64, requires_grad=True)
    before = w.detach().clone()
    calls = []

    def loss():
        calls.append(1)
        if len(calls) == 4:  # fails mid-check, with one entry perturbed
            raise RuntimeError("boom")
        return (w ** 2).sum()

    with pytest.raises(RuntimeError, match="boom"):
        grad_check(loss, [w], grads=[2 * before])
    assert torch.equal(w.detach(), before)
    assert str(GradCheck()) == "gradient check: nothing checked"
