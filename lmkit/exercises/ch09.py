"""Hidden cases for chapter 9, "Sequence to sequence".

- ``ch09.decoder_io``: the decoder's inputs and targets for a batch of target sentences
  (teacher forcing), padded as :class:`lmkit.batching.PaddedPairs` pads them.
- ``ch09.cut_at_eos``: greedy output ``(B, L)`` cut before each sentence's first ``</s>``.
- ``ch09.clipped_matches``: BLEU's clipped n-gram matches of one hypothesis.
- ``ch09.brevity_penalty``: BLEU's brevity penalty of a corpus, from its sentence lengths.
"""

from __future__ import annotations

import math
from collections import Counter

import torch

from lmkit.exercises import Exercise, register

# ------------------------------------------------------------------ teacher forcing: in and out


def _decoder_io(targets: list[list[int]], bos: int, eos: int,
                pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(len(t) for t in targets) + 1
    tgt_in = torch.full((len(targets), T), pad)
    tgt_out = torch.full((len(targets), T), -100)
    for b, t in enumerate(targets):
        tgt_in[b, :len(t) + 1] = torch.tensor([bos, *t])
        tgt_out[b, :len(t) + 1] = torch.tensor([*t, eos])
    return tgt_in, tgt_out


def _io_wrong(bos_in_out: bool = False, pad_out: bool = False, no_eos: bool = False):
    def wrong(targets, bos, eos, pad):
        tgt_in, tgt_out = _decoder_io(targets, bos, eos, pad)
        if pad_out:          # targets padded with the pad id: the loss scores padding
            tgt_out[tgt_out == -100] = pad
        if no_eos:           # the model never learns to stop
            tgt_out[tgt_out == eos] = -100
        if bos_in_out:       # inputs and targets not shifted: predict the token it reads
            tgt_out = torch.where(tgt_in == pad, torch.full_like(tgt_in, -100), tgt_in)
        return tgt_in, tgt_out
    return wrong


def _eos_in_input(targets, bos, eos, pad):
    """Reads ``<s> y … </s>`` and predicts ``y … </s> </s>``: one position too many."""
    T = max(len(t) for t in targets) + 2
    tgt_in, tgt_out = torch.full((len(targets), T), pad), torch.full((len(targets), T), -100)
    for b, t in enumerate(targets):
        tgt_in[b, :len(t) + 2] = torch.tensor([bos, *t, eos])
        tgt_out[b, :len(t) + 2] = torch.tensor([*t, eos, eos])
    return tgt_in, tgt_out


register(Exercise(
    key="ch09.decoder_io",
    reference=_decoder_io,
    cases=[([[5, 6, 7]], 2, 3, 1), ([[5, 6], [7, 8, 9, 10], [11]], 2, 3, 1),
           ([[9], [9]], 0, 4, 7), ([[4, 4, 4], [5, 6, 7]], 2, 3, 1)],
    wrong=[_io_wrong(pad_out=True), _io_wrong(no_eos=True), _io_wrong(bos_in_out=True),
           _eos_in_input],
))

# ------------------------------------------------------------------ stop at </s>


def _cut_at_eos(ids: torch.Tensor, eos: int) -> list[list[int]]:
    out = []
    for row in ids.tolist():
        out.append(row[:row.index(eos)] if eos in row else row)
    return out


register(Exercise(
    key="ch09.cut_at_eos",
    reference=_cut_at_eos,
    cases=[(torch.tensor([[5, 6, 3, 7]]), 3),
           (torch.tensor([[5, 3, 6, 3], [3, 5, 5, 5], [5, 6, 7, 8]]), 3),
           (torch.tensor([[9, 9], [4, 9]]), 9),
           (torch.tensor([[4, 5, 6]]), 3)],
    wrong=[
        # drops every </s> but keeps what follows the first one
        lambda ids, eos: [[t for t in row if t != eos] for row in ids.tolist()],
        # keeps the </s>
        lambda ids, eos: [row[:row.index(eos) + 1] if eos in row else row
                          for row in ids.tolist()],
        # cuts at the last </s>
        lambda ids, eos: [row[:len(row) - 1 - row[::-1].index(eos)] if eos in row else row
                          for row in ids.tolist()],
        # stops the whole batch at the first </s> any sentence produced
        lambda ids, eos: [row[:min((r.index(eos) for r in ids.tolist() if eos in r),
                                   default=len(row))] for row in ids.tolist()],
    ],
))

# ------------------------------------------------------------------ clipped n-gram matches


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _clipped_matches(hypothesis: list[str], references: list[list[str]],
                     n: int) -> tuple[int, int]:
    counts = _ngrams(hypothesis, n)
    most: Counter = Counter()
    for ref in references:
        most |= _ngrams(ref, n)
    return sum(min(c, most[g]) for g, c in counts.items()), max(0, len(hypothesis) - n + 1)


def _unclipped(hyp, refs, n):
    seen = {g for ref in refs for g in _ngrams(ref, n)}
    grams = _ngrams(hyp, n)
    return sum(c for g, c in grams.items() if g in seen), max(0, len(hyp) - n + 1)


def _summed_refs(hyp, refs, n):
    total: Counter = Counter()
    for ref in refs:
        total += _ngrams(ref, n)
    grams = _ngrams(hyp, n)
    return sum(min(c, total[g]) for g, c in grams.items()), max(0, len(hyp) - n + 1)


_THE = "the the the the the the the".split()
_MAT = "the cat is on the mat".split()
register(Exercise(
    key="ch09.clipped_matches",
    reference=_clipped_matches,
    cases=[(_THE, [_MAT], 1), (_THE, [_MAT, "there is a cat on the mat".split()], 1),
           ("the cat the cat".split(), [_MAT, "a cat and the cat".split()], 2),
           ("a a a".split(), [["a", "b"], ["a", "a", "c"]], 1),
           (["a"], [["a", "b"]], 2), ("the cat is on the mat".split(), [_MAT], 3)],
    wrong=[_unclipped, _summed_refs,
           # clips against the first reference only
           lambda hyp, refs, n: _clipped_matches(hyp, refs[:1], n),
           # divides by the reference's n-grams, not the hypothesis's
           lambda hyp, refs, n: (_clipped_matches(hyp, refs, n)[0],
                                 max(0, len(refs[0]) - n + 1))],
))

# ------------------------------------------------------------------ the corpus brevity penalty


def _brevity_penalty(hyp_lengths: list[int], ref_lengths: list[int]) -> float:
    c, r = sum(hyp_lengths), sum(ref_lengths)
    return 1.0 if c > r else math.exp(1 - r / c)


def _per_sentence(hyp_lengths, ref_lengths):
    bps = [1.0 if c > r else math.exp(1 - r / c)
           for c, r in zip(hyp_lengths, ref_lengths, strict=True)]
    return sum(bps) / len(bps)


register(Exercise(
    key="ch09.brevity_penalty",
    reference=_brevity_penalty,
    cases=[([3, 7], [5, 5]), ([4], [5]), ([5, 5], [5, 5]), ([2, 3, 9], [4, 4, 4]),
           ([6, 6], [4, 5]), ([1, 1, 1], [3, 2, 4])],
    wrong=[_per_sentence,
           # no cap: a long translation is "rewarded" with a factor above 1
           lambda h, r: math.exp(1 - sum(r) / sum(h)),
           # r / c turned around
           lambda h, r: 1.0 if sum(h) > sum(r) else math.exp(1 - sum(h) / sum(r)),
           # the ratio instead of the exponential
           lambda h, r: min(1.0, sum(h) / sum(r))],
))
