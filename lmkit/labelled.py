"""Labelled text for chapter 8: tagged sentences (CoNLL-U) and sentences with a polarity.

- :func:`read_conllu` reads a Universal Dependencies treebank into ``(words, tags)`` pairs;
  :func:`load_ewt` reads UD English-EWT's train, dev or test split from :mod:`lmkit.data`.
- :func:`load_polarity` reads Pang and Lee's sentence polarity data and cuts it into a fixed,
  seeded train / dev / test split (it has no official one).
- :class:`LabelSet` maps labels (tags, classes) to ids; unlike a :class:`~lmkit.text.Vocab` it
  has no ``<unk>``: a label it does not know is an error.
- :class:`MostFrequentTag`, the baseline tagger: every known word gets the tag it had most
  often in training; an unknown word gets the most frequent tag of rare training words of the
  same shape (:func:`word_shape`).
- :class:`TokenFeatures` encodes a word as several ids — the word, its last letters, its shape —
  so that a neural tagger can guess the tag of a word it never saw.

Nothing here needs PyTorch.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from lmkit import data
from lmkit._checks import check_int, check_probability
from lmkit.text import Vocab

__all__ = ["LabelSet", "MostFrequentTag", "TaggedSentence", "TokenFeatures", "load_ewt",
           "load_polarity", "read_conllu", "word_shape"]

_MULTIWORD = re.compile(r"[1-9][0-9]*-[1-9][0-9]*")   # "3-4": a token split into words 3 and 4
_EMPTY_NODE = re.compile(r"[0-9]+\.[1-9][0-9]*")      # "8.1": an empty node (enhanced graphs)
_WORD_ID = re.compile(r"[1-9][0-9]*")


class TaggedSentence(NamedTuple):
    """One sentence of a treebank: its words and their universal part-of-speech tags."""

    words: list[str]
    tags: list[str]


def read_conllu(text: str, source: str = "<text>") -> list[TaggedSentence]:
    """Read the words and UPOS tags of every sentence in a CoNLL-U document.

    A CoNLL-U file holds one word per line in 10 tab-separated columns (ID, FORM, LEMMA, UPOS,
    …), comment lines starting with ``#``, and a blank line after each sentence. Two kinds of
    lines are not words of the sentence and are skipped: multiword tokens (ID ``3-4``, the
    surface form "don't" over the words "do" and "n't") and empty nodes (ID ``8.1``).

    Args:
        text: the document.
        source: its name, for error messages (a file name).

    Raises:
        ValueError: a line without 10 columns, or with an ID that is not a word number, names
            the line.

    >>> rows = [["1-2", "I'm"], ["1", "I", "I", "PRON"], ["2", "'m", "be", "AUX"]]
    >>> doc = "\\n".join("\\t".join(r + ["_"] * (10 - len(r))) for r in rows)
    >>> read_conllu(doc)
    [TaggedSentence(words=['I', "'m"], tags=['PRON', 'AUX'])]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str (the CoNLL-U document), got {type(text).__name__}")
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            if words:
                sentences.append(TaggedSentence(words, tags))
                words, tags = [], []
            continue
        if line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) != 10:
            raise ValueError(f"{source}, line {number}: a CoNLL-U word line has 10 tab-separated "
                             f"columns, this one has {len(columns)}: {line[:60]!r}")
        word_id = columns[0]
        if _MULTIWORD.fullmatch(word_id) or _EMPTY_NODE.fullmatch(word_id):
            continue
        if not _WORD_ID.fullmatch(word_id):
            raise ValueError(f"{source}, line {number}: the ID column must be a word number "
                             f"(1, 2, …), a range (3-4) or an empty node (8.1), got {word_id!r}")
        words.append(columns[1])
        tags.append(columns[3])
    if words:
        sentences.append(TaggedSentence(words, tags))
    return sentences


def load_ewt(split: str) -> list[TaggedSentence]:
    """The sentences of UD English-EWT's ``"train"``, ``"dev"`` or ``"test"`` split.

    >>> len(load_ewt("dev"))  # doctest: +SKIP
    2001
    """
    return read_conllu(data.load_text("ud-english-ewt", split), source=f"en_ewt-ud-{split}")


