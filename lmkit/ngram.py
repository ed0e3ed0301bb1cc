"""Counting n-gram language models: maximum likelihood, smoothing, backoff and Kneser–Ney.

Every model here estimates ``p(w | h)``, the probability of the next token ``w`` after the
``n - 1`` tokens ``h`` before it, from counts ``c(·)`` of a training corpus. They differ in what
they do about n-grams the corpus never showed (``M`` is the vocabulary size, ``len(model.vocab)``;
``h'`` is ``h`` without its first token, the context one order lower):

- :class:`MLE`: ``c(h w) / c(h ·)``, so 0 for every unseen n-gram;
- :class:`AddDelta`: ``(c(h w) + δ) / (c(h ·) + δ M)``; Laplace smoothing is ``δ = 1``;
- :class:`RecursiveSmoothing`: ``(c(h w) + ε_n p(w | h')) / (c(h ·) + ε_n)``, down to
  ``p(w) = (c(w) + ε_1 / M) / (N + ε_1)``;
- :class:`StupidBackoff`: ``c(h w) / c(h ·)`` if seen, else ``0.4 · S(w | h')``: a *score*, not
  a probability (it does not sum to 1);
- :class:`Interpolated`: ``λ_n c(h w) / c(h ·) + (1 - λ_n) p(w | h')``, the weights fitted by EM
  on held-out text;
- :class:`KneserNey`: ``(a(h w) - D(a)) / a(h ·) + γ(h) p(w | h')``, where the lower orders count
  *continuations* ``a``; one discount per order, or Chen & Goodman's three (the default).

All share one interface (scikit-learn style)::

    >>> corpus = [s.split() for s in ["i love you tons", "i love you 3000",
    ...                                "i am iron man", "you love me"]]
    >>> lm = MLE(2).fit(corpus)
    >>> lm.prob("you", ["love"])                     # c(love you) / c(love ·) = 2 / 3
    0.6666666666666666
    >>> lm.prob("i", ["<s>"])                        # three of the four sentences start with i
    0.75
    >>> lm.count(["love", "you"])
    2
    >>> kn = KneserNey(2, modified=False).fit(corpus)
    >>> round(float(kn.distribution(["love"]).sum()), 12)   # a distribution over kn.vocab
    1.0

Conventions (those of SRILM and KenLM, so that perplexities compare with published ones):

- ``fit(sentences)`` takes an iterable of token lists. Each sentence is padded with ``<s>``
  in front (``order - 1`` times: every token has a full context) and ``</s>`` at the end. A run of
  several ``<s>`` says no more than one, so the model stores it as one:
  ``p(w | <s> <s>) = p(w | <s>)``, and an n-gram never reaches back past ``<s>``.
- ``vocab`` is what the model predicts: ``</s>``, ``<unk>`` and the training tokens (those seen
  at least ``min_freq`` times), never ``<s>``. Any other token is read as ``<unk>``; a corpus that
  already contains ``<unk>`` as a word (Penn Treebank) simply counts it.
- :meth:`~NgramModel.perplexity` scores every token and one ``</s>`` per sentence, never ``<s>``.
- Options every model takes: ``min_freq`` (rarer training tokens become ``<unk>``),
  ``min_count`` (drop n-grams of order 2 and up seen fewer times, their probability mass going to
  the backoff, as SRILM's and KenLM's cut-offs do) and ``eos=False`` (no ``</s>``: the model
  predicts the words only, as in the lecture's unigram ``p(i) = 3/15``).

Under the hood the corpus becomes one int64 array and each order's n-grams are counted with
``np.unique`` and looked up with ``np.searchsorted`` (see :class:`NgramCounts`): no Python loop
runs per token, so a 5-gram Kneser–Ney model of Penn Treebank (1M tokens) trains and scores its
test set in under two seconds on two CPU cores.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from os import PathLike
from pathlib import Path

import numpy as np

from lmkit import metrics

__all__ = ["BOS", "EOS", "UNK", "AddDelta", "Interpolated", "KneserNey", "MLE", "NgramCounts",
           "NgramModel", "NotFittedError", "RecursiveSmoothing", "StupidBackoff"]

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
_BOS = 0  # the id of <s> in every model; the ids 1 … V-1 are the tokens a model predicts
_Sentences = Iterable[Sequence[str]]


class NotFittedError(ValueError, AttributeError):
    """A model was used before ``fit`` (a ValueError, as in scikit-learn)."""


# ----------------------------------------------------------------------------------------------
# Input checks (at the boundary, with errors that say how to fix the call)

def _check_order(order: object) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
        raise TypeError(f"order must be an int >= 1 (2 for a bigram model), got "
                        f"{type(order).__name__} {order!r}")
    if order < 1:
        raise ValueError(f"order must be >= 1 (1 for a unigram, 2 for a bigram model …), "
                         f"got {order}")
    return int(order)


def _check_positive(value: object, name: str, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number > 0, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}; {hint}")
    return float(value)


def _per_order(value: object, order: int, name: str, check) -> list[float]:
    """``value`` for each order 1 … ``order``: one number for all, or a sequence of ``order``."""
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != order:
            raise ValueError(f"{name} must be one number or {order} numbers (one per order "
                             f"1 … {order}), got {len(value)}")
        return [check(v) for v in value]
    return [check(value)] * order


def _as_sentences(sentences: object, name: str) -> tuple[list[Sequence[str]], list[str]]:
    """Validate an iterable of token lists; return it as a list, and all its tokens flattened."""
    if isinstance(sentences, (str, bytes)):
        raise TypeError(f"{name} must be an iterable of token lists, got a str; split the text "
                        f"first, e.g. [line.split() for line in text.splitlines()]")
    try:
        sents = list(sentences)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{name} must be an iterable of token lists, got "
                        f"{type(sentences).__name__}") from None
    for i, s in enumerate(sents):
        if not isinstance(s, (list, tuple)):
            shown = f" ({s[:40]!r})" if isinstance(s, str) else ""
            raise TypeError(f"{name}[{i}] must be a list of tokens, got {type(s).__name__}"
                            f"{shown}; split it first, e.g. 'i love you'.split() (or list(text) "
                            f"for characters)")
    flat = list(chain.from_iterable(sents))
    if not all(issubclass(t, str) for t in set(map(type, flat))):  # one check per type, in C
        i, j, tok = next((i, j, t) for i, s in enumerate(sents) for j, t in enumerate(s)
                         if not isinstance(t, str))
        raise TypeError(f"every token must be a str, but {name}[{i}][{j}] is "
                        f"{type(tok).__name__} ({tok!r}); convert it, e.g. with str()")
    return sents, flat


def _gather(values: np.ndarray, index: np.ndarray, fill: float) -> np.ndarray:
    """``values[index]``, with ``fill`` where ``index`` is -1 (not found)."""
    out = np.full(index.shape, fill, dtype=values.dtype)
    found = index >= 0
    out[found] = values[index[found]]
    return out


def _check_context(context: object, name: str = "context") -> list[str]:
    if isinstance(context, str):
        raise TypeError(f"{name} must be a list of tokens, got the str {context!r}; write "
                        f"[{context!r}] for one word, or list({context!r}) for characters")
    if not isinstance(context, (list, tuple)):
        raise TypeError(f"{name} must be a list of tokens, got {type(context).__name__}")
    for j, t in enumerate(context):
        if not isinstance(t, str):
            raise TypeError(f"every token of {name} must be a str, but {name}[{j}] is "
                            f"{type(t).__name__} ({t!r})")
    return list(context)


# ----------------------------------------------------------------------------------------------
# Counting

class NgramCounts:
    """The n-grams of orders 1 … ``order`` of an integer-encoded corpus, in sorted tables.

    Table ``k`` lists the distinct k-grams seen, sorted by an int64 key

        ``key = (index of the k-gram's first k-1 tokens in table k-1) * V + (id of its last token)``

    where table 0 holds only the empty n-gram (index 0) and table 1 is dense (the unigram with id
    ``i`` sits at index ``i``, count 0 if unseen). Keys stay below ``n_{k-1} · V`` whatever the
    order, and finding an n-gram is a binary search (``np.searchsorted``).

    Args:
        ids: ``(T,)`` int64 token ids of the corpus, sentence after sentence, each sentence
            starting with ``<s>`` (id 0).
        pos: ``(T,)`` position of each token in its sentence (0 for ``<s>``). An n-gram is
            counted only if it lies inside one sentence.
        order: the highest order counted.
        size: ``V``, the number of token ids (``<s>`` included).

    Attributes:
        keys, counts: per order ``k``, ``(n_k,)`` int64 sorted keys and the counts of the n-grams.
        suffix: per order ``k``, ``(n_k,)`` index in table ``k-1`` of each k-gram without its
            first token (its lower-order context-plus-word, used by backoff and Kneser–Ney).
    """

    def __init__(self, ids: np.ndarray, pos: np.ndarray, order: int, size: int) -> None:
        self.order, self.size = order, size
        self.keys: list[np.ndarray] = [np.zeros(1, np.int64), np.arange(size, dtype=np.int64)]
        self.counts: list[np.ndarray] = [np.array([ids.size]),
                                         np.bincount(ids, minlength=size).astype(np.int64)]
        prev = ids  # (T,) index of the (k-1)-gram ending at each position; for k-1 = 1, the id
        for k in range(2, order + 1):
            parent = np.concatenate([[-1], prev[:-1]])  # (T,) the (k-1)-gram ending at t-1
            inside = pos >= k - 1  # the k-gram ending at t starts inside the sentence
            if parent[inside].max(initial=0) >= np.iinfo(np.int64).max // size:
                raise OverflowError(f"too many {k - 1}-grams to index {k}-grams in int64")
            keys, inverse, counts = np.unique(parent[inside] * size + ids[inside],
                                              return_inverse=True, return_counts=True)
            self.keys.append(keys)  # (n_k,) int64, sorted
            self.counts.append(counts.astype(np.int64))
            prev = np.full(ids.size, -1, np.int64)
            prev[inside] = inverse
        self.suffix = self._suffixes()

    def _suffixes(self) -> list[np.ndarray]:
        suffix = [np.zeros(1, np.int64), np.zeros(self.size, np.int64)]  # w's suffix: ()
        for k in range(2, self.order + 1):
            # (w1 … wk) without w1 = (w2 … w_{k-1}) + wk, and (w2 … w_{k-1}) is the suffix of
            # the prefix (w1 … w_{k-1}), known from the order below.
            key = suffix[k - 1][self.parent(k)] * self.size + self.last(k)
            index = np.searchsorted(self.keys[k - 1], key)
            assert np.array_equal(self.keys[k - 1][index], key), "a suffix was not counted"
            suffix.append(index)
        return suffix

    def parent(self, k: int) -> np.ndarray:
        """``(n_k,)`` index in table ``k-1`` of each k-gram's first ``k-1`` tokens (its context)."""
        return self.keys[k] // self.size

    def last(self, k: int) -> np.ndarray:
        """``(n_k,)`` id of each k-gram's last token."""
        return self.keys[k] % self.size

    def first(self, k: int) -> np.ndarray:
        """``(n_k,)`` id of each k-gram's first token."""
        index = np.arange(self.keys[k].size)
        for j in range(k, 1, -1):
            index = self.keys[j][index] // self.size  # walk up the prefixes to order 1
        return index

    def tokens(self, k: int) -> np.ndarray:
        """``(n_k, k)`` token ids of every k-gram of table ``k``."""
        out = np.arange(self.size)[:, None]
        for j in range(2, k + 1):
            out = np.hstack([out[self.parent(j)], self.last(j)[:, None]])
        return out

    def find(self, ids: np.ndarray, pos: np.ndarray) -> list[np.ndarray]:
        """Look up the n-grams of a corpus laid out as in the constructor.

        Returns ``idx``: for each order ``k = 0 … order``, ``idx[k]`` is a ``(T,)`` int64 array
        holding the index in table ``k`` of the k-gram that ends at each position, or -1 if that
        k-gram was never seen or would reach back past the start of its sentence (``pos < k-1``).
        """
        idx = [np.where(pos >= 0, 0, -1), np.where(pos >= 0, ids, -1)]
        for k in range(2, self.order + 1):
            parent = np.concatenate([[-1], idx[-1][:-1]])
            ok = (pos >= k - 1) & (parent >= 0)
            key = parent[ok] * self.size + ids[ok]
            table = self.keys[k]
            j = np.minimum(np.searchsorted(table, key), max(table.size - 1, 0))
            found = np.full(ids.size, -1, np.int64)
            if table.size:
                found[ok] = np.where(table[j] == key, j, -1)
            idx.append(found)
        return idx

    def select(self, keep: list[np.ndarray]) -> NgramCounts:
        """A copy that holds only the n-grams with ``keep[k]`` true (prefixes must be kept)."""
        out = object.__new__(NgramCounts)
        out.order, out.size = self.order, self.size
        out.keys, out.counts = self.keys[:2], self.counts[:2]
        new_index = np.arange(self.size)  # old index -> new index, order k-1
        for k in range(2, self.order + 1):
            parent = self.parent(k)[keep[k]]
            assert (new_index[parent] >= 0).all(), "a kept n-gram lost its prefix"
            out.keys.append(new_index[parent] * self.size + self.last(k)[keep[k]])
            out.counts.append(self.counts[k][keep[k]])
            new_index = np.cumsum(keep[k]) - 1
            new_index[~keep[k]] = -1
        out.suffix = out._suffixes()
        return out

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (*self.keys, *self.counts, *self.suffix))


