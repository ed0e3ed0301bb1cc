"""Where the checker runs a learner's function: a forked child process, or (fallback) in-process.

This is internal to :mod:`lmkit.exercises`; :func:`lmkit.exercises.evaluate` is the public API.

**In a child process** (Linux and Colab): the kernel forks. The child inherits everything the
notebook has defined and imported (the learner's function need not be picklable, and PyTorch is
not imported again), caps its own address space with ``RLIMIT_AS``, ignores ``SIGINT``, runs the
job and sends back only small picklable messages: progress ``("phase", name, case)`` and the
verdict ``("verdict", status, message)``. The parent waits on the pipe; at the time limit it kills
the child with ``SIGKILL``, which no ``except:``, loop inside C code, ``__repr__`` or
``sys.exit()`` can resist, and then the kernel is exactly as it was before the check.

**In-process** (macOS, Windows, Pyodide, or ``isolate=False``): :func:`run_with_limit` raises
:class:`TooSlow` in the learner's code, from ``SIGALRM`` in the main thread or by an asynchronous
exception in a worker thread. That limit is weaker: a bare ``except:`` can swallow it, a loop
inside C code does not see it until the C call returns, and memory is not capped.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: How long the hidden cases' reference solutions may take in the child (they are ours and fast;
#: the learner's time limit starts only once they are done).
SETUP_LIMIT = 120.0
#: How long the parent waits for a child to exit once it has sent its verdict.
EXIT_GRACE = 2.0

Report = Callable[[str, int], None]


class TooSlow(BaseException):
    """Raised inside a learner's function when its time is up (in-process only; a
    ``BaseException``, so that ``except Exception`` in the learner's code does not swallow it)."""


def can_fork() -> bool:
    """Whether checks can run in a forked child: Linux (Colab included) with the "fork" start
    method. macOS is excluded on purpose: fork is unsafe there once system frameworks are
    loaded, which is why Python's default there is "spawn"."""
    return (sys.platform.startswith("linux") and hasattr(os, "fork")
            and "fork" in multiprocessing.get_all_start_methods())


def address_space() -> int | None:
    """This process's virtual memory size in bytes (``None`` where it cannot be read)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class Outcome:
    """What became of a child: ``kind`` is "verdict" (``status``/``message`` are set),
    "timeout", "died" (``exitcode``) or "interrupted"; ``phase`` and ``case`` say what it was
    doing last."""

    kind: str
    phase: str = "setup"
    case: int = 0
    status: str = ""
    message: str = ""
    exitcode: int | None = None


def run_in_child(job: Callable[[Report], tuple[str, str]], *, seconds: float,
                 memory_bytes: int | None) -> Outcome:
    """Run ``job(report)`` in a forked child and return what became of it.

    ``job`` calls ``report(phase, case)`` before each step; the clock of ``seconds`` starts at
    the phase "ready" (before that, the child computes the expected values, up to
    :data:`SETUP_LIMIT`). ``memory_bytes`` more than the parent's address space are allowed.
    A ``KeyboardInterrupt`` in the parent (Ctrl-C) kills the child and gives "interrupted".
    """
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    limit = None
    if memory_bytes is not None and (used := address_space()) is not None:
        limit = used + int(memory_bytes)
    process = ctx.Process(target=_child_main, args=(job, sender, receiver, limit), daemon=True)
    phase, case, wait = "setup", 0, 0.0
    try:
        with warnings.catch_warnings():  # "this process is multi-threaded, fork() may deadlock":
            warnings.simplefilter("ignore", DeprecationWarning)  # the child is killed if so
            process.start()
        sender.close()
        deadline = time.monotonic() + SETUP_LIMIT
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not receiver.poll(left):
                return Outcome("timeout", phase, case)
            try:
                message = receiver.recv()
            except (EOFError, OSError):
                process.join(EXIT_GRACE)
                return Outcome("died", phase, case, exitcode=process.exitcode)
            if message[0] == "verdict":
                wait = EXIT_GRACE  # let it flush what the learner printed
                return Outcome("verdict", phase, case, status=message[1], message=message[2])
            _, phase, case = message
            if phase == "ready":
                deadline = time.monotonic() + seconds
    except KeyboardInterrupt:
        return Outcome("interrupted", phase, case)
    finally:
        _reap(process, wait)
        receiver.close()


def _reap(process: multiprocessing.process.BaseProcess, wait: float) -> None:
    """Wait up to ``wait`` seconds for the child to exit, then ``SIGKILL`` it; release it."""
    if process.pid is None:  # never started
        return
    process.join(wait)
    if process.exitcode is None:
        process.kill()
        process.join()
    process.close()


def _child_main(job: Callable[[Report], tuple[str, str]], sender: Any, receiver: Any,
                limit: int | None) -> None:
    """The child: set the limits, run the job, send the verdict, exit without clean-up."""
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        receiver.close()
        if limit is not None:
            import resource

            hard = resource.getrlimit(resource.RLIMIT_AS)[1]
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        torch = sys.modules.get("torch")
        if torch is not None:  # inherited from the kernel; one thread avoids OpenMP after fork
            torch.set_num_threads(1)

        def report(phase: str, case: int) -> None:
            sender.send(("phase", phase, case))

        verdict_status, message = job(report)
        sender.send(("verdict", verdict_status, message))
    except BaseException:  # noqa: BLE001 - the parent reports a child that sent no verdict
        status = 1
    finally:
        for stream in (sys.stdout, sys.stderr):  # what the learner printed reaches the notebook
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(status)


def run_with_limit(fn: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> Any:
    """Call ``fn(*args)`` in this process; raise :class:`TooSlow` after ``seconds`` (the weaker,
    in-process limit: see the module's docstring)."""
    seconds = max(seconds, 0.001)
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        def on_alarm(signum: int, frame: Any) -> None:
            raise TooSlow

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
        raise TooSlow
    if "error" in box:
        raise box["error"]
    return box["value"]


def _stop_thread(worker: threading.Thread) -> None:
    """Raise :class:`TooSlow` inside ``worker`` so that an endless learner's function does not
    run (and perhaps allocate) forever in the background. Python code stops at its next
    bytecode; a call stuck inside C code stops when it returns."""
    if worker.ident is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident),
                                               ctypes.py_object(TooSlow))
    worker.join(1.0)
