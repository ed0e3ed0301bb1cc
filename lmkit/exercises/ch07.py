"""Hidden cases for chapter 7, "LSTM and GRU".

Tensors are float64 and batch-first, as in the chapter: a batch of vectors is ``(B, n)`` with one
row per example; PyTorch's stacked weights are ``(G·H, D)`` with the gates in PyTorch's order.
"""

from __future__ import annotations

import math

import torch

from lmkit.exercises import Exercise, register

_DT = torch.float64


def _randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=_DT)


# ------------------------------------------------------------------ an LSTM's parameter count


def _lstm_params(input_size: int, hidden_size: int, num_layers: int) -> int:
    H, total = hidden_size, 0
    for layer in range(num_layers):
        D = input_size if layer == 0 else H
        total += 4 * (H * D + H * H + 2 * H)
    return total


register(Exercise(
    key="ch07.lstm_params",
    reference=_lstm_params,
    cases=[(1, 1, 1), (32, 128, 1), (32, 128, 2), (200, 200, 2), (5, 3, 3), (10, 20, 1)],
    wrong=[
        # one bias per gate, as the lecture writes it (PyTorch has two)
        lambda D, H, L: sum(4 * (H * (D if j == 0 else H) + H * H + H) for j in range(L)),
        # forgets that the four gates each have their own matrices
        lambda D, H, L: sum(H * (D if j == 0 else H) + H * H + 2 * H for j in range(L)),
        # every layer reads the input (layers above the first read h, of size H)
        lambda D, H, L: L * 4 * (H * D + H * H + 2 * H),
        # three gates: forgets the candidate g (a GRU-like count)
        lambda D, H, L: sum(3 * (H * (D if j == 0 else H) + H * H + 2 * H) for j in range(L)),
    ],
))


# ------------------------------------------------------------------ a forget bias for k steps


def _forget_bias(k: int, keep: float) -> float:
    p = keep ** (1 / k)
    return math.log(p / (1 - p))


register(Exercise(
    key="ch07.forget_bias",
    reference=_forget_bias,
    cases=[(1, 0.5), (10, 0.5), (50, 0.1), (100, 0.5), (20, 0.9), (3, 0.01)],
    wrong=[
        # keeps `keep` at every step instead of over all k steps
        lambda k, keep: math.log(keep / (1 - keep)),
        # the per-step factor itself, not the bias that produces it
        lambda k, keep: keep ** (1 / k),
        # log instead of logit
        lambda k, keep: math.log(keep) / k,
        # keep^k instead of keep^(1/k)
        lambda k, keep: math.log(keep ** k / (1 - keep ** k)),
    ],
))


# ------------------------------------------------------------------ PyTorch's GRU step


def _gru_step(x_t: torch.Tensor, h: torch.Tensor, W_ih: torch.Tensor, W_hh: torch.Tensor,
              b_ih: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    x_r, x_z, x_n = (x_t @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


def _gru_case(seed: int, B: int, D: int, H: int) -> tuple[torch.Tensor, ...]:
    return (_randn(seed, B, D), torch.tanh(_randn(seed + 1, B, H)),
            _randn(seed + 2, 3 * H, D, scale=0.7), _randn(seed + 3, 3 * H, H, scale=0.7),
            _randn(seed + 4, 3 * H, scale=0.5), _randn(seed + 5, 3 * H, scale=0.5))


def _reset_before(x_t, h, W_ih, W_hh, b_ih, b_hh):  # type: ignore[no-untyped-def]
    # the lecture's GRU: r multiplies h before the recurrent matrix
    H = h.shape[1]
    x_r, x_z, x_n = (x_t @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, _ = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:])
    return (1 - z) * n + z * h


def _z_swapped(x_t, h, W_ih, W_hh, b_ih, b_hh):  # type: ignore[no-untyped-def]
    # z and 1 - z exchanged (the lecture's u where PyTorch has z)
    h_new = _gru_step(x_t, h, W_ih, W_hh, b_ih, b_hh)
    x_r, x_z, x_n = (x_t @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    z = torch.sigmoid(x_z + h_z)
    n = (h_new - z * h) / (1 - z)
    return z * n + (1 - z) * h


def _gates_swapped(x_t, h, W_ih, W_hh, b_ih, b_hh):  # type: ignore[no-untyped-def]
    # reads the stacked rows in the order z, r, n
    def swap(w: torch.Tensor) -> torch.Tensor:
        a, b, c = w.chunk(3, dim=0)
        return torch.cat([b, a, c])
    return _gru_step(x_t, h, swap(W_ih), swap(W_hh), swap(b_ih), swap(b_hh))


def _no_hidden_bias_in_n(x_t, h, W_ih, W_hh, b_ih, b_hh):  # type: ignore[no-untyped-def]
    # b_hn added outside the reset gate
    H = h.shape[1]
    b = b_hh.clone()
    b[2 * H:] = 0
    x_r, x_z, x_n = (x_t @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + b_hh[2 * H:] + r * (h @ W_hh[2 * H:].T))
    return (1 - z) * n + z * h


register(Exercise(
    key="ch07.gru_step",
    reference=_gru_step,
    cases=[_gru_case(1, 1, 1, 1), _gru_case(10, 3, 4, 5), _gru_case(20, 2, 6, 3),
           _gru_case(30, 5, 2, 4)],
    wrong=[_reset_before, _z_swapped, _gates_swapped, _no_hidden_bias_in_n],
))


# ------------------------------------------------------------------ the lecture's forget gate


def _forget_gate(W_ih: torch.Tensor, W_hh: torch.Tensor, b_ih: torch.Tensor,
                 b_hh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    H = W_hh.shape[1]
    rows = slice(H, 2 * H)
    return W_hh[rows], W_ih[rows], b_ih[rows] + b_hh[rows]


def _fg_case(seed: int, D: int, H: int) -> tuple[torch.Tensor, ...]:
    return (_randn(seed, 4 * H, D), _randn(seed + 1, 4 * H, H), _randn(seed + 2, 4 * H),
            _randn(seed + 3, 4 * H))


def _rows(W_ih, W_hh, b_ih, b_hh, k):  # type: ignore[no-untyped-def]
    H = W_hh.shape[1]
    s = slice(k * H, (k + 1) * H)
    return W_hh[s], W_ih[s], b_ih[s] + b_hh[s]


register(Exercise(
    key="ch07.forget_gate",
    reference=_forget_gate,
    cases=[_fg_case(1, 1, 1), _fg_case(10, 3, 2), _fg_case(20, 5, 4), _fg_case(30, 2, 6)],
    wrong=[
        # the first block: that is the input gate i (PyTorch's order is i, f, g, o)
        lambda *w: _rows(*w, 0),
        # the third block: that is the candidate g
        lambda *w: _rows(*w, 2),
        # W and U exchanged: the lecture's W multiplies h, U multiplies x
        lambda *w: (lambda W, U, b: (U, W, b))(*_forget_gate(*w)),
        # only one of PyTorch's two biases
        lambda W_ih, W_hh, b_ih, b_hh: (lambda W, U, b: (
            W, U, b_ih[W_hh.shape[1]:2 * W_hh.shape[1]]))(
            *_forget_gate(W_ih, W_hh, b_ih, b_hh)),
    ],
))