# ----------------------------------------------------------------------------------------------
# The shared interface

class NgramModel:
    """Base class: vocabulary, counting, scoring, perplexity, generation, ARPA export.

    A model is defined, per order ``k = 1 … n``, by two arrays that subclasses compute in
    :meth:`_estimate`: ``alpha[k]``, one number per stored k-gram ``h w``, and ``gamma[k]``, one
    per context ``h`` (an entry of table ``k-1``). Scoring then combines, from order 1 up,

    - ``"interpolate"``: ``p_k(w | h) = alpha(h w) + gamma(h) · lower``  (``alpha = 0`` if unseen)
    - ``"backoff"``:     ``p_k(w | h) = alpha(h w) if h w was seen else gamma(h) · lower``

    where ``lower`` is ``p_{k-1}(w | h')`` (``lower="recursive"``) or the uniform ``1 / M``
    (``lower="uniform"``), and ``p_0 = 1 / M``. A context the model never saw gets
    ``gamma = unseen_gamma`` (1 for the smoothed models: the next order down answers).

    Args (every model takes them, after its own):
        order: n, the number of tokens in the longest n-gram (``>= 1``).
        min_freq: training tokens seen fewer times are read as ``<unk>`` (default 1: none).
        min_count: drop n-grams of order 2 and up seen fewer times (default 1: keep all), or one
            threshold per order (``[1, 1, 2, 2, 2]`` cuts singletons of orders 3-5, like SRILM's
            defaults). The dropped n-grams' probability goes to the backoff, as in SRILM and
            KenLM, so a smoothed model still sums to 1.
        eos: append ``</s>`` to every sentence and predict it (default). ``eos=False`` models
            the tokens alone, as the lecture's unigram ``p(i) = 3/15`` of 15 words does.
    """

    _combine = "interpolate"
    _lower = "recursive"
    _unseen_gamma = 1.0
    _is_distribution = True

    def __init__(self, order: int, *, min_freq: int = 1, min_count: int | Sequence[int] = 1,
                 eos: bool = True) -> None:
        self.order = _check_order(order)
        if isinstance(min_freq, bool) or not isinstance(min_freq, (int, np.integer)) \
                or min_freq < 1:
            raise ValueError(f"min_freq must be an int >= 1 (rarer training tokens become "
                             f"<unk>), got {min_freq!r}")
        self.min_freq = int(min_freq)
        self.min_count = min_count
        self._min_counts = self._check_min_count(min_count)
        if not isinstance(eos, bool):
            raise TypeError(f"eos must be True or False, got {eos!r}")
        self.eos = eos

    def _check_min_count(self, min_count: object) -> list[int]:
        def one(m: object) -> int:
            if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
                raise ValueError(f"min_count must be an int >= 1 (1 keeps every n-gram, 2 drops "
                                 f"singletons), or one int per order, got {min_count!r}")
            return int(m)
        if isinstance(min_count, (list, tuple)):
            counts = [one(m) for m in min_count]
            if len(counts) != self.order or counts[0] != 1 or counts != sorted(counts):
                raise ValueError(f"min_count as a sequence needs {self.order} ints, one per "
                                 f"order, starting with 1 (unigrams are never cut) and never "
                                 f"decreasing, e.g. {[1, 1] + [2] * (self.order - 2)}; "
                                 f"got {min_count!r}")
            return counts
        return [1] + [one(min_count)] * (self.order - 1)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"

    def _params(self) -> dict[str, object]:
        return {"order": self.order}

    # -- fitting --------------------------------------------------------------------------------

    def fit(self, sentences: _Sentences) -> NgramModel:
        """Count the n-grams of ``sentences`` (an iterable of token lists); return the model."""
        sents, flat = _as_sentences(sentences, "sentences")
        if not flat:
            raise ValueError("sentences holds no tokens: an n-gram model needs a non-empty "
                             "training corpus (an iterable of token lists)")
        self._build_vocab(flat)
        counts = NgramCounts(*self._encode(sents, flat), self.order, len(self._itos))
        alpha, gamma = self._estimate(counts)
        self._counts, self._alpha, self._gamma = self._cut(counts, alpha, gamma)
        return self

    def _build_vocab(self, flat: list[str]) -> None:
        freq = Counter(flat)
        for special in (BOS, EOS):
            if special in freq:
                raise ValueError(f"the training tokens contain {special!r}; the model adds <s> "
                                 f"and </s> itself, so pass sentences without them")
        specials = [BOS, EOS, UNK] if self.eos else [BOS, UNK]
        words = sorted((t for t, c in freq.items() if c >= self.min_freq and t != UNK),
                       key=lambda t: (-freq[t], t))
        self._itos: list[str] = specials + words
        self._stoi: dict[str, int] = {t: i for i, t in enumerate(self._itos)}
        self._unk = self._stoi[UNK]
        self._eos = self._stoi.get(EOS, -1)

    def _encode(self, sents: list[Sequence[str]], flat: list[str]
                ) -> tuple[np.ndarray, np.ndarray]:
        """Lay sentences out as one ``(T,)`` id array ``<s> w1 … wn </s> <s> …`` and positions."""
        lengths = np.fromiter(map(len, sents), np.int64, count=len(sents))  # (S,)
        sizes = lengths + (2 if self.eos else 1)  # <s> + words (+ </s>)
        starts = np.cumsum(sizes) - sizes
        pos = np.arange(sizes.sum()) - np.repeat(starts, sizes)  # (T,) position in sentence
        ids = np.empty(pos.size, np.int64)
        ids[(pos >= 1) & (pos <= np.repeat(lengths, sizes))] = np.fromiter(
            map(self._stoi.get, flat, repeat(self._unk)), np.int64, count=len(flat))
        ids[starts] = _BOS
        if self.eos:
            ids[starts + sizes - 1] = self._eos
        return ids, pos

    def _estimate(self, counts: NgramCounts) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``alpha[k]`` per k-gram and ``gamma[k]`` per context, for k = 1 … order."""
        raise NotImplementedError

    def _cut(self, counts: NgramCounts, alpha: list[np.ndarray], gamma: list[np.ndarray]
             ) -> tuple[NgramCounts, list[np.ndarray], list[np.ndarray]]:
        """Drop n-grams seen fewer than ``min_count`` times; their mass goes to the backoff."""
        if max(self._min_counts) == 1:
            return counts, alpha, gamma
        keep = [np.ones(n.size, bool) for n in counts.keys]
        for k in range(2, self.order + 1):
            keep[k] = counts.counts[k] >= self._min_counts[k - 1]
            if self._combine == "interpolate":  # gamma(h) = 1 - sum of the kept alpha(h w)
                cut = ~keep[k]
                gamma[k] = gamma[k] + np.bincount(counts.parent(k)[cut], alpha[k][cut],
                                                  minlength=gamma[k].size)
        alpha = [a[keep[k]] for k, a in enumerate(alpha)]
        gamma = [gamma[0]] + [g[keep[k - 1]] for k, g in enumerate(gamma) if k]
        return counts.select(keep), alpha, gamma

    # Helpers for _estimate

    @staticmethod
    def _mask_bos(k: int, c: np.ndarray) -> np.ndarray:
        """``c`` as float64, with 0 for the unigram <s> (a context, never predicted)."""
        c = c.astype(np.float64)
        if k == 1:
            c[_BOS] = 0.0
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

    # -- scoring --------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "_counts"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 f"Call 'fit' with a list of token lists first, e.g. "
                                 f"model.fit([line.split() for line in text.splitlines()]).")

    def _require_distribution(self, what: str) -> None:
        self._check_fitted()
        if not self._is_distribution:
            raise TypeError(f"{type(self).__name__} gives scores, not probabilities (they do not "
                            f"sum to 1 over the vocabulary), so it has no {what}; use its "
                            f"score/logscore/token_logscores, or a smoothed model such as "
                            f"KneserNey for probabilities and perplexity")

    @property
    def vocab(self) -> list[str]:
        """The tokens the model predicts: ``</s>``, ``<unk>`` and the kept training tokens."""
        self._check_fitted()
        return self._itos[1:]

    def _probs(self, ids: np.ndarray, pos: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """``(len(targets),)`` p(token | its context) at the positions ``targets`` of a corpus."""
        idx = self._counts.find(ids, pos)  # per order, (T,) n-gram index or -1
        uniform = 1.0 / (len(self._itos) - 1)
        p = np.full(targets.size, uniform)  # p_0, then p_1, p_2, … in turn
        for k in range(1, self.order + 1):
            ngram = idx[k][targets]
            context = idx[k - 1][targets - 1] if k > 1 else np.zeros(targets.size, np.int64)
            alpha = _gather(self._alpha[k], ngram, 0.0)
            gamma = _gather(self._gamma[k], context, self._unseen_gamma)
            p_k = self._mix(alpha, gamma, p if self._lower == "recursive" else uniform)
            p = np.where(pos[targets] >= k - 1, p_k, p)  # shorter history: keep p_{k-1}
        return p

    def _mix(self, alpha: np.ndarray, gamma: np.ndarray | float, lower: np.ndarray | float
             ) -> np.ndarray:
        """One order's step: ``p_k`` from ``alpha(h w)``, ``gamma(h)`` and ``p_{k-1}(w | h')``."""
        if self._combine == "interpolate":
            return alpha + gamma * lower
        return np.where(alpha > 0, alpha, gamma * lower)  # backoff: a seen n-gram answers alone

    def _encode_text(self, sentences: _Sentences, name: str = "sentences"
                     ) -> tuple[np.ndarray, np.ndarray, int]:
        """Validate and encode text to score: ``(T,)`` ids, positions, number of sentences."""
        sents, flat = _as_sentences(sentences, name)
        if BOS in flat or (self.eos and EOS in flat):
            raise ValueError(f"{name} contain <s> or </s>; the model adds them itself, so pass "
                             f"sentences without them")
        return *self._encode(sents, flat), len(sents)

    def _token_values(self, sentences: _Sentences) -> tuple[np.ndarray, np.ndarray, int]:
        """Natural-log value of every predicted token, the sentence of each, and how many."""
        self._check_fitted()
        ids, pos, n = self._encode_text(sentences)
        targets = np.flatnonzero(pos >= 1)  # every token but <s>
        with np.errstate(divide="ignore"):
            logp = np.log(self._probs(ids, pos, targets))
        sentence = np.cumsum(pos == 0)[targets] - 1
        return logp, sentence, n

    def _context_row(self, context: Sequence[str], targets: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A (B, L+1) block [context, target] per target, flattened for :meth:`_probs`."""
        context = _check_context(context)
        if BOS in context:  # nothing before <s> matters
            context = context[len(context) - context[::-1].index(BOS) - 1:]
        context = context[-(self.order - 1):] if self.order > 1 else []
        ctx = [self._stoi.get(t, self._unk) for t in context]
        width = len(ctx) + 1
        if targets.size == 0:  # the context alone
            return np.array(ctx, np.int64), np.arange(len(ctx)), targets
        ids = np.empty((targets.size, width), np.int64)
        ids[:, :-1] = ctx
        ids[:, -1] = targets
        pos = np.tile(np.arange(width), targets.size)
        return ids.reshape(-1), pos, np.arange(1, targets.size + 1) * width - 1

    def _token_id(self, token: object) -> int:
        if not isinstance(token, str):
            raise TypeError(f"token must be a str, got {type(token).__name__} ({token!r})")
        if token == BOS:
            raise ValueError("<s> is never predicted (it only starts a context); ask for a token "
                             "of model.vocab")
        return self._stoi.get(token, self._unk)

    def _value(self, token: str, context: Sequence[str]) -> float:
        self._check_fitted()
        ids, pos, targets = self._context_row(context, np.array([self._token_id(token)]))
        return float(self._probs(ids, pos, targets)[0])

    def _values(self, context: Sequence[str]) -> np.ndarray:
        """``(M,)`` p(w | context) for every w of the vocabulary, reading each order's table once.

        A context's continuations are contiguous in the sorted table (their keys run from
        ``index * V`` to ``index * V + V - 1``), so one slice per order gives all of them.
        """
        self._check_fitted()
        ids, pos, _ = self._context_row(context, np.zeros(0, np.int64))  # just the context
        idx = self._counts.find(ids, pos)  # idx[j][-1]: the j-gram that ends the context
        size = len(self._itos)
        uniform = 1.0 / (size - 1)
        p = np.full(size, uniform)  # (V,) over all ids; <s> (id 0) is dropped at the end
        for k in range(1, min(self.order, ids.size + 1) + 1):
            context_index = int(idx[k - 1][-1]) if k > 1 else 0
            alpha, gamma = np.zeros(size), self._unseen_gamma
            if context_index >= 0:
                keys = self._counts.keys[k]
                lo, hi = np.searchsorted(keys, [context_index * size, (context_index + 1) * size])
                alpha[keys[lo:hi] % size] = self._alpha[k][lo:hi]
                gamma = self._gamma[k][context_index]
            p = self._mix(alpha, gamma, p if self._lower == "recursive" else uniform)
        return p[1:]

    def prob(self, token: str, context: Sequence[str] = ()) -> float:
        """``p(token | context)``; ``context`` is a list of the tokens before ``token``.

        Only the last ``order - 1`` tokens of the context (and nothing before a ``<s>``) count;
        a shorter context that does not start with ``<s>`` uses the lower orders. Tokens outside
        the vocabulary are read as ``<unk>``.
        """
        self._require_distribution("prob")
        return self._value(token, context)

    def logprob(self, token: str, context: Sequence[str] = ()) -> float:
        """``log p(token | context)`` in nats (``-inf`` for probability 0); see :meth:`prob`."""
        self._require_distribution("logprob")
        p = self._value(token, context)
        return math.log(p) if p > 0 else -math.inf

    def distribution(self, context: Sequence[str] = ()) -> np.ndarray:
        """``(M,)`` the probabilities of every token of :attr:`vocab` after ``context``."""
        self._require_distribution("distribution")
        return self._values(context)

    def token_logprobs(self, sentences: _Sentences) -> np.ndarray:
        """``(T,)`` natural-log probabilities of every token of ``sentences`` and of each
        sentence's ``</s>``, in order: what :mod:`lmkit.metrics` takes."""
        self._require_distribution("token_logprobs")
        return self._token_values(sentences)[0]

    def sentence_logprobs(self, sentences: _Sentences) -> np.ndarray:
        """``(S,)`` natural-log probability of each sentence (its ``</s>`` included)."""
        self._require_distribution("sentence_logprobs")
        logp, sentence, n = self._token_values(sentences)
        return np.bincount(sentence, logp, minlength=n)

    def perplexity(self, sentences: _Sentences) -> float:
        """``exp`` of the mean negative log-probability per token, ``</s>`` counted, ``<s>`` not.

        ``inf`` (with a RuntimeWarning) if some token has probability 0, as under :class:`MLE`.
        """
        self._require_distribution("perplexity")
        logp = self._token_values(sentences)[0]
        if logp.size == 0:
            raise ValueError("sentences holds nothing to score (no tokens and eos=False)")
        return metrics.perplexity(logp)

    # -- inspection -----------------------------------------------------------------------------

    def count(self, ngram: Sequence[str]) -> int:
        """How often ``ngram`` (a list of 1 … order tokens) occurs in the padded training text.

        ``count(["<s>", "i"])`` counts the sentences that start with ``i``; tokens outside the
        vocabulary are read as ``<unk>``; with ``min_count`` the cut n-grams count 0.
        """
        self._check_fitted()
        ngram = _check_context(ngram, "ngram")
        if not 1 <= len(ngram) <= self.order:
            raise ValueError(f"ngram must hold 1 … {self.order} tokens, got {len(ngram)}")
        lead = next((i for i, t in enumerate(ngram) if t != BOS), len(ngram))  # leading <s>
        ngram = ngram[max(lead - 1, 0):]  # <s> <s> … is stored as one <s>
        if BOS in ngram[1:]:  # <s> after a word: never counted
            return 0
        ids = np.array([self._stoi.get(t, self._unk) for t in ngram])
        k = len(ngram)
        index = self._counts.find(ids, np.arange(k))[k][-1]
        return int(self._counts.counts[k][index]) if index >= 0 else 0

    def ngram_counts(self, k: int) -> Counter[tuple[str, ...]]:
        """The k-grams of the padded training text with their counts (``.most_common(10)``…).

        >>> MLE(2).fit([["a", "b"], ["a"]]).ngram_counts(2).most_common(2)
        [(('<s>', 'a'), 2), (('a', '</s>'), 1)]
        """
        self._check_fitted()
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) \
                or not 1 <= k <= self.order:
            raise ValueError(f"k must be an int in 1 … {self.order} (the model's order), "
                             f"got {k!r}")
        counts = self._counts.counts[k]
        seen = counts > 0  # (the dense unigram table also lists unseen tokens)
        itos = self._itos
        return Counter({tuple(itos[i] for i in row): int(c) for row, c in
                        zip(self._counts.tokens(k)[seen].tolist(), counts[seen], strict=True)})

    def unseen_fraction(self, sentences: _Sentences) -> dict[int, float]:
        """For n = 1 … order, the share of the n-grams of ``sentences`` never seen in training.

        The n-grams are those ending at each scored token (words and ``</s>``) that fit inside
        the padded sentence (n-grams cut by ``min_count`` count as unseen): the sparsity that
        every smoothing method is about.
        """
        self._check_fitted()
        ids, pos, _ = self._encode_text(sentences)
        idx = self._counts.find(ids, pos)
        targets = pos >= 1
        out = {}
        for k in range(1, self.order + 1):
            inside = targets & (pos >= k - 1)
            seen = idx[k][inside] >= 0
            if k == 1:  # the unigram table is dense: seen means a count > 0
                seen = self._counts.counts[1][ids[inside]] > 0
            out[k] = float(1 - seen.mean()) if inside.any() else math.nan
        return out

    @property
    def num_ngrams(self) -> dict[int, int]:
        """Distinct n-grams stored, per order (order 1: the whole vocabulary and ``<s>``)."""
        self._check_fitted()
        return {k: int(self._counts.keys[k].size) for k in range(1, self.order + 1)}

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays that hold the fitted model (keys, counts and parameters)."""
        self._check_fitted()
        return self._counts.nbytes + sum(a.nbytes for a in (*self._alpha[1:], *self._gamma[1:]))

    # -- generation -----------------------------------------------------------------------------

    def generate(self, n: int = 1, max_tokens: int = 50, seed: int | None = None,
                 prefix: Sequence[str] = ()) -> list[list[str]]:
        """Sample ``n`` sentences, each token drawn from the model given the ones before it.

        A sentence stops at ``</s>`` (not included in the output) or after ``max_tokens``
        tokens; ``prefix`` tokens start every sentence. Same ``seed``, same sentences.

        >>> corpus = [s.split() for s in ["i love you", "you love me", "i am iron man"]]
        >>> MLE(3).fit(corpus).generate(2, seed=0)
        [['i', 'love', 'you'], ['you', 'love', 'me']]
        """
        self._check_fitted()
        for name, value, low in (("n", n, 0), ("max_tokens", max_tokens, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        prefix = _check_context(prefix, "prefix")
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            tokens = list(prefix)
            while len(tokens) < len(prefix) + max_tokens:
                weights = self._values([BOS, *tokens])
                total = weights.sum()
                if not total > 0:  # an MLE dead end: nothing ever followed this context
                    break
                token = self._itos[1 + rng.choice(weights.size, p=weights / total)]
                if token == EOS:
                    break
                tokens.append(token)
            out.append(tokens)
        return out

    # -- export ---------------------------------------------------------------------------------

    def to_arpa(self, path: str | PathLike[str]) -> Path:
        """Write the model in the ARPA text format that SRILM, KenLM and speech decoders read.

        Each stored n-gram gets ``log10 p(w | h)`` (for interpolated models, the interpolated
        probability), each context its backoff weight ``log10 gamma(h)``, so that for an unseen
        ``h w`` the reader's ``p(w | h) = gamma(h) · p(w | h')`` is exactly this model's.
        Only models whose lower order is the next one down fit the format: not :class:`MLE`
        (its zeros have no logarithm), :class:`AddDelta` (it backs off to the uniform) nor
        :class:`StupidBackoff` (it charges its factor for unseen contexts too).
        """
        self._check_fitted()
        if self._lower != "recursive" or self._unseen_gamma != 1:
            raise NotImplementedError(f"{type(self).__name__} cannot be written in ARPA format, "
                                      f"whose backoff goes to the next lower order and skips "
                                      f"unseen contexts for free; use KneserNey, Interpolated "
                                      f"or RecursiveSmoothing")
        c = self._counts
        names = np.array(self._itos, dtype=object)  # (V,) the text of each unigram
        probs = self._stored_probs()
        sections = []
        for k in range(1, self.order + 1):
            log_p = np.log10(np.maximum(probs[k], 1e-99))
            if k == 1:
                log_p[_BOS] = -99.0  # <s> is never predicted; -99 is the ARPA convention
            lines = [f"{lp:.7f}\t{name}" for lp, name in zip(log_p, names, strict=True)]
            if k < self.order:  # a context gets its backoff weight
                is_context = np.bincount(c.parent(k + 1), minlength=c.keys[k].size) > 0
                bow = np.log10(np.maximum(self._gamma[k + 1], 1e-99))
                lines = [f"{line}\t{b:.7f}" if ctx else line
                         for line, ctx, b in zip(lines, is_context, bow, strict=True)]
            sections.append(f"\n\\{k}-grams:\n" + "\n".join(lines) + "\n")
            if k < self.order:
                names = names[c.parent(k + 1)] + " " + np.array(self._itos, dtype=object)[
                    c.last(k + 1)]
        header = "\\data\\\n" + "".join(f"ngram {k}={c.keys[k].size}\n"
                                        for k in range(1, self.order + 1))
        path = Path(path)
        path.write_text(header + "".join(sections) + "\n\\end\\\n", encoding="utf-8")
        return path

    def _stored_probs(self) -> list[np.ndarray]:
        """``(n_k,)`` the model's p(w | h) for every stored n-gram ``h w``, for each order k."""
        c = self._counts
        probs = [np.ones(1)]
        for k in range(1, self.order + 1):
            lower = probs[k - 1][c.suffix[k]] if k > 1 else 1.0 / (len(self._itos) - 1)
            probs.append(self._alpha[k] + self._gamma[k][c.parent(k)] * lower)
            if k == 1:
                probs[1][_BOS] = 0.0
        return probs


