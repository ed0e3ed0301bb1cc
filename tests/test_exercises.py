"""lmkit.exercises: the checker's verdicts, and every known wrong answer is caught."""

import importlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from lmkit import exercises
from lmkit.exercises import Exercise, check, close, evaluate, registry

try:
    import torch
except ModuleNotFoundError:   # the torch-free run on Python 3.13 (tests/test_colab.py)
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch (not installed)")


def _available() -> dict[str, Exercise]:
    """registry(): every exercise; without PyTorch, those of the chapters that need none."""
    if torch is not None:
        return registry()
    for chapter in exercises._chapters():
        try:
            importlib.import_module(f"lmkit.exercises.{chapter}")
        except ModuleNotFoundError as error:
            if error.name != "torch":
                raise
    return dict(exercises._REGISTRY)


@pytest.fixture
def square(monkeypatch):
    """A throw-away exercise: square a number."""
    ex = Exercise(key="test.square", reference=lambda x: x * x, cases=[(2,), (3.5,), (-1,)],
                  time_limit=0.5)
    monkeypatch.setitem(exercises._REGISTRY, ex.key, ex)
    return ex.key


def test_correct_function_passes(square):
    verdict = evaluate(square, lambda x: x**2)
    assert verdict.passed and verdict.status == "passed" and "3 hidden cases" in verdict.message


def test_wrong_answer_names_the_case_expected_and_got(square):
    verdict = evaluate(square, lambda x: 2 * x if x != 2 else 4)
    assert verdict.status == "failed"
    assert "case 2" in verdict.message and "expected: 12.25" in verdict.message
    assert "got:      7.0" in verdict.message and "<lambda>(3.5)" in verdict.message


def test_stub_is_not_attempted(square):
    def stub(x):
        raise NotImplementedError

    verdict = evaluate(square, stub)
    assert verdict.status == "not attempted" and "stub" in verdict.message


def test_exception_in_learner_code_is_a_failure_not_a_crash(square):
    verdict = evaluate(square, lambda x: 1 / 0)
    assert verdict.status == "failed" and "ZeroDivisionError" in verdict.message


def test_endless_loop_is_stopped_even_if_learner_catches_exceptions(square):
    def stubborn(x):
        while True:
            try:
                pass
            except Exception:  # must not swallow the time limit
                pass

    assert evaluate(square, stubborn).status == "too slow"


def test_time_limit_works_outside_the_main_thread(square):
    result = {}

    def run():
        result["verdict"] = evaluate(square, lambda x: [0 for _ in iter(int, 1)])

    before = set(threading.enumerate())
    worker = threading.Thread(target=run)
    worker.start()
    worker.join(10)
    assert result["verdict"].status == "too slow"
    # The endless function (it allocates without end) was stopped, not left running.
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_learner_cannot_mutate_hidden_cases(monkeypatch):
    ex = Exercise(key="test.sum", reference=sum, cases=[([1, 2, 3],)])
    monkeypatch.setitem(exercises._REGISTRY, ex.key, ex)

    def sneaky(xs):
        total = sum(xs)
        xs.clear()
        return total

    assert evaluate(ex.key, sneaky).passed
    assert ex.cases[0][0] == [1, 2, 3]


def test_check_prints_and_never_raises(square, capsys):
    check(square, lambda x: x * x)
    check(square, "not a function")
    check("no.such.exercise", lambda x: x)
    out = capsys.readouterr().out
    assert "✅" in out and "expected a function" in out and "Unknown exercise" in out


def test_evaluate_rejects_unknown_keys_loudly():
    with pytest.raises(ValueError, match="Unknown exercise 'nope'.*ch01"):
        evaluate("nope", print)


@needs_torch
def test_a_typo_in_a_chapters_key_names_that_chapters_exercises():
    with pytest.raises(ValueError, match="Unknown exercise 'ch03.mixture_perplexty'") as info:
        evaluate("ch03.mixture_perplexty", print)
    message = str(info.value)
    assert "Did you mean 'ch03.mixture_perplexity'?" in message
    assert "ch03.largest_window" in message and "ch01." not in message


