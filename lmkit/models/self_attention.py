"""A one-layer causal self-attention language model (chapter 11): attention over its own past.

Chapter 10's decoder attended to the *encoder's* states. Here the sequence attends to itself:
the token at position ``t`` is the query, and the keys and values are the tokens at positions
``t - C + 1 … t`` (a window of ``C`` tokens, the current one included), never a later one::

    q_t = W_q x_t,  k_j = W_k x_j,  v_j = W_v x_j
    e_{t,j} = q_t · k_j / √d + b_{t-j}          (b: a learned bias per distance t - j)
    h_t = x_t + W_o Σ_j softmax_j(e_{t,j}) v_j
    logits_t = W_y (h_t + MLP(LayerNorm(h_t)))

Attention itself ignores order (a weighted average of a set); the bias ``b_{t-j}``, one number
per distance, is the positional information: it lets the model prefer the previous token, or
the one ``k`` back. Because it depends only on the distance, the model computes the same thing
wherever a window starts, so a long text can be read block by block.

It follows the recurrent form of the language-model contract (:mod:`lmkit.models.neural`):
``forward(ids (B, T), state) -> (logits (B, T, |V|), state)``, where the **state is the last
C - 1 token embeddings and which of them are real** (``None``: no history). Every position of a
block is computed at once; the path from any input in the window to the output is one step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lmkit._checks import check_int, check_probability
from lmkit.models.neural import NeuralLM
from lmkit.text import Vocab

__all__ = ["SelfAttentionConfig", "SelfAttentionLM"]


@dataclass
class SelfAttentionConfig:
    """The sizes of a :class:`SelfAttentionLM`.

    Attributes:
        vocab_size: ``|V|``.
        embed_dim: ``d``, the size of token embeddings, queries, keys and values.
        context: ``C``, the tokens one position attends to (itself included).
        mlp: the hidden size of the feed-forward layer after attention (0: none).
        dropout: dropout on the embeddings and the attention weights.
    """

    vocab_size: int
    embed_dim: int = 64
    context: int = 64
    mlp: int = 128
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_int(self.vocab_size, "vocab_size")
        check_int(self.embed_dim, "embed_dim")
        check_int(self.context, "context", hint="the window of tokens attended to, e.g. 64")
        check_int(self.mlp, "mlp", minimum=0)
        check_probability(self.dropout, "dropout", below_one=True)


State = tuple[torch.Tensor, torch.Tensor]


class SelfAttentionLM(NeuralLM):
    """Embeddings, one causal self-attention layer over a window of ``C`` tokens with a learned
    bias per distance, a feed-forward layer, a linear output layer.

    Shapes: ``forward(ids (B, T), state)`` with ``state = (x (B, C - 1, d), real (B, C - 1))``
    or ``None`` returns ``(logits (B, T, |V|), state)``; ``forward(..., return_weights=True)``
    also returns the attention weights ``(B, T, C - 1 + T)`` over the state and the block.
    """

    recurrent = True

    def __init__(self, config: SelfAttentionConfig, vocab: Vocab | None = None,
                 start: str | None = None) -> None:
        super().__init__()
        if not isinstance(config, SelfAttentionConfig):
            raise TypeError(f"config must be a SelfAttentionConfig, got "
                            f"{type(config).__name__}")
        self.config = config
        self._set_vocab(vocab, start, config.vocab_size)
        self.context_size = config.context
        d = config.embed_dim
        self.embedding = nn.Embedding(config.vocab_size, d)
        self.query, self.key, self.value = (nn.Linear(d, d, bias=False) for _ in range(3))
        self.mix = nn.Linear(d, d)
        self.distance_bias = nn.Parameter(torch.zeros(config.context))   # b_0 … b_{C-1}
        self.norm = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, config.mlp), nn.ReLU(), nn.Linear(config.mlp, d)) \
            if config.mlp else None
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(d, config.vocab_size)

    def forward(self, ids: torch.Tensor, state: State | None = None, *,
                return_weights: bool = False):  # type: ignore[no-untyped-def]
        if ids.dim() != 2 or ids.is_floating_point():
            raise ValueError(f"ids must be an integer tensor (B, T), got "
                             f"{getattr(ids, 'dtype', '')} {tuple(ids.shape)}")
        B, T = ids.shape
        C, d = self.config.context, self.config.embed_dim
        x = self.dropout(self.embedding(ids))                             # (B, T, d)
        if state is None:
            state = (x.new_zeros(B, C - 1, d),
                     torch.zeros(B, C - 1, dtype=torch.bool, device=x.device))
        past, real = state
        if past.shape != (B, C - 1, d) or real.shape != (B, C - 1):
            raise ValueError(f"state must be (x (B, C - 1, d), real (B, C - 1)) with "
                             f"B, C, d = {B}, {C}, {d}")
        keys_x = torch.cat([past, x], dim=1)                               # (B, C - 1 + T, d)
        keys_real = torch.cat([real, real.new_ones(B, T)], dim=1)          # (B, C - 1 + T)
        q, k, v = self.query(x), self.key(keys_x), self.value(keys_x)
        # the distance from query t (at key index t + C - 1) to key j; allowed: 0 … C - 1
        t = torch.arange(T, device=x.device)[:, None] + C - 1
        j = torch.arange(C - 1 + T, device=x.device)[None, :]
        distance = t - j                                                   # (T, C - 1 + T)
        allowed = (distance >= 0) & (distance < C) & keys_real[:, None, :]  # (B, T, K)
        scores = q @ k.transpose(1, 2) / math.sqrt(d) \
            + self.distance_bias[distance.clamp(0, C - 1)]                  # (B, T, K)
        weights = torch.softmax(scores.masked_fill(~allowed, -math.inf), dim=-1)
        h = x + self.mix(self.dropout(weights) @ v)                        # (B, T, d)
        if self.mlp is not None:
            h = h + self.mlp(self.norm(h))
        logits = self.out(h)
        new_state = (keys_x[:, -(C - 1):] if C > 1 else keys_x[:, :0],
                     keys_real[:, -(C - 1):] if C > 1 else keys_real[:, :0])
        if return_weights:
            return logits, new_state, weights
        return logits, new_state