# ----------------------------------------------------------------------------------------------
# The models

class MLE(NgramModel):
    """Maximum likelihood: ``p(w | h) = c(h w) / c(h ·)``, the relative frequency.

    Unseen n-grams get probability 0 (so the perplexity of a test set is usually infinite), and
    so does every token after a context the training text never showed (0/0, read as 0).

    >>> lm = MLE(1, eos=False).fit([["i", "love", "you"], ["i", "am"]])
    >>> lm.prob("i")                                   # 2 of the 5 words
    0.4
    """

    _unseen_gamma = 0.0

    def _estimate(self, counts):
        alpha, gamma = [np.ones(1)], [np.ones(1)]
        for k in range(1, self.order + 1):
            c = self._mask_bos(k, counts.counts[k])
            total = self._totals(counts, k, c)  # (n_{k-1},) c(h ·)
            alpha.append(self._divide(c, total[counts.parent(k)], 0.0))
            gamma.append(np.zeros(total.size))
        return alpha, gamma


class AddDelta(NgramModel):
    """Add-δ smoothing: ``p(w | h) = (c(h w) + δ) / (c(h ·) + δ M)``; ``δ = 1`` is Laplace's.

    Every token gets ``δ`` imaginary extra counts in every context, so an unseen context gives
    the uniform ``1 / M``.

    >>> lm = AddDelta(2, delta=1.0).fit([["a", "b"], ["a", "a"]])
    >>> lm.prob("b", ["a"])                            # (1 + 1) / (3 + 1 · 4), M = 4
    0.2857142857142857
    """

    _lower = "uniform"

    def __init__(self, order: int, delta: float = 1.0, *, min_freq: int = 1,
                 min_count: int | Sequence[int] = 1, eos: bool = True) -> None:
        super().__init__(order, min_freq=min_freq, min_count=min_count, eos=eos)
        self.delta = _check_positive(delta, "delta", "δ = 1 is Laplace smoothing; a δ below 1 "
                                     "(e.g. 0.01) usually fits held-out text better")

    def _params(self):
        return {"order": self.order, "delta": self.delta}

    def _estimate(self, counts):
        extra = self.delta * (len(self._itos) - 1)  # δ M
        alpha, gamma = [np.ones(1)], [np.ones(1)]
        for k in range(1, self.order + 1):
            c = self._mask_bos(k, counts.counts[k])
            total = self._totals(counts, k, c) + extra
            alpha.append(c / total[counts.parent(k)])
            gamma.append(extra / total)
        return alpha, gamma


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
        self.eps = _per_order(eps, self.order, "eps", lambda e: _check_positive(
            e, "eps", "ε is a pseudo-count; try values between 0.1 and 100"))

    def _params(self):
        return {"order": self.order, "eps": self.eps}

    def _estimate(self, counts):
        alpha, gamma = [np.ones(1)], [np.ones(1)]
        for k in range(1, self.order + 1):
            c = self._mask_bos(k, counts.counts[k])
            total = self._totals(counts, k, c) + self.eps[k - 1]
            alpha.append(c / total[counts.parent(k)])
            gamma.append(self.eps[k - 1] / total)
        return alpha, gamma


