"""The exercise checker: run a learner's function on hidden cases and print a verdict.

In a chapter, an exercise is a stub cell the learner edits and a check cell::

    check("ch01.perplexity", perplexity)

which prints one of

- ``✅ passed`` (all hidden cases agree with the reference solution),
- ``❌ failed`` with the first case that disagrees: its input, what the function returned and
  what was expected, or the exception it raised,
- ``⏳ not attempted`` while the stub still raises ``NotImplementedError``,
- ``⌛ too slow`` when a case runs past the time limit (an endless loop, say).

The checker never raises into the notebook, so "Run all" always runs to the end. The hidden cases,
reference solutions and known wrong answers live in one module per chapter (``ch01.py``, …);
the test-suite runs every solution printed in the book and every known wrong answer through
:func:`evaluate`, so solutions and checkers cannot drift apart.

A chapter's module is imported the first time one of its exercises is checked (``"ch03.…"``
imports ``lmkit.exercises.ch03``), so ``from lmkit.exercises import check`` stays fast and does
not import PyTorch in chapters that do not use it; :func:`registry` imports every chapter.
"""

from __future__ import annotations

import copy
import ctypes
import difflib
import importlib
import math
import pkgutil
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Exercise", "Verdict", "check", "evaluate", "register", "registry"]

_REGISTRY: dict[str, Exercise] = {}


