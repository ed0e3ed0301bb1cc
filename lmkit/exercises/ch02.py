"""Hidden cases for chapter 2, "n-gram language models"."""

from __future__ import annotations

import itertools
import math
from collections import Counter

from lmkit.exercises import Exercise, register

_TOY = [s.split() for s in ["i love you tons", "i love you 3000", "i am iron man",
                            "you love me"]]
_SMALL = [s.split() for s in ["the cat sat", "the dog sat", "a cat ran", "the cat ran away"]]


def _pairs(sentences: list[list[str]]) -> list[tuple[str, str]]:
    """Bigrams of the sentences padded with <s> in front and </s> at the end."""
    return [p for s in sentences for p in itertools.pairwise(["<s>", *s, "</s>"])]


def _add_delta_bigram(sentences: list[list[str]], prev: str, nxt: str, delta: float) -> float:
    pairs = _pairs(sentences)
    vocab_size = len({w for s in sentences for w in s}) + 2  # + </s> + <unk>
    starts = sum(1 for a, _ in pairs if a == prev)
    return (pairs.count((prev, nxt)) + delta) / (starts + delta * vocab_size)


register(Exercise(
    key="ch02.add_delta_bigram",
    reference=_add_delta_bigram,
    cases=[(_TOY, "love", "you", 1.0), (_TOY, "love", "tons", 1.0), (_TOY, "<s>", "i", 0.5),
           (_TOY, "me", "</s>", 0.1), (_TOY, "iron", "love", 0.01), (_SMALL, "cat", "sat", 2.0)],
    wrong=[
        # forgets </s> and <unk> in the vocabulary size
        lambda s, a, b, d: (_pairs(s).count((a, b)) + d)
        / (sum(1 for x, _ in _pairs(s) if x == a) + d * len({w for t in s for w in t})),
        # adds delta only to the numerator
        lambda s, a, b, d: (_pairs(s).count((a, b)) + d) / sum(1 for x, _ in _pairs(s) if x == a),
        # ignores the sentence boundaries
        lambda s, a, b, d: (sum(1 for t in s for p in itertools.pairwise(t) if p == (a, b)) + d)
        / (max(1, sum(1 for t in s for x in t[:-1] if x == a))
           + d * (len({w for t in s for w in t}) + 2)),
    ],
))


def _sentence_perplexity(bigram: dict[str, dict[str, float]], sentence: list[str]) -> float:
    padded = ["<s>", *sentence, "</s>"]
    logps = [math.log(bigram[a][b]) for a, b in itertools.pairwise(padded)]
    return math.exp(-math.fsum(logps) / len(logps))


_TABLE = {
    "<s>": {"i": 0.5, "you": 0.25, "</s>": 0.25},
    "i": {"love": 0.5, "am": 0.25, "</s>": 0.25},
    "you": {"love": 0.5, "</s>": 0.5},
    "love": {"you": 0.75, "me": 0.125, "</s>": 0.125},
    "am": {"i": 0.5, "</s>": 0.5},
    "me": {"</s>": 1.0},
}

register(Exercise(
    key="ch02.sentence_perplexity",
    reference=_sentence_perplexity,
    cases=[(_TABLE, ["i", "love", "you"]), (_TABLE, ["you", "love", "me"]), (_TABLE, ["i"]),
           (_TABLE, []), (_TABLE, ["i", "am", "i", "love", "me"])],
    wrong=[
        # does not score </s>
        lambda t, s: math.exp(-sum(math.log(t[a][b]) for a, b in itertools.pairwise(["<s>", *s]))
                              / max(1, len(s))),
        # divides by the number of words instead of the number of scored tokens
        lambda t, s: math.exp(-sum(math.log(t[a][b])
                                   for a, b in itertools.pairwise(["<s>", *s, "</s>"]))
                              / max(1, len(s))),
        # counts <s> as a scored token too
        lambda t, s: math.exp(-sum(math.log(t[a][b])
                                   for a, b in itertools.pairwise(["<s>", *s, "</s>"]))
                              / (len(s) + 2)),
    ],
))


def _best_delta(train: list[list[str]], valid: list[list[str]], deltas: list[float]) -> float:
    from lmkit.ngram import AddDelta

    return min(deltas, key=lambda d: AddDelta(2, delta=d).fit(train).perplexity(valid))


def _corpus(seed: int, n: int, words: int = 12) -> list[list[str]]:
    """A small corpus from a skewed random bigram source (deterministic)."""
    import random

    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(words)]
    return [[rng.choice(vocab[: 1 + (j * 7 + i) % words]) for j in range(rng.randint(3, 8))]
            for i in range(n)]


register(Exercise(
    key="ch02.best_delta",
    reference=_best_delta,
    cases=[(_corpus(1, 200), _corpus(2, 50), [0.001, 0.01, 0.1, 1.0, 10.0]),
           (_TOY, [["i", "love", "me"], ["you", "am", "iron"]], [0.01, 0.1, 1.0]),
           (_corpus(3, 30, 40), _corpus(4, 30, 40), [0.03, 0.3, 3.0, 30.0])],
    wrong=[
        # picks the delta that fits the training text best
        lambda tr, va, ds: min(ds, key=lambda d: __import__("lmkit.ngram").ngram.AddDelta(
            2, delta=d).fit(tr).perplexity(tr)),
        lambda tr, va, ds: max(ds, key=lambda d: __import__("lmkit.ngram").ngram.AddDelta(
            2, delta=d).fit(tr).perplexity(va)),
        lambda tr, va, ds: 1.0,  # Laplace, always
    ],
))


def _continuation_prob(sentences: list[list[str]], word: str) -> float:
    types = set(_pairs(sentences))
    return sum(1 for _, b in types if b == word) / len(types)


register(Exercise(
    key="ch02.continuation_prob",
    reference=_continuation_prob,
    cases=[(_TOY, "love"), (_TOY, "you"), (_TOY, "</s>"), (_SMALL, "cat"), (_SMALL, "sat"),
           ([["san", "francisco"], ["san", "francisco", "bay"], ["the", "bay"]], "francisco")],
    wrong=[
        # the raw unigram frequency
        lambda s, w: Counter(b for _, b in _pairs(s))[w] / len(_pairs(s)),
        # counts bigram tokens rather than types
        lambda s, w: sum(1 for _, b in _pairs(s) if b == w) / len(set(_pairs(s))),
        # divides by the number of word types instead of bigram types
        lambda s, w: sum(1 for _, b in set(_pairs(s)) if b == w)
        / len({b for _, b in _pairs(s)}),
    ],
))
