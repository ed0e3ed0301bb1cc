"""Synthetic tasks that isolate one ability of a sequence model.

:class:`RecallTask` measures how far back a recurrent model can carry information, the
long-distance dependency of the lectures' "printer … tickets" sentence made measurable. Each
sequence has ``k`` tokens: a *symbol* (one of ``num_symbols``), ``k - 2`` random *fillers*, and
a *query* token; the model must answer the symbol at the last step, ``k - 1`` recurrent steps
after reading it::

    x = [ s, f, f, …, f, ? ]     (k,)   s: symbol, f: fillers, ?: the query token
    y =   s                      ()     the target of the last step

Token ids: symbols are ``0 … num_symbols - 1``, fillers the next ``num_fillers`` ids, and the
query the last id, so ``vocab_size = num_symbols + num_fillers + 1``. Guessing scores
``1 / num_symbols``.

>>> task = RecallTask(k=5)
>>> x, y = task.batch(2, seed=0)
>>> tuple(x.shape), tuple(y.shape), task.vocab_size
((2, 5), (2,), 17)

A model for the task is any recurrent language model that maps ``(B, k)`` ids to ``(B, k, V)``
logits (and a state), such as ``lmkit.models.RNNLM``; only the last step's logits are scored
(:meth:`RecallTask.loss`), so ``lmkit.train.fit(model, task.batches(...), loss_fn=task.loss)``
trains it. Chapter 6 trains a vanilla RNN on it, chapter 7 an LSTM and a GRU.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lmkit._checks import check_int, check_seed, eval_mode

__all__ = ["RecallTask", "recall_grad_norms"]


@dataclass(frozen=True)
class RecallTask:
    """Recall the symbol read ``k - 1`` steps before the query.

    Attributes:
        k: the sequence length (≥ 2): symbol at step 1, query at step ``k``.
        num_symbols: how many symbols there are to remember (chance is ``1 / num_symbols``).
        num_fillers: how many distinct filler tokens fill the gap.
    """

    k: int
    num_symbols: int = 8
    num_fillers: int = 8

    def __post_init__(self) -> None:
        check_int(self.k, "k", 2, hint="the symbol and the query need two steps")
        check_int(self.num_symbols, "num_symbols", 2)
        check_int(self.num_fillers, "num_fillers", 1)

    @property
    def vocab_size(self) -> int:
        """``num_symbols + num_fillers + 1`` token ids (the last one is the query)."""
        return self.num_symbols + self.num_fillers + 1

    @property
    def chance(self) -> float:
        """The accuracy of guessing: ``1 / num_symbols``."""
        return 1 / self.num_symbols

    def batch(self, batch_size: int, seed: int | None = None, *,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch ``(x, y)``: ids ``x`` of shape ``(B, k)`` and the targets ``y`` ``(B,)``.

        Args:
            batch_size: ``B``, the number of sequences.
            seed: makes the batch reproducible (ignored if ``generator`` is given).
            generator: draw from this ``torch.Generator`` instead (for a stream of batches).
        """
        B = check_int(batch_size, "batch_size")
        if generator is None:
            seed = check_seed(seed)
            generator = torch.Generator()
            if seed is None:
                generator.seed()
            else:
                generator.manual_seed(seed)
        elif not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got "
                            f"{type(generator).__name__}")
        y = torch.randint(self.num_symbols, (B,), generator=generator)
        fill = self.num_symbols + torch.randint(self.num_fillers, (B, self.k - 2),
                                                generator=generator)
        query = torch.full((B, 1), self.vocab_size - 1)
        return torch.cat([y[:, None], fill, query], dim=1), y

    def batches(self, batch_size: int, steps: int, seed: int = 0
                ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``steps`` fresh batches from one seed: the training set of one run (a list)."""
        check_int(steps, "steps")
        g = torch.Generator().manual_seed(check_seed(seed) or 0)
        return [self.batch(batch_size, generator=g) for _ in range(steps)]

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the last step: ``logits`` ``(B, k, V)`` (or ``(B, V)``), ``y`` ``(B,)``.

        Use it as ``loss_fn`` of ``lmkit.train.fit``.
        """
        return F.cross_entropy(_last(logits, self.k), y)

    def accuracy(self, model: nn.Module, n: int = 1000, seed: int = 12345) -> float:
        """The fraction of ``n`` fresh sequences (seeded) whose symbol ``model`` recalls.

        ``model(x)`` must return ``(B, k, V)`` logits or ``(logits, state)``; the argmax of
        the last step's logits is the answer. The model is run in evaluation mode.
        """
        check_int(n, "n")
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch module, got {type(model).__name__}")
        x, y = self.batch(n, seed)
        with torch.no_grad(), eval_mode(model):
            out = model(x)
        logits = out[0] if isinstance(out, tuple) else out
        return (_last(logits, self.k).argmax(-1) == y).float().mean().item()


def _last(logits: Any, k: int) -> torch.Tensor:
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits must be a tensor of shape (B, k, V), got "
                        f"{type(logits).__name__}")
    if logits.dim() == 3:
        if logits.shape[1] != k:
            raise ValueError(f"logits have {logits.shape[1]} steps but the task has k={k}; "
                             f"score the model on this task's sequences")
        return logits[:, -1]
    if logits.dim() == 2:
        return logits
    raise ValueError(f"logits must have shape (B, k, V) or (B, V), got {tuple(logits.shape)}")



def recall_grad_norms(model: nn.Module, task: RecallTask, n: int = 256,
                      seed: int = 54321) -> torch.Tensor:
    """‖∂L/∂h_t‖ for ``t = 1 … k`` on ``n`` seeded sequences, ``L`` the task's loss.

    ``model`` is an ``lmkit.models.RNNLM`` (its ``embed``, ``rnn`` and ``output`` layers are
    used, so any recurrent layer ``hidden_grad_norms`` supports works: RNN, GRU, LSTM).
    Entry ``0`` is the gradient at the state that has just read the symbol, entry ``k - 1``
    the one at the query; their ratio says how much of the error signal gets back. The
    gradients are computed in float64 on a copy of the model (in float32 they underflow to 0
    below about 1e-38, which a vanilla RNN reaches within 100 steps).

    Returns:
        ``(k,)`` tensor: the per-sequence norms averaged over the batch.
    """
    from lmkit.grad import hidden_grad_norms

    if not isinstance(task, RecallTask):
        raise TypeError(f"task must be a RecallTask, got {type(task).__name__}")
    for part in ("embed", "rnn", "output"):
        if not isinstance(getattr(model, part, None), nn.Module):
            raise TypeError(f"model must be an RNNLM (with .embed, .rnn and .output layers), "
                            f"got {type(model).__name__} without .{part}")
    check_int(n, "n")
    x, y = task.batch(n, seed)
    model = copy.deepcopy(model).double()
    with eval_mode(model):
        emb = model.embed(x).detach()                         # (B, k, d)
        return hidden_grad_norms(model.rnn, emb, step=False,
                                 loss=lambda H: task.loss(model.output(H), y))