class StupidBackoff(NgramModel):
    """Stupid backoff (Brants et al., 2007): a cheap *score*, not a probability.

    ``S(w | h) = c(h w) / c(h ·)`` if ``h w`` was seen, else ``backoff · S(w | h')``, down to
    ``S(w) = c(w) / N`` (``backoff / M`` for a token never seen). The scores do not sum to 1, so
    :meth:`prob`, :meth:`perplexity` and friends raise; use :meth:`score`, :meth:`logscore`,
    :meth:`scores` and :meth:`token_logscores`. Sampling normalizes the scores.

    >>> lm = StupidBackoff(2).fit([["a", "b"], ["a", "a"]])
    >>> lm.score("b", ["a"]), lm.score("b", ["b"])    # 1/3 seen; 0.4 · c(b)/N = 0.4 · 1/6
    (0.3333333333333333, 0.06666666666666667)
    """

    _combine = "backoff"
    _is_distribution = False

    def __init__(self, order: int, backoff: float = 0.4, *, min_freq: int = 1,
                 min_count: int | Sequence[int] = 1, eos: bool = True) -> None:
        super().__init__(order, min_freq=min_freq, min_count=min_count, eos=eos)
        self.backoff = _check_positive(backoff, "backoff", "Brants et al. use 0.4")
        self._unseen_gamma = self.backoff

    def _params(self):
        return {"order": self.order, "backoff": self.backoff}

    def _estimate(self, counts):
        alpha, gamma = [np.ones(1)], [np.ones(1)]
        for k in range(1, self.order + 1):
            c = self._mask_bos(k, counts.counts[k])
            total = self._totals(counts, k, c)
            alpha.append(self._divide(c, total[counts.parent(k)], 0.0))
            gamma.append(np.full(total.size, self.backoff))
        return alpha, gamma

    def score(self, token: str, context: Sequence[str] = ()) -> float:
        """The stupid-backoff score ``S(token | context)`` (not a probability)."""
        return self._value(token, context)

    def logscore(self, token: str, context: Sequence[str] = ()) -> float:
        """``log S(token | context)``."""
        return math.log(self._value(token, context))

    def scores(self, context: Sequence[str] = ()) -> np.ndarray:
        """``(M,)`` the scores of every token of :attr:`vocab` after ``context``."""
        return self._values(context)

    def token_logscores(self, sentences: _Sentences) -> np.ndarray:
        """``(T,)`` log-scores of every token and ``</s>`` of ``sentences`` (not log-probs)."""
        return self._token_values(sentences)[0]


