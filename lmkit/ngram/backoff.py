"""Stupid backoff (Brants et al., 2007): a cheap score for huge corpora, not a probability."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lmkit._checks import check_number
from lmkit.models.base import Texts, sample
from lmkit.ngram.base import NgramBase
from lmkit.ngram.counts import NgramCounts

__all__ = ["StupidBackoff"]


class StupidBackoff(NgramBase):
    """Stupid backoff (Brants et al., 2007): a cheap *score*, not a probability.

    ``S(w | h) = c(h w) / c(h ·)`` if ``h w`` was seen, else ``backoff · S(w | h')``, down to
    ``S(w) = c(w) / N`` (``backoff / M`` for a token never seen). The scores do not sum to 1, so
    this is not a language model: it has no ``prob`` or ``perplexity``, but :meth:`score`,
    :meth:`logscore`, :meth:`scores` and :meth:`token_logscores`, with the same contexts as the
    models' (the text so far; ``<s>`` is put in front). :meth:`generate` samples from the
    normalised scores.

    Args:
        backoff: the factor charged for each step down to a shorter history (> 0).

    >>> lm = StupidBackoff(2).fit([["a", "b"], ["a", "a"]])
    >>> lm.score("b", ["a"]), lm.score("b", ["b"])    # 1/3 seen; 0.4 · c(b)/N = 0.4 · 1/6
    (0.3333333333333333, 0.06666666666666667)
    """

    _backoff = True

    def __init__(self, order: int, backoff: float = 0.4, *, min_freq: int = 1,
                 min_count: int | Sequence[int] = 1, eos: bool = True) -> None:
        super().__init__(order, min_freq=min_freq, min_count=min_count, eos=eos)
        check_number(backoff, "backoff", low=0.0, low_open=True, hint="Brants et al. use 0.4")
        self.backoff = backoff

    @property
    def _unseen_gamma(self) -> float:  # type: ignore[override]
        return float(self.backoff)  # an unseen context costs the factor too

    def _estimate(self, counts: NgramCounts) -> tuple[list[np.ndarray], list[np.ndarray]]:
        alpha, gamma = [np.ones(1)], [np.ones(1)]
        for k in range(1, counts.order + 1):
            c = self._mask_bos(k, counts.counts[k])
            total = self._totals(counts, k, c)
            alpha.append(self._divide(c, total[counts.parent(k)], 0.0))
            gamma.append(np.full(total.size, float(self.backoff)))
        return alpha, gamma

    def scores(self, context: Sequence[str] = ()) -> np.ndarray:
        """``(len(vocab),)`` ``S(w | context)`` for every id ``w`` (0 at ``<s>``, id 0)."""
        return self._next_probs(self._context_ids(context))

    def score(self, token: str, context: Sequence[str] = ()) -> float:
        """The stupid-backoff score ``S(token | context)`` (not a probability)."""
        if not isinstance(token, str):
            raise TypeError(f"token must be a str, got {type(token).__name__} ({token!r})")
        return float(self.scores(context)[self._vocab[token]])

    def logscore(self, token: str, context: Sequence[str] = ()) -> float:
        """``log S(token | context)`` (``-inf`` for ``<s>``, which is never predicted)."""
        s = self.score(token, context)
        return math.log(s) if s > 0 else -math.inf

    def token_logscores(self, texts: Texts) -> np.ndarray:
        """``(T,)`` log-scores of every token and ``</s>`` of ``texts`` (not log-probs)."""
        self._check_fitted()
        seqs, _ = self._encode_texts(texts)
        return self._token_values(seqs)[0]

    def generate(self, n: int = 1, max_tokens: int = 50, *, prompt: Sequence[str] = (),
                 temperature: float = 1.0, top_k: int | None = None, seed: int | None = 0
                 ) -> list[list[str]]:
        """Sample ``n`` continuations of ``prompt`` from the normalised scores.

        The arguments and the output are those of
        :meth:`lmkit.models.base.LanguageModel.generate`: each token is drawn from
        ``S(w | text so far) / Σ S``, reshaped by ``temperature`` and ``top_k``; a continuation
        stops at ``</s>`` (not included) or after ``max_tokens`` tokens.
        """
        return sample(self._stepper, self.vocab, n, max_tokens, prompt=prompt,
                      temperature=temperature, top_k=top_k, seed=seed)
