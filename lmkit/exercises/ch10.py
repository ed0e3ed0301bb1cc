"""Hidden cases for chapter 10, "Attention".

- ``ch10.masked_softmax``: attention weights over the real source positions only, exactly 0 on
  padding, without overflow (:func:`lmkit.models.attention.masked_softmax`).
- ``ch10.additive_step``: one step of additive attention for one sentence, by hand: the
  ``(context, weights)`` that :class:`lmkit.models.attention.AdditiveAttention` returns.
- ``ch10.beam_step``: one step of beam search as :func:`lmkit.beam.beam_search` takes it:
  rank every extension, finish the ``</s>`` ones among the best, refill the beam.
- ``ch10.crossings``: the reorderings an attention matrix shows: pairs of output tokens whose
  arg-max source positions come in the opposite order.

Every case is float64; padding positions hold values that change the answer if they are used.
"""

from __future__ import annotations

import math

import torch

from lmkit.exercises import Exercise, register

_DT = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ softmax over real positions


def _masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    masked = scores.masked_fill(~mask, -math.inf)
    z = (masked - masked.max(dim=-1, keepdim=True).values).exp()   # exp(-inf) = 0
    return z / z.sum(dim=-1, keepdim=True)


def _mask(rows: list[str]) -> torch.Tensor:
    """``["110", "111"]`` -> a bool tensor (1 = real position)."""
    return torch.tensor([[c == "1" for c in row] for row in rows])


def _softmax_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = _gen(0)
    return [
        # the slides' four scores, nothing masked
        (torch.tensor([1.5, 0.9, 0.3, -0.5], dtype=_DT), torch.ones(4, dtype=torch.bool)),
        # one sentence with padding at the end
        (torch.tensor([0.2, -1.0, 0.7, 0.4, 0.1], dtype=_DT), _mask(["11100"])[0]),
        # a batch (B, S): padding holds large scores, one row has one real position
        (torch.tensor([[0.5, 2.0, 9.0, 9.0], [1.0, -1.0, 0.0, 3.0], [-2.0, 8.0, 8.0, 8.0]],
                      dtype=_DT), _mask(["1100", "1111", "1000"])),
        # scores too large for exp (overflow to inf), and padding that holds the largest
        (torch.tensor([[1000.0, 999.0, -1000.0], [2.0, 1.0, 1000.0]], dtype=_DT),
         _mask(["111", "110"])),
        # scores too small for exp (every term underflows to 0)
        (torch.tensor([[-1000.0, -1001.0, -1003.0], [-1000.0, 0.5, -999.0]], dtype=_DT),
         _mask(["111", "101"])),
        # (B, T, S), as a decoder attending T steps at once
        (torch.randn(2, 3, 5, generator=g, dtype=_DT) * 3,
         _mask(["11111", "11111", "11111"] + ["11000"] * 3).reshape(2, 3, 5)),
    ]


def _naive_softmax(scores, mask):
    z = scores.exp() * mask
    return z / z.sum(dim=-1, keepdim=True)


def _max_over_all(scores, mask):
    """Subtracts the max over every position, padding included: real terms can underflow."""
    z = (scores - scores.max(dim=-1, keepdim=True).values).exp() * mask
    return z / z.sum(dim=-1, keepdim=True)


register(Exercise(
    key="ch10.masked_softmax",
    reference=_masked_softmax,
    cases=_softmax_cases(),
    wrong=[
        # exp without subtracting the max: overflows to inf, then inf / inf = nan
        _naive_softmax,
        # softmax over every position, then padding zeroed: the rest no longer sums to 1
        lambda s, m: s.softmax(dim=-1) * m,
        # padding scored 0 instead of -inf: it still gets weight
        lambda s, m: s.masked_fill(~m, 0.0).softmax(dim=-1),
        # the mask read the wrong way round: weight on padding only
        lambda s, m: _masked_softmax(s, ~m).nan_to_num(),
        # softmax over the first dimension (the batch), not over the source positions
        lambda s, m: s.masked_fill(~m, -math.inf).softmax(dim=0).nan_to_num(),
        _max_over_all,
    ],
))

# ------------------------------------------------------------------ one additive attention step


