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


# ------------------------------------------------------------------ the leaky RNN
#
# h_t = (1 - α) h_{t-1} + α z_t,  z_t = tanh(W_hh h_{t-1} + W_xh e_t + b_h),  o_t = W_hy h_t + b_y.
# The chapter derives BPTT for α = 1; these exercises ask for any α in (0, 1].


def _leaky_bptt_step(delta_next: torch.Tensor, z_next: torch.Tensor, err: torch.Tensor,
                     W_hh: torch.Tensor, W_hy: torch.Tensor, alpha: float) -> torch.Tensor:
    """δ_t = W_hyᵀ err_t + (1 − α) δ_{t+1} + α W_hhᵀ (tanh'_{t+1} ⊙ δ_{t+1}), tanh' = 1 − z²."""
    return (err @ W_hy + (1 - alpha) * delta_next
            + alpha * ((1 - z_next ** 2) * delta_next) @ W_hh)


def _step_case(seed: int, B: int, n_h: int, V: int, alpha: float) -> tuple:
    return (_randn(seed, B, n_h), torch.tanh(_randn(seed + 1, B, n_h)),
            _randn(seed + 2, B, V, scale=0.1), _randn(seed + 3, n_h, n_h, scale=0.5),
            _randn(seed + 4, V, n_h), alpha)


register(Exercise(
    key="ch05.leaky_bptt_step",
    reference=_leaky_bptt_step,
    cases=[_step_case(1, 1, 3, 4, 0.5), _step_case(10, 4, 5, 7, 0.3),
           _step_case(20, 2, 6, 3, 0.8), _step_case(40, 3, 4, 4, 1.0),   # α = 1: the chapter's
           (torch.zeros(3, 4, dtype=_DT), *_step_case(30, 3, 4, 5, 0.6)[1:])],
    wrong=[
        # the chapter's recursion with z in place of h: the leak path (1 − α) δ_{t+1} is lost
        lambda d, z, e, W, U, a: e @ U + ((1 - z ** 2) * d) @ W,
        # keeps α on the tanh path but forgets the leak path
        lambda d, z, e, W, U, a: e @ U + a * ((1 - z ** 2) * d) @ W,
        # forgets the factor α on the tanh path
        lambda d, z, e, W, U, a: e @ U + (1 - a) * d + ((1 - z ** 2) * d) @ W,
        # swaps α and 1 − α
        lambda d, z, e, W, U, a: e @ U + a * d + (1 - a) * ((1 - z ** 2) * d) @ W,
        # sends the leak path through W_hh too
        lambda d, z, e, W, U, a: e @ U + ((1 - a) * d + a * (1 - z ** 2) * d) @ W,
        # multiplies by W_hh instead of its transpose
        lambda d, z, e, W, U, a: e @ U + (1 - a) * d + a * ((1 - z ** 2) * d) @ W.T,
    ],
))


def _leaky_w_hh_grad(h_prev: torch.Tensor, z: torch.Tensor, delta: torch.Tensor,
                     alpha: float) -> torch.Tensor:
    """∂J/∂W_hh = Σ_b Σ_t (α tanh'_t ⊙ δ_t) h_{t-1}ᵀ, tanh'_t = 1 − z_t²."""
    a = alpha * (1 - z ** 2) * delta                     # (B, T, n_h)
    return torch.einsum("bti,btj->ij", a, h_prev)


def _grad_case(seed: int, B: int, T: int, n_h: int, alpha: float) -> tuple:
    h_prev = torch.tanh(_randn(seed, B, T, n_h))
    h_prev[:, 0] = 0.0  # h_0 = 0
    return h_prev, torch.tanh(_randn(seed + 1, B, T, n_h)), _randn(seed + 2, B, T, n_h), alpha


def _pre_activation_grad(z: torch.Tensor, delta: torch.Tensor, alpha: float) -> torch.Tensor:
    return alpha * (1 - z ** 2) * delta


register(Exercise(
    key="ch05.leaky_w_hh_grad",
    reference=_leaky_w_hh_grad,
    cases=[_grad_case(1, 1, 1, 2, 0.5), _grad_case(5, 2, 4, 3, 0.25),
           _grad_case(9, 3, 6, 5, 0.7), _grad_case(13, 1, 10, 4, 1.0)],
    wrong=[
        # forgets α
        lambda hp, z, d, a: torch.einsum("bti,btj->ij", (1 - z ** 2) * d, hp),
        # reads tanh' off the previous state, as the plain RNN's 1 − h² suggests
        lambda hp, z, d, a: torch.einsum("bti,btj->ij", a * (1 - hp ** 2) * d, hp),
        # forgets tanh'
        lambda hp, z, d, a: torch.einsum("bti,btj->ij", a * d, hp),
        # counts the leak path as a use of W_hh
        lambda hp, z, d, a: torch.einsum("bti,btj->ij", _pre_activation_grad(z, d, a)
                                         + (1 - a) * d, hp),
        # the transpose: h_{t-1} a_tᵀ
        lambda hp, z, d, a: torch.einsum("bti,btj->ij", hp, _pre_activation_grad(z, d, a)),
        # averages the uses over the steps instead of adding them up
        lambda hp, z, d, a: _leaky_w_hh_grad(hp, z, d, a) / hp.shape[1],
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


# ------------------------------------------------------------------ forward mode for the bias


def _rtrl_bias_step(M_prev: torch.Tensor, h_prev: torch.Tensor, h: torch.Tensor,
                    W_hh: torch.Tensor) -> torch.Tensor:
    """∂h_t/∂b_h = Diag(1 − h_t²) [I + W_hh ∂h_{t-1}/∂b_h], (n_h, n_h)."""
    eye = torch.eye(h.shape[0], dtype=h.dtype)
    return (1 - h ** 2)[:, None] * (eye + W_hh @ M_prev)


def _rtrl_case(seed: int, n: int) -> tuple[torch.Tensor, ...]:
    return (_randn(seed, n, n, scale=0.3), torch.tanh(_randn(seed + 1, n)),
            torch.tanh(_randn(seed + 2, n)), _randn(seed + 3, n, n, scale=0.5))


def _eye_like(h: torch.Tensor) -> torch.Tensor:
    return torch.eye(h.shape[0], dtype=h.dtype)


register(Exercise(
    key="ch05.rtrl_bias_step",
    reference=_rtrl_bias_step,
    cases=[_rtrl_case(1, 2), _rtrl_case(4, 3), _rtrl_case(8, 5),
           (torch.zeros(3, 3, dtype=_DT), *_rtrl_case(12, 3)[1:])],   # M_0 = 0: the first step
    wrong=[
        # adds 1 to every entry (∂b/∂b read as the number 1) instead of the identity matrix
        lambda M, hp, h, W: (1 - h ** 2)[:, None] * (1 + W @ M),
        # forgets the direct term: b_h enters every step, not only through h_{t-1}
        lambda M, hp, h, W: (1 - h ** 2)[:, None] * (W @ M),
        # applies tanh' to the direct term only
        lambda M, hp, h, W: (1 - h ** 2)[:, None] * _eye_like(h) + W @ M,
        # multiplies in the wrong order
        lambda M, hp, h, W: (1 - h ** 2)[:, None] * (_eye_like(h) + M @ W),
        # tanh' of the previous state
        lambda M, hp, h, W: (1 - hp ** 2)[:, None] * (_eye_like(h) + W @ M),
        # forgets tanh'
        lambda M, hp, h, W: _eye_like(h) + W @ M,
    ],
))
