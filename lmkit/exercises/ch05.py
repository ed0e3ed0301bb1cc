"""Hidden cases for chapter 5, "Backpropagation through time".

Tensors are float64 and batch-first, as in the chapter: a batch of hidden states is ``(B, n_h)``
with one row per sequence, so ``W_hhᵀ δ`` is written ``δ @ W_hh``.
"""

from __future__ import annotations

import math

import torch

from lmkit.exercises import Exercise, register

_DT = torch.float64


def _randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=_DT)


# ------------------------------------------------------------------ one step of the δ recursion


def _bptt_step(delta_next: torch.Tensor, h_next: torch.Tensor, err: torch.Tensor,
               W_hh: torch.Tensor, W_hy: torch.Tensor) -> torch.Tensor:
    return err @ W_hy + ((1 - h_next ** 2) * delta_next) @ W_hh


def _step_case(seed: int, B: int, n_h: int, V: int) -> tuple[torch.Tensor, ...]:
    return (_randn(seed, B, n_h), torch.tanh(_randn(seed + 1, B, n_h)),
            _randn(seed + 2, B, V, scale=0.1), _randn(seed + 3, n_h, n_h, scale=0.5),
            _randn(seed + 4, V, n_h))


register(Exercise(
    key="ch05.bptt_step",
    reference=_bptt_step,
    cases=[_step_case(1, 1, 3, 4), _step_case(10, 4, 5, 7), _step_case(20, 2, 6, 3),
           (torch.zeros(3, 4, dtype=_DT), *_step_case(30, 3, 4, 5)[1:])],
    wrong=[
        # multiplies by W_hh instead of its transpose
        lambda d, h, e, W, U: e @ U + ((1 - h ** 2) * d) @ W.T,
        # forgets the derivative of tanh
        lambda d, h, e, W, U: e @ U + d @ W,
        # takes tanh' as 1 - h instead of 1 - h²
        lambda d, h, e, W, U: e @ U + ((1 - h) * d) @ W,
        # forgets the loss at step t itself
        lambda d, h, e, W, U: ((1 - h ** 2) * d) @ W,
    ],
))


# ------------------------------------------------------------------ ∂J/∂W_hh as a sum over uses


