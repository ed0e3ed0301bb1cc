"""lmkit.stability: matrix powers, non-normal matrices and the two kinds of clipping."""

import math

import pytest
import torch

from lmkit.stability import clip_by_norm, clip_by_value, nonnormal_matrix, power_norms, with_radius

DT = torch.float64


def test_power_norms_of_a_scaled_identity_are_powers():
    norms = power_norms(0.9 * torch.eye(4, dtype=DT), 5)
    assert torch.allclose(norms, torch.tensor([0.9 ** j for j in range(6)], dtype=DT))


def test_power_norms_send_v_back_through_w_transposed():
    W = torch.randn(5, 5, generator=torch.Generator().manual_seed(0), dtype=DT)
    v = torch.randn(5, generator=torch.Generator().manual_seed(1), dtype=DT)
    norms = power_norms(W, 3, v)
    assert norms[3].item() == pytest.approx((torch.linalg.matrix_power(W.T, 3) @ v).norm().item())


def test_with_radius_sets_the_spectral_radius_and_the_rate():
    W = torch.randn(16, 16, generator=torch.Generator().manual_seed(3), dtype=DT)
    for rho in (0.5, 1.0, 1.3):
        Wr = with_radius(W, rho)
        assert torch.linalg.eigvals(Wr).abs().max().item() == pytest.approx(rho)
        norms = power_norms(Wr, 200)
        assert (norms[200] / norms[150]).item() ** (1 / 50) == pytest.approx(rho, rel=0.02)


def test_nonnormal_matrix_has_one_eigenvalue_and_grows_before_it_decays():
    W = nonnormal_matrix(0.9, 0.2)
    assert torch.allclose(torch.linalg.eigvals(W), torch.full((16,), 0.9, dtype=torch.cdouble))
    norms = power_norms(W, 400)
    assert norms.max() > 1000 and norms.argmax() > 100 and norms[-1] < 1
    assert torch.equal(nonnormal_matrix(0.5, 0.0, 3), 0.5 * torch.eye(3, dtype=DT))


def test_clip_by_norm_keeps_direction_and_caps_the_global_norm():
    grads = [torch.tensor([3.0, 0.0]), torch.tensor([[0.0, 4.0]])]
    out = clip_by_norm(grads, 1.0)
    assert torch.allclose(out[0], torch.tensor([0.6, 0.0]))
    assert torch.allclose(out[1], torch.tensor([[0.0, 0.8]]))
    assert clip_by_norm(grads, 10.0)[0] is not grads[0]            # new tensors
    assert torch.equal(clip_by_norm(grads, 10.0)[0], grads[0])      # below C: unchanged
    assert torch.equal(clip_by_norm(torch.zeros(3), 1.0)[0], torch.zeros(3))


def test_clip_by_norm_agrees_with_torch():
    p = torch.nn.Parameter(torch.zeros(4))
    p.grad = torch.tensor([1.0, -2.0, 3.0, 0.5])
    ours = clip_by_norm(p.grad, 0.7)[0]
    torch.nn.utils.clip_grad_norm_([p], 0.7)
    assert torch.allclose(ours, p.grad, atol=1e-6)


def test_clip_by_value_cuts_entries_and_turns_the_vector():
    g = torch.tensor([4.0, 0.5])
    out = clip_by_value(g, 1.0)[0]
    assert torch.equal(out, torch.tensor([1.0, 0.5]))
    cos = (out @ g / (out.norm() * g.norm())).item()
    assert cos < math.cos(math.radians(15))


@pytest.mark.parametrize(("call", "exc", "match"), [
    (lambda: power_norms(torch.ones(2, 3), 3), ValueError, "square"),
    (lambda: power_norms([[1.0]], 3), TypeError, "torch.Tensor"),
    (lambda: power_norms(torch.eye(2, dtype=torch.long), 3), TypeError, "floating"),
    (lambda: power_norms(torch.eye(2), -1), ValueError, "steps"),
    (lambda: power_norms(torch.eye(2), 3, torch.ones(3)), ValueError, "shape"),
    (lambda: with_radius(torch.zeros(2, 2), 1.0), ValueError, "nilpotent"),
    (lambda: with_radius(torch.eye(2), -1.0), ValueError, "rho"),
    (lambda: nonnormal_matrix(0.9, 0.1, 1), ValueError, "n must"),
    (lambda: nonnormal_matrix("0.9"), TypeError, "rho"),
    (lambda: clip_by_norm([torch.ones(2)], 0.0), ValueError, "clip"),
    (lambda: clip_by_value([], 1.0), TypeError, "non-empty"),
    (lambda: clip_by_value([1.0], 1.0), TypeError, "tensor"),
])
def test_bad_input_gets_a_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
