"""Counting: the n-grams of an integer-encoded corpus in sorted NumPy tables.

No Python loop runs per token: each order's n-grams are counted with ``np.unique`` and looked up
with ``np.searchsorted``, so the 5-grams of Penn Treebank (a million tokens) count in well under
a second.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NgramCounts", "gather"]


def gather(values: np.ndarray, index: np.ndarray, fill: float) -> np.ndarray:
    """``values[index]``, with ``fill`` where ``index`` is -1 (an n-gram or context not stored).

    Args:
        values: ``(n,)`` one value per stored entry of a table.
        index: ``(B,)`` (or 0-d) indices into ``values``, -1 for "not stored".
    Returns:
        ``(B,)`` array of ``values.dtype``.
    """
    out = np.full(index.shape, fill, dtype=values.dtype)
    found = index >= 0
    out[found] = values[index[found]]
    return out


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
        """Bytes of the tables (keys, counts and suffix indices)."""
        return sum(a.nbytes for a in (*self.keys, *self.counts, *self.suffix))

