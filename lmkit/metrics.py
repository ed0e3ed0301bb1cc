"""How good is a language model? Cross-entropy, perplexity and bits per character.

All three are computed from the natural-log probabilities ``log p(x_t | x_<t)`` the model gave
to the tokens that actually occurred, never from the probabilities themselves: the product of
a few hundred probabilities underflows to 0 in floating point, the sum of their logs does not.

For ``T`` tokens with log-probabilities ``l_1 … l_T`` (in nats):

- cross-entropy  ``H = -(1/T) Σ l_t``            (nats per token)
- perplexity     ``PPL = exp(H)``                 (an effective branching factor)
- bits per char  ``BPC = -(Σ l_t) / (C ln 2)``     for a text of ``C`` characters

so ``PPL = 2 ** BPC`` when the tokens are the characters (``C = T``).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from lmkit._checks import check_int, safe_exp

__all__ = ["bits_per_char", "cross_entropy", "perplexity"]


def _as_logprobs(logprobs: Any) -> np.ndarray:
    """Validate and convert a sequence/array/tensor of log-probabilities to float64 (T,)."""
    if hasattr(logprobs, "detach"):  # a torch tensor
        logprobs = logprobs.detach().cpu().double().numpy()
    if isinstance(logprobs, (str, bytes)) or np.ndim(logprobs) == 0 and not hasattr(
            logprobs, "__len__"):
        raise TypeError(f"logprobs must be a sequence of log-probabilities (one per token), "
                        f"got {type(logprobs).__name__}")
    try:
        arr = np.asarray(logprobs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"logprobs must contain numbers, got {logprobs!r:.80}") from exc
    arr = arr.reshape(-1)
    if arr.size == 0:
        raise ValueError("logprobs is empty: a metric needs at least one scored token")
    if np.isnan(arr).any():
        i = int(np.flatnonzero(np.isnan(arr))[0])
        raise ValueError(f"logprobs contains NaN at position {i}; check the model's output "
                         f"for a division 0/0 or the log of a negative number")
    if (arr > 1e-9).any():
        i = int(np.flatnonzero(arr > 1e-9)[0])
        raise ValueError(f"logprobs must be <= 0 (they are logs of probabilities), but "
                         f"position {i} holds {arr[i]:.4g}; pass log p, not p or -log p")
    if np.isneginf(arr).any():
        warnings.warn(f"{int(np.isneginf(arr).sum())} token(s) have probability 0 under the "
                      f"model, so the cross-entropy and perplexity are infinite; smooth the "
                      f"model so that no token gets probability 0", RuntimeWarning, stacklevel=3)
    return arr


def _total(arr: np.ndarray) -> float:
    """The exact sum of the log-probabilities; ``-inf`` when it is below the smallest float."""
    try:
        return math.fsum(arr)
    except OverflowError:  # e.g. [-1e308, -1e308]: the sum is -inf, so the loss is infinite
        return -math.inf


def cross_entropy(logprobs: Any) -> float:
    """Average negative log-probability in nats per token.

    Args:
        logprobs: ``(T,)`` natural-log probabilities of the observed tokens (a list, NumPy
            array or tensor of any shape; it is flattened).

    Returns:
        ``-(1/T) Σ logprobs`` as a float; ``inf`` (with a warning) if a token had probability 0.

    >>> round(cross_entropy([math.log(0.5), math.log(0.25)]), 4)
    1.0397
    """
    arr = _as_logprobs(logprobs)
    return float(-_total(arr) / arr.size)


def perplexity(logprobs: Any) -> float:
    """``exp(cross_entropy(logprobs))``: the model is as unsure as a fair die with this many sides.

    >>> perplexity([math.log(1 / 6)] * 10)  # a fair die
    6.000000000000001
    """
    h = cross_entropy(logprobs)
    return safe_exp(h)


def bits_per_char(logprobs: Any, num_chars: int | None = None) -> float:
    """Total negative log-probability in bits, divided by the number of characters.

    Args:
        logprobs: ``(T,)`` natural-log probabilities of the observed tokens.
        num_chars: number of characters the ``T`` tokens spell out. Defaults to ``T``, which is
            right for a character-level model; for a word-level model pass the length of the
            text so that models with different tokenizations can be compared.

    >>> bits_per_char([math.log(0.5)] * 8)
    1.0
    """
    arr = _as_logprobs(logprobs)
    if num_chars is None:
        num_chars = arr.size
    num_chars = check_int(num_chars, "num_chars", 1)
    return float(-_total(arr) / (num_chars * math.log(2)))
