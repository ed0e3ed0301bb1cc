"""What happened during training: :class:`History`, the record :func:`~lmkit.train.fit` returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lmkit._checks import safe_exp

__all__ = ["History"]


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
    def valid_perplexity(self) -> list[float]:
        """``exp(valid_loss)`` per evaluation."""
        return [safe_exp(v) for v in self.valid_loss]

    @property
    def valid_bits(self) -> list[float]:
        """``valid_loss`` in bits per token (bits per character for a character model)."""
        return [v / math.log(2) for v in self.valid_loss]

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
