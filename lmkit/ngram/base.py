"""The n-gram base: vocabulary, counting, the one order-by-order recursion, and inspection.

Every n-gram class is a :class:`NgramBase`: it counts a corpus into
:class:`~lmkit.ngram.counts.NgramCounts` and estimates (in ``_estimate``), per order
``k = 1 … n``, ``alpha[k]``, one number per stored k-gram ``h w``, and ``gamma[k]``, one per
context ``h``. :func:`combine` turns them into probabilities one order at a time, from the
uniform ``p_0 = 1 / M`` up: ``p_k(w | h) = alpha(h w) + gamma(h) · lower`` (interpolation), or
``alpha(h w)`` if ``h w`` was seen and ``gamma(h) · lower`` otherwise (backoff), where ``lower``
is ``p_{k-1}(w | h')`` (``h'``: ``h`` without its first token), or the uniform ``1 / M`` for
add-δ. A context never seen gets ``gamma = unseen_gamma`` (1 for the smoothed models).
:class:`NgramModel` adds the language-model contract (:class:`~lmkit.models.base.LanguageModel`).
"""

from __future__ import annotations

import inspect
import math
from collections import Counter
from collections.abc import Sequence
from itertools import chain
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from lmkit._checks import check_bool, check_int, check_per_order
from lmkit.models.base import (
    BOS,
    EOS,
    UNK,
    LanguageModel,
    NotFittedError,
    Stepper,
    Texts,
    check_context,
)
from lmkit.ngram.corpus import build_vocab, layout, sentences_and_tokens
from lmkit.ngram.counts import NgramCounts, gather
from lmkit.text import Vocab

__all__ = ["BOS_ID", "NgramBase", "NgramModel", "check_min_count", "combine"]

BOS_ID = 0  # the id of <s> in every model: a context, never predicted
MAX_ORDER = 50  # beyond it counting only costs time: no corpus repeats 50-token contexts
_Model = TypeVar("_Model", bound="NgramBase")


def combine(alpha: np.ndarray, gamma: np.ndarray | float, ngram: np.ndarray | None,
            context: np.ndarray | None, lower: np.ndarray | float, *, backoff: bool = False,
            unseen_gamma: float = 1.0) -> np.ndarray:
    """One step of the recursion: ``p_k(w | h)`` from ``alpha(h w)``, ``gamma(h)`` and ``lower``.

    Args:
        alpha: ``(n_k,)`` one value per stored k-gram ``h w``.
        gamma: ``(n_{k-1},)`` one value per context ``h``.
        ngram: ``(B,)`` index in ``alpha`` of each query's ``h w`` (-1: not stored, alpha 0), or
            ``None`` if ``alpha`` already holds one value per query.
        context: ``(B,)`` (or 0-d) index in ``gamma`` of each query's ``h`` (-1: a context never
            seen, gamma ``unseen_gamma``), or ``None`` if ``gamma`` already holds one value per
            query (or one number for all).
        lower: ``(B,)`` ``p_{k-1}(w | h')`` at each query, or one number for all.
        backoff: a seen n-gram answers alone (``alpha``) instead of adding to the lower order.

    Returns:
        ``(B,)`` ``p_k(w | h)``.
    """
    a = alpha if ngram is None else gather(alpha, ngram, 0.0)
    g = gamma if context is None else gather(gamma, context, unseen_gamma)
    if backoff:
        return np.where(a > 0, a, g * lower)
    return a + g * lower


def check_min_count(min_count: object, order: int) -> list[int]:
    """The cut-off of each order 1 … ``order`` (unigrams are never cut) from ``min_count``."""
    hint = "1 keeps every n-gram, 2 drops those seen once"
    if isinstance(min_count, (list, tuple)):
        counts = check_per_order(min_count, "min_count", order,
                                 lambda m, name: check_int(m, name, 1, hint=hint), "int")
        if counts[0] != 1 or counts != sorted(counts):
            raise ValueError(f"min_count as a sequence needs one int per order, starting with 1 "
                             f"(unigrams are never cut) and never decreasing, e.g. "
                             f"{[1, 1] + [2] * (order - 2) if order > 1 else [1]}; "
                             f"got {min_count!r}")
        return counts
    return [1] + [check_int(min_count, "min_count", 1, hint=hint)] * (order - 1)


