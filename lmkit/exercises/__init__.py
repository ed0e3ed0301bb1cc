"""The exercise checker: run a learner's function on hidden cases and print a verdict.

In a chapter, an exercise is a stub cell the learner edits and a check cell::

    check("ch01.corpus_perplexity", corpus_perplexity)

which prints one of

- ``✅ passed`` (all hidden cases agree with the reference solution),
- ``❌ failed`` with the first case that disagrees: its input, what the function returned and
  what was expected (and, for arrays, where they differ), or the exception it raised,
- ``⏳ not attempted`` while the stub still raises ``NotImplementedError``,
- ``⌛ too slow`` when the cases run past the time limit (an endless loop, say),
- ``💥 too much memory`` when a case allocates more than the memory limit,
- ``⏹ interrupted`` when the learner presses Ctrl-C (stop the kernel) during the check.

**Limits that hold.** On Linux (Colab included) the check runs in a child process forked from the
kernel (see :mod:`lmkit.exercises._sandbox`): the function the notebook defined is inherited, not
pickled, and so are PyTorch and the data (forking costs a few tens of milliseconds). The child
may allocate :data:`MEMORY_LIMIT` bytes on top of what the kernel uses (``RLIMIT_AS``) and is
killed with ``SIGKILL`` at the time limit, so nothing the learner's code does can hang or crash
the kernel: an ``except:`` that swallows every exception, a loop inside C code
(``sum(itertools.repeat(1))``), a list that grows without end, ``sys.exit()``, ``os._exit()``,
or a returned object whose ``__repr__`` or ``__eq__`` raises or never returns (comparing and
printing run in the child too). Only strings come back. **Fallback** where fork is unavailable
(macOS, whose default start method is "spawn"; Windows; Pyodide) or with ``isolate=False``: the
function runs in the kernel under a ``SIGALRM`` or thread-based time limit, which a bare
``except:`` can swallow and a loop inside C code does not see, and memory is not capped; such
verdicts say so.

**One comparison rule** (:func:`close`) for every exercise: answers are compared by value, not
by type. A tensor, a NumPy array and a nested list or tuple of numbers are equal when they have
the same shape and equal entries; a number equals a 0-d tensor or array holding it. Integers and
booleans must match exactly, floats up to a relative tolerance of 1e-6 (1e-5 for float32), and
``inf == inf``, ``nan == nan``; a boolean is never a number and a string never equals a number.

The checker never raises into the notebook, so "Run all" always runs to the end. The hidden cases,
reference solutions and known wrong answers live in one module per chapter (``ch01.py``, …);
the test-suite runs every solution printed in the book and every known wrong answer through
:func:`evaluate`, so solutions and checkers cannot drift apart.

A chapter's module is imported the first time one of its exercises is checked (``"ch03.…"``
imports ``lmkit.exercises.ch03``), so ``from lmkit.exercises import check`` stays fast and does
not import PyTorch in chapters that do not use it; :func:`registry` imports every chapter.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import importlib
import pkgutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lmkit.exercises import _sandbox
from lmkit.exercises._compare import close, difference
from lmkit.exercises._text import (
    call_text as _call_text,
)
from lmkit.exercises._text import (
    describe as _describe,
)
from lmkit.exercises._text import (
    exception_text as _exception_text,
)
from lmkit.exercises._text import (
    function_name as _function_name,
)
from lmkit.exercises._text import (
    is_out_of_memory as _is_out_of_memory,
)

__all__ = ["MEMORY_LIMIT", "Exercise", "Verdict", "check", "close", "evaluate", "register",
           "registry"]

#: Bytes a learner's function may allocate on top of what the kernel already uses (in the child
#: process; enough for the PyTorch exercises, far below what would make a laptop swap).
MEMORY_LIMIT = 2 * 2**30

_REGISTRY: dict[str, Exercise] = {}


@dataclass(frozen=True)
class Exercise:
    """One exercise: hidden cases, the reference solution and known wrong answers.

    Attributes:
        key: ``"chNN.name"``, the first argument of :func:`check` in the notebook.
        reference: the reference solution; its output on each case is the expected value.
        cases: hidden inputs, each a tuple of positional arguments.
        wrong: known wrong answers (tests make sure the checker rejects each of them).
        compare: ``compare(got, expected) -> bool``; defaults to :func:`close`, the one rule
            every chapter uses (override only for answers that are not values, none so far).
        time_limit: seconds allowed for all cases together (the learner's calls, comparing and
            printing what they returned; not the reference solution).
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

    status: str  # "passed", "failed", "not attempted", "too slow", "too much memory",
    #              or "interrupted"
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
        for other in _chapters():  # list what every chapter has that can be loaded here
            try:
                _load_chapter(other)
            except ImportError:  # a chapter whose cases need PyTorch, on a machine without it
                pass
        known = sorted(_REGISTRY)
    near = difflib.get_close_matches(key, known, n=1) if isinstance(key, str) else []
    hint = f" Did you mean {near[0]!r}?" if near else ""
    raise ValueError(f"Unknown exercise {key!r}.{hint} Known exercises: "
                     f"{', '.join(known) or 'none'}")