def _fresh_python(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return what it prints."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


def test_checking_a_chapter_1_exercise_does_not_import_torch():
    out = _fresh_python("import sys; from lmkit.exercises import check; "
                        "check('ch01.corpus_perplexity', lambda r: 1.0); "
                        "print('torch' in sys.modules)")
    assert out.splitlines()[0].startswith("❌ ch01.corpus_perplexity: case 1 is wrong."), out
    assert out.splitlines()[-1] == "False", out


@needs_torch
def test_a_chapter_is_imported_when_one_of_its_exercises_is_first_checked():
    out = _fresh_python(
        "import math, sys\n"
        "from lmkit.exercises import check\n"
        "def loaded():\n"
        "    return sorted(m for m in sys.modules if m.startswith('lmkit.exercises.ch'))\n"
        "print('torch' in sys.modules, loaded())\n"
        "check('ch01.corpus_perplexity', lambda r: math.exp(math.fsum(n * math.log(p) "
        "for p, n in r) / sum(n for _, n in r)))\n"
        "check('ch02.continuation_prob', lambda s, w: 0.0)\n"
        "print('torch' in sys.modules, loaded())\n"
        "check('ch03.largest_window', lambda v, d, h, b, x: "
        "max(0, (b - v*d - h - v*(h + 1)) // (d*h + x*v*d)))\n"
        "print('torch' in sys.modules, loaded())\n")
    lines = out.splitlines()
    assert lines[0] == "False []", out
    assert lines[1] == "✅ ch01.corpus_perplexity: passed all 6 hidden cases.", out
    assert lines[2].startswith("❌ ch02.continuation_prob: case 1 is wrong."), out
    assert "False ['lmkit.exercises.ch01', 'lmkit.exercises.ch02']" in lines, out
    assert "✅ ch03.largest_window: passed all 10 hidden cases." in lines, out
    assert lines[-1] == ("True ['lmkit.exercises.ch01', 'lmkit.exercises.ch02', "
                         "'lmkit.exercises.ch03']"), out


@needs_torch
def test_close_compares_numbers_sequences_and_arrays():
    import numpy as np

    assert close(0.1 + 0.2, 0.3) and not close(0.31, 0.3)
    assert close(float("inf"), float("inf")) and not close(1.0, float("inf"))
    assert close([1, (2.0, 3)], [1, (2.0, 3)]) and not close([1, 2], [1, 2, 3])
    assert close(np.float64(2.0), 2.0) and close(torch.tensor(2.0), 2.0)
    assert close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))
    assert not close("1", 1) and not close(True, 1) and close(3, 3) and not close(3, 4)


@pytest.mark.parametrize("key", sorted(_available()))
def test_every_exercise_rejects_its_known_wrong_answers(key):
    ex = _available()[key]
    assert ex.wrong, f"{key} lists no wrong answers to test its checker with"
    for number, wrong in enumerate(ex.wrong, start=1):
        verdict = evaluate(key, wrong)
        assert verdict.status == "failed", f"{key}: wrong answer {number} was accepted"


@pytest.mark.parametrize("key", sorted(_available()))
def test_every_reference_passes_its_own_checker(key):
    assert evaluate(key, _available()[key].reference).passed


# -- limits that hold: nothing a learner's function does hangs or crashes the kernel --------------

PERPLEXITY = "ch01.corpus_perplexity"
FAST = {"time_limit": 0.5}  # short limits keep the suite fast


def _still_works():
    """The next check after a misbehaving function gives a normal verdict."""
    reference = _available()[PERPLEXITY].reference
    assert evaluate(PERPLEXITY, reference, **FAST).passed
    assert evaluate(PERPLEXITY, lambda lp: 1.0, **FAST).status == "failed"


@pytest.fixture
def echo(monkeypatch):
    """A throw-away exercise whose answer is a string, so the learner's ``__eq__`` is called."""
    ex = Exercise(key="test.echo", reference=lambda s: s, cases=[("abc",)], time_limit=0.5)
    monkeypatch.setitem(exercises._REGISTRY, ex.key, ex)
    return ex.key


def _swallowing_loop(lp):
    while True:
        try:
            sum(range(10**5))
        except:  # noqa: E722 - swallows the time limit and Ctrl-C alike
            pass


