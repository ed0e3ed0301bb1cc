"""The book's recurring plots: training curves, gradient norms, heat maps, the spread of results
over seeds, scores against sequence length, and the unrolled-RNN diagram.

Every function draws into ``ax`` (a new figure if it is ``None``) and returns the
:class:`matplotlib.axes.Axes`, so plots can be combined and tested::

    from lmkit.plot import training_curves
    ax = training_curves(history)                                   # one run
    ax = training_curves({"window 3": h3, "window 5": h5}, log_scale=True)  # several runs
    ax.figure.savefig("curves.png")
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch

from lmkit._checks import check_int, check_number
from lmkit.train import History

__all__ = ["by_length", "clipping", "gradient_norms", "heatmap", "matrix_powers", "seed_spread",
           "smooth", "training_curves", "unrolled_rnn"]

_METRICS = ("perplexity", "loss")
_XS = ("step", "epoch", "seconds")


def smooth(values: Sequence[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction (as TensorBoard's smoothing slider).

    ``weight=0`` returns the values unchanged; closer to 1 is smoother. Non-finite values are
    passed through without polluting the average.

    >>> [round(v, 3) for v in smooth([1.0, 1.0, 4.0], weight=0.5)]
    [1.0, 1.0, 2.714]
    """
    if not 0 <= weight < 1:
        raise ValueError(f"weight must be in [0, 1), got {weight}")
    out, avg, norm = [], 0.0, 0.0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        avg = weight * avg + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out.append(avg / norm)
    return out


def _histories(history: History | Mapping[str, History]) -> dict[str, History]:
    runs = {"": history} if isinstance(history, History) else history
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError("history must be an lmkit.train.History (what fit returns) or a "
                        "non-empty dict {label: History}")
    for label, h in runs.items():
        if not isinstance(h, History):
            raise TypeError(f"history {label!r} is a {type(h).__name__}, not an "
                            f"lmkit.train.History")
        if not h.steps:
            raise ValueError(f"history {label!r} has no training steps to plot")
    return dict(runs)


def _x(h: History, steps: Sequence[int], x: str) -> list[float]:
    """x-coordinates of the points recorded after ``steps`` steps."""
    if x == "step":
        return [float(s) for s in steps]
    if x == "epoch":
        if not h.steps_per_epoch:
            raise ValueError("x='epoch' needs the batches' length (steps_per_epoch); use "
                             "x='step'")
        return [s / h.steps_per_epoch for s in steps]
    return [h.seconds[s - 1] if s > 0 else 0.0 for s in steps]


def training_curves(history: History | Mapping[str, History], *, metric: str = "perplexity",
                    x: str = "step", log_scale: bool = False, smoothing: float = 0.9,
                    ax: Axes | None = None, title: str | None = None) -> Axes:
    """Training (per step, smoothed) and validation (per evaluation) curves of one or more runs.

    Args:
        history: a :class:`~lmkit.train.History`, or ``{label: History}`` to compare runs
            (one colour per run; training solid, validation dashed with dots).
        metric: ``"perplexity"`` or ``"loss"`` (cross-entropy in nats per token).
        x: ``"step"``, ``"epoch"`` or ``"seconds"`` (wall-clock, the fair axis for comparing
            models of different speed).
        log_scale: logarithmic y-axis (perplexities spanning orders of magnitude).
        smoothing: weight of the moving average applied to the noisy per-step training loss
            (``0`` for the raw values, which are drawn faintly behind in any case).
        ax: the Axes to draw into; a new figure if ``None``.
        title: the Axes' title.

    Returns:
        The Axes (``ax.figure`` is the figure).
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
    if x not in _XS:
        raise ValueError(f"x must be one of {_XS}, got {x!r}")
    runs = _histories(history)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))

    def y(losses: Sequence[float]) -> list[float]:
        return [math.exp(min(v, 709.0)) for v in losses] if metric == "perplexity" else list(
            losses)

    for i, (label, h) in enumerate(runs.items()):
        color = f"C{i}"
        name = f"{label} " if label else ""
        steps = list(range(1, h.steps + 1))
        xs = _x(h, steps, x)
        ax.plot(xs, y(h.train_loss), color=color, alpha=0.2, linewidth=0.8)
        ax.plot(xs, y(smooth(h.train_loss, smoothing)), color=color, label=f"{name}train")
        if h.valid_loss:
            ax.plot(_x(h, h.eval_step, x), y(h.valid_loss), "o--", color=color, markersize=4,
                    label=f"{name}validation")
    return _finish(ax, {"step": "training step", "epoch": "epoch", "seconds": "seconds"}[x],
                   "perplexity" if metric == "perplexity" else "cross-entropy (nats/token)",
                   log_scale, title)


def _finish(ax: Axes, xlabel: str, ylabel: str, log_scale: bool, title: str | None) -> Axes:
    """Labels, optional log y-axis and title, grid and legend: the end of every curve plot."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_scale:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


