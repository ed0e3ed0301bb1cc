"""lmkit.widgets: sliders call the plain drawing function with the slider values."""

import math

import ipywidgets
import pytest

from lmkit.widgets import choice, explore, log_slider, slider


def test_explore_draws_at_once_and_again_when_a_slider_moves():
    calls = []
    widget = explore(lambda delta, n: calls.append((delta, n)),
                     delta=log_slider(1e-3, 10.0, value=0.1), n=slider(1, 5, value=2))
    assert isinstance(widget, ipywidgets.interactive)
    widget.update()
    assert calls[-1] == (pytest.approx(0.1), 2.0)
    widget.children[0].value = 1.0
    assert calls[-1][0] == pytest.approx(1.0)


def test_a_choice_calls_draw_with_the_chosen_string():
    calls = []
    widget = explore(lambda sentence: calls.append(sentence),
                     sentence=choice(["je suis là .", "il est grand ."]))
    widget.update()
    assert calls[-1] == "je suis là ."
    widget.children[0].value = "il est grand ."
    assert calls[-1] == "il est grand ."


def test_log_slider_is_evenly_spaced_in_log10_and_defaults_to_the_geometric_mean():
    s = log_slider(1e-4, 1.0)
    assert s.min == pytest.approx(-4) and s.max == pytest.approx(0)
    assert s.value == pytest.approx(math.sqrt(1e-4))


@pytest.mark.parametrize(("make", "exc", "msg"), [
    (lambda: log_slider(0.0, 1.0), ValueError, "low > 0"),
    (lambda: slider(2, 1), ValueError, "low < high"),
    (lambda: slider(0, 1, value=3), ValueError, r"in \[0, 1\]"),
    (lambda: slider("0", 1), TypeError, "must be a number"),
    (lambda: explore(lambda x: x), ValueError, "at least one slider"),
    (lambda: explore(lambda x: x, y=slider(0, 1)), ValueError, "no parameter named y"),
    (lambda: explore(lambda x: x, x=0.5), TypeError, "ipywidgets widget"),
    (lambda: explore("draw", x=slider(0, 1)), TypeError, "must be a function"),
    (lambda: choice([]), ValueError, "non-empty list of strings"),
    (lambda: choice(["a"], value="b"), ValueError, "not one of the options"),
])
def test_bad_input_is_rejected(make, exc, msg):
    with pytest.raises(exc, match=msg):
        make()


@pytest.mark.parametrize("step", [-0.1, 0.0, 5.0])
def test_a_slider_step_must_be_a_positive_part_of_the_range(step):
    with pytest.raises(ValueError, match="step must be a finite number"):
        slider(0, 1, step=step)