@pytest.mark.parametrize("fn", [_swallowing_loop, lambda lp: sum(itertools.repeat(1))],
                         ids=["bare-except-loop", "loop-inside-C"])
def test_hanging_loops_are_stopped_at_the_time_limit(fn):
    start = time.monotonic()
    verdict = evaluate(PERPLEXITY, fn, **FAST)
    assert verdict.status == "too slow", verdict.message
    assert "case 1 did not finish within 0.5 s" in verdict.message
    assert time.monotonic() - start < 3
    _still_works()


def test_memory_growth_is_capped():
    def hoard(lp):
        chunks = []
        for _ in range(400):  # 4 GB, 10 MB at a time
            chunks.append(bytearray(10**7))
        return len(chunks)

    start = time.monotonic()
    verdict = evaluate(PERPLEXITY, hoard, time_limit=20, memory_limit=256 * 2**20)
    assert verdict.status == "too much memory", verdict.message
    assert "0.25 GB" in verdict.message and "case 1" in verdict.message
    assert time.monotonic() - start < 5
    _still_works()


def test_the_default_memory_cap_is_a_few_gigabytes_above_the_kernel():
    assert exercises.MEMORY_LIMIT == 2 * 2**30
    start = time.monotonic()  # 3 GB at once: refused at once (uncapped, it would take seconds)
    verdict = evaluate(PERPLEXITY, lambda lp: len(bytearray(3 * 2**30)), **FAST)
    assert verdict.status == "too much memory" and "(2 GB on top" in verdict.message
    assert time.monotonic() - start < 2


def test_sys_exit_is_a_failure():
    verdict = evaluate(PERPLEXITY, lambda lp: sys.exit(), **FAST)
    assert verdict.status == "failed" and "called sys.exit(None)" in verdict.message
    _still_works()


def test_os_exit_is_a_failure():
    verdict = evaluate(PERPLEXITY, lambda lp: os._exit(3), **FAST)
    assert verdict.status == "failed", verdict.message
    assert "case 1 ended the process (exit code 3" in verdict.message
    _still_works()


class _Broken:
    """A return value whose ``__repr__`` and ``__eq__`` raise (or loop, with ``loop=True``)."""

    def __init__(self, loop=False):
        self.loop = loop

    def __repr__(self):
        while self.loop:
            pass
        raise RuntimeError("no repr for you")

    def __eq__(self, other):
        while self.loop:
            pass
        raise RuntimeError("no comparison either")

    __hash__ = None


def test_a_return_value_whose_repr_and_eq_raise_is_a_failure(echo):
    verdict = evaluate(echo, lambda s: _Broken())
    assert verdict.status == "failed", verdict.message
    assert "got:      <_Broken object whose repr() raised RuntimeError>" in verdict.message
    _still_works()


def test_an_exception_whose_message_cannot_be_printed_is_a_failure():
    class Weird(Exception):
        def __str__(self):
            raise ValueError

    def fn(lp):
        raise Weird

    verdict = evaluate(PERPLEXITY, fn, **FAST)
    assert verdict.status == "failed" and "raised Weird: (its message could not" in verdict.message


def test_a_looping_repr_is_stopped_at_the_time_limit():
    class Endless:
        def __repr__(self):
            while True:
                pass

    verdict = evaluate(PERPLEXITY, lambda lp: Endless(), **FAST)
    assert verdict.status == "too slow", verdict.message
    assert "case 1 returned, but printing what it returned" in verdict.message
    _still_works()


def test_a_looping_eq_is_stopped_at_the_time_limit(echo):
    verdict = evaluate(echo, lambda s: _Broken(loop=True))
    assert verdict.status == "too slow", verdict.message
    assert "comparing what it returned with the expected value" in verdict.message
    _still_works()


def test_keyboard_interrupt_raised_by_the_function_is_a_failure():
    def fn(lp):
        raise KeyboardInterrupt

    verdict = evaluate(PERPLEXITY, fn, **FAST)
    assert verdict.status == "failed" and "raised KeyboardInterrupt" in verdict.message
    _still_works()


def test_ctrl_c_during_a_check_interrupts_it(capsys):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGINT reaches the main thread only")
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    start = time.monotonic()
    check(PERPLEXITY, _swallowing_loop, time_limit=10)
    timer.join()
    assert "⏹ ch01.corpus_perplexity: check interrupted during case 1." in capsys.readouterr().out
    assert time.monotonic() - start < 3
    _still_works()