@dataclass(frozen=True)
class Exercise:
    """One exercise: hidden cases, the reference solution and known wrong answers.

    Attributes:
        key: ``"chNN.name"``, the first argument of :func:`check` in the notebook.
        reference: the reference solution; its output on each case is the expected value.
        cases: hidden inputs, each a tuple of positional arguments.
        wrong: known wrong answers (tests make sure the checker rejects each of them).
        compare: ``compare(got, expected) -> bool``; defaults to :func:`close`.
        time_limit: seconds allowed for all cases together.
    """

    key: str
    reference: Callable[..., Any]
    cases: Sequence[tuple[Any, ...]]
    wrong: Sequence[Callable[..., Any]] = ()
    compare: Callable[[Any, Any], bool] = field(default=None)  # type: ignore[assignment]
    time_limit: float = 10.0

    def __post_init__(self) -> None:
        if self.compare is None:
            object.__setattr__(self, "compare", close)
        if not self.cases:
            raise ValueError(f"exercise {self.key!r} needs at least one case")


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`evaluate`: a status and the message :func:`check` prints."""

    status: str  # "passed", "failed", "not attempted" or "too slow"
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __str__(self) -> str:
        return self.message


def register(exercise: Exercise) -> Exercise:
    """Add an exercise to the registry (chapter modules call this at import time)."""
    if exercise.key in _REGISTRY:
        raise ValueError(f"exercise {exercise.key!r} is registered twice")
    _REGISTRY[exercise.key] = exercise
    return exercise


def registry() -> dict[str, Exercise]:
    """All exercises of every chapter, by key (imports every chapter's module)."""
    for chapter in _chapters():
        _load_chapter(chapter)
    return dict(_REGISTRY)


def _chapters() -> list[str]:
    """The names of this package's chapter modules, ``["ch01", "ch02", …]``, without importing
    them."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__)
                  if m.name.startswith("ch") and m.name[2:].isdigit())


def _load_chapter(chapter: str) -> None:
    """Import ``lmkit.exercises.<chapter>``, which registers its exercises (once: Python caches
    the module, so a second call does nothing)."""
    importlib.import_module(f"{__name__}.{chapter}")


def _lookup(key: str) -> Exercise:
    """The exercise ``key``, importing its chapter's module on first use.

    Raises:
        ValueError: no exercise is called ``key``; the message lists the keys that exist (of the
            key's chapter if it names one, of every chapter otherwise) and the nearest match.
    """
    if key in _REGISTRY:
        return _REGISTRY[key]
    chapter = key.partition(".")[0] if isinstance(key, str) else ""
    if chapter in _chapters():
        _load_chapter(chapter)
        if key in _REGISTRY:
            return _REGISTRY[key]
        known = sorted(k for k in _REGISTRY if k.partition(".")[0] == chapter)
    else:
        known = sorted(registry())
    near = difflib.get_close_matches(key, known, n=1) if isinstance(key, str) else []
    hint = f" Did you mean {near[0]!r}?" if near else ""
    raise ValueError(f"Unknown exercise {key!r}.{hint} Known exercises: "
                     f"{', '.join(known) or 'none'}")


def close(got: Any, expected: Any, rel: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    """Whether ``got`` equals ``expected``, numbers up to a relative tolerance.

    Works through lists, tuples, dicts, NumPy arrays and tensors; ``inf == inf``.
    """
    if hasattr(got, "detach"):
        got = got.detach().cpu().numpy()
    if hasattr(got, "tolist") and not isinstance(expected, (list, tuple)) and hasattr(
            expected, "tolist"):
        got, expected = got.tolist(), expected.tolist()
    elif hasattr(got, "tolist") and not hasattr(expected, "tolist"):
        got = got.tolist()  # NumPy scalar or array compared with Python values
    if isinstance(expected, bool):
        return isinstance(got, bool) and got == expected
    if isinstance(got, bool):  # True is an int in Python, but not an answer to "how many"
        return False
    if isinstance(expected, (int, float)):
        if not isinstance(got, (int, float)):
            return False
        if isinstance(expected, int) and isinstance(got, int):
            return got == expected
        if math.isnan(expected) or math.isnan(got):
            return math.isnan(expected) and math.isnan(got)
        return math.isclose(got, expected, rel_tol=rel, abs_tol=abs_tol)
    if isinstance(expected, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(expected)
                and all(close(g, e, rel, abs_tol) for g, e in zip(got, expected, strict=True)))
    if isinstance(expected, dict):
        return (isinstance(got, dict) and got.keys() == expected.keys()
                and all(close(got[k], expected[k], rel, abs_tol) for k in expected))
    return bool(got == expected)


class _TooSlow(BaseException):
    """Raised inside a learner's function when its time is up (BaseException, so a bare
    ``except Exception`` in the learner's code cannot swallow it)."""


def _run_with_limit(fn: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> Any:
    """Call ``fn(*args)``; raise :class:`_TooSlow` after ``seconds``."""
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        def on_alarm(signum: int, frame: Any) -> None:
            raise _TooSlow

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    # No SIGALRM (Windows, or not the main thread): run in a daemon thread and stop waiting.
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        _stop_thread(worker)
        raise _TooSlow
    if "error" in box:
        raise box["error"]
    return box["value"]


def _stop_thread(worker: threading.Thread) -> None:
    """Raise :class:`_TooSlow` inside ``worker`` so that an endless learner's function does not
    run (and perhaps allocate) forever in the background. Python code stops at its next
    bytecode; a call stuck inside C code stops when it returns."""
    if worker.ident is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident),
                                               ctypes.py_object(_TooSlow))
    worker.join(1.0)


def _show(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + " …" + text[-3:]


def _call_text(name: str, args: tuple[Any, ...]) -> str:
    return f"{name}({', '.join(_show(a, 60) for a in args)})"


def evaluate(key: str, fn: Callable[..., Any]) -> Verdict:
    """Run ``fn`` on the hidden cases of exercise ``key``; never raises for the learner's errors.

    Raises:
        ValueError: ``key`` names no exercise (a typo in the notebook, not the learner's fault).
    """
    ex = _lookup(key)
    name = getattr(fn, "__name__", "your function")
    if not callable(fn):
        return Verdict("failed", f"❌ {key}: expected a function, got {type(fn).__name__}. "
                                 f"Pass the function itself, without calling it.")
    budget = ex.time_limit
    for number, args in enumerate(ex.cases, start=1):
        expected = ex.reference(*copy.deepcopy(args))
        call = _call_text(name, args)
        try:
            start = time.perf_counter()
            got = _run_with_limit(fn, copy.deepcopy(args), max(budget, 0.01))
            budget -= time.perf_counter() - start
        except NotImplementedError:
            return Verdict("not attempted",
                           f"⏳ {key}: not attempted yet. Replace `raise NotImplementedError` "
                           f"in {name} with your code, then run this cell again.")
        except _TooSlow:
            return Verdict("too slow", f"⌛ {key}: case {number} did not finish within "
                                       f"{ex.time_limit:g} s: {call}. Look for a loop that "
                                       f"never ends or work repeated inside a loop.")
        except Exception as exc:  # noqa: BLE001 - the learner's error becomes the verdict
            return Verdict("failed", f"❌ {key}: case {number} raised "
                                     f"{type(exc).__name__}: {exc}\n   call: {call}")
        if not _safe_compare(ex.compare, got, expected):
            return Verdict("failed", f"❌ {key}: case {number} is wrong.\n   call:     {call}\n"
                                     f"   expected: {_show(expected)}\n   got:      {_show(got)}")
    return Verdict("passed", f"✅ {key}: passed all {len(ex.cases)} hidden cases.")


def _safe_compare(compare: Callable[[Any, Any], bool], got: Any, expected: Any) -> bool:
    try:
        return bool(compare(got, expected))
    except Exception:  # noqa: BLE001 - an answer we cannot even compare is a wrong answer
        return False


def check(key: str, fn: Callable[..., Any]) -> None:
    """Print the verdict of :func:`evaluate` for the learner's ``fn`` (never raises)."""
    try:
        verdict = evaluate(key, fn)
    except ValueError as exc:
        print(f"⚠️ {exc}")
        return
    print(verdict)
