"""Sentences of different lengths in one batch: padding, lengths and masks (chapters 8–10).

A batch of ``B`` sentences is one ``(B, T)`` tensor of ids, ``T`` the longest sentence, the
shorter ones filled up on the right with a padding id. Padding is bookkeeping, not data, and
the book's rule is that it must not change anything a model computes: not the loss, not the
gradients, not a prediction. Three things make that true:

- the **lengths** ``(B,)`` travel with the ids, so a recurrent layer can stop at each sentence's
  last real token (:class:`lmkit.models.RNNEncoder` packs the batch);
- the **mask** ``(B, T)``, ``True`` on real tokens (:func:`length_mask`), keeps padding out of
  a mean or a max over positions;
- per-token **targets** are padded with ``IGNORE_INDEX`` (-100), which the loss skips, so the
  mean loss is over real tokens only.

::

    from lmkit.batching import PaddedBatches, length_mask, pad

    ids, lengths = pad([[5, 6, 7], [8, 9]], pad_id=1)    # (2, 3) [[5, 6, 7], [8, 9, 1]], (2,)
    mask = length_mask(lengths)                          # [[T, T, T], [T, T, F]]
    batches = PaddedBatches(sentences, tags, batch_size=32, pad_id=1, shuffle=True)
    for (ids, lengths), targets in batches: ...          # targets: (B, T), -100 at padding

For an encoder–decoder (chapters 9 and 10), :class:`PaddedPairs` batches (source, target)
pairs: the padded sources with their lengths, the decoder's inputs ``<s> y_1 … y_m`` and its
targets ``y_1 … y_m </s>`` (teacher forcing), the targets padded with ``IGNORE_INDEX``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

from lmkit._checks import check_int
from lmkit.train.step import IGNORE_INDEX

__all__ = ["IGNORE_INDEX", "PaddedBatches", "PaddedPairs", "length_mask", "pad"]


def _as_ids(seq: Any, name: str) -> torch.Tensor:
    """One sequence as a long tensor ``(T, ...)``, or a clear error."""
    if isinstance(seq, (str, bytes)):
        raise TypeError(f"{name} is a str; encode the tokens to ids first (vocab.encode(...))")
    try:
        t = seq if isinstance(seq, torch.Tensor) else torch.as_tensor(seq)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name} must be a sequence of integer ids, got "
                        f"{type(seq).__name__}") from exc
    if t.dim() == 0:
        raise ValueError(f"{name} is a single number; a sequence is a list of ids")
    if t.shape[0] == 0:
        raise ValueError(f"{name} is empty: a sentence needs at least one token (drop empty "
                         f"sentences before batching)")
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer ids, got dtype {t.dtype}")
    return t.long()


def pad(sequences: Sequence[Any], pad_id: int, *,
        length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack sequences of different lengths into one right-padded tensor.

    Args:
        sequences: ``B`` sequences of ids, each a list or a tensor of shape ``(T_b,)`` — or
            ``(T_b, F)`` for ``F`` ids per token (a word and its features); none empty.
        pad_id: the id written after each sequence's end (``vocab["<pad>"]``, or
            ``IGNORE_INDEX`` for targets the loss must skip).
        length: pad to this many positions (default: the longest sequence).

    Returns:
        ``(ids, lengths)``: ``ids`` of shape ``(B, T)`` (or ``(B, T, F)``), ``lengths`` ``(B,)``.

    >>> ids, lengths = pad([[5, 6, 7], [8, 9]], pad_id=0)
    >>> ids.tolist(), lengths.tolist()
    ([[5, 6, 7], [8, 9, 0]], [3, 2])
    """
    if isinstance(sequences, (str, bytes, torch.Tensor)) or not isinstance(sequences, Sequence):
        raise TypeError(f"sequences must be a list of id sequences, got "
                        f"{type(sequences).__name__}")
    if len(sequences) == 0:
        raise ValueError("sequences is empty: there is nothing to pad")
    pad_id = check_int(pad_id, "pad_id", minimum=None)
    seqs = [_as_ids(s, f"sequence {i}") for i, s in enumerate(sequences)]
    trailing = {s.shape[1:] for s in seqs}
    if len(trailing) > 1:
        raise ValueError(f"sequences must all have the same trailing shape (ids per token), got "
                         f"{sorted(tuple(t) for t in trailing)}")
    lengths = torch.tensor([s.shape[0] for s in seqs])
    longest = int(lengths.max())
    if length is None:
        length = longest
    elif check_int(length, "length") < longest:
        raise ValueError(f"length={length} is shorter than the longest sequence ({longest} ids)")
    out = torch.full((len(seqs), length, *seqs[0].shape[1:]), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :s.shape[0]] = s
    return out, lengths


