"""Tokenizers and the vocabulary that maps tokens to integer ids and back.

>>> vocab = Vocab(word_tokenize("the cat sat on the mat"))
>>> vocab.encode(["the", "dog"])  # unknown words map to <unk>
[4, 0]
>>> vocab.decode(vocab.encode(["the", "mat"]))
['the', 'mat']
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from lmkit._checks import check_int

__all__ = ["SPECIALS", "Vocab", "char_tokenize", "word_tokenize"]

#: The special tokens every :class:`Vocab` starts with, in this order (ids 0, 1, 2, 3).
SPECIALS: tuple[str, ...] = ("<unk>", "<pad>", "<s>", "</s>")

# A word is a run of letters/digits (with inner apostrophes, as in "don't"); any other
# non-space character is a token of its own.
_WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def _require_str(text: object, name: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}; "
                        f"read a file with lmkit.data.load_text(...) first")
    return text


def char_tokenize(text: str, lower: bool = False) -> list[str]:
    """Split ``text`` into single characters (spaces and newlines included).

    >>> char_tokenize("Hi there")
    ['H', 'i', ' ', 't', 'h', 'e', 'r', 'e']
    """
    text = _require_str(text)
    return list(text.lower() if lower else text)


def word_tokenize(text: str, lower: bool = False) -> list[str]:
    """Split ``text`` into words and punctuation marks; whitespace is dropped.

    The text is first put in Unicode's composed form (NFC: ``"cafe\u0301"`` becomes
    ``"café"``), and a combining mark stays with the letters it belongs to, so words of scripts
    written with vowel signs (Devanagari, Thai, …) and accents that do not compose stay whole.

    Text that is already tokenized (such as Penn Treebank, where ``<unk>`` is a word) should
    be split with ``text.split()`` instead, which keeps every token as it is.

    >>> word_tokenize("The Time Traveller (for so it will be convenient to speak of him)")
    ['The', 'Time', 'Traveller', '(', 'for', 'so', 'it', 'will', 'be', 'convenient', 'to', 'speak', 'of', 'him', ')']
    >>> word_tokenize("Don't panic!", lower=True)
    ["don't", 'panic', '!']
    >>> word_tokenize("हिन्दी cafe\u0301 İstanbul", lower=True)
    ['हिन्दी', 'café', 'i̇stanbul']
    """  # noqa: E501
    text = _require_str(text)
    text = unicodedata.normalize("NFC", text.lower() if lower else text)
    tokens: list[str] = []
    end = -1  # where the previous token ended
    for match in _WORD.finditer(text):
        token = match.group()
        glued = tokens and match.start() == end and (
            _is_mark(token[0]) or (_is_mark(tokens[-1][-1]) and token[0].isalnum()))
        if glued:  # a mark and the letters around it: one word
            tokens[-1] += token
        else:
            tokens.append(token)
        end = match.end()
    return tokens


def _is_mark(char: str) -> bool:
    """A combining mark (Unicode category M…), such as an accent or an Indic vowel sign."""
    return unicodedata.category(char).startswith("M")


class Vocab:
    """A bijection between tokens and the integer ids ``0 … len(vocab) - 1``.

    Ids ``0 … len(specials) - 1`` belong to the special tokens (by default ``<unk>``,
    ``<pad>``, and ``<s>``/``</s>`` for the start and end of a sequence, the names n-gram
    toolkits and the ARPA format use); the other tokens follow by decreasing frequency (ties
    broken alphabetically, so the order never depends on the input's order). Tokens seen fewer
    than ``min_freq`` times are left out and will be encoded as ``<unk>``.

    Args:
        tokens: the training tokens, a flat iterable of strings (for a list of sentences,
            flatten it first: ``(t for s in sentences for t in s)``).
        min_freq: keep only tokens seen at least this many times (``>= 1``).
        specials: special tokens to reserve; must contain ``"<unk>"``.

    Attributes:
        itos: list of tokens; ``itos[i]`` is the token with id ``i``.
        stoi: dict from token to id.
        counts: :class:`collections.Counter` of the training tokens (before the cut).
    """

    def __init__(self, tokens: Iterable[str], min_freq: int = 1,
                 specials: Sequence[str] = SPECIALS) -> None:
        if isinstance(tokens, str):
            raise TypeError("tokens must be an iterable of tokens, got a single str; "
                            "tokenize it first, e.g. Vocab(lmkit.text.char_tokenize(text))")
        min_freq = check_int(min_freq, "min_freq", 1)
        specials = list(specials)
        if "<unk>" not in specials:
            raise ValueError(f"specials must contain '<unk>' (unknown tokens map to it), "
                             f"got {specials}")
        if len(set(specials)) != len(specials):
            raise ValueError(f"specials must not repeat a token, got {specials}")
        tokens = list(tokens)
        self.counts: Counter[str] = Counter(tokens)  # counted in C: fast on a million tokens
        if not all(isinstance(t, str) for t in self.counts):  # one check per distinct token
            i, tok = next((i, t) for i, t in enumerate(tokens) if not isinstance(t, str))
            raise TypeError(f"every token must be a str, but token {i} is "
                            f"{type(tok).__name__} ({tok!r}); pass a flat iterable of "
                            f"strings")
        kept = sorted((t for t, c in self.counts.items() if c >= min_freq and t not in specials),
                      key=lambda t: (-self.counts[t], t))
        self.specials: tuple[str, ...] = tuple(specials)
        self.min_freq = min_freq
        self.itos: list[str] = [*specials, *kept]
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self.unk_id: int = self.stoi["<unk>"]

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """The id of ``token``; the id of ``<unk>`` if the token is not in the vocabulary."""
        return self.stoi.get(token, self.unk_id)

    def __repr__(self) -> str:
        shown = ", ".join(repr(t) for t in self.itos[len(self.specials):][:5])
        return (f"Vocab(size={len(self)}, specials={list(self.specials)}, "
                f"min_freq={self.min_freq}, most frequent=[{shown}, ...])")

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Map tokens to ids; tokens outside the vocabulary map to ``unk_id``."""
        if isinstance(tokens, str):
            raise TypeError("encode expects a sequence of tokens, got a str; tokenize it "
                            "first, e.g. vocab.encode(lmkit.text.char_tokenize(text))")
        tokens = list(tokens)
        if not all(issubclass(t, str) for t in set(map(type, tokens))):  # one check per type
            i, tok = next((i, t) for i, t in enumerate(tokens) if not isinstance(t, str))
            raise TypeError(f"every token must be a str, but token {i} is {type(tok).__name__} "
                            f"({tok!r}); ids are decoded with vocab.decode, not encoded")
        return [self.stoi.get(t, self.unk_id) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Map ids back to tokens. Accepts ints, NumPy integers or a 1-D tensor of ids."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        out = []
        for i in ids:
            i = check_int(i, "every id", None)
            if not 0 <= i < len(self.itos):
                raise ValueError(f"id {i} is outside this vocabulary (valid ids are "
                                 f"0 … {len(self.itos) - 1})")
            out.append(self.itos[i])
        return out
