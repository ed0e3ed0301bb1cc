"""Hidden cases for chapter 1, "What a language model is"."""

from __future__ import annotations

import bisect
import itertools
import math

from lmkit.exercises import Exercise, register

# The four-sentence corpus of the lectures, lower-cased, without punctuation, as one stream.
_TOY = "i love you tons i love you 3000 i am iron man you love me".split()


# ------------------------------------------------------------ a probability too small to store


def _scientific_prob(cond_probs: list[float]) -> tuple[float, int]:
    log10_p = math.fsum(math.log10(p) for p in cond_probs)
    exponent = math.floor(log10_p)
    return 10 ** (log10_p - exponent), exponent


def _same_decimal(got: object, expected: tuple[float, int]) -> bool:
    """``got`` is a pair ``(m, e)`` with ``1 <= m < 10``, ``e`` a whole number, and
    ``m · 10^e`` equal to the expected number to about 1e-8 relative (compared as
    ``log10 m + e``, so that ``(9.99999999999, -1201)`` and ``(1.0, -1200)`` are both right)."""
    try:
        mantissa, exponent = got  # type: ignore[misc]
        mantissa, whole = float(mantissa), float(exponent)
    except (TypeError, ValueError):
        return False
    if isinstance(exponent, bool) or not whole.is_integer() or not 1 <= mantissa < 10:
        return False
    value = math.log10(mantissa) + whole
    return abs(value - (math.log10(expected[0]) + expected[1])) <= 1e-8 * max(1.0, abs(value))


def _naive_decimal(probs: list[float]) -> tuple[float, int]:
    p = math.prod(probs)  # underflows to 0.0 for long texts: log10(0) raises
    exponent = math.floor(math.log10(p))
    return p / 10**exponent, exponent


def _split_with(probs: list[float], split) -> tuple[float, int]:
    log10_p = math.fsum(math.log10(p) for p in probs)
    exponent = split(log10_p)
    return 10 ** (log10_p - exponent), exponent


def _natural_log_decimal(probs: list[float]) -> tuple[float, int]:
    log_p = math.fsum(math.log(p) for p in probs)  # nats, read as if they were decimal digits
    exponent = math.floor(log_p)
    return math.exp(log_p - exponent), exponent


register(Exercise(
    key="ch01.scientific_prob",
    reference=_scientific_prob,
    cases=[([0.5],), ([0.5, 0.25, 0.125],), ([1.0, 1.0, 1.0],), ([0.9] * 50,),
           ([1e-3] * 400,),  # the product underflows to 0.0; log10 p is exactly -1200
           ([0.2] * 1000,),  # 10^-698.97: the product underflows too
           ([0.3, 0.07, 0.5, 0.001, 0.6] * 120,)],
    compare=_same_decimal,
    wrong=[_naive_decimal,                                   # the product underflows
           lambda p: _split_with(p, int),                    # truncates towards 0: m < 1
           lambda p: _split_with(p, round),                  # rounds: m < 1 half the time
           lambda p: _split_with(p, math.ceil),              # m in (0.1, 1]
           _natural_log_decimal],                            # nats, not powers of ten
))


# ------------------------------------------------------------ one perplexity for many sentences


def _corpus_perplexity(reports: list[tuple[float, int]]) -> float:
    nats = math.fsum(n * math.log(ppl) for ppl, n in reports)
    return math.exp(nats / sum(n for _, n in reports))


# (perplexity, scored tokens) per sentence: short sentences with extreme perplexities, so that
# weighting sentences instead of tokens changes the answer.
_REPORTS = [(120.0, 25), (35.5, 8), (900.0, 3), (60.25, 41), (12.0, 2)]

register(Exercise(
    key="ch01.corpus_perplexity",
    reference=_corpus_perplexity,
    cases=[(_REPORTS,), ([(4.0, 10)],), ([(2.0, 1), (8.0, 3)],),
           ([(50.0, 30), (50.0, 7)],),
           ([(5000.0, 120), (20.0, 5), (1.5, 300)],),  # 5000^120 overflows a float
           (_REPORTS[::-1] * 3,)],
    wrong=[
        # the mean of the sentences' perplexities
        lambda r: math.fsum(p for p, _ in r) / len(r),
        # a token-weighted arithmetic mean of the perplexities
        lambda r: math.fsum(p * n for p, n in r) / sum(n for _, n in r),
        # every sentence weighs the same (a geometric mean over sentences)
        lambda r: math.exp(math.fsum(math.log(p) for p, _ in r) / len(r)),
        # forgets that log PPL is a per-token average: adds the logs, divides by all tokens
        lambda r: math.exp(math.fsum(math.log(p) for p, _ in r) / sum(n for _, n in r)),
        # multiplies out the sentence probabilities first: overflows on long sentences
        lambda r: math.prod(p**n for p, n in r) ** (1 / sum(n for _, n in r)),
    ],
))


def _bigram_prob(tokens: list[str], prev: str, nxt: str) -> float:
    pairs = list(itertools.pairwise(tokens))
    starts = sum(1 for a, _ in pairs if a == prev)
    return sum(1 for pair in pairs if pair == (prev, nxt)) / starts


register(Exercise(
    key="ch01.bigram_prob",
    reference=_bigram_prob,
    cases=[(_TOY, "love", "you"), (_TOY, "i", "am"), (_TOY, "you", "love"),
           ("a b a".split(), "a", "b"),          # the last "a" starts no bigram
           ("the cat the dog the cat".split(), "the", "cat"),
           ("x y z".split(), "y", "x")],
    wrong=[lambda t, a, b: sum(1 for p in itertools.pairwise(t) if p == (a, b)) / t.count(a),
           lambda t, a, b: sum(1 for p in itertools.pairwise(t) if p == (a, b)) / len(t),
           lambda t, a, b: sum(1 for p in itertools.pairwise(t) if p == (b, a))
           / max(1, sum(1 for x, _ in itertools.pairwise(t) if x == a))],
))


def _sample_index(probs: list[float], u: float) -> int:
    return bisect.bisect_right(list(itertools.accumulate(probs)), u)


register(Exercise(
    key="ch01.sample_index",
    reference=_sample_index,
    # Dyadic probabilities, so every cumulative sum is exact and the boundaries are sharp.
    cases=[([0.25, 0.5, 0.25], 0.0), ([0.25, 0.5, 0.25], 0.1), ([0.25, 0.5, 0.25], 0.25),
           ([0.25, 0.5, 0.25], 0.7), ([0.25, 0.5, 0.25], 0.75), ([0.25, 0.5, 0.25], 0.99),
           ([1.0], 0.5), ([0.0, 0.5, 0.0, 0.5], 0.5), ([0.125] * 8, 0.625)],
    wrong=[lambda p, u: bisect.bisect_left(list(itertools.accumulate(p)), u),  # u on a boundary
           lambda p, u: max(range(len(p)), key=p.__getitem__),                # greedy argmax
           lambda p, u: min(int(u * len(p)), len(p) - 1)],                     # ignores p
))


def _bits_per_char(ce_nats: float, num_tokens: int, num_chars: int) -> float:
    return ce_nats * num_tokens / (num_chars * math.log(2))


register(Exercise(
    key="ch01.bits_per_char",
    reference=_bits_per_char,
    cases=[(math.log(2), 1, 1), (math.log(2), 100, 100), (5.0, 100, 550),
           (4.6, 82_430, 449_945), (1.386, 10, 10)],
    wrong=[lambda h, t, c: h / math.log(2),               # bits per token, not per character
           lambda h, t, c: h * t / c,                     # nats per character
           lambda h, t, c: h * c / (t * math.log(2))],    # ratio upside down
))
