"""lmkit.exercises: the checker's verdicts, and every known wrong answer is caught."""

import subprocess
import sys
import threading

import pytest

from lmkit import exercises
from lmkit.exercises import Exercise, check, close, evaluate, registry


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


def test_a_typo_in_a_chapters_key_names_that_chapters_exercises():
    with pytest.raises(ValueError, match="Unknown exercise 'ch03.mixture_perplexty'") as info:
        evaluate("ch03.mixture_perplexty", print)
    message = str(info.value)
    assert "Did you mean 'ch03.mixture_perplexity'?" in message
    assert "ch03.window_params" in message and "ch01." not in message


def _fresh_python(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return what it prints."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


def test_checking_a_chapter_1_exercise_does_not_import_torch():
    out = _fresh_python("import sys; from lmkit.exercises import check; "
                        "check('ch01.perplexity', lambda lp: 1.0); "
                        "print('torch' in sys.modules)")
    assert out.splitlines()[0].startswith("❌ ch01.perplexity: case 1 is wrong."), out
    assert out.splitlines()[-1] == "False", out


def test_a_chapter_is_imported_when_one_of_its_exercises_is_first_checked():
    out = _fresh_python(
        "import math, sys\n"
        "from lmkit.exercises import check\n"
        "def loaded(): return sorted(m for m in sys.modules if m.startswith('lmkit.exercises.'))\n"
        "print('torch' in sys.modules, loaded())\n"
        "check('ch01.sequence_logprob', lambda p: math.fsum(math.log(x) for x in p))\n"
        "check('ch02.continuation_prob', lambda s, w: 0.0)\n"
        "print('torch' in sys.modules, loaded())\n"
        "check('ch03.window_params', lambda v, k, d, h: v*d + h*(k*d + 1) + v*(h + 1))\n"
        "print('torch' in sys.modules, loaded())\n")
    lines = out.splitlines()
    assert lines[0] == "False []", out
    assert lines[1] == "✅ ch01.sequence_logprob: passed all 5 hidden cases.", out
    assert lines[2].startswith("❌ ch02.continuation_prob: case 1 is wrong."), out
    assert "False ['lmkit.exercises.ch01', 'lmkit.exercises.ch02']" in lines, out
    assert "✅ ch03.window_params: passed all 5 hidden cases." in lines, out
    assert lines[-1] == ("True ['lmkit.exercises.ch01', 'lmkit.exercises.ch02', "
                         "'lmkit.exercises.ch03']"), out


def test_close_compares_numbers_sequences_and_arrays():
    import numpy as np
    import torch

    assert close(0.1 + 0.2, 0.3) and not close(0.31, 0.3)
    assert close(float("inf"), float("inf")) and not close(1.0, float("inf"))
    assert close([1, (2.0, 3)], [1, (2.0, 3)]) and not close([1, 2], [1, 2, 3])
    assert close(np.float64(2.0), 2.0) and close(torch.tensor(2.0), 2.0)
    assert close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))
    assert not close("1", 1) and not close(True, 1) and close(3, 3) and not close(3, 4)


@pytest.mark.parametrize("key", sorted(registry()))
def test_every_exercise_rejects_its_known_wrong_answers(key):
    ex = registry()[key]
    assert ex.wrong, f"{key} lists no wrong answers to test its checker with"
    for number, wrong in enumerate(ex.wrong, start=1):
        verdict = evaluate(key, wrong)
        assert verdict.status == "failed", f"{key}: wrong answer {number} was accepted"


@pytest.mark.parametrize("key", sorted(registry()))
def test_every_reference_passes_its_own_checker(key):
    assert evaluate(key, registry()[key].reference).passed
