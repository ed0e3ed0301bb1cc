"""The book's neural language models, one module per model family.

- :mod:`lmkit.models.window`  the fixed-window neural LM of Bengio et al. (2003), chapter 3
- :mod:`lmkit.models.rnn`     the vanilla RNN written out step by step and the RNN LM, chapter 4

Every model is a batch-first ``torch.nn.Module`` that maps token ids to next-token logits.
Recurrent models (chapter 4 on) also take and return a hidden state, ``model(x, state) ->
(logits, state)``, which :func:`lmkit.train.fit` carries across batches for truncated BPTT.
"""

from lmkit.models.rnn import RNNLM, RNNConfig, ScratchRNN
from lmkit.models.window import FixedWindowLM, WindowConfig

__all__ = ["FixedWindowLM", "RNNConfig", "RNNLM", "ScratchRNN", "WindowConfig"]