def gradient_norms(history: History | Mapping[str, History], *, clip: float | None = None,
                   log_scale: bool = True, ax: Axes | None = None,
                   title: str | None = None) -> Axes:
    """The gradients' global norm at every step (before clipping), one line per run.

    Args:
        history: a :class:`~lmkit.train.History` or ``{label: History}``.
        clip: draw the clipping threshold as a horizontal line.
        log_scale: logarithmic y-axis (exploding gradients span orders of magnitude).
        ax: the Axes to draw into; a new figure if ``None``.
        title: the Axes' title.
    """
    runs = _histories(history)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    for i, (label, h) in enumerate(runs.items()):
        ax.plot(range(1, h.steps + 1), h.grad_norm, color=f"C{i}", linewidth=0.8,
                label=label or "gradient norm")
    if clip is not None:
        ax.axhline(clip, color="k", linestyle=":", label=f"clip = {clip:g}")
    return _finish(ax, "training step", "‖gradient‖ (before clipping)", log_scale, title)


def matrix_powers(rho: float, shear: float = 0.0, *, n: int = 16, steps: int = 200,
                  ax: Axes | None = None) -> Axes:
    """``‖(Wᵀ)^j v‖`` against ``j`` for ``W = nonnormal_matrix(rho, shear, n)``, next to ``ρ^j``.

    The explorer of chapter 6: every eigenvalue of ``W`` is ``rho``; ``shear`` makes it
    non-normal. The dashed line is ``|rho|^j``, what the eigenvalues alone predict.
    """
    from lmkit.stability import nonnormal_matrix, power_norms

    steps = check_int(steps, "steps")
    norms = power_norms(nonnormal_matrix(rho, shear, n), steps)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    j = range(steps + 1)
    ax.plot(j, norms.clamp_min(1e-300), label=f"‖(Wᵀ)^j v‖, shear {shear:g}")
    ax.plot(j, [abs(rho) ** i or 1e-300 for i in j], "k--", linewidth=1,
            label=f"ρ^j, ρ = {abs(rho):g}")
    return _finish(ax, "steps back j", "norm of the gradient", True,
                   f"Linear RNN, every eigenvalue = {rho:g}")


def clipping(norms: Sequence[float], clip: float, *, ax: Axes | None = None) -> Axes:
    """A histogram of gradient norms (log bins) with the clipping threshold drawn.

    The title gives the fraction of steps whose norm exceeds ``clip`` (the steps clipping
    rescales) and the mean factor ``min(1, clip/‖g‖)`` by which their updates shrink.
    """
    clip = check_number(clip, "clip", low=0, low_open=True)
    values = [float(v) for v in norms]
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError("norms must be a non-empty list of positive finite gradient norms, "
                         "e.g. history.grad_norm")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    low, high = min(values + [clip]) / 1.5, max(values + [clip]) * 1.5
    bins = [low * (high / low) ** (i / 40) for i in range(41)]
    ax.hist(values, bins=bins, color="C0", alpha=0.8, label="training steps")
    ax.axvline(clip, color="k", linestyle=":", label=f"clip = {clip:g}")
    ax.set_xscale("log")
    clipped = [v for v in values if v > clip]
    shrink = sum(clip / v for v in clipped) / len(clipped) if clipped else 1.0
    ax.set_xlabel("‖gradient‖ before clipping")
    ax.set_ylabel("steps")
    ax.set_title(f"{len(clipped) / len(values):.0%} of steps clipped, "
                 f"by a factor {shrink:.2f} on average")
    ax.legend()
    return ax


