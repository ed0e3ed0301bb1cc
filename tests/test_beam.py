"""lmkit.beam: beam search against exhaustive search, greedy, its state bookkeeping, length
normalisation, and bad input."""

import itertools
import math

import numpy as np
import pytest
import torch

from lmkit.beam import (
    beam_search,
    beam_search_batch,
    exact_search,
    exact_search_batch,
    normalised_score,
)

V, EOS = 4, 3          # tokens 0, 1, 2 and </s> = 3


def logprobs_after(prefix):
    """A fixed random next-token distribution for every prefix (a 'model' with no structure)."""
    rng = np.random.default_rng(abs(hash(tuple(prefix))) % 2**32)
    z = rng.normal(scale=2.0, size=V)
    return z - np.log(np.exp(z).sum())


def step(prefixes, state):
    return np.stack([logprobs_after(p) for p in prefixes]), state


def exhaustive(max_len, alpha=0.0):
    """(score, logprob, tokens, finished) of every sequence the search could return."""
    out = []
    for n in range(0, max_len + 1):
        for seq in itertools.product(range(EOS), repeat=n):
            lp = sum(logprobs_after(seq[:i])[t] for i, t in enumerate(seq))
            if n < max_len:   # ends with </s> at step n + 1
                total = lp + logprobs_after(seq)[EOS]
                out.append((normalised_score(total, n + 1, alpha), total, list(seq), True))
            else:             # cut at max_len without </s>
                out.append((normalised_score(lp, n, alpha), lp, list(seq), False))
    return sorted(out, key=lambda r: -r[0])


@pytest.mark.parametrize("max_len", [1, 2, 4])
def test_a_beam_as_wide_as_every_prefix_is_exhaustive_search(max_len):
    best = exhaustive(max_len)[0]
    found = beam_search(step, beam_size=V ** max_len, max_len=max_len, eos=EOS)[0]
    assert math.isclose(found.logprob, best[1]) and found.tokens == best[2]
    assert found.finished == best[3]


def test_beam_of_one_is_greedy():
    prefix, lp = [], 0.0
    for _ in range(6):
        scores = logprobs_after(prefix)
        t = int(scores.argmax())
        lp += scores[t]
        if t == EOS:
            break
        prefix.append(t)
    found = beam_search(step, beam_size=1, max_len=6, eos=EOS)
    assert found[0].tokens == prefix and math.isclose(found[0].logprob, lp)


def test_no_beam_beats_exhaustive_search_and_a_full_width_beam_matches_it():
    best = exhaustive(4)[0][1]
    scores = [beam_search(step, beam_size=k, max_len=4, eos=EOS)[0].logprob
              for k in (1, 2, 3, 64)]
    assert all(s <= best + 1e-12 for s in scores)
    assert math.isclose(scores[-1], best)


def test_length_penalty_ranks_by_logprob_per_token():
    for alpha in (0.5, 1.0):
        score, _, tokens, _ = exhaustive(3, alpha)[0]
        found = beam_search(step, beam_size=V ** 3, max_len=3, eos=EOS, length_penalty=alpha)
        assert math.isclose(found[0].score, score) and found[0].tokens == tokens


def test_length_normalisation_can_prefer_a_longer_output():
    # </s> at once: log 0.5; one token then </s>: log 0.4 + log 0.9 = 2 tokens, mean -0.51
    table = {(): [math.log(0.4), math.log(0.1), -math.inf, math.log(0.5)],
             (0,): [math.log(0.05), math.log(0.05), -math.inf, math.log(0.9)]}

    def toy(prefixes, state):
        rest = [-1.0, -1.0, -math.inf, -1.0]
        return np.array([table.get(tuple(p), rest) for p in prefixes]), state

    assert beam_search(toy, beam_size=2, max_len=3, eos=EOS)[0].tokens == []
    found = beam_search(toy, beam_size=2, max_len=3, eos=EOS, length_penalty=1.0)[0]
    assert found.tokens == [0] and math.isclose(found.logprob, math.log(0.36))


def test_the_state_follows_its_beam():
    """A tensor state holding the sum of the tokens read so far: at every call it must match
    each prefix without its last token (which the step reads now), however the beam moved."""
    calls = []

    def summing(prefixes, state):
        assert state.tolist() == [sum(p[:-1]) for p in prefixes]
        calls.append(len(prefixes))
        read = torch.tensor([p[-1] if p else 0 for p in prefixes])
        return np.stack([logprobs_after(p) for p in prefixes]), state + read

    beam_search(summing, torch.tensor([0]), beam_size=3, max_len=5, eos=EOS)
    assert max(calls) == 3 and len(calls) >= 3


