"""From token lists to the id arrays the counts are made of: validation, vocabulary, layout.

Everything here runs once per token in C (``Counter``, ``chain``, ``np.fromiter``), never in a
Python loop per token: on Penn Treebank's million training tokens it takes a few hundredths of
a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, repeat

import numpy as np

from lmkit.models.base import BOS, EOS, check_texts
from lmkit.text import Vocab

__all__ = ["build_vocab", "layout", "sentences_and_tokens"]


def sentences_and_tokens(texts: object, name: str = "sentences"
                         ) -> tuple[list[Sequence[str]], list[str]]:
    """``texts`` validated as :func:`lmkit.models.base.check_texts` does, and all its tokens.

    Valid input is checked without a Python loop per token (one type check per distinct token
    type); invalid input gets :func:`~lmkit.models.base.check_texts`'s error.
    """
    if not isinstance(texts, (str, bytes)):
        try:
            seqs = list(texts)  # type: ignore[call-overload]
        except TypeError:
            seqs = None
        if seqs is not None and all(map(isinstance, seqs, repeat((list, tuple)))):
            flat = list(chain.from_iterable(seqs))
            if all(issubclass(t, str) for t in set(map(type, flat))):
                return seqs, flat
        if seqs is not None:
            texts = seqs
    seqs = check_texts(texts, name)  # raises the contract's error for the invalid input
    return seqs, list(chain.from_iterable(seqs))


def build_vocab(tokens: list[str], min_freq: int, specials: list[str]) -> Vocab:
    """``Vocab(tokens, min_freq=min_freq, specials=specials)``, refusing ``<s>`` and ``</s>``.

    Raises:
        ValueError: if the tokens contain ``<s>`` or ``</s>`` (the model adds them itself).
    """
    vocab = Vocab(tokens, min_freq=min_freq, specials=specials)
    for special in (BOS, EOS):
        if vocab.counts[special]:
            raise ValueError(f"the training tokens contain {special!r}; the model adds <s> "
                             f"and </s> itself, so pass sentences without them")
    return vocab


def layout(seqs: Sequence[Sequence[str]], flat: list[str], vocab: Vocab, eos: bool
           ) -> tuple[np.ndarray, np.ndarray]:
    """Lay sentences out as one id array ``<s> w1 … wn </s> <s> …`` with positions.

    Args:
        seqs: ``S`` token sequences.
        flat: all their tokens, in order.
        vocab: maps tokens to ids (``<s>`` must be id 0); other tokens become ``<unk>``.
        eos: whether each sentence ends with ``</s>``.

    Returns:
        ``ids``: ``(T,)`` int64 token ids; ``pos``: ``(T,)`` int64 position of each token in its
        sentence (0 for ``<s>``). ``T = len(flat) + S`` (``+ 2 S`` with ``eos``).
    """
    lengths = np.fromiter(map(len, seqs), np.int64, count=len(seqs))  # (S,)
    sizes = lengths + (2 if eos else 1)  # <s> + words (+ </s>)
    starts = np.cumsum(sizes) - sizes
    pos = np.arange(sizes.sum()) - np.repeat(starts, sizes)  # (T,) position in sentence
    ids = np.empty(pos.size, np.int64)
    ids[(pos >= 1) & (pos <= np.repeat(lengths, sizes))] = np.fromiter(
        map(vocab.stoi.get, flat, repeat(vocab.unk_id)), np.int64, count=len(flat))
    ids[starts] = vocab.stoi[BOS]
    if eos:
        ids[starts + sizes - 1] = vocab.stoi[EOS]
    return ids, pos