def _additive_step(s_prev: torch.Tensor, H: torch.Tensor, mask: torch.Tensor,
                   W_q: torch.Tensor, W_k: torch.Tensor, b: torch.Tensor,
                   v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    e = torch.tanh(W_q @ s_prev + H @ W_k.T + b) @ v               # (S,)
    weights = _masked_softmax(e, mask)
    return weights @ H, weights


def _step_case(seed: int, n: int, D: int, a: int, real: str,
               pad_value: float | None = None) -> tuple[torch.Tensor, ...]:
    """``(s_prev, H, mask, W_q, W_k, b, v)``: query size n, key size D, hidden size a, mask
    ``real`` ("1" real, "0" padding); padding rows of H set to ``pad_value`` if given."""
    g = _gen(100 + seed)
    s_prev = torch.randn(n, generator=g, dtype=_DT)
    H = torch.randn(len(real), D, generator=g, dtype=_DT)
    mask = _mask([real])[0]
    if pad_value is not None:
        H[~mask] = pad_value
    W_q, W_k = (torch.randn(a, n, generator=g, dtype=_DT),
                torch.randn(a, D, generator=g, dtype=_DT))
    b, v = torch.randn(a, generator=g, dtype=_DT), torch.randn(a, generator=g, dtype=_DT)
    return s_prev, H, mask, W_q, W_k, b, v


def _no_tanh(s, H, m, Wq, Wk, b, v):
    return _from_scores((Wq @ s + H @ Wk.T + b) @ v, H, m)


def _swapped(s, H, m, Wq, Wk, b, v):
    """W_k applied to the query, W_q to the keys (runs when the sizes agree)."""
    return _from_scores(torch.tanh(Wk @ s + H @ Wq.T + b) @ v, H, m)


def _from_scores(e, H, m):
    weights = _masked_softmax(e, m)
    return weights @ H, weights


def _raw_context(s, H, m, Wq, Wk, b, v):
    """The weights are right, but the context averages with the raw scores."""
    e = torch.tanh(Wq @ s + H @ Wk.T + b) @ v
    return (e * m) @ H, _masked_softmax(e, m)


register(Exercise(
    key="ch10.additive_step",
    reference=_additive_step,
    cases=[_step_case(0, 3, 4, 5, "1111"),
           _step_case(1, 2, 3, 4, "11100", pad_value=10.0),
           _step_case(2, 4, 4, 4, "111110"),         # n = D = a: a swap does not fail loudly
           _step_case(3, 3, 2, 3, "1"),              # one source token: all weight on it
           _step_case(4, 2, 3, 2, "1000", pad_value=-7.0),
           _step_case(5, 5, 5, 3, "110")],
    wrong=[
        _no_tanh,
        _swapped,
        # the mask ignored: padding gets weight
        lambda s, H, m, Wq, Wk, b, v: _additive_step(s, H, torch.ones_like(m), Wq, Wk, b, v),
        _raw_context,
        # the bias left out
        lambda s, H, m, Wq, Wk, b, v: _additive_step(s, H, m, Wq, Wk, torch.zeros_like(b), v),
    ],
))

# ------------------------------------------------------------------ one step of beam search

Beam = list[tuple[list[int], float]]


def _beam_step(prefixes: list[list[int]], totals: list[float], logprobs: torch.Tensor,
               beam_size: int, eos: int) -> tuple[Beam, Beam]:
    V = logprobs.shape[1]
    ranked = sorted(((totals[r] + float(logprobs[r, w]), r, w)
                     for r in range(len(prefixes)) for w in range(V)), reverse=True)
    live: Beam = []
    finished: Beam = []
    for rank, (total, r, w) in enumerate(ranked):
        if len(live) == beam_size:
            break
        if w == eos:
            if rank < beam_size:              # an end among the beam_size best: finished
                finished.append((prefixes[r], total))
        else:
            live.append((prefixes[r] + [w], total))
    return live, finished


def _beam_case(seed: int, prefixes: list[list[int]], totals: list[float], V: int,
               beam_size: int, eos: int, eos_boost: float = 0.0) -> tuple:
    """Random next-token log-probabilities, ``eos`` made ``eos_boost`` nats likelier."""
    logits = torch.randn(len(prefixes), V, generator=_gen(200 + seed), dtype=_DT) * 1.5
    logits[:, eos] += eos_boost
    return prefixes, totals, logits.log_softmax(dim=-1), beam_size, eos


_BEAM_CASES = [
    _beam_case(0, [[]], [0.0], 6, 3, eos=3),          # the first step: one prefix, [] ends
    _beam_case(1, [[4, 2], [3, 3], [2, 5]], [-1.0, -1.3, -2.9], 6, 3, eos=0, eos_boost=2.5),
    _beam_case(2, [[5], [2], [3]], [-0.8, -1.1, -1.7], 5, 3, eos=4, eos_boost=-3.0),
    _beam_case(3, [[1, 2, 3]], [-4.2], 5, 1, eos=2),                 # greedy
    _beam_case(4, [[3], [1]], [-0.3, -2.0], 5, 2, eos=0, eos_boost=1.5),  # an end just out
    _beam_case(5, [[2, 2], [1, 3], [3, 1], [1, 1]], [-2.0, -2.2, -2.3, -3.5], 5, 4, eos=3,
               eos_boost=1.2),
    _beam_case(6, [[6, 1], [4, 4]], [-1.5, -1.6], 7, 2, eos=5, eos_boost=1.0),
]


def _beam_wrong(scores=None, per_prefix: bool = False, eos_live: bool = False,
                every_eos: bool = False, no_refill: bool = False):
    """A variant of :func:`_beam_step`; ``scores(totals, logprobs)`` replaces the sum."""
    def wrong(prefixes, totals, logprobs, beam_size, eos):
        t = torch.tensor(totals, dtype=_DT)[:, None]
        cand = scores(t, logprobs) if scores else t + logprobs
        pairs = [(float(cand[r, w]), r, w) for r in range(len(prefixes))
                 for w in range(cand.shape[1])]
        if per_prefix:        # each prefix's own best, beam_size // k of them (at least one)
            keep = max(1, beam_size // len(prefixes))
            pairs = [p for r in range(len(prefixes))
                     for p in sorted((p for p in pairs if p[1] == r), reverse=True)[:keep]]
        ranked = sorted(pairs, reverse=True)
        live, finished = [], []
        if every_eos:         # every end finished, whatever its rank
            finished = [(prefixes[r], c) for c, r, w in ranked if w == eos]
        for rank, (total, r, w) in enumerate(ranked):
            if len(live) == beam_size or (no_refill and rank == beam_size):
                break
            if w == eos and not eos_live:
                if rank < beam_size and not every_eos:
                    finished.append((prefixes[r], total))
            else:
                live.append((prefixes[r] + [w], total))
        return live, finished
    return wrong


register(Exercise(
    key="ch10.beam_step",
    reference=_beam_step,
    cases=_BEAM_CASES,
    wrong=[
        _beam_wrong(per_prefix=True),
        # log-probabilities multiplied instead of added
        _beam_wrong(scores=lambda t, lp: t * lp),
        # probabilities added instead of log-probabilities
        _beam_wrong(scores=lambda t, lp: t.exp() + lp.exp()),
        _beam_wrong(eos_live=True),
        _beam_wrong(every_eos=True),
        _beam_wrong(no_refill=True),
    ],
))

# ------------------------------------------------------------------ reading an alignment


def _crossings(weights: torch.Tensor) -> list[tuple[int, int]]:
    j = weights.argmax(dim=1).tolist()                             # aligned source positions
    return [(t, u) for t in range(len(j)) for u in range(t + 1, len(j)) if j[t] > j[u]]


def _attention(seed: int, aligned: list[int], S: int) -> torch.Tensor:
    """Softmax rows (T, S) whose arg-max is ``aligned[t]`` in row t, spread like real weights."""
    noise = torch.randn(len(aligned), S, generator=_gen(300 + seed), dtype=_DT) * 0.5
    peak = torch.zeros(len(aligned), S, dtype=_DT)
    peak[torch.arange(len(aligned)), torch.tensor(aligned)] = 2.5
    return (noise + peak).softmax(dim=-1)


_ALIGNMENTS = [
    ([0, 2, 1], 3),                   # une voiture rouge -> a red car
    ([0, 1, 2, 3], 5),                # monotone: no crossing
    ([2, 0, 1], 3),                   # a long-distance move
    ([1, 1, 0], 2),                   # two outputs on one source token: not a crossing
    ([3], 4),                         # one output token
    ([3, 2, 1, 0, 0], 4),             # reversed
    ([0, 2, 2, 1, 0, 1], 3),          # more outputs than source tokens
    ([1, 0, 3, 2, 4, 6, 5], 8),
]


def _wrong_axis(w):
    return _crossings(w.T)


def _ties_cross(w):
    j = w.argmax(dim=1).tolist()
    return [(t, u) for t in range(len(j)) for u in range(t + 1, len(j)) if j[t] >= j[u]]


def _adjacent_only(w):
    j = w.argmax(dim=1).tolist()
    return [(t, t + 1) for t in range(len(j) - 1) if j[t] > j[t + 1]]


register(Exercise(
    key="ch10.crossings",
    reference=_crossings,
    cases=[(_attention(i, a, S),) for i, (a, S) in enumerate(_ALIGNMENTS)],
    wrong=[_wrong_axis, _ties_cross, _adjacent_only,
           # the pair named (u, t), later token first
           lambda w: sorted((u, t) for t, u in _crossings(w))],
))
