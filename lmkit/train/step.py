"""One training step (:func:`train_step`), the loss it minimises, the evaluation loss."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from lmkit._checks import check_number, eval_mode

__all__ = ["IGNORE_INDEX", "LossFn", "StepResult", "detach_state", "lm_loss", "mean_loss",
           "train_step"]

IGNORE_INDEX = -100  #: targets with this value are not scored (padding), as in F.cross_entropy

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


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


# ------------------------------------------------------------------------------------------------
# One batch: forward, and one training step

def _is_recurrent(model: nn.Module) -> bool:
    return getattr(model, "recurrent", False) is True


def _forward(model: nn.Module, inputs: Any, state: Any) -> tuple[torch.Tensor, Any]:
    """Call the model; return ``(logits, state)``, ``state=None`` for a non-recurrent model."""
    args = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    name = type(model).__name__
    if _is_recurrent(model):
        out = model(*args, state)
        if not (isinstance(out, tuple) and len(out) == 2):
            got = f"a tuple of {len(out)} items" if isinstance(out, tuple) else \
                type(out).__name__
            raise TypeError(f"{name} declares recurrent = True, so it must return (logits, "
                            f"state), but it returned {got}")
        return out[0], out[1]
    if state is not None:
        raise ValueError(f"a state was given, but {name} is not recurrent: pass state=None, or "
                         f"set recurrent = True on the model class if it carries a state")
    out = model(*args)
    if isinstance(out, tuple):
        raise TypeError(f"{name} returned a tuple of {len(out)} items, but it does not declare "
                        f"itself recurrent: set recurrent = True on the model class if it "
                        f"carries a state (and return (logits, state)), or return only the "
                        f"logits")
    return out, None


def _unpack(batch: Any, name: str = "batch") -> tuple[Any, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        size = f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""
        raise TypeError(f"{name} must be an (inputs, targets) pair, got "
                        f"{type(batch).__name__}{size}")
    return batch[0], batch[1]


def _to(x: Any, device: torch.device) -> Any:
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, (tuple, list)):
        return type(x)(_to(v, device) for v in x)
    return x


def _device(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _count(targets: torch.Tensor) -> int:
    return int((targets != IGNORE_INDEX).sum())


def _trainable(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


class StepResult(NamedTuple):
    """What :func:`train_step` returns.

    Attributes:
        loss: the batch's mean loss (nats per token), computed before the update.
        grad_norm: the gradients' global 2-norm *before* clipping.
        state: the state the batch ended with, detached from the graph (``None`` for a model
            that is not recurrent): pass it as ``state=`` of the next step for truncated BPTT.
        tokens: scored target tokens in the batch.
        updated: ``False`` if the step was refused because the loss or the gradient norm was
            NaN/inf or the loss exceeded ``max_loss`` (the weights are then unchanged).
    """

    loss: float
    grad_norm: float
    state: Any
    tokens: int
    updated: bool


def _check_model(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _check_optimizer(optimizer: object) -> None:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got "
                        f"{type(optimizer).__name__}; e.g. torch.optim.Adam(model.parameters(), "
                        f"lr=1e-3)")


def _check_step(model: object, optimizer: object, clip: object, max_loss: object) -> None:
    _check_model(model)
    _check_optimizer(optimizer)
    if clip is not None:
        check_number(clip, "clip", low=0, low_open=True, hint="or None for no clipping")
    if isinstance(max_loss, bool) or not isinstance(max_loss, (int, float)):
        raise TypeError(f"max_loss must be a number (math.inf for no limit), got "
                        f"{type(max_loss).__name__}")
    if math.isnan(max_loss):
        raise ValueError("max_loss must be a number or math.inf (no limit), got nan")


def train_step(model: nn.Module, batch: Any, optimizer: torch.optim.Optimizer, *,
               state: Any = None, clip: float | None = 1.0, loss_fn: LossFn | None = None,
               max_loss: float = math.inf) -> StepResult:
    """One training step on one ``(inputs, targets)`` batch; the step :func:`fit` repeats.

    Forward (from ``state`` if the model is recurrent), loss, backward, the gradients' global
    norm (recorded) and clipping to ``clip``, ``optimizer.step()``. The weights are updated
    only if the loss and the norm are finite and the loss is at most ``max_loss``: a step never
    writes NaN into the weights. The model's train/eval mode is left as it is (call
    ``model.train()`` first, as :func:`fit` does). The batch is moved to the model's device.

    Args:
        model: a batch-first ``nn.Module`` (``recurrent = True`` if it carries a state).
        batch: ``(inputs, targets)``: inputs ``(B, k)`` or ``(B, T)`` (or a tuple of model
            arguments), targets ``(B,)`` or ``(B, T)`` token ids.
        optimizer: a ``torch.optim`` optimizer over the model's parameters.
        state: the recurrent state to start from (the ``state`` of the previous step's result,
            or ``None`` for zeros).
        clip: clip the gradients' global 2-norm to this value; ``None`` only measures it.
        loss_fn: ``loss_fn(logits, targets) -> mean loss per token``; default :func:`lm_loss`.
        max_loss: refuse the update when the loss is above this (:func:`fit` uses it to stop
            on a diverging loss).

    Returns:
        A :class:`StepResult` ``(loss, grad_norm, state, tokens, updated)``.
    """
    _check_step(model, optimizer, clip, max_loss)
    x, y = _to(_unpack(batch), _device(model))                 # (B, T), (B, T)
    logits, state = _forward(model, x, state)                   # (B, T, |V|)
    loss = (lm_loss if loss_fn is None else loss_fn)(logits, y)  # a scalar, nats per token
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = float(nn.utils.clip_grad_norm_(_trainable(model), math.inf if clip is None else clip))
    value = loss.item()
    updated = math.isfinite(value) and value <= max_loss and math.isfinite(norm)  # not diverged
    if updated:
        optimizer.step()
    return StepResult(value, norm, detach_state(state), _count(y), updated)


@torch.no_grad()
def mean_loss(model: nn.Module, batches: Iterable[Any], *, loss_fn: LossFn | None = None,
              carry_state: bool | None = None) -> float:
    """Mean loss per target token over all ``batches``, in nats (``math.exp`` of it: perplexity).

    Batches are weighted by their number of scored tokens, so the result is the cross-entropy
    of the whole set, not an average of batch averages. Runs without gradients and in
    evaluation mode (the model's mode is restored afterwards). A recurrent model's state is
    carried across sequential batches (``carry_state`` defaults to ``batches.sequential``).
    """
    _check_model(model)
    loss_fn = lm_loss if loss_fn is None else loss_fn
    carry = bool(getattr(batches, "sequential", False)) if carry_state is None else carry_state
    device = _device(model)
    total, count, state = 0.0, 0, None
    with eval_mode(model):
        for i, batch in enumerate(batches):
            x, y = _to(_unpack(batch, f"batch {i}"), device)
            logits, new_state = _forward(model, x, state)
            n = _count(y)
            total += float(loss_fn(logits, y)) * n
            count += n
            state = new_state if carry else None
    if count == 0:
        raise ValueError("the evaluation batches are empty (no scored target tokens)")
    return total / count
