"""Chapter 4's reference solution agrees with autograd: the Jacobian of one RNN step."""

import pytest
import torch

from lmkit.exercises import ch04, registry

pytestmark = pytest.mark.usefixtures("one_thread")


def test_step_jacobian_is_autograds_jacobian():
    for x, h, W_xh, W_hh, b_h, act in registry()["ch04.step_jacobian"].cases:
        f = torch.tanh if act == "tanh" else torch.relu
        def step(h_prev, f=f, x=x, W_xh=W_xh, W_hh=W_hh, b_h=b_h):
            return f(W_xh @ x + W_hh @ h_prev + b_h)

        expected = torch.autograd.functional.jacobian(step, h)
        torch.testing.assert_close(ch04._step_jacobian(x, h, W_xh, W_hh, b_h, act), expected)


def test_relu_cases_stay_away_from_the_kink():
    for x, h, W_xh, W_hh, b_h, act in registry()["ch04.step_jacobian"].cases:
        if act == "relu":
            z = W_xh @ x + W_hh @ h + b_h
            assert (z.abs() > 1e-3).all() and (z > 0).any() and (z < 0).any()
