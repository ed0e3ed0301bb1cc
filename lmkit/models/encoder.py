"""A recurrent encoder over padded batches, and the poolings that turn it into one vector.

:class:`RNNEncoder` reads a padded batch ``(ids (B, T), lengths (B,))`` with an embedding and a
(bidirectional, stacked) ``nn.RNN``/``nn.LSTM``/``nn.GRU``, packing the batch so that the layer
never reads a padding position: every output at a real position, and every final state, is the
one the sentence would get alone, without padding. Outputs at padding positions are zeros.

It serves the tagger and the sentence classifier of chapter 8 (:mod:`lmkit.models.labelling`)
and the encoders of chapters 9 and 10.

:func:`pool` turns the outputs into one vector per sentence: the final states (``"last"``), or
the elementwise mean or max of the outputs over the sentence's real positions (``"mean"``,
``"max"``); padding never enters a mean or a max.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lmkit._checks import check_int, check_probability
from lmkit.batching.padded import length_mask

__all__ = ["POOLINGS", "RNNEncoder", "pool"]

Pooling = Literal["last", "mean", "max"]
POOLINGS: tuple[str, ...] = ("last", "mean", "max")
_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RNNEncoder(nn.Module):
    """Embeddings, then a recurrent layer that reads only the real tokens of a padded batch.

    Args:
        vocab_sizes: the vocabulary size, or one size per id of a token (a word and its
            features, :class:`lmkit.labelled.TokenFeatures`); the embeddings are concatenated.
        embed: the embedding size, or one per vocabulary.
        hidden: the recurrent layer's hidden size ``n`` per direction.
        cell: ``"lstm"`` (default), ``"gru"`` or ``"rnn"``.
        bidirectional: run a second layer right to left and concatenate (``D = 2n``).
        num_layers: stacked layers.
        dropout: dropout on the embeddings and between stacked layers.
        pad_id: the padding id (its embedding is zero and gets no gradient).
        word_dropout: in training, replace each word id (the first id of a token) by
            ``unk_id`` with this probability, so the model learns to tag words it has not seen.
        unk_id: the ``<unk>`` id of the word vocabulary.

    Shapes: ``forward(ids, lengths)`` with ``ids`` ``(B, T)`` or ``(B, T, F)`` and ``lengths``
    ``(B,)`` returns ``(outputs, final)``: ``outputs`` ``(B, T, D)``, zero at padding, and
    ``final`` ``(B, D)``, the last layer's state after each sentence's last real token
    (bidirectional: the forward direction's there, and the backward direction's after reading
    back to the first token).
    """

    def __init__(self, vocab_sizes: int | Sequence[int], embed: int | Sequence[int] = 64,
                 hidden: int = 64, *, cell: str = "lstm", bidirectional: bool = False,
                 num_layers: int = 1, dropout: float = 0.0, pad_id: int = 1,
                 word_dropout: float = 0.0, unk_id: int = 0) -> None:
        super().__init__()
        sizes = [vocab_sizes] if isinstance(vocab_sizes, int) else list(vocab_sizes)
        embeds = [embed] * len(sizes) if isinstance(embed, int) else list(embed)
        if not sizes or len(embeds) != len(sizes):
            raise ValueError(f"give one embedding size per vocabulary: {len(sizes)} "
                             f"vocabularies, {len(embeds)} embedding sizes")
        for size in sizes:
            check_int(size, "a vocabulary size", minimum=2)
        for size in embeds:
            check_int(size, "embed")
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}")
        self.pad_id = check_int(pad_id, "pad_id", minimum=0)
        self.unk_id = check_int(unk_id, "unk_id", minimum=0)
        self.word_dropout = check_probability(word_dropout, "word_dropout", below_one=True)
        self.cell, self.bidirectional = cell, bool(bidirectional)
        self.vocab_sizes = tuple(sizes)
        self.embeddings = nn.ModuleList(nn.Embedding(v, e, padding_idx=self.pad_id)
                                        for v, e in zip(sizes, embeds, strict=True))
        self.dropout = nn.Dropout(check_probability(dropout, "dropout", below_one=True))
        self.hidden = check_int(hidden, "hidden")
        self.rnn = _CELLS[cell](sum(embeds), self.hidden, num_layers=check_int(
            num_layers, "num_layers"), batch_first=True, bidirectional=self.bidirectional,
            dropout=dropout if num_layers > 1 else 0.0)
        self.output_size = self.hidden * (2 if self.bidirectional else 1)

    def _check(self, ids: torch.Tensor, lengths: torch.Tensor) -> None:
        features = len(self.vocab_sizes)
        want = "(B, T)" if features == 1 else f"(B, T, {features})"
        if not isinstance(ids, torch.Tensor) or ids.is_floating_point() \
                or ids.dtype == torch.bool:
            raise TypeError(f"ids must be an integer tensor {want}, got "
                            f"{getattr(ids, 'dtype', type(ids).__name__)}")
        if ids.dim() != (2 if features == 1 else 3) or (features > 1 and ids.shape[2] != features):
            raise ValueError(f"ids must have shape {want}, got {tuple(ids.shape)}")
        if not isinstance(lengths, torch.Tensor) or lengths.shape != ids.shape[:1]:
            raise ValueError(f"lengths must be a tensor (B,) = ({ids.shape[0]},), got "
                             f"{getattr(lengths, 'shape', type(lengths).__name__)}; "
                             f"lmkit.batching.pad returns both")
        if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > ids.shape[1]):
            raise ValueError(f"lengths must lie in 1 … T = {ids.shape[1]}, got "
                             f"{int(lengths.min())} … {int(lengths.max())}")
        for k, size in enumerate(self.vocab_sizes):
            part = ids if features == 1 else ids[..., k]
            if part.numel() and (int(part.min()) < 0 or int(part.max()) >= size):
                raise ValueError(f"ids (feature {k}) hold an id outside 0 … {size - 1}; build "
                                 f"the model with the vocabulary sizes of the encoder you use")

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, T, sum(embed))``: the concatenated embeddings, with word dropout in training."""
        parts = [ids] if ids.dim() == 2 else list(ids.unbind(-1))
        if self.training and self.word_dropout > 0:
            drop = torch.rand(parts[0].shape) < self.word_dropout
            drop &= parts[0] != self.pad_id
            parts[0] = parts[0].masked_fill(drop, self.unk_id)
        return self.dropout(torch.cat([e(p) for e, p in zip(self.embeddings, parts, strict=True)],
                                      dim=-1))

    def forward(self, ids: torch.Tensor,
                lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check(ids, lengths)
        packed = pack_padded_sequence(self.embed(ids), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, state = self.rnn(packed)
        outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        h_n = state[0] if isinstance(state, tuple) else state      # (layers * dirs, B, n)
        final = torch.cat([h_n[-2], h_n[-1]], dim=-1) if self.bidirectional else h_n[-1]
        return outputs, final


def pool(outputs: torch.Tensor, lengths: torch.Tensor, how: str,
         final: torch.Tensor | None = None) -> torch.Tensor:
    """One vector per sentence from an encoder's outputs.

    Args:
        outputs: ``(B, T, D)`` outputs of :class:`RNNEncoder`.
        lengths: ``(B,)`` real lengths.
        how: ``"last"`` (the encoder's ``final`` state), ``"mean"`` or ``"max"`` (elementwise
            over the real positions ``0 … lengths[b] - 1``; padding never enters).
        final: ``(B, D)``, needed for ``"last"``.

    Returns:
        ``(B, D)``.
    """
    if how not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {how!r}")
    if how == "last":
        if final is None:
            raise ValueError('pooling "last" needs the encoder\'s final state: pass final=')
        return final
    mask = length_mask(lengths, outputs.shape[1]).unsqueeze(-1)     # (B, T, 1)
    if how == "mean":
        return (outputs * mask).sum(dim=1) / lengths.unsqueeze(-1).to(outputs.dtype)
    return outputs.masked_fill(~mask, float("-inf")).max(dim=1).values
