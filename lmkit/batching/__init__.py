"""From text to training batches.

- :mod:`lmkit.batching.streams` — one long stream of token ids (chapters 3–7): context windows
  for the fixed-window model, ``(batch, time)`` blocks for truncated BPTT.
- :mod:`lmkit.batching.padded` — sentences of different lengths side by side (chapters 8–10):
  padded ``(batch, time)`` ids, their lengths, the mask of real tokens, and targets whose padding
  is never scored; (source, target) pairs for an encoder–decoder.

Everything is importable from here::

    from lmkit.batching import Batches, PaddedBatches, PaddedPairs, StreamBatches, pad
"""

from lmkit.batching.padded import PaddedBatches, PaddedPairs, length_mask, pad
from lmkit.batching.streams import (
    Batches,
    StreamBatches,
    read_sentences,
    sentence_stream,
    window_pairs,
)

__all__ = ["Batches", "PaddedBatches", "PaddedPairs", "StreamBatches", "length_mask", "pad",
           "read_sentences", "sentence_stream", "window_pairs"]