def load_polarity(seed: int = 0, dev: float = 0.1,
                  test: float = 0.1) -> dict[str, list[tuple[list[str], str]]]:
    """Pang and Lee's sentence polarity data, cut into a fixed train / dev / test split.

    The 10,662 sentences (5,331 ``"pos"``, 5,331 ``"neg"``; already lower-cased and tokenized,
    so a sentence is split on spaces) are shuffled with ``random.Random(seed)`` and cut into
    dev, test and train, in that order. The same seed gives the same split on every machine.

    Returns:
        ``{"train": [...], "dev": [...], "test": [...]}``, each a list of ``(tokens, label)``.
    """
    check_int(seed, "seed", minimum=0)
    dev, test = check_probability(dev, "dev"), check_probability(test, "test")
    if dev + test >= 1:
        raise ValueError(f"dev + test must leave sentences for training, got {dev} + {test}")
    examples = [(line.split(), label) for label in ("neg", "pos")
                for line in data.load_text("sentence-polarity", label).splitlines()
                if line.strip()]
    random.Random(seed).shuffle(examples)
    n_dev, n_test = round(dev * len(examples)), round(test * len(examples))
    return {"dev": examples[:n_dev], "test": examples[n_dev:n_dev + n_test],
            "train": examples[n_dev + n_test:]}


