"""Vanishing and exploding gradients in numbers: matrix powers and gradient clipping.

In a linear recurrence ``h_t = W h_{t-1} + …`` the error signal that travels ``j`` steps back is
``(Wᵀ)^j δ``; :func:`power_norms` measures its size. :func:`nonnormal_matrix` builds recurrent
matrices whose eigenvalues are all the same number ``ρ`` while a second knob, ``shear``, makes
them non-normal, so that the norm can grow for many steps before it decays. The clipping
functions rescale a gradient as ``lmkit.train`` does (by its global norm) or cut each entry
(by value), for comparing the two.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lmkit._checks import check_int, check_number

__all__ = ["clip_by_norm", "clip_by_value", "nonnormal_matrix", "power_norms",
           "with_radius"]


def nonnormal_matrix(rho: float, shear: float = 0.0, n: int = 16) -> torch.Tensor:
    """An ``(n, n)`` float64 matrix with ``rho`` on the diagonal and ``shear`` just above it.

    It is upper triangular, so every eigenvalue equals ``rho`` and the spectral radius is
    ``|rho|`` whatever ``shear`` is; with ``shear = 0`` it is ``rho · I`` (normal), and the larger
    ``shear``, the further from normal it is (its largest singular value is about
    ``|rho| + |shear|``).
    """
    rho = check_number(rho, "rho")
    shear = check_number(shear, "shear")
    n = check_int(n, "n", 2, hint="a 1×1 matrix is always normal")
    return rho * torch.eye(n, dtype=torch.float64) + shear * torch.diag(
        torch.ones(n - 1, dtype=torch.float64), 1)


def with_radius(W: torch.Tensor, rho: float) -> torch.Tensor:
    """``W`` rescaled so that its spectral radius (largest ``|λ_i|``) is ``rho`` ≥ 0."""
    W = _square(W, "W")
    rho = check_number(rho, "rho", low=0)
    radius = torch.linalg.eigvals(W).abs().max()
    if radius == 0:
        raise ValueError("W has spectral radius 0 (it is nilpotent); it cannot be rescaled to "
                         "another radius, pass a matrix with a nonzero eigenvalue")
    return W * (rho / radius).to(W.dtype)


def power_norms(W: torch.Tensor, steps: int, v: torch.Tensor | None = None) -> torch.Tensor:
    """``‖(Wᵀ)^j v‖`` for ``j = 0 … steps``: a gradient ``v`` sent ``j`` steps back.

    Args:
        W: ``(n, n)`` recurrent matrix (``W_hh`` of a linear RNN).
        steps: the largest power.
        v: ``(n,)`` starting gradient ``∂ℓ/∂h_t``; default the unit vector ``(1, …, 1)/√n``.

    Returns:
        ``(steps + 1,)`` tensor of norms in ``W``'s dtype (entry 0 is ``‖v‖``).
    """
    W = _square(W, "W")
    steps = check_int(steps, "steps", 0)
    n = W.shape[0]
    if v is None:
        v = torch.ones(n, dtype=W.dtype) / n ** 0.5
    elif not isinstance(v, torch.Tensor) or v.shape != (n,):
        raise ValueError(f"v must be a tensor of shape ({n},) to match W, got "
                         f"{getattr(v, 'shape', type(v).__name__)}")
    norms = [v.norm()]
    for _ in range(steps):
        v = v @ W                  # row-vector form of Wᵀ v: one step back
        norms.append(v.norm())
    return torch.stack(norms)


def clip_by_norm(grads: torch.Tensor | Sequence[torch.Tensor], clip: float
                 ) -> list[torch.Tensor]:
    """``g ← clip · g / ‖g‖`` when the global norm ``‖g‖`` of all tensors exceeds ``clip``.

    The direction of the update is kept; only its length is capped. Returns new tensors.
    """
    grads, clip = _grads(grads), check_number(clip, "clip", low=0, low_open=True)
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
    scale = min(1.0, clip / norm.item()) if norm > 0 else 1.0
    return [g * scale for g in grads]


def clip_by_value(grads: torch.Tensor | Sequence[torch.Tensor], clip: float
                  ) -> list[torch.Tensor]:
    """Every entry cut to ``[-clip, clip]`` (``torch.nn.utils.clip_grad_value_``); new tensors.

    Large entries are cut and small ones kept, so the direction of the update changes.
    """
    grads, clip = _grads(grads), check_number(clip, "clip", low=0, low_open=True)
    return [g.clamp(-clip, clip) for g in grads]


def _grads(grads: object) -> list[torch.Tensor]:
    items = [grads] if isinstance(grads, torch.Tensor) else grads
    if not isinstance(items, (list, tuple)) or not items or \
            not all(isinstance(g, torch.Tensor) for g in items):
        raise TypeError("grads must be a tensor or a non-empty list of tensors, e.g. "
                        "[p.grad for p in model.parameters()]")
    return list(items)


def _square(W: object, name: str) -> torch.Tensor:
    if not isinstance(W, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (n, n), got {type(W).__name__}")
    if W.dim() != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"{name} must be a square (n, n) matrix, got shape {tuple(W.shape)}")
    if not W.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {W.dtype}; use "
                        f"{name}.double()")
    return W
