"""Hidden cases for chapter 8, "What else an RNN does".

A padded batch is ``outputs`` ``(B, T, D)`` (float64) with ``lengths`` ``(B,)``: positions
``lengths[b] …  T - 1`` of sentence ``b`` are padding. In the cases the padding positions hold
values that would change the answer if they were used, as a careless implementation would.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lmkit.exercises import Exercise, close, register

_DT = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _padded(seed: int, lengths: list[int], T: int, D: int,
            pad_value: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random outputs ``(B, T, D)``; padding filled with ``pad_value`` (random if None)."""
    outputs = torch.randn(len(lengths), T, D, generator=_gen(seed), dtype=_DT)
    if pad_value is not None:
        for b, n in enumerate(lengths):
            outputs[b, n:] = pad_value
    return outputs, torch.tensor(lengths)


_CASES = [
    _padded(0, [3], 3, 2),
    _padded(1, [4, 2, 1], 5, 3),
    _padded(2, [1, 6, 6, 2], 6, 4),
    _padded(3, [2, 7], 9, 1, pad_value=0.0),
    _padded(4, [5, 3, 4], 5, 2, pad_value=100.0),
]


def _mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    return torch.arange(T)[None, :] < lengths[:, None]


# ------------------------------------------------------------------ masked mean pooling


def _masked_mean(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    mask = _mask(lengths, outputs.shape[1]).unsqueeze(-1)
    return (outputs * mask).sum(dim=1) / lengths.unsqueeze(-1)


register(Exercise(
    key="ch08.masked_mean",
    reference=_masked_mean,
    cases=_CASES,
    wrong=[
        # the mean over every position, padding included
        lambda o, n: o.mean(dim=1),
        # zeroes the padding but still divides by T
        lambda o, n: (o * _mask(n, o.shape[1]).unsqueeze(-1)).sum(1) / o.shape[1],
        # the sum, not the mean
        lambda o, n: (o * _mask(n, o.shape[1]).unsqueeze(-1)).sum(1),
        # averages the first lengths.min() positions of every sentence
        lambda o, n: o[:, :int(n.min())].mean(dim=1),
    ],
))


# ------------------------------------------------------------------ the state after the last token


def _last_states(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return outputs[torch.arange(outputs.shape[0]), lengths - 1]


register(Exercise(
    key="ch08.last_states",
    reference=_last_states,
    cases=_CASES,
    wrong=[
        # the last position of the padded batch: padding for every shorter sentence
        lambda o, n: o[:, -1],
        # one past the end (clamped so it does not fail on full-length sentences)
        lambda o, n: o[torch.arange(o.shape[0]), n.clamp(max=o.shape[1] - 1)],
        # the first position
        lambda o, n: o[:, 0],
    ],
))


# ------------------------------------------------------------------ the loss over real tokens


def _loss_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    cases = []
    for seed, lengths, T, C in [(0, [3], 3, 4), (1, [4, 1, 2], 4, 5), (2, [6, 2], 7, 3),
                                (3, [1, 5, 5, 3], 5, 17)]:
        g = _gen(10 + seed)
        logits = torch.randn(len(lengths), T, C, generator=g, dtype=_DT)
        # Padding positions hold real tag ids (0), as a batch padded with 0 would.
        targets = torch.randint(0, C, (len(lengths), T), generator=g)
        targets[~_mask(torch.tensor(lengths), T)] = 0
        cases.append((logits, targets, torch.tensor(lengths)))
    return cases


def _masked_loss(logits: torch.Tensor, targets: torch.Tensor,
                 lengths: torch.Tensor) -> torch.Tensor:
    mask = _mask(lengths, targets.shape[1])
    return F.cross_entropy(logits[mask], targets[mask])


def _per_sentence_means(logits: torch.Tensor, targets: torch.Tensor,
                        lengths: torch.Tensor) -> torch.Tensor:
    losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, T)
    mask = _mask(lengths, targets.shape[1])
    return ((losses * mask).sum(1) / lengths).mean()


register(Exercise(
    key="ch08.masked_loss",
    reference=_masked_loss,
    cases=_loss_cases(),
    wrong=[
        # scores the padding positions as if they were tokens tagged 0
        lambda lg, y, n: F.cross_entropy(lg.transpose(1, 2), y),
        # the mean of per-sentence means: a short sentence's tokens weigh more
        _per_sentence_means,
        # sums over real tokens and divides by the number of sentences
        lambda lg, y, n: F.cross_entropy(lg[_mask(n, y.shape[1])], y[_mask(n, y.shape[1])],
                                         reduction="sum") / y.shape[0],
    ],
))


# ------------------------------------------------------------------ a case that breaks max pooling


def _max_pool_trap() -> tuple[torch.Tensor, torch.Tensor]:
    outputs = torch.tensor([[[-0.5, -0.2], [-0.3, -0.9], [0.0, 0.0]]], dtype=_DT)
    return outputs, torch.tensor([2])


def _is_trap(got: object, expected: object) -> bool:
    """A padded batch as an encoder returns it (zeros at padding, values in (-1, 1)) whose max
    over all positions differs from the max over the real positions."""
    if not isinstance(got, tuple) or len(got) != 2:
        return False
    outputs, lengths = got
    if not (isinstance(outputs, torch.Tensor) and isinstance(lengths, torch.Tensor)) \
            or not outputs.is_floating_point() or outputs.dim() != 3 or lengths.dim() != 1 \
            or lengths.is_floating_point() or lengths.shape[0] != outputs.shape[0] \
            or lengths.numel() == 0:
        return False
    T = outputs.shape[1]
    if int(lengths.min()) < 1 or int(lengths.max()) > T:
        return False
    mask = _mask(lengths, T)
    padding = outputs[~mask]
    if (padding.numel() and padding.abs().max() != 0) or outputs.abs().max() >= 1:
        return False
    masked = outputs.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(dim=1).values
    return not close(outputs.max(dim=1).values, masked)


register(Exercise(
    key="ch08.max_pool_trap",
    reference=_max_pool_trap,
    cases=[()],
    compare=_is_trap,
    wrong=[
        # no padding at all: nothing can go wrong
        lambda: (torch.tensor([[[-0.5], [-0.2]]], dtype=_DT), torch.tensor([2])),
        # padding, but a positive real value already beats the zeros
        lambda: (torch.tensor([[[0.5], [-0.2], [0.0]]], dtype=_DT), torch.tensor([2])),
        # padding that is not zero: not what a packed encoder returns
        lambda: (torch.tensor([[[-0.5], [-0.2], [0.3]]], dtype=_DT), torch.tensor([2])),
        # values no tanh or LSTM output can take
        lambda: (torch.tensor([[[-5.0], [-2.0], [0.0]]], dtype=_DT), torch.tensor([2])),
    ],
))
