"""Interactive explorers: a plain drawing function, with sliders on top.

The book keeps the logic of every explorer in an ordinary function (``draw(delta=0.1)`` draws one
figure) so that it can be tested and called for a few fixed settings in the static HTML book;
:func:`explore` only adds the sliders::

    def show(temperature):
        ...draw a figure for this temperature...

    explore(show, temperature=log_slider(0.1, 10.0, value=1.0))

Until the reader moves a slider, the explorer shows the figure for the initial values, so the
notebook also reads well where no kernel runs.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets

from lmkit._checks import check_number

__all__ = ["choice", "explore", "log_slider", "slider"]


def slider(low: float, high: float, value: float | None = None, step: float | None = None,
           description: str = "") -> ipywidgets.FloatSlider:
    """A slider over ``[low, high]`` (100 steps unless ``step`` is given)."""
    low, high = _check_range(low, high)
    value = low if value is None else _check_value(value, low, high)
    if step is not None:
        step = check_number(step, "step", low=0.0, high=high - low, low_open=True,
                            hint="a step is a positive part of the range high - low")
    return ipywidgets.FloatSlider(value=value, min=low, max=high,
                                  step=step or (high - low) / 100, description=description,
                                  continuous_update=False, readout_format=".3g")


def log_slider(low: float, high: float, value: float | None = None,
               description: str = "") -> ipywidgets.FloatLogSlider:
    """A slider whose positions are evenly spaced in ``log10`` between ``low`` and ``high`` > 0.

    Use it for quantities that matter by their order of magnitude (smoothing constants,
    learning rates, temperatures).
    """
    low, high = _check_range(low, high)
    if low <= 0:
        raise ValueError(f"a log slider needs low > 0, got low={low}; use slider() for ranges "
                         f"that include 0")
    value = math.sqrt(low * high) if value is None else _check_value(value, low, high)
    return ipywidgets.FloatLogSlider(value=value, base=10, min=math.log10(low),
                                     max=math.log10(high), step=(math.log10(high / low)) / 100,
                                     description=description, continuous_update=False,
                                     readout_format=".3g")


def choice(options: Sequence[str], value: str | None = None,
           description: str = "") -> ipywidgets.Dropdown:
    """A drop-down list to pick one of ``options`` (strings; default: the first)."""
    options = list(options)
    if not options or not all(isinstance(o, str) for o in options):
        raise ValueError("choice needs a non-empty list of strings to choose from")
    if value is not None and value not in options:
        raise ValueError(f"value {value!r:.60} is not one of the options")
    return ipywidgets.Dropdown(options=options, value=value or options[0],
                               description=description)


def explore(draw: Callable[..., Any], **sliders: ipywidgets.ValueWidget) -> ipywidgets.Widget:
    """Call ``draw(**values)`` now and whenever a slider moves; return the widget to display.

    Args:
        draw: a function that draws one figure (or prints) for the given keyword values.
        sliders: one widget per keyword argument of ``draw``, e.g. from :func:`log_slider`
            or :func:`choice`.
    """
    if not callable(draw):
        raise TypeError(f"draw must be a function, got {type(draw).__name__}")
    if not sliders:
        raise ValueError("explore needs at least one slider, e.g. "
                         "explore(draw, delta=log_slider(1e-3, 1.0))")
    params = inspect.signature(draw).parameters
    unknown = [name for name in sliders if name not in params]
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise ValueError(f"draw() has no parameter named {', '.join(unknown)}; its parameters "
                         f"are: {', '.join(params) or 'none'}")
    for name, widget in sliders.items():
        if not isinstance(widget, ipywidgets.ValueWidget):
            raise TypeError(f"slider {name!r} must be an ipywidgets widget (use slider() or "
                            f"log_slider()), got {type(widget).__name__}")
        widget.description = widget.description or name
    return ipywidgets.interactive(draw, **sliders)


def _check_range(low: float, high: float) -> tuple[float, float]:
    for name, x in (("low", low), ("high", high)):
        check_number(x, name)
    if not low < high:
        raise ValueError(f"need low < high, got low={low}, high={high}")
    return float(low), float(high)


def _check_value(value: float, low: float, high: float) -> float:
    return check_number(value, "value", low=low, high=high)