def length_mask(lengths: torch.Tensor, length: int | None = None) -> torch.Tensor:
    """The mask of real tokens: ``mask[b, t]`` is ``t < lengths[b]``.

    Args:
        lengths: ``(B,)`` integer lengths, each at least 1.
        length: the padded length ``T`` (default: ``lengths.max()``).

    Returns:
        A bool tensor ``(B, T)``, ``True`` on real tokens, ``False`` on padding.

    >>> length_mask(torch.tensor([3, 1])).tolist()
    [[True, True, True], [True, False, False]]
    """
    if not isinstance(lengths, torch.Tensor) or lengths.dim() != 1 \
            or lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise TypeError(f"lengths must be a 1-D integer tensor (B,), got "
                        f"{getattr(lengths, 'shape', type(lengths).__name__)}")
    if lengths.numel() == 0 or int(lengths.min()) < 1:
        raise ValueError("lengths must be at least 1 (every sentence has a token)")
    if length is None:
        length = int(lengths.max())
    elif check_int(length, "length") < int(lengths.max()):
        raise ValueError(f"length={length} is shorter than the longest sequence "
                         f"({int(lengths.max())})")
    return torch.arange(length, device=lengths.device)[None, :] < lengths[:, None]


_POOL = 50  # batches per bucketing pool


def _batch_order(lengths: list[int], batch_size: int, *, shuffle: bool,
                 bucket: bool) -> list[list[int]]:
    """The example indices of each batch, in the order of one epoch: shuffled (torch's global
    generator) if ``shuffle``; with ``bucket``, sorted by length within pools of ``_POOL``
    batches, and the batches then shuffled too."""
    n = len(lengths)
    order = torch.randperm(n).tolist() if shuffle else list(range(n))
    if bucket:
        pool = _POOL * batch_size
        order = [i for start in range(0, n, pool)
                 for i in sorted(order[start:start + pool], key=lambda i: lengths[i])]
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if bucket and shuffle:
        batches = [batches[i] for i in torch.randperm(len(batches)).tolist()]
    return batches


