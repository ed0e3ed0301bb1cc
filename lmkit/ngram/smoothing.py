"""Counting and smoothing: maximum likelihood, add-δ, recursive ε-smoothing, interpolation.

Each class here computes, per order ``k``, the ``alpha`` (per k-gram) and ``gamma`` (per
context) that :func:`lmkit.ngram.base.combine` turns into probabilities; ``M`` is the number of
tokens predicted, ``len(model.vocab) - 1`` (every id but ``<s>``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lmkit._checks import check_number, check_per_order
from lmkit.models.base import Texts
from lmkit.ngram.base import NgramModel, combine
from lmkit.ngram.counts import NgramCounts, gather

__all__ = ["MLE", "AddDelta", "Interpolated", "RecursiveSmoothing"]

Arrays = tuple[list[np.ndarray], list[np.ndarray]]


class MLE(NgramModel):
    """Maximum likelihood: ``p(w | h) = c(h w) / c(h ·)``, the relative frequency.

    Unseen n-grams get probability 0 (so the perplexity of a test set is usually infinite), and
    so does every token after a context the training text never showed (0/0, read as 0).

    >>> lm = MLE(1, eos=False).fit([["i", "love", "you"], ["i", "am"]])
    >>> lm.prob("i")                                   # 2 of the 5 words
    0.4
    """

    _unseen_gamma = 0.0

    def _estimate(self, counts: NgramCounts) -> Arrays:
        alpha, gamma = [np.ones(1)], [np.ones(1)]
        for k in range(1, counts.order + 1):
            c = self._mask_bos(k, counts.counts[k])
            total = self._totals(counts, k, c)  # (n_{k-1},) c(h ·)
            alpha.append(self._divide(c, total[counts.parent(k)], 0.0))
            gamma.append(np.zeros(total.size))
        return alpha, gamma


class AddDelta(NgramModel):
    """Add-δ smoothing: ``p(w | h) = (c(h w) + δ) / (c(h ·) + δ M)``; ``δ = 1`` is Laplace's.

    Every token gets ``δ`` imaginary extra counts in every context, so an unseen context gives
    the uniform ``1 / M``.

    Args:
        delta: ``δ > 0``, the pseudo-count added to every n-gram.

    >>> lm = AddDelta(2, delta=1.0).fit([["a", "b"], ["a", "a"]])
    >>> lm.prob("b", ["a"])                            # (1 + 1) / (3 + 1 · 4), M = 4
    0.2857142857142857
    """

    _uniform_lower = True

    def __init__(self, order: int, delta: float = 1.0, *, min_freq: int = 1,
                 min_count: int | Sequence[int] = 1, eos: bool = True) -> None:
        super().__init__(order, min_freq=min_freq, min_count=min_count, eos=eos)
        check_number(delta, "delta", low=0.0, low_open=True, hint="δ = 1 is Laplace smoothing; "
                     "a δ below 1 (e.g. 0.01) usually fits held-out text better")
        self.delta = delta

    def _estimate(self, counts: NgramCounts) -> Arrays:
        extra = float(self.delta) * (counts.size - 1)  # δ M
        alpha, gamma = [np.ones(1)], [np.ones(1)]
        for k in range(1, counts.order + 1):
            c = self._mask_bos(k, counts.counts[k])
            total = self._totals(counts, k, c) + extra
            alpha.append(c / total[counts.parent(k)])
            gamma.append(extra / total)
        return alpha, gamma


def _check_eps(value: object, name: str) -> float:
    return check_number(value, name, low=0.0, low_open=True,
                        hint="ε is a pseudo-count; try values between 0.1 and 1000")


class RecursiveSmoothing(NgramModel):
    """Each order backs onto the next lower one with ``ε`` pseudo-counts (the lecture's ε form).

    ``p(w) = (c(w) + ε_1 / M) / (N + ε_1)`` and, for each higher order,
    ``p(w | h) = (c(h w) + ε_k · p(w | h')) / (c(h ·) + ε_k)``. In Bayesian terms the shorter
    context's distribution is the mean of a Dirichlet prior of strength ``ε`` (compare MacKay &
    Peto, 1995): a context seen often trusts its own counts, a rare one leans on the shorter one.

    Args:
        eps: ``ε`` for all orders, or one per order ``(ε_1, …, ε_n)``; each > 0.

    >>> lm = RecursiveSmoothing(1, eps=2.0, eos=False).fit([["a", "b", "a"]])
    >>> lm.prob("a")                                   # (2 + 2/3) / (3 + 2), M = 3
    0.5333333333333333
    """

    def __init__(self, order: int, eps: float | Sequence[float] = 1.0, *, min_freq: int = 1,
                 min_count: int | Sequence[int] = 1, eos: bool = True) -> None:
        super().__init__(order, min_freq=min_freq, min_count=min_count, eos=eos)
        check_per_order(eps, "eps", order, _check_eps)
        self.eps = eps

    def _estimate(self, counts: NgramCounts) -> Arrays:
        eps = check_per_order(self.eps, "eps", counts.order, _check_eps)
        alpha, gamma = [np.ones(1)], [np.ones(1)]
        for k in range(1, counts.order + 1):
            c = self._mask_bos(k, counts.counts[k])
            total = self._totals(counts, k, c) + eps[k - 1]
            alpha.append(c / total[counts.parent(k)])
            gamma.append(eps[k - 1] / total)
        return alpha, gamma


def _check_lambda(value: object, name: str) -> float:
    return check_number(value, name, low=0.0, high=1.0,
                        hint="a weight of the order's own counts, between 0 and 1")


class Interpolated(NgramModel):
    """Linear interpolation (Jelinek–Mercer) of the relative frequencies of every order.

    ``p(w | h) = λ_n c(h w) / c(h ·) + (1 - λ_n) p(w | h')`` down to
    ``p(w) = λ_1 c(w) / N + (1 - λ_1) / M``; a context never seen passes straight to the next
    order down. The weights ``λ = (λ_1, …, λ_n)`` are given, or fitted by EM to maximize the
    likelihood of held-out text: ``fit(train, held_out=valid)``. After fitting, ``lambdas_``
    holds them (and ``weights_`` the equivalent flat mixture weights of orders 0 … n, where
    every context was seen). With ``min_count``, the weights are fitted before the cut.

    Args:
        lambdas: ``λ`` for all orders, or one per order; ``None`` (the default): fit them on
            the held-out text given to :meth:`fit`.

    >>> lm = Interpolated(2, lambdas=[0.5, 0.5]).fit([["a", "b"], ["a", "a"]])
    >>> lm.prob("b", ["a"])      # 0.5 · 1/3 + 0.5 · (0.5 · 1/6 + 0.5 · 1/4), M = 4
    0.2708333333333333
    """

    def __init__(self, order: int, lambdas: float | Sequence[float] | None = None, *,
                 min_freq: int = 1, min_count: int | Sequence[int] = 1, eos: bool = True
                 ) -> None:
        super().__init__(order, min_freq=min_freq, min_count=min_count, eos=eos)
        if lambdas is not None:
            check_per_order(lambdas, "lambdas", order, _check_lambda)
        self.lambdas = lambdas

    def fit(self, sentences: Texts, held_out: Texts | None = None) -> Interpolated:
        """Count ``sentences``; fit the weights on ``held_out`` (when ``lambdas`` is None)."""
        if (held_out is None) == (self.lambdas is None):
            raise ValueError("Interpolated needs its weights from exactly one place: pass "
                             "held-out sentences to fit (fit(train, held_out=valid)) or give "
                             "lambdas=[λ_1, …, λ_n], not both")
        if held_out is not None:
            held_out = self._encode_texts(held_out, "held_out")[0]
        return self._fit(sentences, held_out=held_out)

    def _estimate(self, counts: NgramCounts, held_out: list[list[str]] | None = None) -> Arrays:
        freq = [np.ones(1)]  # per order, the relative frequency c(h w) / c(h ·)
        seen = [np.ones(1, bool)]  # per order, contexts with at least one continuation
        for k in range(1, counts.order + 1):
            c = self._mask_bos(k, counts.counts[k])
            total = self._totals(counts, k, c)
            freq.append(self._divide(c, total[counts.parent(k)], 0.0))
            seen.append(total > 0)
        if held_out is None:
            lambdas = check_per_order(self.lambdas, "lambdas", counts.order, _check_lambda)
        else:
            lambdas = self._em(counts, freq, seen, held_out)
        self.lambdas_ = [float(x) for x in lambdas]
        flat = [1.0]  # weight of order k in the flat mixture, from the top down
        for lam in reversed(self.lambdas_):
            flat[-1:] = [flat[-1] * lam, flat[-1] * (1 - lam)]
        self.weights_ = flat[::-1]  # orders 0 (uniform), 1, …, n
        alpha = [freq[0]] + [lam * f for lam, f in zip(lambdas, freq[1:], strict=True)]
        gamma = [np.ones(1)] + [np.where(s, 1 - lam, 1.0)
                                for lam, s in zip(lambdas, seen[1:], strict=True)]
        return alpha, gamma

    def _em(self, counts: NgramCounts, freq: list[np.ndarray], seen: list[np.ndarray],
            held_out: list[list[str]], iterations: int = 500, tol: float = 1e-7) -> np.ndarray:
        """The ``(n,)`` λ that maximize the likelihood of ``held_out`` (EM on the nested mixture).

        The relative frequencies and "context seen" flags are looked up once at every held-out
        token; each iteration then runs the recursion (:func:`combine`) on those values.
        """
        ids, pos = self._layout(held_out)
        targets = np.flatnonzero(pos >= 1)
        idx = counts.find(ids, pos)
        f, active = [None], [None]  # per order: relative frequency, and "this order speaks"
        for k in range(1, counts.order + 1):
            context = idx[k - 1][targets - 1] if k > 1 else np.zeros(targets.size, np.int64)
            f.append(gather(freq[k], idx[k][targets], 0.0))
            active.append((pos[targets] >= k - 1) & gather(seen[k], context, False))
        lam = np.full(counts.order + 1, 0.5)
        uniform = 1.0 / (counts.size - 1)
        for _ in range(iterations):
            p = [np.full(targets.size, uniform)]  # p_k at each held-out token
            for k in range(1, counts.order + 1):
                p_k = combine(lam[k] * f[k], 1 - lam[k], None, None, p[k - 1])
                p.append(np.where(active[k], p_k, p[k - 1]))
            reach = np.ones(targets.size) / p[-1]  # P(the walk down reaches order k) / p_n
            new = lam.copy()
            for k in range(counts.order, 0, -1):
                a = active[k]
                chose = (reach * lam[k] * f[k])[a].sum()  # expected uses of c(h w)/c(h ·)
                visits = (reach * p[k])[a].sum()  # expected visits to order k
                if visits > 0:
                    new[k] = min(max(chose / visits, 1e-6), 1 - 1e-6)
                reach = np.where(a, reach * (1 - lam[k]), reach)
            done = np.abs(new - lam).max() < tol
            lam = new
            if done:
                break
        return lam[1:]