class Interpolated(NgramModel):
    """Linear interpolation (Jelinek–Mercer) of the relative frequencies of every order.

    ``p(w | h) = λ_n c(h w) / c(h ·) + (1 - λ_n) p(w | h')`` down to
    ``p(w) = λ_1 c(w) / N + (1 - λ_1) / M``; a context never seen passes straight to the next
    order down. The weights ``λ = (λ_1, …, λ_n)`` are given, or fitted by EM to maximize the
    likelihood of held-out text: ``fit(train, held_out=valid)``. After fitting, ``lambdas_``
    holds them (and ``weights_`` the equivalent flat mixture weights of orders 0 … n, where
    every context was seen). With ``min_count``, the weights are fitted before the cut.

    >>> lm = Interpolated(2, lambdas=[0.5, 0.5]).fit([["a", "b"], ["a", "a"]])
    >>> lm.prob("b", ["a"])      # 0.5 · 1/3 + 0.5 · (0.5 · 1/6 + 0.5 · 1/4), M = 4
    0.2708333333333333
    """

    def __init__(self, order: int, lambdas: Sequence[float] | None = None, *, min_freq: int = 1,
                 min_count: int | Sequence[int] = 1, eos: bool = True) -> None:
        super().__init__(order, min_freq=min_freq, min_count=min_count, eos=eos)
        if lambdas is not None:
            lambdas = _per_order(lambdas, self.order, "lambdas", self._check_lambda)
        self.lambdas = lambdas

    @staticmethod
    def _check_lambda(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or not 0 <= value <= 1:
            raise ValueError(f"each of lambdas must be a number in [0, 1], got {value!r}")
        return float(value)

    def _params(self):
        return {"order": self.order, "lambdas": self.lambdas}

    def fit(self, sentences: _Sentences, held_out: _Sentences | None = None) -> Interpolated:
        """Count ``sentences``; fit the weights on ``held_out`` unless ``lambdas`` were given."""
        if held_out is None and self.lambdas is None:
            raise ValueError("Interpolated needs its weights: pass held-out sentences to fit "
                             "(fit(train, held_out=valid)) or give lambdas=[λ_1, …, λ_n]")
        self._held_out = held_out
        try:
            return super().fit(sentences)
        finally:
            del self._held_out

    def _estimate(self, counts):
        freq = [np.ones(1)]  # per order, the relative frequency c(h w) / c(h ·)
        seen = [np.ones(1, bool)]  # per order, contexts with at least one continuation
        for k in range(1, self.order + 1):
            c = self._mask_bos(k, counts.counts[k])
            total = self._totals(counts, k, c)
            freq.append(self._divide(c, total[counts.parent(k)], 0.0))
            seen.append(total > 0)
        lambdas = self.lambdas
        if self._held_out is not None:
            lambdas = self._em(counts, freq, seen, self._held_out)
        self.lambdas_ = [float(x) for x in lambdas]
        flat = [1.0]  # weight of order k in the flat mixture, from the top down
        for lam in reversed(self.lambdas_):
            flat[-1:] = [flat[-1] * lam, flat[-1] * (1 - lam)]
        self.weights_ = flat[::-1]  # orders 0 (uniform), 1, …, n
        alpha = [freq[0]] + [lam * f for lam, f in zip(lambdas, freq[1:], strict=True)]
        gamma = [np.ones(1)] + [np.where(s, 1 - lam, 1.0)
                                for lam, s in zip(lambdas, seen[1:], strict=True)]
        return alpha, gamma

    def _em(self, counts, freq, seen, held_out, iterations: int = 500, tol: float = 1e-7):
        """The λ that maximize the likelihood of ``held_out`` (EM on the nested mixture)."""
        ids, pos, _ = self._encode_text(held_out, "held_out")
        targets = np.flatnonzero(pos >= 1)
        if targets.size == 0:
            raise ValueError("held_out holds no tokens to fit the weights on")
        idx = counts.find(ids, pos)
        f, active = [None], [None]  # per order: relative frequency, and "this order speaks"
        for k in range(1, self.order + 1):
            ngram = idx[k][targets]
            context = idx[k - 1][targets - 1] if k > 1 else np.zeros(targets.size, np.int64)
            f.append(_gather(freq[k], ngram, 0.0))
            active.append((pos[targets] >= k - 1) & _gather(seen[k], context, False))
        lam = np.full(self.order + 1, 0.5)
        uniform = 1.0 / (len(self._itos) - 1)
        for _ in range(iterations):
            p = [np.full(targets.size, uniform)]  # p_k at each held-out token
            for k in range(1, self.order + 1):
                p.append(np.where(active[k], lam[k] * f[k] + (1 - lam[k]) * p[k - 1], p[k - 1]))
            reach = np.ones(targets.size) / p[-1]  # P(the walk down reaches order k) / p_n
            new = lam.copy()
            for k in range(self.order, 0, -1):
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
        discount: a fixed discount for every order instead of the estimate (``modified=False``
            only; NLTK's ``KneserNeyInterpolated`` uses 0.1).

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
        if not isinstance(modified, bool):
            raise TypeError(f"modified must be True or False, got {modified!r}")
        if discount is not None:
            if modified:
                raise ValueError("a fixed discount needs modified=False (modified Kneser–Ney "
                                 "estimates three discounts per order from the counts)")
            discount = _check_positive(discount, "discount", "it must lie in (0, 1]")
            if discount > 1:
                raise ValueError(f"discount must lie in (0, 1], got {discount}")
        self.modified, self.discount = modified, discount

    def _params(self):
        params = {"order": self.order, "modified": self.modified}
        return params if self.discount is None else {**params, "discount": self.discount}

    def _estimate(self, counts):
        alpha, gamma = [np.ones(1)] * (self.order + 1), [np.ones(1)] * (self.order + 1)
        self.discounts_ = [(0.0, 0.0, 0.0)] * self.order
        for k in range(self.order, 0, -1):
            a = self._adjusted(counts, k)  # (n_k,) float counts a(h w)
            d = self._discounts(a, k)  # (4,) D(0) = 0, D_1, D_2, D_3+
            self.discounts_[k - 1] = tuple(float(x) for x in d[1:])
            j = np.minimum(a, 3).astype(np.int64)  # which discount applies to each n-gram
            parent = counts.parent(k)
            total = self._totals(counts, k, a)  # (n_{k-1},) a(h ·)
            alpha[k] = self._divide(a - d[j], total[parent], 0.0)
            gamma[k] = self._divide(self._totals(counts, k, d[j]), total, 1.0)
        return alpha, gamma

    def _adjusted(self, counts: NgramCounts, k: int) -> np.ndarray:
        """Raw counts at the top order and after <s>, continuation counts below."""
        raw = counts.counts[k]
        if k < self.order:
            # every (k+1)-gram x w1 … wk is distinct, so counting them per suffix counts the
            # distinct tokens x seen before w1 … wk
            continuation = np.bincount(counts.suffix[k + 1], minlength=raw.size)
            raw = np.where(counts.first(k) == _BOS, raw, continuation)
        return self._mask_bos(k, raw)

    def _discounts(self, a: np.ndarray, k: int) -> np.ndarray:
        if self.discount is not None:
            return np.array([0.0] + [self.discount] * 3)
        n = np.bincount(a.astype(np.int64), minlength=5)[:5].astype(np.float64)  # n_0 … n_4
        with np.errstate(divide="ignore", invalid="ignore"):
            y = n[1] / (n[1] + 2 * n[2])
            if self.modified:
                d = np.array([0.0] + [j - (j + 1) * y * n[j + 1] / n[j] for j in (1, 2, 3)])
            else:
                d = np.array([0.0, y, y, y])
        needed = n[1:4] if self.modified else n[1:2]
        if (needed == 0).any() or not all(0 <= d[j] <= j for j in (1, 2, 3)):
            warnings.warn(f"too few {k}-grams to estimate the Kneser–Ney discounts from their "
                          f"count-of-counts (n_1 … n_4 = {n[1:].astype(int).tolist()}); using "
                          f"KenLM's fallback D = (0.5, 1.0, 1.5). Train on more text for real "
                          f"estimates.", UserWarning, stacklevel=5)
            d = np.array([0.0, 0.5, 1.0, 1.5] if self.modified else [0.0, 0.5, 0.5, 0.5])
        return d