class PaddedBatches:
    """Mini-batches of variable-length sentences with their targets, padded per batch.

    Each batch is ``((ids, lengths), targets)``: ``ids`` ``(B, T)`` (or ``(B, T, F)``) padded
    with ``pad_id``, ``lengths`` ``(B,)``, and ``targets`` either ``(B,)`` (one label per
    sentence: classification) or ``(B, T)`` (one label per token: tagging) padded with
    ``IGNORE_INDEX``, so the loss never scores a padding position. :func:`lmkit.train.fit`
    unpacks the inputs: the model is called as ``model(ids, lengths)``.

    Args:
        inputs: ``N`` sentences of ids (lists or tensors ``(T_n,)`` / ``(T_n, F)``), none empty.
        targets: ``N`` integer labels, or ``N`` label sequences as long as their sentences.
        batch_size: sentences per batch (the last batch may be smaller).
        pad_id: the input padding id (``vocab["<pad>"]``).
        shuffle: a new random order every epoch (for training; from torch's global generator,
            which ``fit(seed=...)`` seeds).
        bucket: group sentences of similar length into the same batch (sorted within pools of
            50 batches, then the batches shuffled), so less time goes into padding. The
            results are the same as without bucketing up to the order of the batches.

    >>> b = PaddedBatches([[2, 3, 4], [5]], [[0, 1, 0], [1]], batch_size=2, pad_id=1)
    >>> (ids, lengths), tags = next(iter(b))
    >>> ids.tolist(), lengths.tolist(), tags.tolist()
    ([[2, 3, 4], [5, 1, 1]], [3, 1], [[0, 1, 0], [1, -100, -100]])
    """

    #: Sentences are independent: a recurrent state is never carried between batches.
    sequential = False

    def __init__(self, inputs: Sequence[Any], targets: Sequence[Any], batch_size: int, *,
                 pad_id: int, shuffle: bool = False, bucket: bool = False) -> None:
        if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
            raise TypeError(f"inputs must be a list of id sequences, got {type(inputs).__name__}")
        if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
            raise TypeError(f"targets must be a list (labels or label sequences), got "
                            f"{type(targets).__name__}")
        if len(inputs) != len(targets):
            raise ValueError(f"inputs and targets must hold the same number of sentences, got "
                             f"{len(inputs)} and {len(targets)}")
        if len(inputs) == 0:
            raise ValueError("inputs is empty: there is nothing to batch")
        self.inputs = [_as_ids(s, f"sentence {i}") for i, s in enumerate(inputs)]
        self.per_token = not isinstance(targets[0], (int, torch.Tensor)) or (
            isinstance(targets[0], torch.Tensor) and targets[0].dim() > 0)
        if self.per_token:
            self.targets: Any = [_as_ids(t, f"the targets of sentence {i}")
                                 for i, t in enumerate(targets)]
            for i, (x, y) in enumerate(zip(self.inputs, self.targets, strict=True)):
                if y.dim() != 1 or y.shape[0] != x.shape[0]:
                    raise ValueError(f"sentence {i} has {x.shape[0]} tokens but "
                                     f"{y.shape[0] if y.dim() else 0} target labels; tagging "
                                     f"needs exactly one label per token")
        else:
            try:
                self.targets = torch.as_tensor([int(t) for t in targets])
            except (TypeError, ValueError) as exc:
                raise TypeError("targets must be integer labels (one per sentence) or one list "
                                "of labels per sentence") from exc
        low = min(int(t.min()) for t in self.targets) if self.per_token \
            else int(self.targets.min())
        if low < 0:
            raise ValueError(f"a target label is {low}; labels are ids 0 … n_labels - 1 "
                             f"(encode them with a lmkit.labelled.LabelSet)")
        self.batch_size = check_int(batch_size, "batch_size")
        self.pad_id = check_int(pad_id, "pad_id", minimum=None)
        self.shuffle, self.bucket = bool(shuffle), bool(bucket)

    def __len__(self) -> int:
        return -(-len(self.inputs) // self.batch_size)

    def _order(self) -> list[list[int]]:
        """The sentence indices of each batch, in the order of this epoch."""
        return _batch_order([s.shape[0] for s in self.inputs], self.batch_size,
                            shuffle=self.shuffle, bucket=self.bucket)

    def __iter__(self) -> Iterator[tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]]:
        for idx in self._order():
            ids, lengths = pad([self.inputs[i] for i in idx], self.pad_id)
            if self.per_token:
                targets, _ = pad([self.targets[i] for i in idx], IGNORE_INDEX)
            else:
                targets = self.targets[idx]
            yield (ids, lengths), targets

    def __repr__(self) -> str:
        kind = "per-token" if self.per_token else "per-sentence"
        return (f"PaddedBatches({len(self.inputs)} sentences, {kind} targets, "
                f"batch_size={self.batch_size}, {len(self)} batches, shuffle={self.shuffle}, "
                f"bucket={self.bucket})")


