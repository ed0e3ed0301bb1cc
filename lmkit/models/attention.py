"""Attention: a weighted average of the encoder's states, the weights computed afresh each step.

At decoder step ``i`` the decoder's state ``s_{i-1}`` (the *query*) is compared with every
encoder state ``h_j`` (the *keys*, which are also the *values* here): each comparison gives a raw
score ``e_ij``, a softmax over the source positions turns the scores into weights ``α_ij``
(positive, summing to 1 over the real tokens), and the **context** is the weighted average
``c_i = Σ_j α_ij h_j``. Two ways to score:

- :class:`AdditiveAttention` (Bahdanau et al., 2015): a small feed-forward net,
  ``e_ij = vᵀ tanh(W_q s_{i-1} + W_k h_j)``;
- :class:`DotAttention` (Luong et al., 2015, "general"): a bilinear form, scaled,
  ``e_ij = (W s_{i-1})ᵀ h_j / √D`` — the score self-attention uses (chapter 11).

Both take a ``mask`` of the real source tokens: padding gets weight exactly 0
(:func:`masked_softmax`), so a batch scores as each sentence alone. Both return
``(context, weights)``; the weights are what the heat maps of chapter 10 draw.

Shapes: ``query`` ``(B, Q)`` (one step) or ``(B, T, Q)`` (T steps at once), ``keys``
``(B, S, D)``, ``mask`` ``(B, S)`` bool; ``context`` ``(B, D)`` or ``(B, T, D)``, ``weights``
``(B, S)`` or ``(B, T, S)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lmkit._checks import check_int

__all__ = ["ATTENTIONS", "AdditiveAttention", "DotAttention", "make_attention",
           "masked_softmax"]


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension, over the positions where ``mask`` is ``True`` only.

    Args:
        scores: ``(..., S)`` raw scores.
        mask: ``(..., S)`` or broadcastable (e.g. ``(B, 1, S)``) bool, ``True`` on real
            positions.

    Returns:
        ``(..., S)`` weights: exactly 0 where ``mask`` is ``False``, summing to 1 in each row.

    A row with no real position has no distribution: that is a ValueError (it means an empty
    source sentence, or a mask built the wrong way round).

    >>> masked_softmax(torch.tensor([1.5, 0.9, 0.3, -0.5]),
    ...                torch.tensor([True, True, True, True])).round(decimals=3)
    tensor([0.5040, 0.2760, 0.1520, 0.0680])
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor (True on real positions), got "
                        f"{getattr(mask, 'dtype', type(mask).__name__)}; "
                        f"lmkit.batching.length_mask builds one from lengths")
    if not mask.any(dim=-1).all():
        raise ValueError("mask hides every position of some row: attention needs at least one "
                         "real source token to attend to (is the mask inverted, or a sentence "
                         "empty?)")
    weights = torch.softmax(scores.masked_fill(~mask, -math.inf), dim=-1)
    return weights.masked_fill(~mask, 0.0)       # exact zeros, even for a row of -inf scores


def _check_shapes(query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> None:
    if keys.dim() != 3:
        raise ValueError(f"keys must be (B, S, D), got {tuple(keys.shape)}")
    if query.dim() not in (2, 3) or query.shape[0] != keys.shape[0]:
        raise ValueError(f"query must be (B, Q) or (B, T, Q) with B = {keys.shape[0]}, got "
                         f"{tuple(query.shape)}")
    if mask.shape != keys.shape[:2]:
        raise ValueError(f"mask must be (B, S) = {tuple(keys.shape[:2])}, like the keys, got "
                         f"{tuple(mask.shape)}")


class _Attention(nn.Module):
    def project_keys(self, keys: torch.Tensor) -> torch.Tensor | None:
        """What :meth:`score` can reuse across decoder steps (``None``: nothing)."""
        return None

    def score(self, query: torch.Tensor, keys: torch.Tensor,
              projected: torch.Tensor | None = None) -> torch.Tensor:
        """Raw scores ``(B, T, S)`` for queries ``(B, T, Q)`` and keys ``(B, S, D)``."""
        raise NotImplementedError

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor, *,
                projected: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(context, weights)``; see the module docstring for the shapes. ``projected`` is
        :meth:`project_keys` of the same keys, computed once for all the steps of a decoder."""
        _check_shapes(query, keys, mask)
        one_step = query.dim() == 2
        q = query.unsqueeze(1) if one_step else query               # (B, T, Q)
        scores = self.score(q, keys, projected)                     # (B, T, S)
        weights = masked_softmax(scores, mask.unsqueeze(1))         # (B, T, S)
        context = weights @ keys                                    # (B, T, D)
        if one_step:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights


class AdditiveAttention(_Attention):
    """Bahdanau's score ``e_ij = vᵀ tanh(W_q q_i + W_k k_j + b)``: a feed-forward net of one
    hidden layer of size ``hidden`` applied to every (query, key) pair.

    Parameters: ``query_proj`` (``W_q``, no bias), ``key_proj`` (``W_k`` and ``b``), ``v``.
    """

    def __init__(self, query_size: int, key_size: int, hidden: int) -> None:
        super().__init__()
        self.query_proj = nn.Linear(check_int(query_size, "query_size"),
                                    check_int(hidden, "hidden"), bias=False)
        self.key_proj = nn.Linear(check_int(key_size, "key_size"), hidden)
        self.v = nn.Linear(hidden, 1, bias=False)

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        return self.key_proj(keys)                                  # (B, S, h)

    def score(self, query: torch.Tensor, keys: torch.Tensor,
              projected: torch.Tensor | None = None) -> torch.Tensor:
        k = self.key_proj(keys) if projected is None else projected
        q = self.query_proj(query).unsqueeze(2)                     # (B, T, 1, h)
        return self.v(torch.tanh(q + k.unsqueeze(1))).squeeze(-1)   # (B, T, S)


class DotAttention(_Attention):
    """The scaled bilinear score ``e_ij = (W q_i)ᵀ k_j / √D`` (Luong's "general" score with
    the scaling of Vaswani et al.); ``W`` maps the query to the keys' size ``D``."""

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.query_proj = nn.Linear(check_int(query_size, "query_size"),
                                    check_int(key_size, "key_size"), bias=False)
        self.scale = 1.0 / math.sqrt(key_size)

    def score(self, query: torch.Tensor, keys: torch.Tensor,
              projected: torch.Tensor | None = None) -> torch.Tensor:
        return self.query_proj(query) @ keys.transpose(1, 2) * self.scale   # (B, T, S)


ATTENTIONS: tuple[str, ...] = ("additive", "dot")


def make_attention(kind: str, query_size: int, key_size: int) -> _Attention:
    """``"additive"`` (hidden size = ``query_size``) or ``"dot"``."""
    if kind == "additive":
        return AdditiveAttention(query_size, key_size, hidden=query_size)
    if kind == "dot":
        return DotAttention(query_size, key_size)
    raise ValueError(f"attention must be one of {ATTENTIONS} or None, got {kind!r}")