_DEFAULT = object()


@dataclass
class _Job:
    """One check: everything :func:`_judge` needs, in the parent or inherited by the child."""

    key: str
    exercise: Exercise
    fn: Callable[..., Any]
    name: str
    seconds: float
    memory_limit: float | None
    isolated: bool

    def too_slow(self, number: int, phase: str) -> Verdict:
        call = _call_text(self.name, self.exercise.cases[number - 1]) if number else self.name
        doing = {"compare": "comparing what it returned with the expected value",
                 "show": "printing what it returned (its __repr__ or __str__)"}.get(phase)
        if doing is None:
            return Verdict("too slow", f"⌛ {self.key}: case {number} did not finish within "
                                       f"{self.seconds:g} s: {call}. Look for a loop that never "
                                       f"ends or work repeated inside a loop.")
        return Verdict("too slow", f"⌛ {self.key}: case {number} returned, but {doing} did not "
                                   f"finish within {self.seconds:g} s: {call}. Return a plain "
                                   f"number, list or tensor.")

    def too_much_memory(self, number: int) -> Verdict:
        cap = (f"{self.memory_limit / 2**30:g} GB" if self.memory_limit is not None
               else "the memory available")
        return Verdict("too much memory",
                       f"💥 {self.key}: case {number} used more memory than the checker allows "
                       f"({cap} on top of what the notebook uses): "
                       f"{_call_text(self.name, self.exercise.cases[number - 1])}. Look for a "
                       f"list or tensor that grows without end.")

    def interrupted(self, number: int) -> Verdict:
        where = f" during case {number}" if number else ""
        return Verdict("interrupted", f"⏹ {self.key}: check interrupted{where}. Run the cell "
                                      f"again to check your function.")


def _judge(job: _Job, report: _sandbox.Report) -> Verdict:
    """Run the learner's function on every hidden case, then compare and describe the result.

    ``report(phase, case)`` is called before each step ("ready", "call", "compare", "show"): in a
    child process it tells the parent what was running if it has to be killed. In-process, each
    step of the learner's code runs under :func:`_sandbox.run_with_limit` instead.
    """
    ex, key, name = job.exercise, job.key, job.name
    expected_values = [ex.reference(*copy.deepcopy(args)) for args in ex.cases]
    report("ready", 0)
    deadline = time.monotonic() + job.seconds

    def guarded(step: Callable[..., Any], *args: Any) -> Any:
        if job.isolated:  # the parent enforces the limits
            return step(*args)
        return _sandbox.run_with_limit(step, args, deadline - time.monotonic())

    for number, (args, expected) in enumerate(zip(ex.cases, expected_values, strict=True), 1):
        call = _call_text(name, args)
        report("call", number)
        try:
            got = guarded(job.fn, *copy.deepcopy(args))
        except NotImplementedError:
            return Verdict("not attempted",
                           f"⏳ {key}: not attempted yet. Replace `raise NotImplementedError` "
                           f"in {name} with your code, then run this cell again.")
        except _sandbox.TooSlow:
            return job.too_slow(number, "call")
        except KeyboardInterrupt:
            if not job.isolated:  # in-process, this may be the learner pressing Ctrl-C
                return job.interrupted(number)
            report("show", number)
            return Verdict("failed", f"❌ {key}: case {number} raised KeyboardInterrupt: "
                                     f"your function must return a value.\n   call: {call}")
        except BaseException as exc:  # noqa: BLE001 - the learner's error becomes the verdict
            report("show", number)
            try:
                if guarded(_is_out_of_memory, exc):
                    return job.too_much_memory(number)
                if isinstance(exc, SystemExit):
                    code = guarded(_describe, exc.code, 40)
                    return Verdict("failed", f"❌ {key}: case {number} called sys.exit({code}): "
                                             f"your function must return a value, not end the "
                                             f"program.\n   call: {call}")
                text = guarded(_exception_text, exc)
            except _sandbox.TooSlow:
                return job.too_slow(number, "show")
            return Verdict("failed", f"❌ {key}: case {number} raised {text}\n   call: {call}")
        report("compare", number)
        try:
            same = guarded(_safe_compare, ex.compare, got, expected)
        except _sandbox.TooSlow:
            return job.too_slow(number, "compare")
        if not same:
            report("show", number)
            try:
                shown, hint = guarded(_describe, got), guarded(_safe_difference, got, expected)
            except _sandbox.TooSlow:
                return job.too_slow(number, "show")
            return Verdict("failed", f"❌ {key}: case {number} is wrong.\n   call:     {call}\n"
                                     f"   expected: {_describe(expected)}\n   got:      {shown}"
                                     + (f"\n   {hint}" if hint else ""))
    return Verdict("passed", f"✅ {key}: passed all {len(ex.cases)} hidden cases.")