class PaddedPairs:
    """Mini-batches of (source, target) sentence pairs for an encoder–decoder.

    Each batch is ``((src, src_lengths, tgt_in), tgt_out)``:

    - ``src`` ``(B, S)``: the source ids, padded with ``pad_id``; ``src_lengths`` ``(B,)``;
    - ``tgt_in`` ``(B, T)``: ``<s> y_1 … y_m``, what the decoder reads (teacher forcing), padded
      with ``pad_id``;
    - ``tgt_out`` ``(B, T)``: ``y_1 … y_m </s>``, what it must predict at each position, padded
      with ``IGNORE_INDEX`` so that the loss is the mean over real target tokens.

    ``T = m + 1`` for the longest target of the batch. :func:`lmkit.train.fit` calls the model
    as ``model(src, src_lengths, tgt_in)``.

    Args:
        sources, targets: ``N`` id sequences each (lists or 1-D tensors), none empty; the
            targets without ``<s>`` and ``</s>``, which are added here.
        batch_size: pairs per batch (the last batch may be smaller).
        pad_id, bos_id, eos_id: the ids of ``<pad>``, ``<s>`` and ``</s>`` (of the target
            vocabulary; the source is padded with ``pad_id`` too, so both vocabularies must
            give ``<pad>`` the same id, as every :class:`lmkit.text.Vocab` does).
        shuffle: a new random order every epoch (torch's global generator).
        bucket: group pairs of similar source length into a batch (less padding).

    >>> b = PaddedPairs([[5, 6, 7], [8]], [[9], [10, 11]], batch_size=2, pad_id=1, bos_id=2,
    ...                 eos_id=3)
    >>> (src, n, tgt_in), tgt_out = next(iter(b))
    >>> src.tolist(), n.tolist(), tgt_in.tolist(), tgt_out.tolist()
    ([[5, 6, 7], [8, 1, 1]], [3, 1], [[2, 9, 1], [2, 10, 11]], [[9, 3, -100], [10, 11, 3]])
    """

    sequential = False

    def __init__(self, sources: Sequence[Any], targets: Sequence[Any], batch_size: int, *,
                 pad_id: int, bos_id: int, eos_id: int, shuffle: bool = False,
                 bucket: bool = False) -> None:
        for name, seqs in (("sources", sources), ("targets", targets)):
            if isinstance(seqs, (str, bytes)) or not isinstance(seqs, Sequence):
                raise TypeError(f"{name} must be a list of id sequences, got "
                                f"{type(seqs).__name__}")
        if len(sources) != len(targets):
            raise ValueError(f"sources and targets must hold the same number of sentences, "
                             f"got {len(sources)} and {len(targets)}")
        if len(sources) == 0:
            raise ValueError("sources is empty: there is nothing to batch")
        self.sources = [_as_ids(s, f"source {i}") for i, s in enumerate(sources)]
        self.targets = [_as_ids(t, f"target {i}") for i, t in enumerate(targets)]
        for name, seqs in (("source", self.sources), ("target", self.targets)):
            for i, s in enumerate(seqs):
                if s.dim() != 1 or int(s.min()) < 0:
                    raise ValueError(f"{name} {i} must be a 1-D sequence of ids >= 0")
        self.batch_size = check_int(batch_size, "batch_size")
        self.pad_id = check_int(pad_id, "pad_id", minimum=0)
        self.bos_id = check_int(bos_id, "bos_id", minimum=0)
        self.eos_id = check_int(eos_id, "eos_id", minimum=0)
        if len({self.pad_id, self.bos_id, self.eos_id}) != 3:
            raise ValueError(f"pad_id, bos_id and eos_id must differ, got {self.pad_id}, "
                             f"{self.bos_id}, {self.eos_id}")
        self.shuffle, self.bucket = bool(shuffle), bool(bucket)

    def __len__(self) -> int:
        return -(-len(self.sources) // self.batch_size)

    def _order(self) -> list[list[int]]:
        return _batch_order([s.shape[0] for s in self.sources], self.batch_size,
                            shuffle=self.shuffle, bucket=self.bucket)

    def __iter__(self) -> Iterator[tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor],
                                         torch.Tensor]]:
        bos, eos = torch.tensor([self.bos_id]), torch.tensor([self.eos_id])
        for idx in self._order():
            src, src_lengths = pad([self.sources[i] for i in idx], self.pad_id)
            tgt_in, _ = pad([torch.cat([bos, self.targets[i]]) for i in idx], self.pad_id)
            tgt_out, _ = pad([torch.cat([self.targets[i], eos]) for i in idx], IGNORE_INDEX)
            yield (src, src_lengths, tgt_in), tgt_out

    def __repr__(self) -> str:
        return (f"PaddedPairs({len(self.sources)} pairs, batch_size={self.batch_size}, "
                f"{len(self)} batches, shuffle={self.shuffle}, bucket={self.bucket})")
