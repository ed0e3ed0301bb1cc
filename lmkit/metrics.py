"""How good is a language model? Cross-entropy, perplexity and bits per character; and how
good is a translation? Corpus BLEU.

All three are computed from the natural-log probabilities ``log p(x_t | x_<t)`` the model gave
to the tokens that actually occurred, never from the probabilities themselves: the product of
a few hundred probabilities underflows to 0 in floating point, the sum of their logs does not.

For ``T`` tokens with log-probabilities ``l_1 … l_T`` (in nats):

- cross-entropy  ``H = -(1/T) Σ l_t``            (nats per token)
- perplexity     ``PPL = exp(H)``                 (an effective branching factor)
- bits per char  ``BPC = -(Σ l_t) / (C ln 2)``     for a text of ``C`` characters

so ``PPL = 2 ** BPC`` when the tokens are the characters (``C = T``).

**BLEU** (Papineni et al., 2002) compares translations with references by their n-grams, over
the whole corpus at once (:func:`corpus_bleu`); sacreBLEU (Post, 2018) is the standard
implementation, and the tests check that :func:`corpus_bleu` equals it.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np

from lmkit._checks import _shown, check_int, safe_exp

__all__ = ["BleuScore", "bits_per_char", "corpus_bleu", "cross_entropy", "frequency_bucket",
           "ngrams", "perplexity", "perplexity_by_bucket"]


def _as_logprobs(logprobs: Any) -> np.ndarray:
    """Validate and convert a sequence/array/tensor of log-probabilities to float64 (T,)."""
    if hasattr(logprobs, "detach"):  # a torch tensor
        logprobs = logprobs.detach().cpu().double().numpy()
    if isinstance(logprobs, (str, bytes)) or np.ndim(logprobs) == 0 and not hasattr(
            logprobs, "__len__"):
        raise TypeError(f"logprobs must be a sequence of log-probabilities (one per token), "
                        f"got {type(logprobs).__name__}")
    try:
        arr = np.asarray(logprobs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"logprobs must contain numbers, got {logprobs!r:.80}") from exc
    arr = arr.reshape(-1)
    if arr.size == 0:
        raise ValueError("logprobs is empty: a metric needs at least one scored token")
    if np.isnan(arr).any():
        i = int(np.flatnonzero(np.isnan(arr))[0])
        raise ValueError(f"logprobs contains NaN at position {i}; check the model's output "
                         f"for a division 0/0 or the log of a negative number")
    if (arr > 1e-9).any():
        i = int(np.flatnonzero(arr > 1e-9)[0])
        raise ValueError(f"logprobs must be <= 0 (they are logs of probabilities), but "
                         f"position {i} holds {arr[i]:.4g}; pass log p, not p or -log p")
    if np.isneginf(arr).any():
        warnings.warn(f"{int(np.isneginf(arr).sum())} token(s) have probability 0 under the "
                      f"model, so the cross-entropy and perplexity are infinite; smooth the "
                      f"model so that no token gets probability 0", RuntimeWarning, stacklevel=3)
    return arr


def _total(arr: np.ndarray) -> float:
    """The exact sum of the log-probabilities; ``-inf`` when it is below the smallest float."""
    try:
        return math.fsum(arr)
    except OverflowError:  # e.g. [-1e308, -1e308]: the sum is -inf, so the loss is infinite
        return -math.inf


def cross_entropy(logprobs: Any) -> float:
    """Average negative log-probability in nats per token.

    Args:
        logprobs: ``(T,)`` natural-log probabilities of the observed tokens (a list, NumPy
            array or tensor of any shape; it is flattened).

    Returns:
        ``-(1/T) Σ logprobs`` as a float; ``inf`` (with a warning) if a token had probability 0.

    >>> round(cross_entropy([math.log(0.5), math.log(0.25)]), 4)
    1.0397
    """
    arr = _as_logprobs(logprobs)
    return float(-_total(arr) / arr.size)


def perplexity(logprobs: Any) -> float:
    """``exp(cross_entropy(logprobs))``: the model is as unsure as a fair die with this many sides.

    >>> perplexity([math.log(1 / 6)] * 10)  # a fair die
    6.000000000000001
    """
    h = cross_entropy(logprobs)
    return safe_exp(h)


def bits_per_char(logprobs: Any, num_chars: int | None = None) -> float:
    """Total negative log-probability in bits, divided by the number of characters.

    Args:
        logprobs: ``(T,)`` natural-log probabilities of the observed tokens.
        num_chars: number of characters the ``T`` tokens spell out. Defaults to ``T``, which is
            right for a character-level model; for a word-level model pass the length of the
            text so that models with different tokenizations can be compared.

    >>> bits_per_char([math.log(0.5)] * 8)
    1.0
    """
    arr = _as_logprobs(logprobs)
    if num_chars is None:
        num_chars = arr.size
    num_chars = check_int(num_chars, "num_chars", 1)
    return float(-_total(arr) / (num_chars * math.log(2)))


def perplexity_by_bucket(logprobs: Any, labels: Sequence[Hashable]
                         ) -> dict[Hashable, tuple[int, float]]:
    """The perplexity of each group of tokens, e.g. rare words against frequent ones.

    Args:
        logprobs: ``(T,)`` natural-log probabilities of the observed tokens.
        labels: ``T`` hashable labels, one per token (e.g. :func:`frequency_bucket` of the
            count of the token in the training text).

    Returns:
        ``{label: (number of tokens, perplexity of those tokens)}``, the labels in the order of
        their first appearance in ``labels`` (reorder it for display). The buckets' perplexities
        pooled with their token counts as weights, ``exp(Σ n_b log PPL_b / Σ n_b)``, give the
        :func:`perplexity` of all the tokens.

    >>> buckets = perplexity_by_bucket(np.log([0.5, 0.1, 0.5]), ["a", "b", "a"])
    >>> {label: (n, round(ppl, 6)) for label, (n, ppl) in buckets.items()}
    {'a': (2, 2.0), 'b': (1, 10.0)}
    """
    arr = _as_logprobs(logprobs)
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
        raise TypeError(f"labels must be a sequence of labels, one per token, got "
                        f"{type(labels).__name__}")
    if len(labels) != arr.size:
        raise ValueError(f"labels must hold one label per token: got {len(labels)} labels for "
                         f"{arr.size} log-probabilities")
    groups: dict[Hashable, list[int]] = {}
    for i, label in enumerate(labels):
        try:
            groups.setdefault(label, []).append(i)
        except TypeError as exc:
            raise TypeError(f"labels must be hashable (a str, an int, a tuple, …), but "
                            f"labels[{i}] is {_shown(label)}") from exc
    return {label: (len(index), perplexity(arr[index])) for label, index in groups.items()}


def frequency_bucket(count: int, edges: Sequence[int] = (10, 100, 1000, 10000)) -> str:
    """The label of the frequency band that ``count`` falls in, for :func:`perplexity_by_bucket`.

    The bands are ``1 … edges[0]``, ``edges[0] + 1 … edges[1]``, …, and above the last edge;
    a count of 0 (a word never seen in training) gets its own label ``"0"``.

    Args:
        count: how often a word occurs (an int ``>= 0``).
        edges: the upper ends of the bands, increasing ints ``>= 1``.

    >>> [frequency_bucket(c) for c in (0, 7, 11, 1000, 1001, 10001)]
    ['0', '1–10', '11–100', '101–1,000', '1,001–10,000', '>10,000']
    """
    count = check_int(count, "count", 0)
    if isinstance(edges, (str, bytes)) or not isinstance(edges, Sequence) or not edges:
        raise TypeError(f"edges must be a non-empty sequence of ints such as (10, 100), got "
                        f"{edges!r:.60}")
    edges = [check_int(e, f"edges[{i}]", 1) for i, e in enumerate(edges)]
    if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError(f"edges must increase, got {edges}")
    if count == 0:
        return "0"
    low = 1
    for high in edges:
        if count <= high:
            return f"{low:,}" if low == high else f"{low:,}–{high:,}"
        low = high + 1
    return f">{edges[-1]:,}"


# ------------------------------------------------------------------------------------------------
# BLEU


class BleuScore(NamedTuple):
    """Corpus BLEU and its parts, as sacreBLEU reports them.

    ``score`` is on sacreBLEU's 0–100 scale; ``precisions`` are the clipped n-gram precisions
    ``p_n`` (in %), ``bp`` the brevity penalty, ``hyp_len`` and ``ref_len`` the corpus lengths
    ``c`` and ``r`` in tokens.
    """

    score: float
    precisions: list[float]
    bp: float
    hyp_len: int
    ref_len: int


def ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    """The n-grams of a token list with their counts.

    >>> sorted(ngrams(["a", "b", "a", "b"], 2).items())
    [(('a', 'b'), 2), (('b', 'a'), 1)]
    """
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _check_tokens(sentence: object, name: str) -> list[str]:
    if isinstance(sentence, str) or not isinstance(sentence, Sequence) \
            or not all(isinstance(t, str) for t in sentence):
        raise TypeError(f"{name} must be a list of tokens (str), got {sentence!r:.60}; split "
                        f"a sentence into tokens first")
    return list(sentence)


def corpus_bleu(hypotheses: Sequence[Sequence[str]],
                references: Sequence[Sequence[Sequence[str]]], max_n: int = 4) -> BleuScore:
    """Corpus BLEU from its definition, on token lists.

    For ``n = 1 … max_n`` the **clipped precision** ``p_n`` is the number of hypothesis n-grams
    that also occur in a reference (each counted at most as often as in the reference where it
    is most frequent), summed over the corpus, divided by the number of hypothesis n-grams of
    the corpus. BLEU is their geometric mean times the **brevity penalty**
    ``BP = min(1, exp(1 - r / c))``, where ``c`` is the total hypothesis length of the corpus and
    ``r`` the total reference length (for each sentence the reference closest in length to the
    hypothesis, the shorter one on ties). Both are corpus totals: BLEU is not an average of
    sentence scores. No smoothing: a corpus without a single matching ``max_n``-gram scores 0.

    Args:
        hypotheses: ``N`` translations, each a list of tokens.
        references: ``N`` lists of references, each reference a list of tokens (at least one
            reference per hypothesis).
        max_n: the longest n-gram (4, as everyone reports).

    Returns:
        A :class:`BleuScore`; ``score`` equals ``sacrebleu.corpus_bleu(hyps, refs,
        tokenize="none", smooth_method="none")`` on the same tokens joined by spaces.

    >>> round(corpus_bleu([["the", "cat", "sat", "down"]],
    ...                   [[["the", "cat", "sat", "down", "today"]]]).score, 2)
    77.88
    """
    max_n = check_int(max_n, "max_n")
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence) \
            or isinstance(references, str) or not isinstance(references, Sequence):
        raise TypeError("hypotheses and references must be lists (of token lists, and of lists "
                        "of token lists)")
    if len(hypotheses) != len(references):
        raise ValueError(f"one list of references per hypothesis: got {len(hypotheses)} "
                         f"hypotheses and {len(references)} reference lists")
    if not hypotheses:
        raise ValueError("hypotheses is empty: BLEU needs at least one translation")
    matches, totals = [0] * max_n, [0] * max_n
    c = r = 0
    for i, (hyp, refs) in enumerate(zip(hypotheses, references, strict=True)):
        hyp = _check_tokens(hyp, f"hypothesis {i}")
        if isinstance(refs, str) or not isinstance(refs, Sequence) or not refs:
            raise TypeError(f"references[{i}] must be a non-empty list of references (token "
                            f"lists); for one reference write [reference]")
        refs = [_check_tokens(ref, f"reference {i}") for ref in refs]
        c += len(hyp)
        r += min((abs(len(ref) - len(hyp)), len(ref)) for ref in refs)[1]
        for n in range(1, max_n + 1):
            counts = ngrams(hyp, n)
            most: Counter[tuple[str, ...]] = Counter()
            for ref in refs:
                most |= ngrams(ref, n)          # max count of each n-gram over the references
            matches[n - 1] += sum(min(k, most[g]) for g, k in counts.items())
            totals[n - 1] += max(0, len(hyp) - n + 1)
    precisions = [100.0 * m / t if t else 0.0 for m, t in zip(matches, totals, strict=True)]
    bp = 0.0 if c == 0 else 1.0 if c > r else math.exp(1 - r / c)
    if min(matches) == 0:
        return BleuScore(0.0, precisions, bp, c, r)
    log_mean = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / max_n
    return BleuScore(100.0 * bp * math.exp(log_mean), precisions, bp, c, r)
