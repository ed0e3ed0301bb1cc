"""How the checker describes learner's values, calls and errors without being hurt by them.

Internal to :mod:`lmkit.exercises`. Each function survives a ``__repr__`` or ``__str__`` that
raises; one that never returns is stopped by the checker's time limit around it.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from lmkit.exercises._sandbox import TooSlow


def describe(value: Any, limit: int = 120) -> str:
    """``repr(value)``, shortened; a value whose ``repr`` raises is described, not shown."""
    try:
        text = repr(value)
        if not isinstance(text, str):
            raise TypeError("__repr__ returned a non-string")
    except TooSlow:
        raise
    except BaseException as exc:  # noqa: BLE001 - a broken __repr__ is the learner's bug
        text = f"<{type(value).__name__} object whose repr() raised {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 5] + " …" + text[-3:]


def exception_text(exc: BaseException) -> str:
    """``"TypeError: message"`` for an exception whose ``str`` may itself be broken."""
    try:
        detail = str(exc)
    except TooSlow:
        raise
    except BaseException:  # noqa: BLE001 - even sys.exit() in __str__
        detail = "(its message could not be printed)"
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def call_text(name: str, args: tuple[Any, ...]) -> str:
    """``name(arg, …)`` with each argument shortened, to show which hidden case failed."""
    return f"{name}({', '.join(describe(a, 60) for a in args)})"


def function_name(fn: Callable[..., Any]) -> str:
    """The learner's function's name, without running any of the learner's code."""
    if isinstance(fn, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        name = fn.__name__
        if isinstance(name, str) and name.isprintable() and len(name) < 80:
            return name
    return "your function"


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` means the memory limit was hit (Python's ``MemoryError`` or PyTorch's
    "can't allocate memory")."""
    if isinstance(exc, MemoryError):
        return True
    try:
        text = str(exc).lower()
    except Exception:  # noqa: BLE001 - then it is not ours to interpret
        return False
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text
                                               or "not enough memory" in text)
