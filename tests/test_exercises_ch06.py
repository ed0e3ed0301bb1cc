"""Chapter 6's reference solutions agree with autograd and with power_norms."""

import torch

from lmkit.exercises import ch06, registry
from lmkit.stability import power_norms

DT = torch.float64


def test_highway_grad_reference_is_autograd():
    for case in (ch06._hw_case(1, 3, 4), ch06._hw_case(7, 2, 5)):
        x, W_H, b_H, W_T, b_T, g = case
        x = x.clone().requires_grad_()
        H = torch.tanh(x @ W_H.T + b_H)
        t = torch.sigmoid(x @ W_T.T + b_T)
        y = t * H + (1 - t) * x
        (auto,) = torch.autograd.grad((y * g).sum(), x)
        assert torch.allclose(ch06._highway_grad(x.detach(), W_H, b_H, W_T, b_T, g), auto,
                              atol=1e-12)


def test_state_jacobian_reference_is_autograd():
    gen = torch.Generator().manual_seed(0)
    W = 0.6 * torch.randn(4, 4, generator=gen, dtype=DT)
    xs = torch.randn(5, 4, generator=gen, dtype=DT)

    def run(h1):
        hs = [h1]
        for x in xs[1:]:
            hs.append(torch.tanh(W @ hs[-1] + x))
        return hs

    h1 = torch.tanh(xs[0])
    hs = torch.stack(run(h1))
    auto = torch.autograd.functional.jacobian(lambda h: run(h)[-1], h1)
    assert torch.allclose(ch06._state_jacobian(W, hs), auto, atol=1e-12)


def test_decay_rate_reference_is_the_measured_rate():
    for (W,) in registry()["ch06.decay_rate"].cases:
        if W.shape[0] > 2:
            norms = power_norms(W, 400)
            measured = (norms[400] / norms[300]).item() ** (1 / 100)
            assert abs(measured - ch06._decay_rate(W)) < 0.02 * ch06._decay_rate(W)
