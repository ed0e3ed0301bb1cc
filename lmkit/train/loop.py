"""The book's one training loop, :func:`fit`: :func:`~lmkit.train.step.train_step` in a loop."""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from lmkit._checks import check_bool, check_int, check_number, check_seed
from lmkit.train.history import History
from lmkit.train.step import (
    LossFn,
    StepResult,
    _check_model,
    _check_optimizer,
    _trainable,
    mean_loss,
    train_step,
)

__all__ = ["fit"]


def fit(
    model: nn.Module,
    train: Iterable[Any],
    valid: Iterable[Any] | None = None,
    *,
    epochs: int | None = None,
    max_steps: int | None = None,
    time_budget: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float | None = None,
    schedule: str | Callable[[int], float] | Any = None,
    clip: float | None = 1.0,
    eval_every: int | None = None,
    loss_fn: LossFn | None = None,
    carry_state: bool | None = None,
    diverge_factor: float | None = 4.0,
    seed: int | None = 0,
    progress: bool = True,
) -> History:
    """Train ``model`` on ``train`` in place and return the :class:`History` of the run.

    Each step is one :func:`train_step` (forward, carrying a recurrent state if the batches are
    sequential; loss; backward; record the gradient norm and clip it to ``clip``; optimizer
    step), then the schedule's step. Training stops at the first budget reached (``epochs``,
    ``max_steps``, ``time_budget``; with none given, one epoch), on a diverging loss, or on
    Ctrl-C — always returning the history.

    Args:
        model: a batch-first ``nn.Module`` (see the module docstring for recurrent models).
        train: re-iterable ``(inputs, targets)`` batches; one pass is one epoch.
        valid: batches for validation, or ``None``. Evaluated with :func:`mean_loss` at the end
            of every epoch (or every ``eval_every`` steps) and when training stops.
        epochs: passes over ``train``.
        max_steps: optimizer steps.
        time_budget: seconds of wall-clock time (evaluations included), checked after every
            step; the final evaluation comes on top. Which step it stops at depends on the
            machine, so use ``epochs``/``max_steps`` where numbers must reproduce exactly.
        optimizer: a ready ``torch.optim`` optimizer over the model's parameters; default
            ``Adam(model.parameters(), lr=lr)`` (fused, where torch supports it).
        lr: learning rate of the default optimizer (default ``1e-3``); with your own optimizer
            set it there instead.
        schedule: learning-rate schedule per step: ``None`` (constant), ``"cosine"`` (from ``lr``
            down to ``lr/10`` over the step budget), a function ``step -> factor`` (multiplies
            ``lr``), or a torch ``LRScheduler`` built on ``optimizer`` (stepped every step).
        clip: clip the gradients' global 2-norm to this value; ``None`` only records the norm.
        eval_every: validate every this many steps instead of at the end of each epoch.
        loss_fn: ``loss_fn(logits, targets) -> mean loss per token``; default :func:`lm_loss`.
        carry_state: carry a recurrent state across batches; default ``train.sequential``.
        diverge_factor: stop when the loss is NaN/inf or exceeds this many times the first
            step's loss, or the gradient norm is NaN/inf (``None``: only NaN/inf). The history
            is returned with ``stop_reason="diverged"`` and a warning says what to change.
        seed: seed torch's generator at the start (shuffling, random partitions, dropout), so
            that the same model, data and seed give the same history; ``None`` leaves it alone.
            Seed *before* building the model too (``lmkit.set_seed``), for the same weights.
        progress: show a tqdm progress bar with the running loss.

    Returns:
        The :class:`History`; the model itself is trained in place (and left in the train/eval
        mode it was in).
    """
    epochs, steps_per_epoch, total_steps = _check_fit(
        model, train, valid, epochs=epochs, max_steps=max_steps, time_budget=time_budget,
        optimizer=optimizer, lr=lr, clip=clip, eval_every=eval_every, loss_fn=loss_fn,
        carry_state=carry_state, diverge_factor=diverge_factor, seed=seed, progress=progress)
    if seed is not None:
        torch.manual_seed(seed)
    if optimizer is None:
        optimizer = _adam(_trainable(model), 1e-3 if lr is None else lr)
    scheduler = _make_scheduler(schedule, optimizer, total_steps)
    carry = bool(getattr(train, "sequential", False)) if carry_state is None else carry_state
    run = _Run(model, valid, loss_fn, History(steps_per_epoch=steps_per_epoch), total_steps,
               diverge_factor, progress)
    was_training, stop = model.training, ""
    try:
        for _ in itertools.count() if epochs is None else range(epochs):
            model.train()
            state, batch = None, None
            for batch in train:
                limit = run.max_loss()
                step = train_step(model, batch, optimizer, state=state, clip=clip,
                                  loss_fn=loss_fn, max_loss=limit)
                if not step.updated:
                    stop = "diverged"
                    run.history.message = _diverged_message(run, step, limit, optimizer, clip)
                    break
                run.record(step, lr=optimizer.param_groups[0]["lr"])
                if scheduler is not None:
                    scheduler.step()
                state = step.state if carry else None  # detached: truncated BPTT
                if eval_every is not None and run.history.steps % eval_every == 0:
                    run.validate()
                    model.train()
                stop = run.out_of_budget(max_steps, time_budget)
                if stop:
                    break
            if batch is None:
                raise ValueError("train yielded no batches: there is nothing to train on")
            if stop:
                break
            if eval_every is None:
                run.validate()
        stop = stop or "epochs"
    except KeyboardInterrupt:
        stop = "interrupted"
    finally:
        run.close()
    history = run.history
    history.stop_reason = stop
    if stop == "diverged":
        warnings.warn(history.message, RuntimeWarning, stacklevel=2)
    else:
        if stop != "interrupted":
            run.validate()
        history.message = _stop_message(history, epochs, max_steps, time_budget)
    model.train(was_training)
    return history


