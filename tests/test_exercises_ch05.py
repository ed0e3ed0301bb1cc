"""Chapter 5's reference solutions for the leaky RNN agree with autograd.

The leaky RNN: h_t = (1 − α) h_{t-1} + α z_t, z_t = tanh(W_hh h_{t-1} + W_xh e_t + b_h),
o_t = W_hy h_t + b_y, J the mean cross-entropy; batch-first, float64.
"""

import pytest
import torch
import torch.nn.functional as F

from lmkit.exercises import ch05

pytestmark = pytest.mark.usefixtures("one_thread")

DT = torch.float64


def _leaky_run(alpha, B=3, T=7, n_h=5, V=6, seed=0):
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=1.0):
        return (scale * torch.randn(*shape, generator=g, dtype=DT)).requires_grad_()

    p = {"W_xh": r(n_h, V), "W_hh": r(n_h, n_h, scale=0.6), "b_h": r(n_h, scale=0.3),
         "W_hy": r(V, n_h), "b_y": r(V, scale=0.3)}
    x = torch.randint(0, V, (B, T), generator=g)
    y = torch.randint(0, V, (B, T), generator=g)
    h = torch.zeros(B, n_h, dtype=DT)
    hs, zs, h_prev = [], [], []
    for t in range(T):
        h_prev.append(h)
        z = torch.tanh(h @ p["W_hh"].T + p["W_xh"].T[x[:, t]] + p["b_h"])
        h = (1 - alpha) * h + alpha * z
        hs.append(h)
        zs.append(z)
    logits = torch.stack([hh @ p["W_hy"].T + p["b_y"] for hh in hs], 1)   # (B, T, V)
    J = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    return p, hs, zs, h_prev, logits, J


@pytest.mark.parametrize("alpha", [0.3, 0.7, 1.0])
def test_leaky_bptt_step_is_autograds_recursion(alpha):
    p, hs, zs, _, logits, J = _leaky_run(alpha)
    deltas = torch.autograd.grad(J, hs, retain_graph=True)          # δ_t = ∂J/∂h_t
    err = torch.autograd.grad(J, logits, retain_graph=True)[0]      # ∂J/∂o_t
    with torch.no_grad():
        for t in range(len(hs) - 1):
            got = ch05._leaky_bptt_step(deltas[t + 1], zs[t + 1], err[:, t], p["W_hh"],
                                        p["W_hy"], alpha)
            torch.testing.assert_close(got, deltas[t], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.3, 1.0])
def test_leaky_w_hh_grad_is_autograds_gradient(alpha):
    p, hs, zs, h_prev, _, J = _leaky_run(alpha, seed=1)
    deltas = torch.autograd.grad(J, hs, retain_graph=True)
    expected = torch.autograd.grad(J, p["W_hh"])[0]
    with torch.no_grad():
        got = ch05._leaky_w_hh_grad(torch.stack(h_prev, 1), torch.stack(zs, 1),
                                    torch.stack(deltas, 1), alpha)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-12)


def test_rtrl_bias_step_is_autograds_jacobian():
    g = torch.Generator().manual_seed(2)
    n_h, V, T = 4, 5, 6
    W_xh, W_hh = torch.randn(n_h, V, generator=g, dtype=DT), 0.7 * torch.randn(
        n_h, n_h, generator=g, dtype=DT)
    b_h = 0.2 * torch.randn(n_h, generator=g, dtype=DT)
    E = torch.randn(T, V, generator=g, dtype=DT)

    def last_state(b):
        h = torch.zeros(n_h, dtype=DT)
        for t in range(T):
            h = torch.tanh(W_hh @ h + W_xh @ E[t] + b)
        return h

    h, M = torch.zeros(n_h, dtype=DT), torch.zeros(n_h, n_h, dtype=DT)
    for t in range(T):
        h_new = torch.tanh(W_hh @ h + W_xh @ E[t] + b_h)
        M, h = ch05._rtrl_bias_step(M, h, h_new, W_hh), h_new
    torch.testing.assert_close(M, torch.autograd.functional.jacobian(last_state, b_h),
                               rtol=1e-9, atol=1e-12)
