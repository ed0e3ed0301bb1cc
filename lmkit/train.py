"""The book's one training loop, :func:`fit`, and :func:`evaluate`.

Every neural chapter trains with the same function, so a reader learns it once::

    from lmkit.train import fit
    history = fit(model, train_batches, valid_batches, epochs=2, lr=1e-3, clip=1.0)
    history.valid_perplexity[-1]

**Models.** A model maps a batch's inputs to next-token logits, ``model(x) -> logits`` with
``x`` of shape ``(B, k)`` or ``(B, T)`` and logits ``(B, |V|)`` or ``(B, T, |V|)`` (batch-first).
A *recurrent* model also takes and returns its hidden state: ``model(x) -> (logits, state)``
for a fresh start and ``model(x, state) -> (logits, state)`` to continue; ``state`` is a tensor
or a tuple of tensors (an LSTM's ``(h, c)``).

**Truncated BPTT.** When the batches are sequential (``train.sequential`` is ``True``, as for
:class:`lmkit.batching.StreamBatches` with ``partition="sequential"``), :func:`fit` passes the
state a batch ended with into the next batch, *detached* from the graph: the forward pass keeps
the history the state summarises, the backward pass stops at the batch boundary. The state is
reset (``None``) at the start of every epoch and for non-sequential batches.

**Batches** are ``(inputs, targets)`` pairs; ``inputs`` may be a tuple, which is unpacked into
the model's arguments. Any re-iterable works (a list, :class:`lmkit.batching.Batches`, a
``DataLoader``); one pass over it is one epoch.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

__all__ = ["History", "detach_state", "evaluate", "fit", "lm_loss"]

IGNORE_INDEX = -100  #: targets with this value are not scored (padding), as in F.cross_entropy


@dataclass
class History:
    """What happened during :func:`fit`: one entry per training step and one per evaluation.

    Attributes:
        train_loss: mean cross-entropy (nats per token) of each step's batch.
        grad_norm: the gradients' global 2-norm at each step, *before* clipping.
        lr: the learning rate used at each step.
        seconds: wall-clock seconds since the start of :func:`fit` at the end of each step.
        eval_step: the number of steps done when each validation ran.
        valid_loss: mean validation cross-entropy (nats per token) at each evaluation.
        steps_per_epoch: batches per epoch (``None`` if the batches have no length).
        num_tokens: target tokens trained on.
        train_seconds: seconds spent in training steps (evaluations excluded).
        stop_reason: ``"epochs"``, ``"max_steps"``, ``"time_budget"``, ``"diverged"`` or
            ``"interrupted"`` (Ctrl-C / the notebook's stop button).
        message: a sentence saying why training stopped.
    """

    train_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    steps_per_epoch: int | None = None
    num_tokens: int = 0
    train_seconds: float = 0.0
    stop_reason: str = ""
    message: str = ""

    @property
    def steps(self) -> int:
        """Training steps taken."""
        return len(self.train_loss)

    @property
    def diverged(self) -> bool:
        return self.stop_reason == "diverged"

    @property
    def train_perplexity(self) -> list[float]:
        """``exp(train_loss)`` per step (``inf`` where it overflows)."""
        return [_exp(v) for v in self.train_loss]

    @property
    def valid_perplexity(self) -> list[float]:
        """``exp(valid_loss)`` per evaluation."""
        return [_exp(v) for v in self.valid_loss]

    @property
    def tokens_per_second(self) -> float:
        """Training throughput (target tokens per second of training, evaluations excluded)."""
        return self.num_tokens / self.train_seconds if self.train_seconds > 0 else 0.0

    def __repr__(self) -> str:
        parts = [f"{self.steps} steps", f"{self.num_tokens:,} tokens",
                 f"{self.seconds[-1] if self.seconds else 0.0:.1f} s",
                 f"{self.tokens_per_second:,.0f} tokens/s"]
        if self.train_loss:
            parts.append(f"last train loss {self.train_loss[-1]:.4g}")
        if self.valid_loss:
            parts.append(f"valid perplexity {self.valid_perplexity[-1]:.4g}")
        return f"History({', '.join(parts)}, stopped: {self.stop_reason or 'not run'})"


def _exp(x: float) -> float:
    return math.inf if x > 709 else math.exp(x)


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy in nats: the default loss of :func:`fit`.

    Args:
        logits: ``(B, |V|)`` or ``(B, T, |V|)`` unnormalised scores.
        targets: ``(B,)`` or ``(B, T)`` integer ids; positions equal to ``-100`` are ignored.

    Returns:
        A scalar: the average of ``-log softmax(logits)[target]`` over the scored positions.
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"the model must return floating-point logits, got "
                        f"{getattr(logits, 'dtype', type(logits).__name__)}")
    if not isinstance(targets, torch.Tensor) or targets.is_floating_point() \
            or targets.dtype == torch.bool:
        raise TypeError(f"targets must be integer token ids (torch.long), got "
                        f"{getattr(targets, 'dtype', type(targets).__name__)}")
    if logits.shape[:-1] != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} do not match targets "
                         f"{tuple(targets.shape)}: expected logits of shape "
                         f"{(*targets.shape, '|V|')}")
    vocab_size = logits.shape[-1]
    scored = targets[targets != IGNORE_INDEX]
    if scored.numel() and (int(scored.max()) >= vocab_size or int(scored.min()) < 0):
        bad = int(scored.max()) if int(scored.max()) >= vocab_size else int(scored.min())
        raise ValueError(f"a target id is {bad} but the model's output has only {vocab_size} "
                         f"logits (ids 0 … {vocab_size - 1}): the data and the model use "
                         f"different vocabularies; build the model with vocab_size=len(vocab)")
    return F.cross_entropy(logits.reshape(-1, vocab_size), targets.reshape(-1),
                           ignore_index=IGNORE_INDEX)


def detach_state(state: Any) -> Any:
    """Cut a recurrent state from the graph: a tensor, or a tuple/list/dict of them, or ``None``.

    The values are kept (the next batch continues from them); gradients will no longer flow
    back into the batch that produced them. This is the *truncation* of truncated BPTT.
    """
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    raise TypeError(f"a recurrent state must be a tensor or a tuple/list/dict of tensors, got "
                    f"{type(state).__name__}")


def _to(x: Any, device: torch.device) -> Any:
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, (tuple, list)):
        return type(x)(_to(v, device) for v in x)
    return x


def _unpack(batch: Any, i: int) -> tuple[Any, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"batch {i} must be an (inputs, targets) pair, got "
                        f"{type(batch).__name__}"
                        f"{f' of length {len(batch)}' if isinstance(batch, (tuple, list)) else ''}")
    return batch[0], batch[1]


def _forward(model: nn.Module, inputs: Any, state: Any) -> tuple[torch.Tensor, Any]:
    """Call the model; return ``(logits, state)``, ``state=None`` for a feed-forward model."""
    args = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    out = model(*args) if state is None else model(*args, state)
    if isinstance(out, tuple):
        if len(out) != 2:
            raise TypeError(f"a recurrent model must return (logits, state), got a tuple of "
                            f"{len(out)} items")
        return out[0], out[1]
    return out, None


def _count(targets: torch.Tensor) -> int:
    return int((targets != IGNORE_INDEX).sum())


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable[Any],
             loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
             carry_state: bool | None = None) -> float:
    """Mean loss per target token over all ``batches`` (nats; ``math.exp`` of it is perplexity).

    Batches are weighted by their number of scored tokens, so the result is the cross-entropy
    of the whole set, not an average of batch averages. Runs without gradients and in
    evaluation mode (the model's mode is restored afterwards). A recurrent model's state is
    carried across sequential batches (``carry_state`` defaults to ``batches.sequential``).
    """
    loss_fn = lm_loss if loss_fn is None else loss_fn
    carry = bool(getattr(batches, "sequential", False)) if carry_state is None else carry_state
    device = _device(model)
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    try:
        for i, batch in enumerate(batches):
            x, y = _unpack(batch, i)
            x, y = _to(x, device), _to(y, device)
            logits, new_state = _forward(model, x, state if carry else None)
            n = _count(y)
            total += float(loss_fn(logits, y)) * n
            count += n
            state = new_state if carry else None
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("the evaluation batches are empty (no scored target tokens)")
    return total / count


def _device(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _check_budget(value: object, name: str, kind: type) -> None:
    if value is None:
        return
    ok = isinstance(value, int) and not isinstance(value, bool) if kind is int else (
        isinstance(value, (int, float)) and not isinstance(value, bool))
    if not ok:
        raise TypeError(f"{name} must be {'an int' if kind is int else 'a number'} or None, got "
                        f"{type(value).__name__} ({value!r})")
    if not value > 0 or (kind is float and not math.isfinite(value)):
        raise ValueError(f"{name} must be > 0, got {value}")


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
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    carry_state: bool | None = None,
    diverge_factor: float | None = 4.0,
    seed: int | None = 0,
    progress: bool = True,
) -> History:
    """Train ``model`` on ``train`` in place and return the :class:`History` of the run.

    Each step: forward (carrying a recurrent state if the batches are sequential), loss,
    backward, record the gradient norm and clip it to ``clip``, optimizer step, schedule step.
    Training stops at the first budget reached (``epochs``, ``max_steps``, ``time_budget``; with
    none given, one epoch), on a diverging loss, or on Ctrl-C — always returning the history.

    Args:
        model: a batch-first ``nn.Module`` (see the module docstring for recurrent models).
        train: re-iterable ``(inputs, targets)`` batches; one pass is one epoch.
        valid: batches for validation, or ``None``. Evaluated with :func:`evaluate` at the end
            of every epoch (or every ``eval_every`` steps) and when training stops.
        epochs: passes over ``train``.
        max_steps: optimizer steps.
        time_budget: seconds of wall-clock time (evaluations included), checked after every
            step; the final evaluation comes on top. Which step it stops at depends on the
            machine, so use ``epochs``/``max_steps`` where numbers must reproduce exactly.
        optimizer: a ready ``torch.optim`` optimizer over the model's parameters; default
            ``Adam(model.parameters(), lr=lr)``.
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
            step's loss (``None``: only NaN/inf). The history is returned with
            ``stop_reason="diverged"`` and a warning says what to change.
        seed: seed torch's generator at the start (shuffling, random partitions, dropout), so
            that the same model, data and seed give the same history; ``None`` leaves it alone.
            Seed *before* building the model too (``lmkit.set_seed``), for the same weights.
        progress: show a tqdm progress bar with the running loss.

    Returns:
        The :class:`History`; the model itself is trained in place (and left in the train/eval
        mode it was in).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (requires_grad=True)")
    if isinstance(train, torch.Tensor) or not isinstance(train, Iterable):
        raise TypeError(f"train must be a re-iterable of (inputs, targets) batches such as "
                        f"lmkit.batching.Batches, got {type(train).__name__}")
    if isinstance(train, Iterator):
        raise TypeError("train is an iterator, which would be used up after one epoch; pass "
                        "a re-iterable (a list, lmkit.batching.Batches, a DataLoader)")
    _check_budget(epochs, "epochs", int)
    _check_budget(max_steps, "max_steps", int)
    _check_budget(time_budget, "time_budget", float)
    _check_budget(eval_every, "eval_every", int)
    if clip is not None:
        _check_budget(clip, "clip", float)
    if diverge_factor is not None and not (isinstance(diverge_factor, (int, float))
                                           and diverge_factor > 1):
        raise ValueError(f"diverge_factor must be a number > 1 or None, got {diverge_factor!r}")
    if optimizer is not None and lr is not None:
        raise ValueError("give lr or optimizer, not both: with your own optimizer set the "
                         "learning rate in it, e.g. torch.optim.SGD(model.parameters(), lr=1.0)")
    if lr is not None:
        _check_budget(lr, "lr", float)
    if epochs is None and max_steps is None and time_budget is None:
        epochs = 1
    try:
        steps_per_epoch: int | None = len(train)  # type: ignore[arg-type]
    except TypeError:
        steps_per_epoch = None
    if steps_per_epoch == 0:
        raise ValueError("train has no batches: there is nothing to train on")
    total_steps = None
    if epochs is not None and steps_per_epoch is not None:
        total_steps = epochs * steps_per_epoch
    if max_steps is not None:
        total_steps = max_steps if total_steps is None else min(total_steps, max_steps)

    if seed is not None:
        torch.manual_seed(seed)
    if optimizer is None:
        optimizer = torch.optim.Adam(params, lr=1e-3 if lr is None else lr)
    scheduler = _make_scheduler(schedule, optimizer, total_steps)
    loss_fn = lm_loss if loss_fn is None else loss_fn
    carry = bool(getattr(train, "sequential", False)) if carry_state is None else carry_state
    device = _device(model)
    history = History(steps_per_epoch=steps_per_epoch)
    was_training = model.training
    bar = tqdm(total=total_steps, disable=not progress, unit="step", dynamic_ncols=True)
    start = time.perf_counter()
    eval_time = 0.0
    step, stop, smooth = 0, "", None

    def validate() -> None:
        nonlocal eval_time
        if valid is None or (history.eval_step and history.eval_step[-1] == step):
            return
        t0 = time.perf_counter()
        history.valid_loss.append(evaluate(model, valid, loss_fn))
        history.eval_step.append(step)
        eval_time += time.perf_counter() - t0
        bar.set_postfix(loss=f"{smooth or math.nan:.3f}",
                        valid_ppl=f"{history.valid_perplexity[-1]:.1f}")

    try:
        for epoch in itertools.count():
            if epochs is not None and epoch >= epochs:
                stop = "epochs"
                break
            model.train()
            state, n_batches = None, 0
            for i, batch in enumerate(train):
                n_batches += 1
                x, y = _unpack(batch, i)
                x, y = _to(x, device), _to(y, device)
                logits, state = _forward(model, x, state if carry else None)
                loss = loss_fn(logits, y)
                value = loss.item()
                limit = (diverge_factor * history.train_loss[0]
                         if diverge_factor is not None and history.train_loss else math.inf)
                if not math.isfinite(value) or value > limit:
                    stop = "diverged"
                    history.message = _diverged_message(step, value, limit, optimizer, clip)
                    break
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                norm = float(torch.nn.utils.clip_grad_norm_(
                    params, math.inf if clip is None else clip))
                if not math.isfinite(norm):
                    stop = "diverged"
                    history.message = _diverged_message(step, norm, math.inf, optimizer, clip,
                                                        what="gradient norm")
                    break
                history.lr.append(optimizer.param_groups[0]["lr"])
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                state = detach_state(state) if carry else None  # truncate BPTT here
                step += 1
                history.num_tokens += _count(y)
                history.train_loss.append(value)
                history.grad_norm.append(norm)
                history.seconds.append(time.perf_counter() - start)
                smooth = value if smooth is None else 0.95 * smooth + 0.05 * value
                bar.set_postfix(loss=f"{smooth:.3f}", refresh=False)
                bar.update(1)
                if eval_every is not None and step % eval_every == 0:
                    validate()
                    model.train()
                if max_steps is not None and step >= max_steps:
                    stop = "max_steps"
                elif time_budget is not None and time.perf_counter() - start >= time_budget:
                    stop = "time_budget"
                if stop:
                    break
            if n_batches == 0:
                raise ValueError("train yielded no batches: there is nothing to train on")
            if stop:
                break
            if eval_every is None:
                validate()
    except KeyboardInterrupt:
        stop = "interrupted"
    finally:
        history.train_seconds = (time.perf_counter() - start) - eval_time
        bar.close()
    history.stop_reason = stop
    if stop == "diverged":
        warnings.warn(history.message, RuntimeWarning, stacklevel=2)
    else:
        if stop != "interrupted":
            validate()
        history.message = _stop_message(history, epochs, max_steps, time_budget)
    model.train(was_training)
    return history


def _diverged_message(step: int, value: float, limit: float, optimizer: torch.optim.Optimizer,
                      clip: float | None, what: str = "training loss") -> str:
    why = (f"was {value}" if not math.isfinite(value)
           else f"jumped to {value:.4g}, more than {limit:.4g} (diverge_factor × the first loss)")
    lr = optimizer.param_groups[0]["lr"]
    fix = f"lower the learning rate (it is {lr:g})"
    fix += (" or clip the gradients (clip=1.0)" if clip is None
            else f" or clip harder (clip={clip:g})")
    return (f"Training diverged at step {step + 1}: the {what} {why}. Stopped and returned the "
            f"history so far; the model's weights may already be broken, so build it anew, then "
            f"{fix}.")


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
