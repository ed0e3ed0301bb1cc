"""Generating text: greedy decoding, temperature and top-k sampling, as functions on logits.

Generation feeds a model its own output. From the model's logits ``z`` for the next token,

- **greedy** decoding takes ``argmax z`` (``temperature=0``);
- **sampling** draws from ``softmax(z / τ)``: the temperature ``τ`` sharpens the distribution
  (``τ < 1``, towards greedy) or flattens it (``τ > 1``, towards uniform); ``τ = 1`` samples
  the model's own distribution;
- **top-k** sampling keeps only the ``k`` most likely tokens, renormalised, before drawing.

:func:`next_token_distribution` is that rule as a pure function on logits. Every language model
of the book applies it token by token through the one verb of the contract
(:meth:`lmkit.models.base.LanguageModel.generate`)::

    model.generate(1, 200, prompt=list("the time "), temperature=0.8, seed=1)
    kn5.generate(3, max_tokens=30, top_k=10)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lmkit._checks import check_int, check_number

__all__ = ["next_token_distribution", "top_k_filter"]


def _check_temperature(temperature: object) -> float:
    return check_number(temperature, "temperature", low=0.0,
                        hint="0 means greedy, 1 the model's own distribution")


def _check_top_k(top_k: object) -> int | None:
    if top_k is None:
        return None
    return check_int(top_k, "top_k", 1, hint="1 is greedy; None keeps every token")


def _check_logits(logits: object) -> torch.Tensor:
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor of shape (..., |V|), got "
                        f"{getattr(logits, 'dtype', type(logits).__name__)}")
    if logits.dim() == 0 or logits.shape[-1] == 0:
        raise ValueError(f"logits must have a last dimension of size |V| >= 1, got shape "
                         f"{tuple(logits.shape)}")
    if torch.isnan(logits).any() or torch.isposinf(logits).any():
        raise ValueError("logits contain NaN or +inf; the model's weights have probably "
                         "diverged (retrain with a lower learning rate or clipping)")
    if torch.isneginf(logits).all(dim=-1).any():
        raise ValueError("a row of logits is all -inf: no token is possible")
    return logits


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row and set the others to ``-inf``.

    Exactly ``k`` entries survive per row (ties at the boundary are broken by position), so a
    token outside the top ``k`` can never be drawn. ``k >= |V|`` keeps everything.

    >>> top_k_filter(torch.tensor([1.0, 3.0, 2.0, 0.0]), 2)
    tensor([-inf, 3., 2., -inf])
    """
    logits = _check_logits(logits)
    k = _check_top_k(k)
    assert k is not None
    if k >= logits.shape[-1]:
        return logits.clone()
    keep = torch.topk(logits, k, dim=-1).indices                        # (..., k)
    mask = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, keep, True)
    return logits.masked_fill(~mask, -math.inf)


def next_token_distribution(logits: torch.Tensor, temperature: float = 1.0,
                            top_k: int | None = None) -> torch.Tensor:
    """The distribution a sampler draws from: ``softmax(top_k(logits) / temperature)``.

    Args:
        logits: ``(..., |V|)`` unnormalised next-token scores.
        temperature: ``τ >= 0``. ``τ = 1`` is the model's distribution, smaller is sharper,
            larger is flatter; ``τ = 0`` is the limit, all mass on the ``argmax`` (greedy).
        top_k: keep only the ``k`` most likely tokens (``None``: all).

    Returns:
        ``(..., |V|)`` probabilities (each row sums to 1).

    >>> next_token_distribution(torch.tensor([0.0, math.log(3.0)]))
    tensor([0.2500, 0.7500])
    >>> next_token_distribution(torch.tensor([0.0, math.log(3.0)]), temperature=0)
    tensor([0., 1.])
    """
    logits = _check_logits(logits)
    temperature = _check_temperature(temperature)
    top_k = _check_top_k(top_k)
    if temperature == 0:
        best = logits.argmax(dim=-1, keepdim=True)
        return torch.zeros_like(logits).scatter_(-1, best, 1.0)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    # Shifted so that the largest logit is 0: a tiny temperature then sends the others to -inf
    # (the greedy limit), never to inf - inf = NaN.
    shifted = logits - logits.max(dim=-1, keepdim=True).values
    return F.softmax(shifted / temperature, dim=-1)
