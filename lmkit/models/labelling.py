"""What else an RNN does (chapter 8): tag every token, or classify a whole sentence.

Both models are an :class:`~lmkit.models.encoder.RNNEncoder` with a linear layer on top, and
both are called on a padded batch, ``model(ids, lengths)``, so they train with
:func:`lmkit.train.fit` on :class:`lmkit.batching.PaddedBatches`:

- :class:`RNNTagger` scores every position: logits ``(B, T, n_tags)``;
- :class:`RNNClassifier` pools the encoder's outputs into one vector per sentence (last state,
  mean or max; :func:`~lmkit.models.encoder.pool`) and scores it: logits ``(B, n_classes)``.

:func:`predict` runs either over batches and returns the predicted ids of the real tokens (or
sentences) with the gold ones, for accuracies and confusion matrices.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from lmkit._checks import check_int, eval_mode
from lmkit.batching.padded import length_mask
from lmkit.models.encoder import POOLINGS, RNNEncoder, pool

__all__ = ["RNNClassifier", "RNNTagger", "predict"]


class RNNTagger(nn.Module):
    """A sequence tagger: embeddings → (bi)RNN → one linear layer per position.

    Args:
        vocab_sizes: the vocabulary size, or one per id of a token (word, suffix, shape).
        n_tags: the number of tags.
        **encoder: the :class:`RNNEncoder`'s options (``embed``, ``hidden``, ``cell``,
            ``bidirectional``, ``word_dropout``, ``pad_id``, …).

    ``forward(ids (B, T[, F]), lengths (B,))`` returns logits ``(B, T, n_tags)``; a unidirectional
    tagger's logits at position ``t`` depend on tokens ``0 … t`` only.
    """

    def __init__(self, vocab_sizes: int | Sequence[int], n_tags: int, **encoder: Any) -> None:
        super().__init__()
        self.encoder = RNNEncoder(vocab_sizes, **encoder)
        self.out = nn.Linear(self.encoder.output_size, check_int(n_tags, "n_tags", minimum=2))

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.encoder(ids, lengths)
        return self.out(outputs)


class RNNClassifier(nn.Module):
    """A sentence classifier: embeddings → (bi)RNN → pooling → one linear layer.

    Args:
        vocab_size: the vocabulary size (or one per id of a token).
        n_classes: the number of classes.
        pooling: ``"last"`` (the final states), ``"mean"`` or ``"max"`` of the outputs over the
            real tokens.
        **encoder: the :class:`RNNEncoder`'s options.

    ``forward(ids (B, T), lengths (B,))`` returns logits ``(B, n_classes)``.
    """

    def __init__(self, vocab_size: int | Sequence[int], n_classes: int, pooling: str = "last",
                 **encoder: Any) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        self.encoder = RNNEncoder(vocab_size, **encoder)
        self.out = nn.Linear(self.encoder.output_size,
                             check_int(n_classes, "n_classes", minimum=2))

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        outputs, final = self.encoder(ids, lengths)
        return self.out(pool(outputs, lengths, self.pooling, final))


def predict(model: nn.Module,
            batches: Iterable[tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]]
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's arg-max predictions and the gold labels, over every batch.

    Args:
        model: a tagger or classifier called as ``model(ids, lengths)``.
        batches: ``((ids, lengths), targets)`` batches (:class:`lmkit.batching.PaddedBatches`).

    Returns:
        ``(predicted, gold)``, two 1-D tensors of label ids: one entry per real token (tagging;
        padding is left out, in the batches' order) or per sentence (classification).
    """
    predicted, gold = [], []
    with eval_mode(model), torch.no_grad():
        for (ids, lengths), targets in batches:
            best = model(ids, lengths).argmax(dim=-1)
            if targets.dim() == 2:
                mask = length_mask(lengths, targets.shape[1])
                best, targets = best[mask], targets[mask]
            predicted.append(best)
            gold.append(targets)
    if not predicted:
        raise ValueError("batches is empty: there is nothing to predict")
    return torch.cat(predicted), torch.cat(gold)
