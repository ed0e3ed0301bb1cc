"""A causal convolutional language model (chapter 11): every position at once, none sees ahead.

A stack of 1-D convolutions over the token embeddings, each *causal*: the output at position
``t`` reads only positions ``t, t - d, …, t - (K - 1)d`` of its input (kernel size ``K``,
dilation ``d``), never a later one. Doubling the dilation from layer to layer (1, 2, 4, …)
makes the **receptive field**, the number of tokens one prediction can see,

    R = 1 + Σ_layers (K - 1) · d_layer,

grow exponentially with depth (van den Oord et al., 2016). Each layer is optionally *gated*
(a gated linear unit, ``a ⊙ σ(b)``, as in Dauphin et al., 2017) and residual.

Unlike an RNN, the model computes the outputs of all ``T`` positions of a block in parallel in
training. It follows the recurrent form of the language-model contract
(:mod:`lmkit.models.neural`): ``forward(ids (B, T), state) -> (logits (B, T, |V|), state)``,
where the **state is the last R - 1 input embeddings**, so a long text can be read block by
block, as :func:`lmkit.train.fit` does with a carried state, and each prediction still sees its
full receptive field. ``state=None`` means no history: the positions before the first are zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from lmkit._checks import check_int, check_probability
from lmkit.models.neural import NeuralLM
from lmkit.text import Vocab

__all__ = ["CausalConvLM", "ConvConfig", "receptive_field"]


def receptive_field(kernel_size: int, dilations: tuple[int, ...] | list[int]) -> int:
    """``1 + Σ (kernel_size - 1) · d``: how many tokens (the current one included) one output of
    a stack of causal convolutions with these dilations reads.

    >>> receptive_field(3, [1, 2, 4, 8])
    31
    """
    check_int(kernel_size, "kernel_size")
    return 1 + sum((kernel_size - 1) * check_int(d, "a dilation") for d in dilations)


@dataclass
class ConvConfig:
    """The sizes and choices of a :class:`CausalConvLM`.

    Attributes:
        vocab_size: ``|V|``.
        embed_dim: the size of a token's embedding (the first layer's input channels).
        channels: the channels of every convolution layer.
        kernel_size: ``K``, the taps of each convolution.
        dilations: one dilation per layer, e.g. ``(1, 2, 4, 8)``.
        gated: a gated linear unit after each convolution (else ReLU).
        dropout: dropout on the embeddings and before the output layer.
    """

    vocab_size: int
    embed_dim: int = 32
    channels: int = 128
    kernel_size: int = 3
    dilations: tuple[int, ...] = field(default=(1, 2, 4, 8))
    gated: bool = True
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_int(self.vocab_size, "vocab_size")
        check_int(self.embed_dim, "embed_dim")
        check_int(self.channels, "channels")
        check_int(self.kernel_size, "kernel_size")
        self.dilations = tuple(self.dilations)
        if not self.dilations:
            raise ValueError("dilations must name at least one layer, e.g. (1, 2, 4, 8)")
        for d in self.dilations:
            check_int(d, "a dilation")
        check_probability(self.dropout, "dropout", below_one=True)


class CausalConvLM(NeuralLM):
    """Embeddings, causal (dilated, gated, residual) convolutions, a linear output layer.

    Shapes: ``forward(ids (B, T), state (B, R - 1, d) or None)`` returns
    ``(logits (B, T, |V|), state)``; ``logits[:, t]`` predicts the token after ``ids[:, t]``
    from ``ids[:, t - R + 1 … t]`` (and, before the block, from the state).
    """

    recurrent = True

    def __init__(self, config: ConvConfig, vocab: Vocab | None = None,
                 start: str | None = None) -> None:
        super().__init__()
        if not isinstance(config, ConvConfig):
            raise TypeError(f"config must be a ConvConfig, got {type(config).__name__}")
        self.config = config
        self._set_vocab(vocab, start, config.vocab_size)
        self.receptive_field = receptive_field(config.kernel_size, config.dilations)
        self.context_size = self.receptive_field
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim)
        self.dropout = nn.Dropout(config.dropout)
        width = 2 * config.channels if config.gated else config.channels
        sizes = [config.embed_dim] + [config.channels] * len(config.dilations)
        self.convs = nn.ModuleList(
            nn.Conv1d(sizes[i], width, config.kernel_size, dilation=d)
            for i, d in enumerate(config.dilations))
        self.out = nn.Linear(config.channels, config.vocab_size)

    def forward(self, ids: torch.Tensor,
                state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if ids.dim() != 2 or ids.is_floating_point():
            raise ValueError(f"ids must be an integer tensor (B, T), got "
                             f"{getattr(ids, 'dtype', '')} {tuple(ids.shape)}")
        B, T = ids.shape
        history = self.receptive_field - 1
        x = self.dropout(self.embedding(ids))                           # (B, T, d)
        if state is None:
            state = x.new_zeros(B, history, x.shape[-1])
        if state.shape != (B, history, x.shape[-1]):
            raise ValueError(f"state must be (B, R - 1, d) = {(B, history, x.shape[-1])}, got "
                             f"{tuple(state.shape)}")
        x = torch.cat([state, x], dim=1)                                # (B, R - 1 + T, d)
        new_state = x[:, -history:] if history else x[:, :0]
        h = x.transpose(1, 2)                                           # (B, d, R - 1 + T)
        for conv in self.convs:
            pad = (conv.kernel_size[0] - 1) * conv.dilation[0]
            y = conv(F.pad(h, (pad, 0)))                                # causal: left only
            y = F.glu(y, dim=1) if self.config.gated else torch.relu(y)
            h = y + h if y.shape == h.shape else y                      # residual
        h = h[:, :, history:].transpose(1, 2)                           # (B, T, channels)
        return self.out(self.dropout(h)), new_state
