"""The book's language models: the contract they share and the neural models, one module each.

- :mod:`lmkit.models.base`    the language-model contract (:class:`LanguageModel`), which the
  n-gram models of :mod:`lmkit.ngram` and every neural model follow
- :mod:`lmkit.models.neural`  the one shared implementation of the contract for neural models
- :mod:`lmkit.models.window`  the fixed-window neural LM of Bengio et al. (2003), chapter 3
- :mod:`lmkit.models.rnn`     the vanilla RNN written out step by step and the RNN LM, chapter 4
- :mod:`lmkit.models.gated`   the LSTM and PyTorch's GRU written out step by step, chapter 7
- :mod:`lmkit.models.cho_gru` the GRU of the lecture (Cho et al., 2014), which is not PyTorch's
- :mod:`lmkit.models.bidirectional` a bidirectional layer equal to ``bidirectional=True``
- :mod:`lmkit.models.encoder` a recurrent encoder over padded batches, and pooling
- :mod:`lmkit.models.labelling` the tagger and the sentence classifier of chapter 8
- :mod:`lmkit.models.conv`    a causal (dilated, gated) convolutional LM, chapter 11
- :mod:`lmkit.models.self_attention` a one-layer causal self-attention LM, chapter 11
- :mod:`lmkit.models.attention` additive and dot-product attention, returning their weights
- :mod:`lmkit.models.seq2seq` the encoder–decoder of chapters 9 and 10 (with or without
  attention), greedy and beam decoding, alignments

The neural models are imported on first use, so ``lmkit.ngram`` (which needs only the contract)
loads without PyTorch.
"""

from __future__ import annotations

import importlib
from typing import Any

from lmkit.models.base import LanguageModel, NotFittedError

__all__ = ["Bidirectional", "CausalConvLM", "ChoGRUCell", "ConvConfig", "FixedWindowLM",
           "LanguageModel", "NeuralLM", "NotFittedError", "RNNClassifier", "RNNConfig",
           "RNNEncoder", "RNNLM", "RNNTagger", "ScratchGRU", "ScratchLSTM", "ScratchRNN",
           "SelfAttentionConfig", "SelfAttentionLM", "Seq2Seq", "WindowConfig",
           "init_forget_bias"]

_LAZY = {"FixedWindowLM": "window", "WindowConfig": "window", "RNNLM": "rnn",
         "RNNConfig": "rnn", "ScratchRNN": "rnn", "NeuralLM": "neural",
         "ScratchLSTM": "gated", "ScratchGRU": "gated", "init_forget_bias": "gated",
         "ChoGRUCell": "cho_gru", "Bidirectional": "bidirectional",
         "RNNEncoder": "encoder", "RNNTagger": "labelling", "RNNClassifier": "labelling",
         "Seq2Seq": "seq2seq", "CausalConvLM": "conv", "ConvConfig": "conv",
         "SelfAttentionLM": "self_attention", "SelfAttentionConfig": "self_attention"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"lmkit.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'lmkit.models' has no attribute {name!r}")