def _adam(params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam, fused into one kernel per step where this torch supports it (2.4 and later on a
    CPU): the same update, up to rounding, and several times faster for a large embedding."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # an older torch, or unsupported tensors
        return torch.optim.Adam(params, lr=lr)


class _Run:
    """The bookkeeping of one :func:`fit` call: its history, clock, progress bar, validation."""

    def __init__(self, model: nn.Module, valid: Iterable[Any] | None, loss_fn: LossFn | None,
                 history: History, total_steps: int | None, diverge_factor: float | None,
                 progress: bool) -> None:
        self.model, self.valid, self.loss_fn, self.history = model, valid, loss_fn, history
        self.diverge_factor = diverge_factor
        self.bar = tqdm(total=total_steps, disable=not progress, unit="step", dynamic_ncols=True)
        self.start = time.perf_counter()
        self.eval_seconds = 0.0
        self.smooth: float | None = None  # running average of the loss, for the progress bar

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def max_loss(self) -> float:
        """The loss above which training has diverged: ``diverge_factor`` × the first loss."""
        if self.diverge_factor is None or not self.history.train_loss:
            return math.inf
        return self.diverge_factor * self.history.train_loss[0]

    def record(self, step: StepResult, lr: float) -> None:
        history = self.history
        history.train_loss.append(step.loss)
        history.grad_norm.append(step.grad_norm)
        history.lr.append(lr)
        history.num_tokens += step.tokens
        history.seconds.append(self.elapsed())
        self.smooth = step.loss if self.smooth is None else 0.95 * self.smooth + 0.05 * step.loss
        self.bar.set_postfix(loss=f"{self.smooth:.3f}", refresh=False)
        self.bar.update(1)

    def validate(self) -> None:
        """Evaluate on ``valid`` unless there is none or it was just done at this step."""
        history = self.history
        if self.valid is None or (history.eval_step and history.eval_step[-1] == history.steps):
            return
        t0 = time.perf_counter()
        history.valid_loss.append(mean_loss(self.model, self.valid, loss_fn=self.loss_fn))
        history.eval_step.append(history.steps)
        self.eval_seconds += time.perf_counter() - t0
        self.bar.set_postfix(loss=f"{self.smooth or math.nan:.3f}",
                             valid_ppl=f"{history.valid_perplexity[-1]:.1f}")

    def out_of_budget(self, max_steps: int | None, time_budget: float | None) -> str:
        """``"max_steps"`` or ``"time_budget"`` if that budget is used up, else ``""``."""
        if max_steps is not None and self.history.steps >= max_steps:
            return "max_steps"
        if time_budget is not None and self.elapsed() >= time_budget:
            return "time_budget"
        return ""

    def close(self) -> None:
        self.history.train_seconds = self.elapsed() - self.eval_seconds
        self.bar.close()


# ------------------------------------------------------------------------------------------------
# Checks, schedules and messages

def _check_batches(batches: object, name: str) -> None:
    """``batches`` must be a re-iterable of ``(inputs, targets)`` that is not known to be empty."""
    if isinstance(batches, torch.Tensor) or not isinstance(batches, Iterable):
        raise TypeError(f"{name} must be a re-iterable of (inputs, targets) batches such as "
                        f"lmkit.batching.Batches, got {type(batches).__name__}")
    if isinstance(batches, Iterator):
        raise TypeError(f"{name} is an iterator, which would be used up after one pass; pass "
                        f"a re-iterable (a list, lmkit.batching.Batches, a DataLoader)")
    try:
        empty = len(batches) == 0  # type: ignore[arg-type]
    except TypeError:
        empty = False
    if empty:
        raise ValueError(f"{name} has no batches: there is nothing to "
                         f"{'train on' if name == 'train' else 'validate on'}")


def _check_fit(model: object, train: object, valid: object, *, epochs: object,
               max_steps: object,
               time_budget: object, optimizer: object, lr: object, clip: object,
               eval_every: object, loss_fn: object, carry_state: object,
               diverge_factor: object, seed: object, progress: object
               ) -> tuple[int | None, int | None, int | None]:
    """Validate :func:`fit`'s arguments; return ``(epochs, steps_per_epoch, total_steps)``.

    ``epochs`` becomes 1 when no budget is given; ``total_steps`` is ``None`` when it is not
    known in advance (only a time budget, or batches without a length).
    """
    _check_model(model)
    if not _trainable(model):
        raise ValueError("the model has no trainable parameters (requires_grad=True)")
    _check_batches(train, "train")
    if valid is not None:
        _check_batches(valid, "valid")
    for name, value, hint in [
            ("epochs", epochs, "e.g. epochs=1, or None for no limit on epochs"),
            ("max_steps", max_steps, "e.g. max_steps=100, or None for no limit on steps"),
            ("eval_every", eval_every, "e.g. eval_every=100, or None to validate once per "
                                       "epoch")]:
        if value is not None:
            check_int(value, name, 1, hint=hint)
    for name, value, hint in [
            ("time_budget", time_budget, "e.g. time_budget=60 (seconds), or None for no limit"),
            ("clip", clip, "e.g. clip=1.0, or None for no clipping"),
            ("lr", lr, "e.g. lr=1e-3")]:
        if value is not None:
            check_number(value, name, low=0, low_open=True, hint=hint)
    if diverge_factor is not None:
        check_number(diverge_factor, "diverge_factor", low=1, low_open=True,
                     hint="e.g. 4.0, or None to stop only on NaN/inf")
    if optimizer is not None and lr is not None:
        raise ValueError("give lr or optimizer, not both: with your own optimizer set the "
                         "learning rate in it, e.g. torch.optim.SGD(model.parameters(), lr=1.0)")
    if optimizer is not None:
        _check_optimizer(optimizer)
        theirs = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if not any(id(p) in theirs for p in _trainable(model)):
            raise ValueError("the optimizer holds none of the model's parameters, so training "
                             "would change nothing; build it on this model: "
                             "torch.optim.SGD(model.parameters(), lr=...)")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function (logits, targets) -> loss, got "
                        f"{type(loss_fn).__name__}")
    if carry_state is not None:
        check_bool(carry_state, "carry_state")
    check_seed(seed)
    check_bool(progress, "progress")

    if epochs is None and max_steps is None and time_budget is None:
        epochs = 1
    try:
        steps_per_epoch: int | None = len(train)  # type: ignore[arg-type]
    except TypeError:
        steps_per_epoch = None
    total_steps = None
    if epochs is not None and steps_per_epoch is not None:
        total_steps = epochs * steps_per_epoch  # type: ignore[operator]
    if max_steps is not None:
        total_steps = max_steps if total_steps is None else min(total_steps, max_steps)
    return epochs, steps_per_epoch, total_steps  # type: ignore[return-value]


