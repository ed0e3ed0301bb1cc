"""lmkit.plot: training curves and gradient norms draw what the history holds."""

import math

import matplotlib.pyplot as plt
import pytest
from matplotlib.axes import Axes

from lmkit import plot
from lmkit.plot import gradient_norms, smooth, training_curves
from lmkit.train import History

plt.switch_backend("Agg")  # no windows: draw into memory only


@pytest.fixture
def history():
    losses = [5.0 - 0.1 * i for i in range(20)]
    return History(train_loss=losses, grad_norm=[1.0 + i for i in range(20)], lr=[1e-3] * 20,
                   seconds=[0.5 * (i + 1) for i in range(20)], eval_step=[10, 20],
                   valid_loss=[4.5, 3.5], steps_per_epoch=10, stop_reason="epochs")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_training_curves_draw_train_and_validation_perplexity(history):
    ax = training_curves(history, smoothing=0.0)
    assert isinstance(ax, Axes) and ax.figure is not None
    drawn = lines(ax)
    assert {"train", "validation"} <= set(drawn)
    assert list(drawn["validation"].get_xdata()) == [10, 20]
    assert list(drawn["validation"].get_ydata()) == pytest.approx([math.exp(4.5), math.exp(3.5)])
    assert list(drawn["train"].get_ydata()) == pytest.approx([math.exp(v)
                                                              for v in history.train_loss])
    assert ax.get_ylabel() == "perplexity" and ax.get_yscale() == "linear"


def test_loss_metric_log_scale_and_x_axes(history):
    ax = training_curves(history, metric="loss", log_scale=True, x="epoch", smoothing=0.0,
                         title="run")
    drawn = lines(ax)
    assert list(drawn["train"].get_ydata()) == pytest.approx(history.train_loss)
    assert list(drawn["validation"].get_xdata()) == [1.0, 2.0]  # evaluations after epochs 1, 2
    assert ax.get_yscale() == "log" and ax.get_title() == "run"
    assert "nats" in ax.get_ylabel()
    ax = training_curves(history, x="seconds")
    assert list(lines(ax)["validation"].get_xdata()) == [5.0, 10.0]


def test_several_runs_share_one_axes_with_labels(history):
    fig, ax = plt.subplots()
    out = training_curves({"window 3": history, "window 5": history}, ax=ax)
    assert out is ax
    assert {"window 3 train", "window 3 validation", "window 5 train",
            "window 5 validation"} <= set(lines(ax))


def test_gradient_norms_with_clip_line(history):
    ax = gradient_norms(history, clip=2.0)
    drawn = lines(ax)
    assert list(drawn["gradient norm"].get_ydata()) == history.grad_norm
    assert list(drawn["clip = 2"].get_ydata()) == [2.0, 2.0]
    assert ax.get_yscale() == "log"


def test_smoothing_is_a_bias_corrected_moving_average():
    assert smooth([3.0, 3.0, 3.0], 0.9) == pytest.approx([3.0, 3.0, 3.0])  # no pull towards 0
    assert smooth([1.0, 2.0], 0.0) == [1.0, 2.0]
    assert smooth([1.0, math.inf, 1.0], 0.5)[1] == math.inf
    with pytest.raises(ValueError, match="weight"):
        smooth([1.0], 1.0)


def test_bad_input(history):
    with pytest.raises(ValueError, match="metric"):
        training_curves(history, metric="accuracy")
    with pytest.raises(ValueError, match="x must be"):
        training_curves(history, x="tokens")
    with pytest.raises(ValueError, match="no training steps"):
        training_curves(History())
    with pytest.raises(TypeError, match="History"):
        training_curves([1.0, 2.0])
    with pytest.raises(TypeError, match="History"):
        gradient_norms({"a": [1.0]})
    no_epochs = History(train_loss=[1.0], grad_norm=[1.0], lr=[0.1], seconds=[1.0])
    with pytest.raises(ValueError, match="steps_per_epoch"):
        training_curves(no_epochs, x="epoch")


def test_unrolled_rnn_draws_one_column_per_step_with_shared_weights():
    from matplotlib.patches import FancyBboxPatch

    from lmkit.plot import unrolled_rnn

    for steps in (1, 5):
        ax = unrolled_rnn(steps, inputs="hell"[:steps] if steps < 5 else list("hello"),
                          targets=list("ello!")[:steps], title="unrolled")
        boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
        assert len(boxes) == 3 * steps + 1                     # h_0, then x_t, h_t, ŷ_t
        texts = [t.get_text() for t in ax.texts]
        for name in ("$W_{xh}$", "$W_{hh}$", "$W_{hy}$"):
            assert texts.count(name) == steps                  # the same matrices at every step
        assert "$h_0$" in texts and f"$h_{{{steps}}}$" in texts
        assert len([c for c in ax.get_children() if type(c).__name__ == "Annotation"]) \
            == 3 * steps
        assert ax.get_title() == "unrolled"
    with pytest.raises(ValueError, match="one label per step"):
        unrolled_rnn(3, inputs="ab")
    with pytest.raises(ValueError, match="1 … 12"):
        unrolled_rnn(0)
    with pytest.raises(TypeError, match="steps must be an int"):
        unrolled_rnn(2.0)


