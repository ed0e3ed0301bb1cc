"""Translation pairs for chapters 9 and 10: Tatoeba French–English, filtered and split.

The Tatoeba corpus (:mod:`lmkit.data`, ``"fra-eng"``) holds 167,130 English–French sentence
pairs, from "Go." to paragraphs. To train an encoder–decoder on a laptop CPU in about a minute,
:func:`load_pairs` keeps, as PyTorch's seq2seq tutorial does, the pairs whose English side starts
with "I am", "he is", "you are", … (contracted forms included) and whose two sides have fewer
than ``max_len`` tokens each: short sentences with a narrow vocabulary.

- **Tokens** (:func:`tokenize`): lower-cased words and punctuation marks, each mark its own
  token (``"Je suis en retard !"`` → ``je suis en retard !``); apostrophes stay inside words
  (``j'ai``, ``i'm``). French puts a narrow no-break space before ``!`` and ``?``; it is
  whitespace and is dropped.
- **Direction**: French source, English target by default (``source="fra"``), so that a reader
  of the book can judge the translations; ``source="eng"`` flips it.
- **Split**: the same source sentence often has several translations in Tatoeba ("Je vais bien."
  and "Ça va." are both "I'm OK."). Pairs are grouped by their source sentence and whole groups
  are assigned to train, valid or test (seeded), so no test sentence was seen in training; each
  test source comes with *all* its translations as references for BLEU.

Nothing here needs PyTorch.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import NamedTuple

from lmkit import data
from lmkit._checks import check_int, check_probability
from lmkit.text import word_tokenize

__all__ = ["PREFIXES", "Example", "load_pairs", "tokenize"]

#: English openings kept by :func:`load_pairs` (lower case; PyTorch's tutorial's list, with
#: the contractions as Tatoeba writes them).
PREFIXES: tuple[str, ...] = ("i am ", "i'm ", "he is ", "he's ", "she is ", "she's ",
                             "you are ", "you're ", "we are ", "we're ", "they are ",
                             "they're ")


class Example(NamedTuple):
    """One source sentence, the reference translation trained on, and all its references."""

    source: list[str]
    target: list[str]
    references: list[list[str]]


def tokenize(text: str) -> list[str]:
    """Lower-cased words and punctuation marks (:func:`lmkit.text.word_tokenize`).

    >>> tokenize("Je suis en retard\\u202f!")
    ['je', 'suis', 'en', 'retard', '!']
    >>> tokenize("I'm late.")
    ["i'm", 'late', '.']
    """
    return word_tokenize(text, lower=True)


def load_pairs(*, source: str = "fra", max_len: int = 10,
               prefixes: Sequence[str] | None = PREFIXES, seed: int = 0, valid: float = 0.1,
               test: float = 0.1) -> dict[str, list[Example]]:
    """The filtered Tatoeba pairs, split by source sentence into train, valid and test.

    Args:
        source: ``"fra"`` (translate French into English) or ``"eng"``.
        max_len: keep pairs whose two sides both have fewer than this many tokens.
        prefixes: keep pairs whose lower-cased English side starts with one of these
            (``None``: no filter on the opening).
        seed: the seed of the split (``random.Random(seed)`` shuffles the source sentences).
        valid, test: the shares of source sentences for validation and test.

    Returns:
        ``{"train": [...], "valid": [...], "test": [...]}``, lists of :class:`Example`. In
        train every pair is one example; in valid and test each source sentence is one example
        (its first translation as ``target``, all of them as ``references``).
    """
    if source not in ("fra", "eng"):
        raise ValueError(f"source must be 'fra' (French → English) or 'eng', got {source!r}")
    max_len = check_int(max_len, "max_len", minimum=2)
    seed = check_int(seed, "seed", minimum=0)
    valid, test = check_probability(valid, "valid"), check_probability(test, "test")
    if valid + test >= 1:
        raise ValueError(f"valid + test must leave sentences for training, got {valid} + {test}")
    openings = tuple(p.lower() for p in prefixes) if prefixes is not None else ("",)
    groups: dict[tuple[str, ...], list[list[str]]] = {}
    for line in data.load_text("fra-eng").splitlines():
        eng, fra = line.split("\t")[:2]
        if not eng.lower().startswith(openings):
            continue
        e, f = tokenize(eng), tokenize(fra)
        if len(e) >= max_len or len(f) >= max_len:
            continue
        src, tgt = (f, e) if source == "fra" else (e, f)
        refs = groups.setdefault(tuple(src), [])
        if tgt not in refs:
            refs.append(tgt)
    if not groups:
        raise ValueError("no pair passes the filter; lower the bar (max_len, prefixes)")
    keys = list(groups)
    random.Random(seed).shuffle(keys)
    n_valid, n_test = round(valid * len(keys)), round(test * len(keys))
    cut = {"valid": keys[:n_valid], "test": keys[n_valid:n_valid + n_test],
           "train": keys[n_valid + n_test:]}
    out = {"train": [Example(list(k), t, groups[k]) for k in cut["train"] for t in groups[k]]}
    for split in ("valid", "test"):
        out[split] = [Example(list(k), groups[k][0], groups[k]) for k in cut[split]]
    return out
