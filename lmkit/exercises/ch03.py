"""Hidden cases for chapter 3, "The fixed-window neural language model"."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from lmkit.exercises import Exercise, register


def _params(seed: int, vocab_size: int, window: int, d: int, n_h: int) -> tuple:
    g = torch.Generator().manual_seed(seed)
    E = torch.randn(vocab_size, d, generator=g)
    W_xh = torch.randn(n_h, window * d, generator=g) / math.sqrt(window * d)
    b_h = torch.randn(n_h, generator=g)
    W_hy = torch.randn(vocab_size, n_h, generator=g)
    b_y = torch.randn(vocab_size, generator=g)
    context = torch.randint(vocab_size, (window,), generator=g).tolist()
    return E, W_xh, b_h, W_hy, b_y, context


def _window_forward(E: torch.Tensor, W_xh: torch.Tensor, b_h: torch.Tensor, W_hy: torch.Tensor,
                    b_y: torch.Tensor, context: list[int]) -> torch.Tensor:
    x = E[torch.as_tensor(context)].reshape(-1)  # (k*d,)
    return F.log_softmax(W_hy @ torch.tanh(W_xh @ x + b_h) + b_y, dim=0)


register(Exercise(
    key="ch03.window_forward",
    reference=_window_forward,
    cases=[_params(0, 6, 3, 4, 5), _params(1, 20, 1, 3, 7), _params(2, 11, 4, 2, 3),
           _params(3, 9, 2, 5, 5)],
    wrong=[
        # probabilities instead of log-probabilities
        lambda E, Wx, bh, Wy, by, c: F.softmax(Wy @ torch.tanh(Wx @ E[c].reshape(-1) + bh) + by, 0),
        # contexts read newest first
        lambda E, Wx, bh, Wy, by, c: F.log_softmax(
            Wy @ torch.tanh(Wx @ E[list(reversed(c))].reshape(-1) + bh) + by, 0),
        # no non-linearity
        lambda E, Wx, bh, Wy, by, c: F.log_softmax(Wy @ (Wx @ E[c].reshape(-1) + bh) + by, 0),
    ],
))


def _largest_window(vocab_size: int, embed_dim: int, hidden_dim: int, budget: int,
                    direct: bool) -> int:
    # |θ| = V d + n_h + V (n_h + 1) + k (d n_h + [direct] V d): linear in k
    fixed = vocab_size * embed_dim + hidden_dim + vocab_size * (hidden_dim + 1)
    per_word = embed_dim * hidden_dim + (vocab_size * embed_dim if direct else 0)
    return 0 if budget < fixed + per_word else (budget - fixed) // per_word


def _count(v: int, k: int, d: int, h: int, direct: bool) -> int:
    """The number of parameters of a fixed-window model (lmkit's FixedWindowLM)."""
    return v * d + h * (k * d + 1) + v * (h + 1) + (v * k * d if direct else 0)


def _window_with(fixed, per_word, strict=False, floor=True):
    """A wrong answer: the largest k from a fixed part and a per-word cost."""
    def wrong(v, d, h, b, direct):
        room, step = b - fixed(v, d, h, direct) - strict, per_word(v, d, h, direct)
        k = room // step if floor else -(-room // step)
        return max(0, k) if floor or room >= 0 else 0
    return wrong


def _fixed(v: int, d: int, h: int, direct: bool) -> int:
    return v * d + h + v * (h + 1)


def _per_word(v: int, d: int, h: int, direct: bool) -> int:
    return d * h + (v * d if direct else 0)


register(Exercise(
    key="ch03.largest_window",
    reference=_largest_window,
    cases=[(10_000, 64, 128, 2_000_000, False), (10_000, 64, 128, 2_000_000, True),
           (10_000, 64, 128, 10_000_000, True),
           (10_000, 64, 128, _count(10_000, 7, 64, 128, False), False),
           (10_000, 64, 128, _count(10_000, 7, 64, 128, False) - 1, False),
           (10_000, 64, 128, _count(10_000, 3, 64, 128, True), True),
           (100, 10, 10, 1000, False), (50, 4, 8, 5_000, True), (50, 4, 8, 3_000, False),
           (1_000, 16, 32, _count(1_000, 1, 16, 32, True) - 1, True)],
    wrong=[
        # rounds up
        _window_with(_fixed, _per_word, floor=False),
        # forgets the hidden bias
        _window_with(lambda v, d, h, x: v * d + v * (h + 1), _per_word),
        # a negative window when nothing fits
        lambda v, d, h, b, x: (b - _fixed(v, d, h, x)) // _per_word(v, d, h, x),
        # ignores the direct connections
        _window_with(_fixed, lambda v, d, h, x: d * h),
        # counts the direct connections once, not once per position
        _window_with(lambda v, d, h, x: _fixed(v, d, h, x) + (v * d if x else 0),
                     lambda v, d, h, x: d * h),
        # "within the budget" read as strictly below it
        _window_with(_fixed, _per_word, strict=True),
    ],
))


_WORDS = ["the", "a", "cat", "dog", "sat", "ran", "mat", "rug", "on", "under"]


def _nearest(E: torch.Tensor, words: list[str], word: str, n: int) -> list[str]:
    unit = F.normalize(E, dim=1)
    sims = unit @ unit[words.index(word)]
    order = sims.argsort(descending=True).tolist()
    return [words[i] for i in order if words[i] != word][:n]


def _embeddings(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # rows of very different lengths, so that dot products and cosines rank differently
    return torch.randn(len(_WORDS), 4, generator=g) * torch.logspace(-1, 1, len(_WORDS))[:, None]


def _dot_nearest(E: torch.Tensor, words: list[str], word: str, n: int) -> list[str]:
    sims = E @ E[words.index(word)]
    return [words[i] for i in sims.argsort(descending=True).tolist() if words[i] != word][:n]


register(Exercise(
    key="ch03.nearest",
    reference=_nearest,
    cases=[(_embeddings(0), _WORDS, "cat", 3), (_embeddings(1), _WORDS, "the", 5),
           (_embeddings(2), _WORDS, "under", 1), (_embeddings(3), _WORDS, "sat", 9)],
    wrong=[
        _dot_nearest,
        # keeps the word itself
        lambda E, w, word, n: [w[i] for i in (F.normalize(E, dim=1) @ F.normalize(E, dim=1)[
            w.index(word)]).argsort(descending=True).tolist()][:n],
        # least similar first
        lambda E, w, word, n: [w[i] for i in (F.normalize(E, dim=1) @ F.normalize(E, dim=1)[
            w.index(word)]).argsort().tolist() if w[i] != word][:n],
    ],
))


def _mixture_perplexity(logp_a: object, logp_b: object, lam: float) -> float:
    mixed = np.logaddexp(np.log(lam) + np.asarray(logp_a, dtype=float),
                         np.log1p(-lam) + np.asarray(logp_b, dtype=float))
    return float(np.exp(-mixed.mean()))


_rng = np.random.default_rng(3)
_LA = np.log(_rng.uniform(0.001, 0.5, 40))
_LB = np.log(_rng.uniform(0.001, 0.5, 40))

register(Exercise(
    key="ch03.mixture_perplexity",
    reference=_mixture_perplexity,
    cases=[(_LA, _LB, 0.5), (_LA, _LB, 0.1), (list(_LA), list(_LB), 0.9),
           # tiny probabilities: exp() of these underflows to 0
           (np.array([-800.0, -900.0, -2.0]), np.array([-810.0, -850.0, -3.0]), 0.3)],
    wrong=[
        # mixes log-probabilities (a geometric mean, not a distribution)
        lambda a, b, lam: float(np.exp(-(lam * np.asarray(a) + (1 - lam) * np.asarray(b)).mean())),
        # averages the two perplexities
        lambda a, b, lam: float(lam * np.exp(-np.mean(a)) + (1 - lam) * np.exp(-np.mean(b))),
        # leaves log space: underflows on tiny probabilities
        lambda a, b, lam: float(np.exp(-np.mean(np.log(lam * np.exp(np.asarray(a))
                                                       + (1 - lam) * np.exp(np.asarray(b)))))),
    ],
))