def test_matrix_powers_draws_the_norms_and_rho_j():
    from lmkit.plot import matrix_powers
    ax = matrix_powers(0.9, 0.2, steps=50)
    drawn = list(ax.get_lines())
    assert len(drawn) == 2 and len(drawn[0].get_xdata()) == 51
    assert drawn[1].get_ydata()[10] == pytest.approx(0.9 ** 10)
    assert ax.get_yscale() == "log" and ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert max(drawn[0].get_ydata()) > 10                     # the non-normal hump


def test_matrix_powers_of_rho_zero_does_not_break_the_log_axis():
    from lmkit.plot import matrix_powers
    ax = matrix_powers(0.0, 0.0, steps=5)
    assert all(v > 0 for v in ax.get_lines()[0].get_ydata())


def test_clipping_reports_the_share_of_clipped_steps():
    from lmkit.plot import clipping
    ax = clipping([0.5, 0.6, 0.7, 2.0, 4.0], 1.0)
    assert ax.get_title().startswith("40% of steps clipped")
    assert "0.38" in ax.get_title()                           # (1/2 + 1/4) / 2
    assert ax.get_xscale() == "log" and ax.get_xlabel() and ax.get_ylabel()
    assert clipping([0.5], 1.0).get_title().startswith("0% of steps clipped")


@pytest.mark.parametrize(("norms", "clip", "exc"), [
    ([], 1.0, ValueError), ([1.0, float("nan")], 1.0, ValueError), ([1.0, 0.0], 1.0, ValueError),
    ([1.0], 0.0, ValueError), ([1.0], "1", TypeError)])
def test_clipping_rejects_bad_input(norms, clip, exc):
    from lmkit.plot import clipping
    with pytest.raises(exc):
        clipping(norms, clip)


def test_heatmap_draws_cells_text_labels_and_colour_bar():
    import torch
    ax = plot.heatmap(torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]),
                      row_labels=["a", "b"], col_labels=["x", "y", "z"],
                      text=[["1", "2", "3"], ["4", "5", ""]], colorbar="share",
                      xlabel="predicted", ylabel="true", title="t")
    image = ax.get_images()[0]
    assert image.get_array().shape == (2, 3)
    assert [t.get_text() for t in ax.texts] == ["1", "2", "3", "4", "5", ""]
    assert ax.texts[5].get_color() == "white" and ax.texts[0].get_color() == "black"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert ax.get_xlabel() == "predicted" and len(ax.figure.axes) == 2  # the colour bar
    plt.close("all")


@pytest.mark.parametrize("kwargs, message", [
    ({"values": [[1.0, 2.0], [3.0]]}, "2-D matrix"),
    ({"values": [1.0, 2.0]}, "2-D matrix"),
    ({"values": [[1.0, 2.0]], "row_labels": ["a", "b"]}, "row_labels has 2 labels for 1 rows"),
    ({"values": [[1.0, 2.0]], "text": [["a"]]}, "text must have the shape"),
])
def test_heatmap_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot.heatmap(**kwargs)


def test_seed_spread_draws_one_dot_per_seed_and_the_mean():
    ax = plot.seed_spread({"last": [0.6, 0.7], "mean": [0.7, 0.72, 0.74]},
                          reference={"bag of words": 0.75})
    from matplotlib.collections import PathCollection
    dots = [len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)]
    assert dots == [2, 3]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["last", "mean"]
    assert ax.get_legend().get_texts()[0].get_text() == "bag of words"
    means = [bar.lines[0].get_ydata()[0] for bar in ax.containers]
    assert means == pytest.approx([0.65, 0.72])
    with pytest.raises(ValueError, match="at least one result"):
        plot.seed_spread({"last": []})
    plt.close("all")


def test_by_length_draws_one_line_per_curve():
    ax = plot.by_length({"a": {1: 0.9, 2: 0.5, 3: 0.1}, "b": {1: 1.0, 3: 1.0}}, ylim=(0, 1))
    lines = ax.get_lines()
    assert [list(line.get_xdata()) for line in lines] == [[1, 2, 3], [1, 3]]
    assert list(lines[0].get_ydata()) == [0.9, 0.5, 0.1] and ax.get_ylim() == (0, 1)
    ax = plot.by_length({"bleu": {"2-4": 30.0, "5": 20.0, "8-9": 5.0}})
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2-4", "5", "8-9"]
    assert list(ax.get_lines()[0].get_xdata()) == [0, 1, 2]
    plt.close("all")


@pytest.mark.parametrize("curves", [{}, {"a": {}}])
def test_by_length_bad_input(curves):
    with pytest.raises(ValueError, match="at least one"):
        plot.by_length(curves)
