"""Chapter 2's exercises agree with lmkit.ngram: the δ that gives an unseen bigram a chosen
probability (AddDelta), and Kneser–Ney's normaliser γ(h) (KneserNey)."""

import math
import warnings

import pytest

from lmkit import ngram
from lmkit.exercises import ch02, registry


@pytest.mark.parametrize("case", registry()["ch02.delta_for_unseen"].cases)
def test_the_delta_gives_an_unseen_bigram_the_probability_asked_for(case):
    sentences, prev, q = case
    delta = ch02._delta_for_unseen(sentences, prev, q)
    if delta is None:  # impossible: even a huge δ stays below 1/M
        model = ngram.AddDelta(2, delta=1e9).fit(sentences)
        assert model.prob("<unk>", [prev]) < q
        return
    model = ngram.AddDelta(2, delta=delta).fit(sentences)
    assert math.isclose(model.prob("<unk>", [prev]), q, rel_tol=1e-9)


@pytest.mark.parametrize("modified", [True, False])
@pytest.mark.parametrize("case", registry()["ch02.kn_gamma"].cases)
def test_kn_gamma_is_lmkits_weight_of_the_lower_order(case, modified):
    sentences, prev, _ = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny corpora: KenLM's fallback discounts
        kn = ngram.KneserNey(2, modified=modified).fit(sentences)
    # <unk> never follows prev, so p(<unk> | prev) = γ(prev) p_1(<unk>), and "zebra" was
    # never a history, so p(<unk> | zebra) = p_1(<unk>)
    gamma = kn.prob("<unk>", [prev]) / kn.prob("<unk>", ["zebra"])
    assert math.isclose(ch02._kn_gamma(sentences, prev, kn.discounts_[1]), gamma,
                        rel_tol=1e-12)
