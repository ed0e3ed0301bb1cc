"""Chapter 10's reference solutions agree with lmkit's masked softmax, additive attention and
beam search, and the hidden cases are the hard ones they claim to be."""

import zlib

import numpy as np
import pytest
import torch

from lmkit.beam import beam_search
from lmkit.exercises import ch10, registry
from lmkit.models.attention import AdditiveAttention, masked_softmax

pytestmark = pytest.mark.usefixtures("one_thread")


# -- masked softmax ---------------------------------------------------------------------------

def test_masked_softmax_is_lmkits():
    for scores, mask in registry()["ch10.masked_softmax"].cases:
        got = ch10._masked_softmax(scores, mask)
        torch.testing.assert_close(got, masked_softmax(scores, mask), rtol=0, atol=1e-15)
        assert (got[~mask] == 0).all()
        torch.testing.assert_close(got.sum(-1), torch.ones(mask.shape[:-1], dtype=got.dtype))


def test_masked_softmax_cases_overflow_and_underflow_a_plain_exp():
    cases = registry()["ch10.masked_softmax"].cases
    naive = [ch10._naive_softmax(s, m) for s, m in cases]
    assert sum(not w.isfinite().all() for w in naive) >= 2
    # subtracting the max over every position (padding included) underflows a real row
    assert any(not ch10._max_over_all(s, m).isfinite().all() for s, m in cases)


# -- one additive attention step ----------------------------------------------------------------

def test_additive_step_is_lmkits_additive_attention():
    for s_prev, H, mask, W_q, W_k, b, v in registry()["ch10.additive_step"].cases:
        attention = AdditiveAttention(len(s_prev), H.shape[1], len(b)).double()
        with torch.no_grad():
            attention.query_proj.weight.copy_(W_q)
            attention.key_proj.weight.copy_(W_k)
            attention.key_proj.bias.copy_(b)
            attention.v.weight.copy_(v[None])
            context, weights = attention(s_prev[None], H[None], mask[None])
        got = ch10._additive_step(s_prev, H, mask, W_q, W_k, b, v)
        torch.testing.assert_close(got[0], context[0])
        torch.testing.assert_close(got[1], weights[0])


def test_additive_step_cases_have_padding_that_matters():
    cases = registry()["ch10.additive_step"].cases
    assert any(len(c[0]) == c[1].shape[1] == len(c[5]) for c in cases)  # a swap runs
    assert any(c[2].sum() == 1 for c in cases) and any(len(c[2]) == 1 for c in cases)
    for s_prev, H, mask, *params in cases:
        if not mask.all():
            ignored = ch10._additive_step(s_prev, H, torch.ones_like(mask), *params)[0]
            assert not torch.allclose(ignored, ch10._additive_step(s_prev, H, mask,
                                                                   *params)[0])


# -- one step of beam search --------------------------------------------------------------------

V, EOS = 5, 2


def logprobs_after(prefix, seed):
    """A fixed random next-token distribution for every prefix; </s> grows likelier."""
    g = torch.Generator().manual_seed(zlib.crc32(repr((seed, prefix)).encode()))
    z = torch.randn(V, generator=g, dtype=torch.float64) * 1.5
    z[EOS] += 0.6 * len(prefix) - 1.0
    return z.log_softmax(-1)


def beam_by_steps(beam_size, max_len, seed):
    """lmkit's search, rebuilt from ch10._beam_step and its stopping rule (no length penalty)."""
    live, finished = [([], 0.0)], []
    for t in range(1, max_len + 1):
        prefixes, totals = [p for p, _ in live], [s for _, s in live]
        logprobs = torch.stack([logprobs_after(p, seed) for p in prefixes])
        live, ended = ch10._beam_step(prefixes, totals, logprobs, beam_size, EOS)
        finished += [(p, s, True) for p, s in ended]
        best = max((s for _, s, _ in finished), default=-np.inf)
        if not live or max(s for _, s in live) <= best:
            break
        if t == max_len:
            finished += [(p, s, False) for p, s in live]
    return sorted(finished, key=lambda f: -f[1])


@pytest.mark.parametrize("beam_size", [1, 2, 3, 5])
def test_beam_step_repeated_is_lmkits_beam_search(beam_size):
    for seed in range(8):
        def step(prefixes, state, seed=seed):
            return torch.stack([logprobs_after(p, seed) for p in prefixes]), state

        expected = beam_search(step, beam_size=beam_size, max_len=6, eos=EOS)
        got = beam_by_steps(beam_size, 6, seed)
        assert [(h.tokens, h.finished) for h in expected] == [(p, f) for p, _, f in got]
        np.testing.assert_allclose([h.logprob for h in expected], [s for _, s, _ in got])


def test_beam_step_cases_have_no_ties_and_cover_the_rules():
    seen = set()
    for prefixes, totals, logprobs, beam_size, eos in registry()["ch10.beam_step"].cases:
        cand = (torch.tensor(totals, dtype=torch.float64)[:, None] + logprobs).flatten()
        ranked = cand.sort(descending=True)
        assert (ranked.values.diff().abs() > 1e-3).all()              # no ties
        vocab = logprobs.shape[1]
        eos_ranks = [r for r, j in enumerate(ranked.indices.tolist()) if j % vocab == eos]
        ended = [r for r in eos_ranks if r < beam_size]
        seen.add("first step" if len(prefixes) < beam_size else None)
        seen.add("an end finished, the beam refilled" if ended else None)
        seen.add("two ends finished" if len(ended) >= 2 else None)
        seen.add("an end just outside the beam" if beam_size in eos_ranks else None)
        seen.add("no end among the best" if not ended else None)
        seen.add("greedy" if beam_size == 1 else None)
        best_rows = [j // vocab for j in ranked.indices[:beam_size].tolist()]
        seen.add("the best from one prefix" if len(prefixes) > 1
                 and max(best_rows.count(r) for r in best_rows) > 1 else None)
    assert seen - {None} == {"first step", "an end finished, the beam refilled",
                             "two ends finished", "an end just outside the beam",
                             "no end among the best", "greedy", "the best from one prefix"}


# -- reading an alignment -----------------------------------------------------------------------

def test_crossings_cases_align_as_intended():
    cases = registry()["ch10.crossings"].cases
    for (weights,), (aligned, S) in zip(cases, ch10._ALIGNMENTS, strict=True):
        assert weights.shape == (len(aligned), S)
        assert weights.argmax(dim=1).tolist() == aligned
        torch.testing.assert_close(weights.sum(1), torch.ones(len(aligned),
                                                              dtype=weights.dtype))
    assert any(weights.shape[0] != weights.shape[1] for (weights,) in cases)


def test_crossings_count_is_the_number_of_inversions():
    assert ch10._crossings(ch10._attention(0, [0, 2, 1], 3)) == [(1, 2)]  # a red car
    for (weights,), (aligned, _) in zip(registry()["ch10.crossings"].cases, ch10._ALIGNMENTS,
                                        strict=True):
        inversions, order = 0, list(aligned)
        for i in range(len(order)):                   # bubble sort: each swap is one inversion
            for k in range(len(order) - 1 - i):
                if order[k] > order[k + 1]:
                    order[k], order[k + 1] = order[k + 1], order[k]
                    inversions += 1
        assert len(ch10._crossings(weights)) == inversions
