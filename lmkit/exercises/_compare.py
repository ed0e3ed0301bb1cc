"""The checker's one comparison rule, :func:`close` (re-exported by :mod:`lmkit.exercises`).

Answers are compared by value, whatever container holds them: a PyTorch tensor, a NumPy array and
a (nested) list or tuple of numbers are all arrays, equal when they have the same shape and every
pair of entries is equal; a number is equal to a 0-d tensor or array or NumPy scalar holding it.
Entries are equal when

- both are integers (or both booleans): exactly;
- otherwise (floats): ``|got - expected| <= max(rel * max(|got|, |expected|), abs_tol)``, with
  ``rel = 1e-6`` and ``abs_tol = 1e-9`` by default, at least ``1e-5`` and ``1e-6`` when either
  side is stored in single (or lower) precision; ``inf == inf`` and ``nan == nan``.

A boolean is never a number (``True`` is not an answer to "how many"), a string is never a
number, lists of other things (strings, say) are compared entry by entry, dictionaries key by key,
and anything else with ``==``. NumPy and PyTorch are used only if the answer contains them, so the
rule imports neither.
"""

from __future__ import annotations

import math
import sys
from typing import Any

#: Tolerances at least this large when a value is float32, float16 or bfloat16.
LOW_PRECISION_REL, LOW_PRECISION_ABS = 1e-5, 1e-6
_LOW_PRECISION = ("float32", "float16", "bfloat16", "half")


def close(got: Any, expected: Any, rel: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    """Whether ``got`` equals ``expected`` by the checker's rule (see this module's docstring):
    tensors, arrays, nested lists and tuples by shape and value, numbers up to a tolerance."""
    if _low_precision(got) or _low_precision(expected):
        rel, abs_tol = max(rel, LOW_PRECISION_REL), max(abs_tol, LOW_PRECISION_ABS)
    got, expected = _plain(got), _plain(expected)
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(got, bool) and isinstance(expected, bool) and got == expected
    if _is_number(expected) or _is_number(got):
        return _is_number(got) and _is_number(expected) and _numbers_close(
            got, expected, rel, abs_tol)
    if _is_ndarray(expected) or _is_ndarray(got) or isinstance(expected, (list, tuple)):
        verdict = _arrays_close(got, expected, rel, abs_tol)
        if verdict is not None:
            return verdict
    if isinstance(expected, (list, tuple)) or _is_ndarray(expected):
        return (isinstance(got, (list, tuple)) or _is_ndarray(got)) and len(got) == len(
            expected) and all(close(g, e, rel, abs_tol) for g, e in zip(got, expected,
                                                                        strict=True))
    if isinstance(expected, dict):
        return (isinstance(got, dict) and got.keys() == expected.keys()
                and all(close(got[k], expected[k], rel, abs_tol) for k in expected))
    return bool(got == expected)


def difference(got: Any, expected: Any) -> str | None:
    """Where two array-like answers differ ("shape …" or "first difference at [i, j] …"), or
    ``None`` when they are not both arrays of numbers."""
    pair = [_numeric_array(_plain(v)) for v in (got, expected)]
    if pair[0] is None or pair[1] is None or not (pair[0].ndim or pair[1].ndim):
        return None
    g, e = pair
    if g.shape != e.shape:
        return f"shape: expected {tuple(e.shape)}, got {tuple(g.shape)}"
    import numpy as np

    for index in np.ndindex(e.shape):
        if not close(g[index].item(), e[index].item()):
            where = ", ".join(map(str, index))
            return (f"first difference at [{where}]: expected {e[index].item()!r}, "
                    f"got {g[index].item()!r}")
    return None


def _numbers_close(got: float, expected: float, rel: float, abs_tol: float) -> bool:
    if isinstance(got, int) and isinstance(expected, int):
        return got == expected
    if math.isnan(got) or math.isnan(expected):
        return math.isnan(got) and math.isnan(expected)
    return math.isclose(got, expected, rel_tol=rel, abs_tol=abs_tol)


def _arrays_close(got: Any, expected: Any, rel: float, abs_tol: float) -> bool | None:
    """Shape and values, or ``None`` when either side is not a regular array of numbers (then
    :func:`close` compares entry by entry)."""
    e = _numeric_array(expected)
    if e is None:
        return None
    g = _numeric_array(got)
    if g is None:
        return None if isinstance(got, (list, tuple)) or _is_ndarray(got) else False
    if g.shape != e.shape:
        return False
    import numpy as np

    if g.dtype.kind == "b" or e.dtype.kind == "b":
        return g.dtype.kind == e.dtype.kind == "b" and bool(np.array_equal(g, e))
    if g.dtype.kind in "iu" and e.dtype.kind in "iu":
        return bool(np.array_equal(g, e))
    g, e = g.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        ok = (g == e) | (np.isnan(g) & np.isnan(e))
        ok |= np.abs(g - e) <= np.maximum(rel * np.maximum(np.abs(g), np.abs(e)), abs_tol)
    return bool(ok.all())


def _numeric_array(value: Any) -> Any:
    """``value`` as a NumPy array of booleans, integers or floats, or ``None`` if it is not a
    regular array of such (ragged lists, strings, objects)."""
    if not (isinstance(value, (list, tuple)) or _is_ndarray(value)):
        return None
    import warnings

    import numpy as np

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = np.asarray(value)
    except (ValueError, TypeError, RuntimeError, OverflowError):
        return None
    if array.dtype.kind not in "biuf":
        return None
    if array.dtype.kind != "b" and array.size and _contains_bool(value):
        return None  # [True, 2] is not an array of numbers
    return array


def _contains_bool(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_contains_bool(v) for v in value)
    return isinstance(value, bool)


def _plain(value: Any) -> Any:
    """A tensor as a NumPy array; a NumPy scalar, 0-d array or 0-d tensor as a Python number."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        value = value.resolve_conj().resolve_neg().numpy()
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.generic, numpy.ndarray)) and value.ndim == 0:
        return value.item()
    return value


def _is_ndarray(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _low_precision(value: Any) -> bool:
    return str(getattr(type(value), "__module__", "")).startswith(("torch", "numpy")) and any(
        name in str(getattr(value, "dtype", "")) for name in _LOW_PRECISION)
