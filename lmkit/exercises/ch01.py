"""Hidden cases for chapter 1, "What a language model is"."""

from __future__ import annotations

import bisect
import itertools
import math

from lmkit.exercises import Exercise, register

# The four-sentence corpus of the lectures, lower-cased, without punctuation, as one stream.
_TOY = "i love you tons i love you 3000 i am iron man you love me".split()


def _sequence_logprob(cond_probs: list[float]) -> float:
    return math.fsum(math.log(p) for p in cond_probs)


register(Exercise(
    key="ch01.sequence_logprob",
    reference=_sequence_logprob,
    cases=[([0.5],), ([0.5, 0.25, 0.125],), ([1.0, 1.0, 1.0],), ([0.9] * 50,),
           ([0.001] * 400,)],  # the product of the last case underflows to 0.0
    wrong=[lambda p: math.log(math.prod(p)),          # underflows on long sequences
           lambda p: sum(math.log10(x) for x in p),   # wrong base
           lambda p: math.fsum(math.log(x) for x in p) / len(p)],  # an average, not a total
))


def _perplexity(logprobs: list[float]) -> float:
    return math.exp(-math.fsum(logprobs) / len(logprobs))


register(Exercise(
    key="ch01.perplexity",
    reference=_perplexity,
    cases=[([math.log(0.25)] * 4,), ([math.log(0.5), math.log(0.125)],),
           ([0.0, 0.0],), ([math.log(1 / 10_000)] * 1000,), ([-2.0, -0.5, -7.25, -1.0],)],
    wrong=[lambda lp: math.exp(-math.fsum(lp)),             # total, not per token
           lambda lp: 2 ** (-math.fsum(lp) / len(lp)),      # mixes nats with base 2
           lambda lp: -math.fsum(lp) / len(lp)],            # cross-entropy, not perplexity
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
