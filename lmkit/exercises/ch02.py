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


def _delta_for_unseen(sentences: list[list[str]], prev: str, q: float) -> float | None:
    vocab_size = len({w for s in sentences for w in s}) + 2  # + </s> + <unk>
    if q >= 1 / vocab_size:
        return None  # δ / (n + δ M) < 1 / M for every δ: no δ is large enough
    starts = sum(1 for a, _ in _pairs(sentences) if a == prev)
    # q (n + δ M) = δ  =>  δ = q n / (1 - q M)
    return q * starts / (1 - q * vocab_size)


def _unseen_solver(vocab_size, starts, solve):
    """A wrong answer built from a vocabulary size, a history count and a formula."""
    def wrong(sentences, prev, q):
        return solve(q, starts(sentences, prev), vocab_size(sentences))
    return wrong


def _vocab(s: list[list[str]]) -> int:
    return len({w for t in s for w in t}) + 2


def _starts(s: list[list[str]], prev: str) -> int:
    return sum(1 for a, _ in _pairs(s) if a == prev)


def _guarded(q: float, n: int, m: int) -> float | None:
    return None if q >= 1 / m else q * n / (1 - q * m)


register(Exercise(
    key="ch02.delta_for_unseen",
    reference=_delta_for_unseen,
    cases=[(_TOY, "love", 0.01), (_TOY, "<s>", 0.05), (_TOY, "i", 0.001),
           (_TOY, "love", 0.1),  # above 1/M = 1/11: impossible
           (_TOY, "you", 1 / 12), (_SMALL, "the", 0.02), (_SMALL, "cat", 0.1),
           (_SMALL, "away", 0.05)],  # "away" ends a sentence: followed only by </s>
    wrong=[
        # drops M: solves q = δ / (n + δ)
        _unseen_solver(_vocab, _starts, lambda q, n, m: None if q >= 1 else q * n / (1 - q)),
        # ignores δ in the denominator: q = δ / n
        _unseen_solver(_vocab, _starts, lambda q, n, m: q * n),
        # M without </s> and <unk>
        _unseen_solver(lambda s: _vocab(s) - 2, _starts, _guarded),
        # no check: a negative δ when q >= 1/M
        _unseen_solver(_vocab, _starts, lambda q, n, m: q * n / (1 - q * m)),
        # counts prev only where a word follows it (forgets prev → </s>)
        _unseen_solver(_vocab, lambda s, a: sum(1 for t in s for x in t[:-1] if x == a)
                       + (len(s) if a == "<s>" else 0), _guarded),
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


# ------------------------------------------------------------------ Kneser–Ney's normaliser γ(h)


def _kn_gamma(sentences: list[list[str]], prev: str,
              discounts: tuple[float, float, float]) -> float:
    followers = Counter(b for a, b in _pairs(sentences) if a == prev)  # n(prev w) per w
    # each distinct follower w gives up the discount of its count: D1, D2 or D3+
    freed = math.fsum(discounts[min(n, 3) - 1] for n in followers.values())
    return freed / sum(followers.values())


def _followers(s: list[list[str]], prev: str) -> Counter:
    return Counter(b for a, b in _pairs(s) if a == prev)


_CORPUS_KN = [s.split() for s in [
    "the cat sat on the mat", "the cat ran", "the dog sat on the rug", "the cat sat",
    "a dog ran on the mat", "the bird sang", "on the mat the cat sat"]]

register(Exercise(
    key="ch02.kn_gamma",
    reference=_kn_gamma,
    cases=[(_TOY, "love", (0.75, 0.75, 0.75)), (_TOY, "<s>", (0.5, 1.0, 1.5)),
           (_CORPUS_KN, "the", (0.6, 1.1, 1.4)), (_CORPUS_KN, "cat", (0.6, 1.1, 1.4)),
           (_CORPUS_KN, "on", (0.7, 1.2, 1.9)), (_CORPUS_KN, "<s>", (0.55, 1.05, 1.5)),
           (_CORPUS_KN, "sat", (0.8, 1.3, 1.7)), (_SMALL, "ran", (0.5, 1.0, 1.5))],
    wrong=[
        # one discount for every follower (plain Kneser–Ney's formula)
        lambda s, h, d: d[0] * len(_followers(s, h)) / sum(_followers(s, h).values()),
        # forgets the number of followers: one discount's worth of freed mass
        lambda s, h, d: d[min(max(_followers(s, h).values()), 3) - 1]
        / sum(_followers(s, h).values()),
        # tokens instead of types: discounts every occurrence
        lambda s, h, d: math.fsum(n * d[min(n, 3) - 1] for n in _followers(s, h).values())
        / sum(_followers(s, h).values()),
        # divides by the number of distinct followers instead of n(h ·)
        lambda s, h, d: math.fsum(d[min(n, 3) - 1] for n in _followers(s, h).values())
        / len(_followers(s, h)),
        # D2 for every count above 1 (no D3+)
        lambda s, h, d: math.fsum(d[min(n, 2) - 1] for n in _followers(s, h).values())
        / sum(_followers(s, h).values()),
        # ignores the sentence boundaries: no <s>, no </s>
        lambda s, h, d: (lambda f: math.fsum(d[min(n, 3) - 1] for n in f.values())
                         / max(1, sum(f.values())))(
            Counter(b for t in s for a, b in itertools.pairwise(t) if a == h)),
    ],
))