def _w_hh_grad(h_prev: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bti,btj->ij", a, h_prev)


def _grad_case(seed: int, B: int, T: int, n_h: int) -> tuple[torch.Tensor, torch.Tensor]:
    h_prev = torch.tanh(_randn(seed, B, T, n_h))
    h_prev[:, 0] = 0.0  # h_0 = 0
    return h_prev, _randn(seed + 1, B, T, n_h)


register(Exercise(
    key="ch05.w_hh_grad",
    reference=_w_hh_grad,
    cases=[_grad_case(1, 1, 1, 2), _grad_case(5, 2, 4, 3), _grad_case(9, 3, 6, 5),
           _grad_case(13, 1, 10, 4)],
    wrong=[
        # the transpose: h_{t-1} a_tᵀ instead of a_t h_{t-1}ᵀ
        lambda h, a: torch.einsum("bti,btj->ij", h, a),
        # averages the uses instead of adding them up
        lambda h, a: torch.einsum("bti,btj->ij", a, h) / h.shape[1],
        # only the last use
        lambda h, a: a[:, -1].T @ h[:, -1],
        # pairs a_t with h_t (shifted by one step) instead of h_{t-1}
        lambda h, a: torch.einsum("bti,btj->ij", a[:, :-1], h[:, 1:]),
    ],
))


# ------------------------------------------------------------------ scalar linear RNN


def _states(w: float, xs: list[float]) -> list[float]:
    """h_0 = 0, h_t = w h_{t-1} + x_t; returns [h_0, …, h_T]."""
    hs = [0.0]
    for x in xs:
        hs.append(w * hs[-1] + x)
    return hs


def _truncated_scalar_grad(w: float, xs: list[float], k: int) -> float:
    hs, T = _states(w, xs), len(xs)
    return math.fsum(w ** (T - t) * hs[t - 1] for t in range(max(1, T - k + 1), T + 1))


_SCALAR_CASES = [
    (0.9, [1.0, 2.0, -1.0, 0.5], 2),
    (0.5, [1.0, -1.0, 2.0], 10),             # k >= T: the full gradient
    (1.1, [0.3, -0.2, 0.5, 1.0, -1.0, 0.7, 0.2, 0.1], 1),
    (-0.7, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 3),
    (0.95, [0.1 * i for i in range(1, 21)], 5),
    (0.8, [2.0, 0.0, 0.0, 0.0, 0.0], 4),     # the only input is 4 steps back: k = 4 misses it
]

register(Exercise(
    key="ch05.truncated_scalar_grad",
    reference=_truncated_scalar_grad,
    cases=_SCALAR_CASES,
    wrong=[
        # one step too many: k + 1 terms
        lambda w, xs, k: _truncated_scalar_grad(w, xs, k + 1),
        # uses h_t instead of h_{t-1}
        lambda w, xs, k: math.fsum(w ** (len(xs) - t) * _states(w, xs)[t]
                                   for t in range(max(1, len(xs) - k + 1), len(xs) + 1)),
        # ignores the truncation
        lambda w, xs, k: _truncated_scalar_grad(w, xs, len(xs)),
        # keeps the oldest k terms instead of the most recent ones
        lambda w, xs, k: math.fsum(w ** (len(xs) - t) * _states(w, xs)[t - 1]
                                   for t in range(1, min(k, len(xs)) + 1)),
    ],
))


def _randomized_scalar_grad(w: float, xs: list[float], xi: list[int], pi: float) -> float:
    hs, T = _states(w, xs), len(xs)
    total, weight = 0.0, 1.0
    for j in range(T):               # the term that reaches back j steps: the use at T - j
        total += weight * w ** j * hs[T - j - 1]
        if j == T - 1 or not xi[j]:
            break
        weight /= pi
    return total


def _lecture_version(w: float, xs: list[float], xi: list[int], pi: float) -> float:
    """Multiplies by π at each step instead of dividing (biased)."""
    hs, T = _states(w, xs), len(xs)
    total, weight = 0.0, 1.0
    for j in range(T):
        total += weight * w ** j * hs[T - j - 1]
        if j == T - 1 or not xi[j]:
            break
        weight *= pi
    return total


register(Exercise(
    key="ch05.randomized_scalar_grad",
    reference=_randomized_scalar_grad,
    cases=[(0.9, [1.0, 2.0, -1.0, 0.5], [1, 1, 1], 0.5),
           (0.9, [1.0, 2.0, -1.0, 0.5], [1, 0, 1], 0.5),
           (0.9, [1.0, 2.0, -1.0, 0.5], [0, 1, 1], 0.5),
           (1.2, [0.5, -1.0, 0.3, 0.8, 1.5, -0.4], [1, 1, 1, 1, 0], 0.8),
           (0.6, [1.0, 1.0, 1.0], [1, 1], 1.0),       # π = 1: never cut, the full gradient
           (0.7, [3.0], [], 0.3)],
    wrong=[
        _lecture_version,
        # skips the cut steps but carries on behind them
        lambda w, xs, xi, pi: math.fsum(
            w ** j * _states(w, xs)[len(xs) - j - 1] / pi ** j
            for j in range(len(xs)) if j == 0 or xi[j - 1]),
        # divides by π once instead of once per step
        lambda w, xs, xi, pi: _randomized_scalar_grad(w, xs, xi, 1.0) if all(xi) else
        math.fsum(w ** j * _states(w, xs)[len(xs) - j - 1] / (pi if j else 1.0)
                  for j in range(xi.index(0) + 1)),
        # no reweighting: plain random truncation
        lambda w, xs, xi, pi: _randomized_scalar_grad(w, xs, xi, 1.0),
    ],
))


# ------------------------------------------------------------------ one step of forward mode


def _rtrl_step(M_prev: torch.Tensor, h_prev: torch.Tensor, h: torch.Tensor,
               W_hh: torch.Tensor) -> torch.Tensor:
    n = h.shape[0]
    direct = torch.kron(h_prev[None, :], torch.eye(n, dtype=h.dtype))   # (n, n²)
    return (1 - h ** 2)[:, None] * (direct + W_hh @ M_prev)


def _rtrl_case(seed: int, n: int) -> tuple[torch.Tensor, ...]:
    return (_randn(seed, n, n * n, scale=0.3), torch.tanh(_randn(seed + 1, n)),
            torch.tanh(_randn(seed + 2, n)), _randn(seed + 3, n, n, scale=0.5))


register(Exercise(
    key="ch05.rtrl_step",
    reference=_rtrl_step,
    cases=[_rtrl_case(1, 2), _rtrl_case(4, 3), _rtrl_case(8, 5),
           (torch.zeros(3, 9, dtype=_DT), *_rtrl_case(12, 3)[1:])],
    wrong=[
        # row-major ordering (PyTorch's flatten) instead of stacked columns
        lambda M, hp, h, W: (1 - h ** 2)[:, None] * (
            torch.kron(torch.eye(h.shape[0], dtype=h.dtype), hp[None, :]) + W @ M),
        # forgets the derivative of tanh
        lambda M, hp, h, W: torch.kron(hp[None, :], torch.eye(h.shape[0], dtype=h.dtype))
        + W @ M,
        # uses h_t instead of h_{t-1} in the direct term
        lambda M, hp, h, W: _rtrl_step(M, h, h, W),
        # applies tanh' to the direct term only
        lambda M, hp, h, W: (1 - h ** 2)[:, None] * torch.kron(
            hp[None, :], torch.eye(h.shape[0], dtype=h.dtype)) + W @ M,
    ],
))