def unrolled_rnn(steps: int = 4, *, inputs: Sequence[str] | None = None,
                 targets: Sequence[str] | None = None, ax: Axes | None = None,
                 title: str | None = None) -> Axes:
    """The book's diagram of a recurrent network unrolled over ``steps`` time steps.

    One column per step ``t``: the input ``x_t`` at the bottom, the hidden state ``h_t`` in the
    middle and the prediction ``ŷ_t`` on top, with the arrows ``W_xh`` (input to state),
    ``W_hh`` (state to next state, starting from ``h_0``) and ``W_hy`` (state to prediction).
    Every column uses the same three matrices, which is the whole point of the picture.

    Args:
        steps: the number of time steps to draw (1 … 12).
        inputs: optional token labels written under the inputs (one per step).
        targets: optional token labels written over the predictions (the next tokens).
        ax: the Axes to draw into; a new figure if ``None``.
        title: the Axes' title.

    Returns:
        The Axes: ``3 * steps + 1`` boxes (the patches) and ``3 * steps`` arrows.
    """
    steps = check_int(steps, "steps", 1, 12, hint="a wider diagram is unreadable")
    for name, labels in (("inputs", inputs), ("targets", targets)):
        if labels is not None and len(labels) != steps:
            raise ValueError(f"{name} must hold one label per step ({steps}), got "
                             f"{len(labels)}: {labels!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 * steps + 1.6, 3.6))
    rows = {"x": 0.0, "h": 1.4, "y": 2.8}
    colors = {"x": "#dbe9f6", "h": "#fde0c5", "y": "#d9f0d3"}
    w, hgt = 0.62, 0.5

    def box(x: float, y: float, label: str, color: str) -> None:
        ax.add_patch(FancyBboxPatch((x - w / 2, y - hgt / 2), w, hgt,
                                    boxstyle="round,pad=0.04", facecolor=color,
                                    edgecolor="0.25", linewidth=1.2))
        ax.text(x, y, label, ha="center", va="center", fontsize=12)

    def arrow(x0: float, y0: float, x1: float, y1: float, label: str, dx: float, dy: float
              ) -> None:
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "0.2", "lw": 1.3})
        ax.text((x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy, label, fontsize=9, color="0.3",
                ha="center", va="center")

    box(0, rows["h"], "$h_0$", "#eeeeee")
    for t in range(1, steps + 1):
        box(t * 1.6, rows["x"], f"$x_{{{t}}}$", colors["x"])
        box(t * 1.6, rows["h"], f"$h_{{{t}}}$", colors["h"])
        box(t * 1.6, rows["y"], rf"$\hat{{y}}_{{{t}}}$", colors["y"])
        x_prev = 0 if t == 1 else (t - 1) * 1.6
        arrow(t * 1.6, rows["x"] + hgt / 2 + 0.04, t * 1.6, rows["h"] - hgt / 2 - 0.04,
              "$W_{xh}$", 0.3, 0)
        arrow(x_prev + w / 2 + 0.04, rows["h"], t * 1.6 - w / 2 - 0.04, rows["h"],
              "$W_{hh}$", 0, 0.17)
        arrow(t * 1.6, rows["h"] + hgt / 2 + 0.04, t * 1.6, rows["y"] - hgt / 2 - 0.04,
              "$W_{hy}$", 0.3, 0)
        if inputs is not None:
            ax.text(t * 1.6, rows["x"] - 0.5, repr(str(inputs[t - 1]))[1:-1].replace(" ", "␣"),
                    ha="center", va="center", fontsize=12, family="monospace")
        if targets is not None:
            ax.text(t * 1.6, rows["y"] + 0.5, repr(str(targets[t - 1]))[1:-1].replace(" ", "␣"),
                    ha="center", va="center", fontsize=12, family="monospace", color="C2")
    ax.set_xlim(-0.6, steps * 1.6 + 0.6)
    ax.set_ylim(-0.85, 3.35)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def heatmap(values: Any, *, row_labels: Sequence[str] | None = None,
            col_labels: Sequence[str] | None = None, text: Sequence[Sequence[str]] | None = None,
            xlabel: str = "", ylabel: str = "", title: str | None = None,
            cmap: str = "Blues", colorbar: str | None = None,
            vmin: float | None = None, vmax: float | None = None,
            ax: Axes | None = None) -> Axes:
    """A matrix as coloured cells: a confusion matrix, a padded batch, attention weights.

    Args:
        values: ``(R, C)`` numbers (a tensor, an array or nested lists).
        row_labels, col_labels: tick labels of the rows (y axis) and columns (x axis).
        text: ``(R, C)`` strings written into the cells (``""`` for none).
        colorbar: the colour bar's label; ``None`` draws no colour bar.
        vmin, vmax: the range of the colour scale (default: the values' range).
    """
    matrix = [[float(v) for v in row] for row in _rows(values)]
    if not matrix or not matrix[0] or any(len(r) != len(matrix[0]) for r in matrix):
        raise ValueError("values must be a non-empty 2-D matrix (R, C)")
    n_rows, n_cols = len(matrix), len(matrix[0])
    for name, labels, n in (("row_labels", row_labels, n_rows), ("col_labels", col_labels,
                                                                  n_cols)):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{name} has {len(labels)} labels for {n} "
                             f"{'rows' if name == 'row_labels' else 'columns'}")
    if text is not None and (len(text) != n_rows or any(len(r) != n_cols for r in text)):
        raise ValueError(f"text must have the shape of values, ({n_rows}, {n_cols})")
    if ax is None:
        _, ax = plt.subplots(figsize=(max(3.0, 0.45 * n_cols + 1.5),
                                      max(2.0, 0.4 * n_rows + 1.0)))
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    if text is not None:
        low, high = image.get_clim()
        for i, row in enumerate(text):
            for j, label in enumerate(row):
                dark = high > low and (matrix[i][j] - low) / (high - low) > 0.6
                ax.text(j, i, label, ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    ax.set_xticks(range(n_cols), col_labels if col_labels is not None else range(n_cols),
                  rotation=90 if col_labels is not None and
                  max(map(len, col_labels), default=0) > 3 else 0)
    ax.set_yticks(range(n_rows), row_labels if row_labels is not None else range(n_rows))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if colorbar is not None:
        ax.figure.colorbar(image, ax=ax, label=colorbar)
    return ax


def _rows(values: Any) -> list[Any]:
    if hasattr(values, "tolist"):
        values = values.tolist()
    if not isinstance(values, Sequence) or not all(isinstance(r, Sequence) for r in values):
        raise ValueError("values must be a 2-D matrix (R, C): a tensor, array or list of lists")
    return list(values)


def seed_spread(results: Mapping[str, Sequence[float]], *, xlabel: str = "",
                ylabel: str = "accuracy",
                reference: Mapping[str, float] | None = None, title: str | None = None,
                ax: Axes | None = None) -> Axes:
    """One column of dots per setting (one dot per seed), with the mean and ± one standard
    deviation drawn beside it, so that differences can be judged against the seed noise.

    Args:
        results: setting name -> its results over seeds (at least one each).
        reference: name -> value drawn as a horizontal dashed line (a baseline).
    """
    if not results or any(len(v) == 0 for v in results.values()):
        raise ValueError("results must map each setting to at least one result")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.4 * len(results) + 2.5, 3.6))
    for i, values in enumerate(results.values()):
        vals = [float(v) for v in values]
        mean = sum(vals) / len(vals)
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / max(1, len(vals) - 1))
        ax.scatter([i] * len(vals), vals, color=f"C{i}", alpha=0.7, zorder=3)
        ax.errorbar(i + 0.15, mean, yerr=std, fmt="_", color="k", capsize=4, markersize=12)
    for j, (name, value) in enumerate((reference or {}).items()):
        ax.axhline(value, color="0.4", linestyle=["--", ":", "-."][j % 3], label=name)
    if reference:
        ax.legend(loc="lower right")
    ax.set_xticks(range(len(results)), list(results))
    ax.set_xlim(-0.5, len(results) - 0.3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def by_length(curves: Mapping[str, Mapping[Any, float]], *, xlabel: str = "length",
              ylabel: str = "score", ylim: tuple[float, float] | None = None,
              title: str | None = None, ax: Axes | None = None) -> Axes:
    """Scores against sequence length, one line per model or metric (chapters 9 and 10).

    Args:
        curves: name -> ``{length (or bin label): score}``; the lengths of all curves are
            placed on one axis in the order they first appear.
        ylim: the y range, e.g. ``(0, 1)`` for accuracies.
    """
    if not curves or any(len(c) == 0 for c in curves.values()):
        raise ValueError("curves must map each name to at least one (length, score) pair")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.4))
    labels: list[Any] = []
    for c in curves.values():
        labels += [k for k in c if k not in labels]
    numeric = all(isinstance(k, (int, float)) and not isinstance(k, bool) for k in labels)
    for i, (name, c) in enumerate(curves.items()):
        xs = list(c) if numeric else [labels.index(k) for k in c]
        ax.plot(xs, [float(v) for v in c.values()], marker="o", color=f"C{i}", label=name)
    if not numeric:
        ax.set_xticks(range(len(labels)), [str(k) for k in labels])
    if ylim is not None:
        ax.set_ylim(*ylim)
    if len(curves) > 1:
        ax.legend()
    return _finish(ax, xlabel, ylabel, False, title)