def test_a_tuple_of_a_list_and_an_array_is_reordered_item_by_item():
    def reading(prefixes, state):
        seen, count = state
        assert seen == [tuple(p[:-1]) for p in prefixes]
        assert count.tolist() == [len(p[:-1]) for p in prefixes]
        return (np.stack([logprobs_after(p) for p in prefixes]),
                ([tuple(p) for p in prefixes], np.array([len(p) for p in prefixes])))

    beam_search(reading, ([()], np.array([0])), beam_size=3, max_len=5, eos=EOS)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(beam_size=0), ValueError, "beam_size"),
    (dict(beam_size=1.5), TypeError, "beam_size"),
    (dict(max_len=0), ValueError, "max_len"),
    (dict(length_penalty=-1.0), ValueError, "length_penalty"),
])
def test_bad_arguments(kwargs, error, message):
    args = dict(beam_size=2, max_len=3, eos=EOS) | kwargs
    with pytest.raises(error, match=message):
        beam_search(step, **args)


def test_logits_instead_of_logprobs_and_wrong_shapes_are_caught():
    with pytest.raises(ValueError, match="log_softmax"):
        beam_search(lambda p, s: (np.ones((len(p), V)), s), beam_size=2, max_len=3, eos=EOS)
    with pytest.raises(ValueError, match=r"\(k, \|V\|\)"):
        beam_search(lambda p, s: (np.zeros(V), s), beam_size=2, max_len=3, eos=EOS)
    with pytest.raises(TypeError, match="beam state"):
        beam_search(step, {"h": 1}, beam_size=2, max_len=3, eos=EOS)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_a_batch_of_searches_equals_each_search_alone(alpha):
    """The state holds each row's sequence number, so the sequences score differently."""
    def per_sequence(prefixes, state):
        rows = zip(state, prefixes, strict=True)
        return np.stack([logprobs_after([100 + int(s), *p]) for s, p in rows]), state

    sequences = np.array([0, 1, 2, 3])
    together = beam_search_batch(per_sequence, sequences, 4, beam_size=3, max_len=5, eos=EOS,
                                 length_penalty=alpha)
    for s in sequences:
        alone = beam_search(per_sequence, np.array([s]), beam_size=3, max_len=5, eos=EOS,
                            length_penalty=alpha)
        assert together[s] == alone


@pytest.mark.parametrize("max_len", [1, 3, 5])
def test_exact_search_finds_the_most_probable_finished_sequence(max_len):
    finished = [r for r in exhaustive(max_len + 1) if r[3] and len(r[2]) < max_len]
    best = max(finished, key=lambda r: r[1])
    found = exact_search(step, max_len=max_len, eos=EOS)
    assert found.tokens == best[2] and math.isclose(found.logprob, best[1])
    # a bound at the answer finds nothing better; a bound just below finds the answer
    assert exact_search(step, max_len=max_len, eos=EOS, bound=best[1]) is None
    assert exact_search(step, max_len=max_len, eos=EOS, bound=best[1] - 1e-9) == found
    # no beam does better than exact search
    beam = beam_search(step, beam_size=2, max_len=max_len, eos=EOS)
    assert all(h.logprob <= found.logprob + 1e-12 for h in beam if h.finished)


def test_exact_search_refuses_to_explode():
    with pytest.raises(RuntimeError, match="tighter bound"):
        exact_search(step, max_len=6, eos=EOS, bound=-100.0, max_prefixes=2)


def test_a_batch_of_exact_searches_equals_each_search_alone():
    def per_sequence(prefixes, state):
        rows = zip(state, prefixes, strict=True)
        return np.stack([logprobs_after([200 + int(s), *p]) for s, p in rows]), state

    sequences = np.arange(5)
    bounds = [-np.inf, -3.0, -0.5, -np.inf, -1.5]
    together = exact_search_batch(per_sequence, sequences, 5, max_len=5, eos=EOS,
                                  bounds=bounds)
    for s, bound in zip(sequences, bounds, strict=True):
        alone = exact_search(per_sequence, np.array([s]), max_len=5, eos=EOS, bound=bound)
        assert together[s] == alone
    assert any(h is None for h in together) and any(h is not None for h in together)
    with pytest.raises(ValueError, match="one log-probability per sequence"):
        exact_search_batch(per_sequence, sequences, 5, max_len=5, eos=EOS, bounds=[0.0])
