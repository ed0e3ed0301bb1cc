"""Kneser–Ney smoothing: absolute discounts and continuation counts (Chen & Goodman, 1998)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from lmkit._checks import check_bool, check_number
from lmkit.ngram.base import BOS_ID, NgramModel
from lmkit.ngram.counts import NgramCounts

__all__ = ["KneserNey"]


class KneserNey(NgramModel):
    """Interpolated Kneser–Ney smoothing, original or modified (Chen & Goodman, 1998).

    ``p(w | h) = max(a(h w) - D(a(h w)), 0) / a(h ·) + γ(h) p(w | h')`` down to the uniform
    ``1 / M``, with ``γ(h) = (D_1 N_1(h ·) + D_2 N_2(h ·) + D_3+ N_3+(h ·)) / a(h ·)`` (``N_j(h ·)``
    is the number of tokens ``w`` with ``a(h w) = j``, or ``≥ 3``). The counts ``a`` are the raw
    counts at the highest order and for n-grams that start with ``<s>``; at the lower orders they
    are *continuation counts*, the number of different tokens seen before the n-gram: a word that
    follows one fixed word ("Francisco") counts once however frequent it is.

    The discounts of each order come from its count-of-counts ``n_j`` (how many n-grams have
    ``a = j``): ``Y = n_1 / (n_1 + 2 n_2)``; the original method uses ``D = Y`` for every count,
    the modified one ``D_1 = 1 - 2Y n_2/n_1``, ``D_2 = 2 - 3Y n_3/n_2``, ``D_3+ = 3 - 4Y n_4/n_3``.
    When a tiny corpus lacks the counts, KenLM's fallback ``(0.5, 1, 1.5)`` is used, with a
    warning. This is the model of SRILM's ``-kndiscount -interpolate`` and KenLM's ``lmplz``:
    the 5-gram reproduces their Penn Treebank perplexity (141.2).

    Args:
        order: n.
        modified: three discounts per order (True, the default) or one (False).
        discount: a fixed discount in (0, 1] for every order instead of the estimate
            (``modified=False`` only; NLTK's ``KneserNeyInterpolated`` uses 0.1).

    After fitting, ``discounts_[k - 1]`` holds the ``(D_1, D_2, D_3+)`` of order k.

    >>> corpus = [s.split() for s in ["i love you tons", "i love you 3000",
    ...                                "i am iron man", "you love me"]]
    >>> kn = KneserNey(2, modified=False).fit(corpus)
    >>> round(kn.prob("you", ["love"]), 4)   # worked out by hand in tests/test_ngram.py
    0.4814
    """

    def __init__(self, order: int, modified: bool = True, discount: float | None = None, *,
                 min_freq: int = 1, min_count: int | Sequence[int] = 1, eos: bool = True) -> None:
        super().__init__(order, min_freq=min_freq, min_count=min_count, eos=eos)
        check_bool(modified, "modified")
        if discount is not None:
            check_number(discount, "discount", low=0.0, high=1.0, low_open=True,
                         hint="a discount subtracted from every count, such as 0.75")
            if modified:
                raise ValueError("a fixed discount needs modified=False (modified Kneser–Ney "
                                 "estimates three discounts per order from the counts)")
        self.modified, self.discount = modified, discount

    def _estimate(self, counts: NgramCounts) -> tuple[list[np.ndarray], list[np.ndarray]]:
        order = counts.order
        alpha, gamma = [np.ones(1)] * (order + 1), [np.ones(1)] * (order + 1)
        self.discounts_ = [(0.0, 0.0, 0.0)] * order
        fallback = []  # the orders whose counts are too few for the estimate
        for k in range(order, 0, -1):
            a = self._adjusted(counts, k)  # (n_k,) float counts a(h w)
            d = self._discounts(a, k)  # (4,) D(0) = 0, D_1, D_2, D_3+
            if d is None:
                fallback.append(k)
                d = np.array([0.0, 0.5, 1.0, 1.5] if self.modified else [0.0, 0.5, 0.5, 0.5])
            self.discounts_[k - 1] = tuple(float(x) for x in d[1:])
            j = np.minimum(a, 3).astype(np.int64)  # which discount applies to each n-gram
            parent = counts.parent(k)
            total = self._totals(counts, k, a)  # (n_{k-1},) a(h ·)
            alpha[k] = self._divide(a - d[j], total[parent], 0.0)
            gamma[k] = self._divide(self._totals(counts, k, d[j]), total, 1.0)
        if fallback:
            warnings.warn(f"too few n-grams of order {', '.join(map(str, sorted(fallback)))} to "
                          f"estimate the Kneser–Ney discounts from their count-of-counts; used "
                          f"KenLM's fallback D = (0.5, 1.0, 1.5) there. Train on more text for "
                          f"real estimates.", UserWarning, stacklevel=4)
        return alpha, gamma

    def _adjusted(self, counts: NgramCounts, k: int) -> np.ndarray:
        """Raw counts at the top order and after <s>, continuation counts below."""
        raw = counts.counts[k]
        if k < counts.order:
            # every (k+1)-gram x w1 … wk is distinct, so counting them per suffix counts the
            # distinct tokens x seen before w1 … wk
            continuation = np.bincount(counts.suffix[k + 1], minlength=raw.size)
            raw = np.where(counts.first(k) == BOS_ID, raw, continuation)
        return self._mask_bos(k, raw)

    def _discounts(self, a: np.ndarray, k: int) -> np.ndarray | None:
        """``(4,)`` ``D(0) = 0, D_1, D_2, D_3+`` of order ``k`` from its counts ``a``, or ``None``
        when the count-of-counts are too few for the estimate."""
        if self.discount is not None:
            return np.array([0.0] + [float(self.discount)] * 3)
        n = np.bincount(a.astype(np.int64), minlength=5)[:5].astype(np.float64)  # n_0 … n_4
        with np.errstate(divide="ignore", invalid="ignore"):
            y = n[1] / (n[1] + 2 * n[2])
            if self.modified:
                d = np.array([0.0] + [j - (j + 1) * y * n[j + 1] / n[j] for j in (1, 2, 3)])
            else:
                d = np.array([0.0, y, y, y])
        needed = n[1:4] if self.modified else n[1:2]
        if (needed == 0).any() or not all(0 <= d[j] <= j for j in (1, 2, 3)):
            return None  # too few counts: the caller uses KenLM's fallback, with one warning
        return d