def _safe_compare(compare: Callable[[Any, Any], bool], got: Any, expected: Any) -> bool:
    try:
        return bool(compare(got, expected))
    except _sandbox.TooSlow:
        raise
    except BaseException:  # noqa: BLE001 - an answer we cannot even compare is a wrong answer
        return False


def _safe_difference(got: Any, expected: Any) -> str | None:
    try:
        return difference(got, expected)
    except Exception:  # noqa: BLE001 - the hint is optional
        return None


def evaluate(key: str, fn: Callable[..., Any], *, time_limit: float | None = None,
             memory_limit: float | None = _DEFAULT,  # type: ignore[assignment]
             isolate: bool | None = None) -> Verdict:
    """Run ``fn`` on the hidden cases of exercise ``key`` and return the verdict.

    Never raises for anything ``fn`` does (see the module's docstring for the limits).

    Args:
        key: the exercise, ``"chNN.name"``.
        fn: the learner's function.
        time_limit: seconds for all cases together; the exercise's ``time_limit`` by default.
        memory_limit: bytes the function may allocate on top of what the notebook uses
            (:data:`MEMORY_LIMIT` by default, ``None`` for no cap); child process only.
        isolate: run in a child process (``True``), in-process (``False``), or in a child
            process wherever the platform allows it (``None``, the default).

    Raises:
        ValueError: ``key`` names no exercise (a typo in the notebook, not the learner's fault).
    """
    ex = _lookup(key)
    if not callable(fn):
        return Verdict("failed", f"❌ {key}: expected a function, got {type(fn).__name__}. "
                                 f"Pass the function itself, without calling it.")
    memory = MEMORY_LIMIT if memory_limit is _DEFAULT else memory_limit
    isolated = _sandbox.can_fork() if isolate is None else bool(isolate)
    job = _Job(key, ex, fn, _function_name(fn), float(
        ex.time_limit if time_limit is None else time_limit), memory, isolated)
    if not isolated:
        try:
            verdict = _judge(job, lambda phase, case: None)
        except KeyboardInterrupt:
            return job.interrupted(0)
        return Verdict(verdict.status, verdict.message + _WEAKER)

    def in_child(report: _sandbox.Report) -> tuple[str, str]:
        verdict = _judge(job, report)
        return verdict.status, verdict.message

    outcome = _sandbox.run_in_child(in_child, seconds=job.seconds, memory_bytes=memory)
    if outcome.kind == "verdict":
        return Verdict(outcome.status, outcome.message)
    if outcome.kind == "interrupted":
        return job.interrupted(outcome.case)
    if outcome.kind == "timeout" and outcome.phase != "setup":
        return job.too_slow(max(outcome.case, 1), outcome.phase)
    if outcome.kind == "died" and outcome.phase in ("call", "show", "compare"):
        code = outcome.exitcode
        how = (f"was killed by signal {-code}" if code is not None and code < 0
               else f"ended the process (exit code {code}, os._exit?)")
        call = _call_text(job.name, ex.cases[outcome.case - 1])
        return Verdict("failed", f"❌ {key}: case {outcome.case} {how} instead of returning a "
                                 f"value.\n   call: {call}")
    return Verdict("failed", f"⚠️ {key}: the checker could not compute the expected values "
                             f"({outcome.kind}). This is a bug in lmkit; please report it.")


_WEAKER = ("\n   (checked in this process: here the time limit is weaker, memory is not capped, "
           "and a hang can need a kernel restart)")


def check(key: str, fn: Callable[..., Any], **limits: Any) -> None:
    """Print the verdict of :func:`evaluate` for the learner's ``fn``; never raises.

    Not even for a ``SystemExit`` or ``KeyboardInterrupt`` raised by ``fn``; a Ctrl-C while
    the check runs stops it and prints "interrupted". ``limits`` are passed to :func:`evaluate`.
    """
    try:
        verdict = str(evaluate(key, fn, **limits))
    except ValueError as exc:
        verdict = f"⚠️ {exc}"
    except KeyboardInterrupt:
        verdict = f"⏹ {key}: check interrupted. Run the cell again to check your function."
    except BaseException as exc:  # noqa: BLE001 - a check cell must never stop "Run all"
        verdict = f"⚠️ {key}: the checker failed ({type(exc).__name__}). Please report this."
    with contextlib.suppress(Exception):
        print(verdict)