class LabelSet:
    """The labels of a task (tags, classes) and their ids ``0 … len - 1``, in sorted order.

    >>> tags = LabelSet(["NOUN", "DET", "NOUN"])
    >>> tags.encode(["DET", "NOUN"]), tags.decode([1, 0])
    ([0, 1], ['NOUN', 'DET'])
    """

    def __init__(self, labels: Iterable[str]) -> None:
        self.itos: list[str] = sorted(set(labels))
        if not self.itos:
            raise ValueError("a LabelSet needs at least one label")
        self.stoi = {label: i for i, label in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return f"LabelSet({self.itos})"

    def encode(self, labels: Sequence[str]) -> list[int]:
        """The ids of ``labels``; a label outside the set is a ``ValueError``."""
        if isinstance(labels, str):
            raise TypeError("labels must be a list of labels, not one str; write [label]")
        ids = []
        for position, label in enumerate(labels):
            if label not in self.stoi:
                raise ValueError(f"label {label!r} (position {position}) is not one of the "
                                 f"{len(self)} labels {self.itos}")
            ids.append(self.stoi[label])
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The labels of ``ids``."""
        out = []
        for i in ids:
            if not 0 <= int(i) < len(self):
                raise ValueError(f"label id {int(i)} is outside 0 … {len(self) - 1}")
            out.append(self.itos[int(i)])
        return out


def word_shape(word: str) -> str:
    """A coarse shape of a word: each letter, digit or other character mapped to ``X``, ``x``,
    ``d`` or itself, runs of the same class shortened to one.

    >>> [word_shape(w) for w in ["Paris", "NASA", "2,000", "e-mail", "iPhone", "."]]
    ['Xx', 'X', 'd,d', 'x-x', 'xXx', '.']
    """
    classes = ["X" if c.isupper() else "x" if c.isalpha() else "d" if c.isdigit() else c
               for c in word]
    return "".join(c for i, c in enumerate(classes) if i == 0 or c != classes[i - 1])


def _check_tagged(sentences: Sequence[TaggedSentence]) -> None:
    if isinstance(sentences, (str, TaggedSentence)) or not isinstance(sentences, Sequence) \
            or not sentences:
        raise TypeError("sentences must be a non-empty list of (words, tags) pairs, "
                        "e.g. load_ewt('train')")
    for i, (words, tags) in enumerate(sentences):
        if len(words) != len(tags):
            raise ValueError(f"sentence {i} has {len(words)} words but {len(tags)} tags; a "
                             f"tagged sentence needs one tag per word")
        if not words:
            raise ValueError(f"sentence {i} is empty")


class MostFrequentTag:
    """The baseline tagger: the tag each word had most often in training.

    A word never seen in training gets the most frequent tag among the *rare* training words
    (seen at most ``rare`` times) of the same :func:`word_shape` — rare words are the best
    stand-ins for unseen ones — or, for a shape no rare word had, the most frequent tag of all
    rare words. Ties go to the tag that comes first in sorted order.
    """

    def __init__(self, sentences: Sequence[TaggedSentence], rare: int = 1) -> None:
        _check_tagged(sentences)
        self.rare = check_int(rare, "rare")
        per_word: dict[str, Counter[str]] = defaultdict(Counter)
        for words, tags in sentences:
            for word, tag in zip(words, tags, strict=True):
                per_word[word][tag] += 1
        self.tag_of = {w: _top(c) for w, c in per_word.items()}
        per_shape: dict[str, Counter[str]] = defaultdict(Counter)
        for word, counts in per_word.items():
            if sum(counts.values()) <= self.rare:
                per_shape[word_shape(word)].update(counts)
        self.shape_tag = {s: _top(c) for s, c in per_shape.items()}
        self.default = _top(sum(per_shape.values(), Counter()) or
                            sum(per_word.values(), Counter()))

    def tag_unknown(self, word: str) -> str:
        """The tag given to a word that was not in the training data."""
        return self.shape_tag.get(word_shape(word), self.default)

    def __call__(self, words: Sequence[str]) -> list[str]:
        """The tags of one sentence."""
        if isinstance(words, str):
            raise TypeError("words must be a list of words, not one str; split it first")
        return [self.tag_of[w] if w in self.tag_of else self.tag_unknown(w) for w in words]


def _top(counts: Counter[str]) -> str:
    return min(counts, key=lambda tag: (-counts[tag], tag))


class TokenFeatures:
    """Several ids per word for a neural tagger: the lower-cased word, its last ``suffix``
    letters, and its :func:`word_shape`, each from its own :class:`~lmkit.text.Vocab` built on
    the training words (``<unk>`` id 0, ``<pad>`` id 1 in each).

    A word seen fewer than ``min_freq`` times is ``<unk>`` in the word vocabulary; its suffix
    and shape still tell the model something.

    >>> f = TokenFeatures([["The", "cats", "sat"]])
    >>> f.encode(["Bats", "sat"])  # (word, suffix, shape) ids per token
    [[0, 2, 3], [3, 3, 2]]
    """

    NAMES = ("word", "suffix", "shape")

    def __init__(self, sentences: Iterable[Sequence[str]], suffix: int = 3,
                 min_freq: int = 1) -> None:
        self.suffix = check_int(suffix, "suffix")
        words = [w for s in sentences for w in s]
        if not words:
            raise ValueError("sentences hold no words: build TokenFeatures on training text")
        specials = ("<unk>", "<pad>")
        self.vocabs = tuple(Vocab((self._parts(w)[k] for w in words),
                                  min_freq=min_freq if k == 0 else 1, specials=specials)
                            for k in range(3))

    def _parts(self, word: str) -> tuple[str, str, str]:
        return word.lower(), word.lower()[-self.suffix:], word_shape(word)

    @property
    def sizes(self) -> tuple[int, ...]:
        """The size of each vocabulary (word, suffix, shape)."""
        return tuple(len(v) for v in self.vocabs)

    @property
    def pad_id(self) -> int:
        return self.vocabs[0]["<pad>"]

    @property
    def unk_id(self) -> int:
        return self.vocabs[0].unk_id

    def encode(self, words: Sequence[str]) -> list[list[int]]:
        """``(T, 3)`` ids: one ``[word, suffix, shape]`` row per word."""
        if isinstance(words, str):
            raise TypeError("words must be a list of words, not one str; split it first")
        return [[v[p] for v, p in zip(self.vocabs, self._parts(w), strict=True)] for w in words]

    def known(self, word: str) -> bool:
        """Whether ``word`` (lower-cased) has its own id in the word vocabulary."""
        return word.lower() in self.vocabs[0]