def _differs(value: object, default: object) -> bool:
    if value is default:
        return False
    try:
        return bool(value != default)
    except (TypeError, ValueError):  # e.g. a NumPy array
        return True


class NgramBase:
    """What every n-gram class shares: fit, counts, the recursion, inspection (not a distribution).

    Args (every n-gram class takes them, after its own):
        order: n, the number of tokens in the longest n-gram (``>= 1``).
        min_freq: training tokens seen fewer times are read as ``<unk>`` (default 1: none).
        min_count: drop n-grams of order 2 and up seen fewer times (default 1: keep all), or one
            threshold per order (``[1, 1, 2, 2, 2]`` cuts singletons of orders 3-5, like SRILM's
            defaults). The dropped n-grams' probability goes to the backoff, as in SRILM and
            KenLM, so a smoothed model still sums to 1.
        eos: append ``</s>`` to every sentence and predict it (default). ``eos=False`` models
            the tokens alone, as the lecture's unigram ``p(i) = 3/15`` of 15 words does.

    Parameters are stored as given (``model.min_count`` is what was passed); what ``fit``
    learns ends in ``_`` (``discounts_``, ``lambdas_``) or is private.
    """

    _backoff = False  # combine by backoff (a seen n-gram answers alone) instead of interpolation
    _uniform_lower = False  # every order falls back on the uniform 1/M, not the order below
    _unseen_gamma = 1.0  # gamma of a context never seen
    eos: bool = True  # a plain attribute here (the parameter), shadowing LanguageModel.eos

    def __init__(self, order: int, *, min_freq: int = 1, min_count: int | Sequence[int] = 1,
                 eos: bool = True) -> None:
        check_int(order, "order", 1, MAX_ORDER, hint="1 for a unigram, 2 for a bigram model, …; "
                  "even character models gain little beyond 10")
        check_int(min_freq, "min_freq", 1, hint="rarer training tokens become <unk>; 1 keeps "
                  "every token")
        check_min_count(min_count, order)
        check_bool(eos, "eos")
        self.order, self.min_freq, self.min_count, self.eos = order, min_freq, min_count, eos

    def __repr__(self) -> str:
        """The class and every parameter that differs from its default (``order`` always)."""
        shown = []
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            value = getattr(self, name)
            if name == "order":
                shown.append(repr(value))
            elif _differs(value, param.default):
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    @property
    def context_size(self) -> int:
        """``order - 1``: the tokens of history the model conditions on."""
        return int(self.order) - 1

    # -- fitting --------------------------------------------------------------------------------

    def fit(self: _Model, sentences: Texts) -> _Model:
        """Count the n-grams of ``sentences`` (a list of token lists); return the model."""
        return self._fit(sentences)

    def _fit(self: _Model, sentences: Texts, **estimate_args: Any) -> _Model:
        self.__dict__.pop("_counts", None)  # not fitted until the end (also after a failed fit)
        seqs, flat = sentences_and_tokens(sentences, "sentences")
        if not flat:
            raise ValueError("sentences holds no tokens: an n-gram model needs a non-empty "
                             "training corpus (a list of token lists)")
        self._vocab = build_vocab(flat, int(self.min_freq),
                                  [BOS, EOS, UNK] if self.eos else [BOS, UNK])
        ids, pos = layout(seqs, flat, self._vocab, self.eos)
        counts = NgramCounts(ids, pos, int(self.order), len(self._vocab))
        alpha, gamma = self._estimate(counts, **estimate_args)
        min_counts = check_min_count(self.min_count, int(self.order))
        self._alpha, self._gamma, self._counts = self._cut(counts, alpha, gamma, min_counts)
        return self

    def _layout(self, seqs: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """``(T,)`` ids and positions of validated texts (:func:`lmkit.ngram.corpus.layout`)."""
        return layout(seqs, list(chain.from_iterable(seqs)), self._vocab, self.eos)

    def _estimate(self, counts: NgramCounts) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``alpha[k]`` per k-gram and ``gamma[k]`` per context, for k = 1 … order."""
        raise NotImplementedError

    def _cut(self, counts: NgramCounts, alpha: list[np.ndarray], gamma: list[np.ndarray],
             min_counts: list[int]) -> tuple[list[np.ndarray], list[np.ndarray], NgramCounts]:
        """Drop n-grams seen fewer than ``min_counts[k-1]`` times; their mass goes to backoff."""
        if max(min_counts) == 1:
            return alpha, gamma, counts
        keep = [np.ones(n.size, bool) for n in counts.keys]
        for k in range(2, counts.order + 1):
            keep[k] = counts.counts[k] >= min_counts[k - 1]
            if not self._backoff:  # gamma(h) = 1 - the sum of the kept alpha(h w)
                cut = ~keep[k]
                gamma[k] = gamma[k] + np.bincount(counts.parent(k)[cut], alpha[k][cut],
                                                  minlength=gamma[k].size)
        alpha = [a[keep[k]] for k, a in enumerate(alpha)]
        gamma = [gamma[0]] + [g[keep[k - 1]] for k, g in enumerate(gamma) if k]
        return alpha, gamma, counts.select(keep)

    # Helpers for _estimate

    @staticmethod
    def _mask_bos(k: int, c: np.ndarray) -> np.ndarray:
        """``c`` as float64, with 0 for the unigram <s> (a context, never predicted)."""
        c = c.astype(np.float64)
        if k == 1:
            c[BOS_ID] = 0.0
        return c

    @staticmethod
    def _totals(counts: NgramCounts, k: int, c: np.ndarray) -> np.ndarray:
        """``(n_{k-1},)`` sum of ``c`` over the k-grams of each context."""
        return np.bincount(counts.parent(k), c, minlength=counts.keys[k - 1].size)

    @staticmethod
    def _divide(a: np.ndarray, b: np.ndarray, fill: float) -> np.ndarray:
        out = np.full(np.broadcast(a, b).shape, fill)
        np.divide(a, b, out=out, where=b > 0)
        return out

    # -- the fitted model -----------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if "_counts" not in self.__dict__:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 f"Call 'fit' with a list of token lists first, e.g. "
                                 f"model.fit([line.split() for line in text.splitlines()]).")

    @property
    def vocab(self) -> Vocab:
        """The :class:`~lmkit.text.Vocab`: ``<s>`` (id 0), ``</s>``, ``<unk>``, then the words.

        Its ids are the model's; every id but ``<s>``'s is predicted (``M = len(vocab) - 1``).
        """
        self._check_fitted()
        return self._vocab

    #: Validation of texts to score, shared with the language-model contract.
    _encode_texts = LanguageModel._encode_texts

    def _probs(self, ids: np.ndarray, pos: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """``(len(targets),)`` the value of each token at ``targets`` of a laid-out text."""
        idx = self._counts.find(ids, pos)  # per order, (T,) n-gram index or -1
        uniform = 1.0 / (len(self._vocab) - 1)
        p = np.full(targets.size, uniform)  # p_0, then p_1, p_2, … in turn
        for k in range(1, self.context_size + 2):
            context = idx[k - 1][targets - 1] if k > 1 else np.zeros(targets.size, np.int64)
            p_k = combine(self._alpha[k], self._gamma[k], idx[k][targets], context,
                          uniform if self._uniform_lower else p, backoff=self._backoff,
                          unseen_gamma=self._unseen_gamma)
            p = np.where(pos[targets] >= k - 1, p_k, p)  # no longer history: keep p_{k-1}
        return p

    def _next_probs(self, context: Sequence[int]) -> np.ndarray:
        """``(V,)`` the value of every id after ``<s> context`` (0 for ``<s>`` itself).

        Only the last ``order - 1`` ids count. A context's continuations are contiguous in the
        sorted table (their keys run from ``index · V`` to ``index · V + V - 1``), so one slice
        per order finds all of them.
        """
        n = self.context_size
        ids = np.array([BOS_ID, *context][-n:] if n else [], np.int64)
        idx = self._counts.find(ids, np.arange(ids.size))  # idx[j][-1]: the j-gram ending it
        size = len(self._vocab)
        uniform = 1.0 / (size - 1)
        p = np.full(size, uniform)
        for k in range(1, ids.size + 2):
            context_index = int(idx[k - 1][-1]) if k > 1 else 0
            ngram = np.full(size, -1, np.int64)
            if context_index >= 0:
                keys = self._counts.keys[k]
                lo, hi = np.searchsorted(keys, [context_index * size, (context_index + 1) * size])
                ngram[keys[lo:hi] % size] = np.arange(lo, hi)
            p = combine(self._alpha[k], self._gamma[k], ngram, np.array(context_index),
                        uniform if self._uniform_lower else p, backoff=self._backoff,
                        unseen_gamma=self._unseen_gamma)
        p[BOS_ID] = 0.0
        return p

    def _stepper(self, prompt: list[int]) -> Stepper:
        """``step(id | None) -> (V,)`` values (probabilities, or scores) after ``<s> prompt``
        and every id fed since."""
        self._check_fitted()
        context = list(prompt)

        def step(token: int | None) -> np.ndarray:
            if token is not None:
                context.append(token)
            return self._next_probs(context)
        return step

    def _context_ids(self, context: Sequence[str]) -> list[int]:
        self._check_fitted()
        return self._vocab.encode(check_context(context))

    def _token_values(self, seqs: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """``(T,)`` natural log of the value of every scored token, and ``(T,)`` its sentence."""
        ids, pos = self._layout(seqs)
        targets = np.flatnonzero(pos >= 1)  # every token but <s>
        with np.errstate(divide="ignore"):
            logp = np.log(self._probs(ids, pos, targets))
        return logp, np.cumsum(pos == 0)[targets] - 1

    # -- inspection -----------------------------------------------------------------------------

    def count(self, ngram: Sequence[str]) -> int:
        """How often ``ngram`` (a list of 1 … order tokens) occurs in the padded training text.

        ``count(["<s>", "i"])`` counts the sentences that start with ``i``; tokens outside the
        vocabulary are read as ``<unk>``; with ``min_count`` the cut n-grams count 0.
        """
        self._check_fitted()
        if not isinstance(ngram, (list, tuple)) or not all(isinstance(t, str) for t in ngram):
            raise TypeError(f"ngram must be a list of str tokens such as ['love', 'you'], got "
                            f"{ngram!r:.60}")
        if not 1 <= len(ngram) <= self.order:
            raise ValueError(f"ngram must hold 1 … {self.order} tokens, got {len(ngram)}")
        lead = next((i for i, t in enumerate(ngram) if t != BOS), len(ngram))  # leading <s>
        ngram = list(ngram[max(lead - 1, 0):])  # <s> <s> … is stored as one <s>
        if BOS in ngram[1:]:  # <s> after a word: never counted
            return 0
        ids = np.array(self._vocab.encode(ngram))
        k = len(ngram)
        index = self._counts.find(ids, np.arange(k))[k][-1]
        return int(self._counts.counts[k][index]) if index >= 0 else 0

    def ngram_counts(self, k: int) -> Counter[tuple[str, ...]]:
        """The k-grams of the padded training text with their counts (``.most_common(10)``…).

        >>> from lmkit.ngram import MLE
        >>> MLE(2).fit([["a", "b"], ["a"]]).ngram_counts(2).most_common(2)
        [(('<s>', 'a'), 2), (('a', '</s>'), 1)]
        """
        self._check_fitted()
        k = check_int(k, "k", 1, int(self.order), hint="an order of the model")
        counts = self._counts.counts[k]
        seen = counts > 0  # (the dense unigram table also lists unseen tokens)
        itos = self._vocab.itos
        return Counter({tuple(itos[i] for i in row): int(c) for row, c in
                        zip(self._counts.tokens(k)[seen].tolist(), counts[seen], strict=True)})

    def unseen_fraction(self, sentences: Texts) -> dict[int, float]:
        """For n = 1 … order, the share of the n-grams of ``sentences`` never seen in training.

        The n-grams are those ending at each scored token (words and ``</s>``) that fit inside
        the padded sentence (n-grams cut by ``min_count`` count as unseen): the sparsity that
        every smoothing method is about.
        """
        self._check_fitted()
        seqs, _ = self._encode_texts(sentences, "sentences")
        ids, pos = self._layout(seqs)
        idx = self._counts.find(ids, pos)
        targets = pos >= 1
        out = {}
        for k in range(1, self.context_size + 2):
            inside = targets & (pos >= k - 1)
            seen = idx[k][inside] >= 0
            if k == 1:  # the unigram table is dense: seen means a count > 0
                seen = self._counts.counts[1][ids[inside]] > 0
            out[k] = float(1 - seen.mean()) if inside.any() else math.nan
        return out

    @property
    def num_ngrams(self) -> dict[int, int]:
        """Distinct n-grams stored, per order (order 1: the whole vocabulary, ``<s>`` included)."""
        self._check_fitted()
        return {k: int(self._counts.keys[k].size) for k in range(1, self.context_size + 2)}

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays that hold the fitted model (keys, counts and parameters)."""
        self._check_fitted()
        return self._counts.nbytes + sum(a.nbytes for a in (*self._alpha[1:], *self._gamma[1:]))


class NgramModel(NgramBase, LanguageModel):
    """An n-gram model whose values are probabilities: a :class:`LanguageModel`.

    ``prob``, ``logprob``, ``perplexity``, ``bits_per_char``, ``num_scored`` and ``generate``
    come from the contract; a context is the text so far from its start, the model puts ``<s>``
    in front and reads its last ``order - 1`` tokens.
    """

    def distribution(self, context: Sequence[str] = ()) -> np.ndarray:
        """``(len(vocab),)`` ``p(w | <s> context)`` for every id ``w``; 0 at ``<s>`` (id 0)."""
        return self._next_probs(self._context_ids(context))

    def token_logprobs(self, texts: Texts) -> np.ndarray:
        """``(T,)`` float64 natural-log probabilities of every token of ``texts`` and of each
        sentence's ``</s>`` (if ``eos``), in order: what :mod:`lmkit.metrics` takes."""
        self._check_fitted()
        seqs, _ = self._encode_texts(texts)
        return self._token_values(seqs)[0]

    def sentence_logprobs(self, texts: Texts) -> np.ndarray:
        """``(S,)`` natural-log probability of each sentence (its ``</s>`` included)."""
        self._check_fitted()
        seqs, _ = self._encode_texts(texts)
        logp, sentence = self._token_values(seqs)
        return np.bincount(sentence, logp, minlength=len(seqs))

    def to_arpa(self, path: str | PathLike[str]) -> Path:
        """Write the model in the ARPA text format that SRILM, KenLM and speech decoders read.

        See :func:`lmkit.ngram.arpa.write_arpa`; returns the path written.
        """
        from lmkit.ngram.arpa import write_arpa

        return write_arpa(self, path)
