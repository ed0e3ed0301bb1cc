"""Argument checks shared by every lmkit module (private).

One rule everywhere: a value of the wrong *type* raises :class:`TypeError`, a value of the right
type but outside its range raises :class:`ValueError`, and both messages name the argument, show
what was given and say how to fix the call. Python and NumPy integers are both accepted as ints
(a ``bool`` never is); ints, floats and NumPy numbers are accepted as numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any

__all__ = ["check_bool", "check_ids", "check_int", "check_number", "check_per_order",
           "check_probability", "check_seed", "check_sequence", "eval_mode", "safe_exp"]


def _shown(value: object) -> str:
    return f"{type(value).__name__} ({value!r:.60})"


def check_int(value: object, name: str, minimum: int | None = 1, maximum: int | None = None,
              hint: str = "") -> int:
    """``value`` as a Python int if it is an integer in ``[minimum, maximum]``.

    ``minimum=None`` means no lower bound. ``hint`` is appended to the ValueError's message.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {_shown(value)}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = (f"in {minimum} … {maximum}" if minimum is not None and maximum is not None
                  else f">= {minimum}" if minimum is not None else f"<= {maximum}")
        raise ValueError(f"{name} must be an int {bounds}, got {value}"
                         f"{'; ' + hint if hint else ''}")
    return value


def check_number(value: object, name: str, *, low: float = -math.inf, high: float = math.inf,
                 low_open: bool = False, high_open: bool = False, hint: str = "") -> float:
    """``value`` as a float if it is a finite real number in the given interval.

    The interval is ``[low, high]``; ``low_open``/``high_open`` exclude an end (``low=0,
    low_open=True`` is "> 0").
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {_shown(value)}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if not math.isfinite(value) or too_low or too_high:
        if math.isinf(high):
            bounds = f"{'>' if low_open else '>='} {low:g}" if math.isfinite(low) else ""
        elif math.isinf(low):
            bounds = f"{'<' if high_open else '<='} {high:g}"
        else:
            bounds = (f"in {'(' if low_open else '['}{low:g}, {high:g}"
                      f"{')' if high_open else ']'}")
        raise ValueError(f"{name} must be a finite number {bounds}".rstrip() +
                         f", got {value!r}{'; ' + hint if hint else ''}")
    return value


def check_probability(value: object, name: str, *, below_one: bool = False) -> float:
    """A probability in ``[0, 1]`` (``[0, 1)`` with ``below_one``), e.g. a dropout rate."""
    return check_number(value, name, low=0.0, high=1.0, high_open=below_one)


def check_bool(value: object, name: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {_shown(value)}")
    return value


def check_seed(seed: object, name: str = "seed") -> int | None:
    """A seed: ``None`` (fresh randomness) or an int in ``[0, 2**32)``."""
    if seed is None:
        return None
    return check_int(seed, name, 0, 2**32 - 1)


def check_ids(ids: Any, vocab_size: int, name: str = "ids") -> None:
    """Raise if a tensor or array of token ids is not integer or not within ``0 … V - 1``."""
    dtype = getattr(ids, "dtype", None)
    is_float = getattr(ids, "is_floating_point", None)
    if dtype is None:
        raise TypeError(f"{name} must be a tensor of token ids, got {type(ids).__name__}")
    if (is_float() if callable(is_float) else getattr(dtype, "kind", "i") not in "iu") \
            or str(dtype) in ("torch.bool", "bool") or "complex" in str(dtype):
        raise TypeError(f"{name} must hold integer token ids (torch.long), got dtype {dtype}")
    if ids.numel() if hasattr(ids, "numel") else ids.size:
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= vocab_size:
            bad = high if high >= vocab_size else low
            raise ValueError(f"{name} contains id {bad}, outside the model's vocabulary "
                             f"0 … {vocab_size - 1}; build the model with vocab_size=len(vocab) "
                             f"of the vocabulary that encoded the data")


def check_sequence(x: Any, input_size: int) -> None:
    """Raise unless ``x`` is a batch-first ``(B, T, input_size)`` float tensor with B, T >= 1."""
    if not getattr(x, "is_floating_point", lambda: False)():
        raise TypeError(f"x must be a floating-point tensor of shape (B, T, {input_size}), got "
                        f"{getattr(x, 'dtype', type(x).__name__)}; token ids go through an "
                        f"nn.Embedding first")
    if x.dim() != 3 or x.shape[2] != input_size:
        hint = "; for one sequence use x.unsqueeze(0)" if x.dim() == 2 else ""
        raise ValueError(f"x must have shape (B, T, {input_size}) (batch-first, "
                         f"input_size={input_size}), got {tuple(x.shape)}{hint}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must hold at least one sequence of at least one step, got shape "
                         f"{tuple(x.shape)}")


def safe_exp(x: float) -> float:
    """``exp(x)``, or ``inf`` where it would overflow (a perplexity from a huge loss)."""
    return math.inf if x > 709 else math.exp(x)


@contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """Put a torch module in evaluation mode for a block, then restore the mode it was in."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def check_per_order(value: object, name: str, order: int,
                    check: Callable[[object, str], Any], what: str = "number") -> list[Any]:
    """``value`` once per order ``1 … order``: one value for all orders, or a sequence of them.

    ``check(v, name)`` validates (and converts) one value; a list, tuple or 1-D array must hold
    exactly ``order`` values, the first for order 1. Returns the ``order`` checked values.
    """
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1:
        values = list(value)  # type: ignore[call-overload]
        if len(values) != order:
            raise ValueError(f"{name} must be one {what} or {order} {what}s (one per order "
                             f"1 … {order}), got {len(values)}: {value!r:.80}")
        return [check(v, f"{name}[{i}]") for i, v in enumerate(values)]
    return [check(value, name)] * order
