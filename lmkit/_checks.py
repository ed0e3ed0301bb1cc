"""Argument checks shared by lmkit's modules (private)."""

from __future__ import annotations


def check_int(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` if it is an int ``>= minimum`` (not a bool); else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value