def test_check_never_raises_whatever_the_function_does(capsys):
    def interrupt(lp):
        raise KeyboardInterrupt

    for fn in (lambda lp: sys.exit(1), interrupt, lambda lp: os._exit(0), _swallowing_loop):
        check(PERPLEXITY, fn, **FAST)
    out = capsys.readouterr().out.splitlines()
    assert [line[:1] for line in out if line.startswith(("❌", "⌛"))] == ["❌"] * 3 + ["⌛"]


def test_in_process_fallback_still_gives_verdicts_and_says_it_is_weaker(square):
    verdict = evaluate(square, lambda x: x * x, isolate=False)
    assert verdict.passed and "checked in this process" in verdict.message
    assert evaluate(square, lambda x: sys.exit(), isolate=False).status == "failed"
    assert evaluate(square, lambda x: [0 for _ in iter(int, 1)],
                    isolate=False).status == "too slow"

    def interrupt(x):
        raise KeyboardInterrupt

    assert evaluate(square, interrupt, isolate=False).status == "interrupted"


@needs_torch
def test_a_check_costs_well_under_a_second():
    # a kernel with PyTorch loaded (imported above), as in chapters 3 to 6

    reference = registry()["ch05.leaky_bptt_step"].reference
    evaluate("ch05.leaky_bptt_step", reference)  # the chapter is imported once, in the kernel
    start = time.perf_counter()
    for _ in range(5):
        assert evaluate("ch05.leaky_bptt_step", reference).passed
    assert (time.perf_counter() - start) / 5 < 0.5


# -- one comparison rule: equal answers in another container are equal --------------------------

def _tensor_exercises() -> list:
    """Every exercise whose reference returns a tensor (chapter 5's three among them)."""
    if torch is None:
        return [pytest.param(None, marks=needs_torch)]
    return sorted(key for key, ex in registry().items()
                  if isinstance(ex.reference(*ex.cases[0]), torch.Tensor))


@needs_torch
def test_chapter_5s_tensor_exercises_are_among_them():
    assert {"ch05.leaky_bptt_step", "ch05.rtrl_bias_step",
            "ch05.leaky_w_hh_grad"} <= set(_tensor_exercises())


@pytest.mark.parametrize("key", _tensor_exercises())
def test_answers_as_nested_lists_tuples_or_arrays_pass(key):
    ref = registry()[key].reference
    for convert in (lambda t: t.tolist(), lambda t: t.detach().numpy(),
                    lambda t: tuple(t.tolist()) if t.ndim else t.item()):
        verdict = evaluate(key, lambda *a, convert=convert: convert(ref(*a)))
        assert verdict.passed, verdict.message


@pytest.mark.parametrize("key", _tensor_exercises())
def test_a_wrong_nested_list_fails_showing_where_it_differs(key):
    ex = registry()[key]
    scalar = ex.reference(*ex.cases[0]).ndim == 0  # a number has no position to point at
    for wrong in ex.wrong:
        verdict = evaluate(key, lambda *a, wrong=wrong: wrong(*a).tolist())
        assert verdict.status == "failed", verdict.message
        assert scalar or "first difference at [" in verdict.message \
            or "shape: " in verdict.message


@needs_torch
def test_close_compares_by_value_across_containers():
    import numpy as np

    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    for other in (t.tolist(), t.numpy(), ((1, 2), (3, 4)), t.float()):
        assert close(other, t) and close(t, other)
    assert not close(t.T.tolist(), t) and not close([1.0, 2.0, 3.0, 4.0], t)
    assert close([1.0, 2.0], np.array([1.0, 2.0 + 1e-9])) and not close([1.0, 2.1], [1, 2])
    assert close(torch.tensor(0.5), 0.5) and close(0.5, np.float32(0.5))
    assert not close([True, False], [1, 0]) and not close([1, 2], [1, 2.5])
    assert close(["a", "b"], ("a", "b")) and not close(["a"], "a")
    assert close(torch.tensor([1.0], dtype=torch.float32) + 1e-7, [1.0])  # float32 tolerance