def _make_scheduler(schedule: Any, optimizer: torch.optim.Optimizer,
                    total_steps: int | None) -> Any:
    """A per-step LR scheduler for ``schedule`` (None, "cosine", a callable or a scheduler)."""
    if schedule is None or schedule == "constant":
        return None
    if isinstance(schedule, torch.optim.lr_scheduler.LRScheduler):
        if schedule.optimizer is not optimizer:
            raise ValueError("the schedule was built on another optimizer than the one fit "
                             "uses; pass that optimizer too: fit(..., optimizer=opt, "
                             "schedule=torch.optim.lr_scheduler.StepLR(opt, ...))")
        return schedule
    if schedule == "cosine":
        if total_steps is None:
            raise ValueError("schedule='cosine' needs a known number of steps: give epochs= (with "
                             "batches that have a length) or max_steps=")
        def factor(step: int) -> float:  # from 1 down to 0.1 over the budget (as in nanoGPT)
            return 0.1 + 0.45 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if callable(schedule):
        return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    raise ValueError(f"schedule must be None, 'constant', 'cosine', a function step -> lr factor "
                     f"or a torch LRScheduler, got {schedule!r}")


def _diverged_message(run: _Run, step: StepResult, max_loss: float,
                      optimizer: torch.optim.Optimizer, clip: float | None) -> str:
    loss_ok = math.isfinite(step.loss) and step.loss <= max_loss
    what, value = ("gradient norm", step.grad_norm) if loss_ok else ("training loss", step.loss)
    why = (f"was {value}" if not math.isfinite(value)
           else f"jumped to {value:.4g}, more than {max_loss:.4g} (diverge_factor × the first "
                f"loss)")
    lr = optimizer.param_groups[0]["lr"]
    fix = f"lower the learning rate (it is {lr:g})"
    fix += (" or clip the gradients (clip=1.0)" if clip is None
            else f" or clip harder (clip={clip:g})")
    return (f"Training diverged at step {run.history.steps + 1}: the {what} {why}. Stopped and "
            f"returned the history so far; the model's weights may already be broken, so build "
            f"it anew, then {fix}.")


def _stop_message(history: History, epochs: int | None, max_steps: int | None,
                  time_budget: float | None) -> str:
    reason = {"epochs": f"finished {epochs} epoch(s)",
              "max_steps": f"reached max_steps={max_steps}",
              "time_budget": f"reached the time budget of {time_budget:g} s"
              if time_budget is not None else "",
              "interrupted": "interrupted"}[history.stop_reason]
    text = (f"Stopped after {history.steps} steps ({reason}) in "
            f"{history.seconds[-1] if history.seconds else 0.0:.1f} s, "
            f"{history.tokens_per_second:,.0f} tokens/s")
    if history.valid_loss:
        text += f"; validation perplexity {history.valid_perplexity[-1]:.2f}"
    return text + "."
