"""Hidden cases for chapter 6, "Vanishing and exploding gradients".

Tensors are float64 and batch-first, as in the chapter: a batch of vectors is ``(B, n)`` with one
row per example, so ``Wᵀ g`` is written ``g @ W``.
"""

from __future__ import annotations

import torch

from lmkit.exercises import Exercise, register

_DT = torch.float64


def _randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=_DT)


# ------------------------------------------------------------------ the per-step rate of W_hh


def _decay_rate(W_hh: torch.Tensor) -> float:
    return torch.linalg.eigvals(W_hh).abs().max().item()


_ROTATION = torch.tensor([[0.0, -1.1], [1.1, 0.0]], dtype=_DT)       # eigenvalues ±1.1i
_NEGATIVE = torch.tensor([[-1.2, 0.0], [0.0, 0.5]], dtype=_DT)       # eigenvalue -1.2
_SHEARED = torch.tensor([[0.9, 3.0], [0.0, 0.8]], dtype=_DT)         # ‖W‖ > 3, ρ = 0.9

register(Exercise(
    key="ch06.decay_rate",
    reference=_decay_rate,
    cases=[(_ROTATION,), (_NEGATIVE,), (_SHEARED,), (_randn(1, 6, 6, scale=0.4),),
           (_randn(2, 10, 10, scale=0.35),), (0.5 * torch.eye(3, dtype=_DT),)],
    wrong=[
        # the largest singular value (the spectral norm) instead of the largest |λ|
        lambda W: torch.linalg.matrix_norm(W, ord=2).item(),
        # the largest real part: misses negative and complex eigenvalues
        lambda W: torch.linalg.eigvals(W).real.max().item(),
        # the largest diagonal entry
        lambda W: W.diagonal().abs().max().item(),
        # the Frobenius norm
        lambda W: W.norm().item(),
    ],
))


# ------------------------------------------------------------------ a clipping threshold


def _clip_threshold(norms: list[float], fraction: float) -> float:
    ranked = sorted(norms, reverse=True)
    return ranked[min(int(fraction * len(norms)), len(norms) - 1)]


_NORMS = [0.8, 1.1, 0.9, 1.3, 25.0, 1.0, 0.7, 1.2, 4.0, 0.95]

register(Exercise(
    key="ch06.clip_threshold",
    reference=_clip_threshold,
    cases=[(_NORMS, 0.2), (_NORMS, 0.1), (_NORMS, 0.0), (_NORMS, 0.35),
           ([float(i) for i in range(1, 101)], 0.05), ([3.0, 1.0, 2.0], 0.5)],
    wrong=[
        # the median: clips half of the steps whatever the fraction
        lambda norms, f: sorted(norms)[len(norms) // 2],
        # one rank too far: clips one step more than allowed
        lambda norms, f: sorted(norms, reverse=True)[min(int(f * len(norms)) + 1,
                                                         len(norms) - 1)],
        # sorts the wrong way: the threshold that clips all but a fraction
        lambda norms, f: sorted(norms)[min(int(f * len(norms)), len(norms) - 1)],
        # the mean norm: pulled up by the very outliers it should catch
        lambda norms, f: sum(norms) / len(norms),
    ],
))


# ------------------------------------------------------------------ ∂h_T/∂h_1 of a tanh RNN


def _state_jacobian(W_hh: torch.Tensor, hs: torch.Tensor) -> torch.Tensor:
    J = torch.eye(W_hh.shape[0], dtype=W_hh.dtype)
    for t in range(1, hs.shape[0]):
        J = (1 - hs[t] ** 2)[:, None] * W_hh @ J          # Diag(σ'_t) W_hh · (∂h_{t-1}/∂h_1)
    return J


def _jac_case(seed: int, n: int, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    return _randn(seed, n, n, scale=0.6), torch.tanh(_randn(seed + 1, T, n))


register(Exercise(
    key="ch06.state_jacobian",
    reference=_state_jacobian,
    cases=[_jac_case(1, 2, 2), _jac_case(3, 3, 4), _jac_case(7, 5, 6), _jac_case(11, 4, 1)],
    wrong=[
        # multiplies the Jacobians in the wrong order
        lambda W, hs: _reversed(W, hs),
        # forgets the derivative of tanh: the linear RNN's W_hh^(T-1)
        lambda W, hs: torch.linalg.matrix_power(W, hs.shape[0] - 1),
        # takes tanh' from h_{t-1} instead of h_t
        lambda W, hs: _state_jacobian(W, torch.cat([hs[:1], hs[:-1]])),
        # uses W_hhᵀ: the matrix of the backward pass, not the Jacobian
        lambda W, hs: _state_jacobian(W.T, hs),
    ],
))


def _reversed(W: torch.Tensor, hs: torch.Tensor) -> torch.Tensor:
    J = torch.eye(W.shape[0], dtype=W.dtype)
    for t in range(1, hs.shape[0]):
        J = J @ ((1 - hs[t] ** 2)[:, None] * W)
    return J


# ------------------------------------------------------------------ the highway layer's gradient


def _highway_grad(x: torch.Tensor, W_H: torch.Tensor, b_H: torch.Tensor, W_T: torch.Tensor,
                  b_T: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    H = torch.tanh(x @ W_H.T + b_H)
    T = torch.sigmoid(x @ W_T.T + b_T)
    return g * (1 - T) + (g * T * (1 - H ** 2)) @ W_H + (g * (H - x) * T * (1 - T)) @ W_T


def _hw_case(seed: int, B: int, n: int) -> tuple[torch.Tensor, ...]:
    return (_randn(seed, B, n), _randn(seed + 1, n, n, scale=0.5), _randn(seed + 2, n),
            _randn(seed + 3, n, n, scale=0.5), _randn(seed + 4, n) - 1.0, _randn(seed + 5, B, n))


def _hw_parts(x, W_H, b_H, W_T, b_T, g):  # type: ignore[no-untyped-def]
    H = torch.tanh(x @ W_H.T + b_H)
    T = torch.sigmoid(x @ W_T.T + b_T)
    return H, T


register(Exercise(
    key="ch06.highway_grad",
    reference=_highway_grad,
    cases=[_hw_case(1, 1, 2), _hw_case(10, 3, 4), _hw_case(20, 2, 6), _hw_case(30, 5, 3)],
    wrong=[
        # treats the gate as a constant (forgets ∂T/∂x)
        lambda x, WH, bH, WT, bT, g: (lambda H, T: g * (1 - T) + (g * T * (1 - H ** 2)) @ WH)(
            *_hw_parts(x, WH, bH, WT, bT, g)),
        # forgets the carry path (1 - T) ⊙ x
        lambda x, WH, bH, WT, bT, g: (lambda H, T: (g * T * (1 - H ** 2)) @ WH
                                      + (g * (H - x) * T * (1 - T)) @ WT)(
            *_hw_parts(x, WH, bH, WT, bT, g)),
        # the gate's term with H instead of H - x
        lambda x, WH, bH, WT, bT, g: (lambda H, T: g * (1 - T) + (g * T * (1 - H ** 2)) @ WH
                                      + (g * H * T * (1 - T)) @ WT)(
            *_hw_parts(x, WH, bH, WT, bT, g)),
        # multiplies by W instead of Wᵀ (column-vector habit in batch-first code)
        lambda x, WH, bH, WT, bT, g: (lambda H, T: g * (1 - T) + (g * T * (1 - H ** 2)) @ WH.T
                                      + (g * (H - x) * T * (1 - T)) @ WT.T)(
            *_hw_parts(x, WH, bH, WT, bT, g)),
    ],
))
