"""Chapter 1's reworked exercises: the decimal form of a tiny probability, and one perplexity
for a corpus reported sentence by sentence (agrees with lmkit.metrics on the pooled tokens)."""

import math

import numpy as np

from lmkit import metrics
from lmkit.exercises import ch01, evaluate, registry


def test_scientific_prob_of_the_chapters_example_is_ten_to_the_minus_1200():
    assert ch01._scientific_prob([1e-3] * 400) == (1.0, -1200)
    assert math.prod([1e-3] * 400) == 0.0  # why the naive product cannot work


def test_scientific_prob_accepts_either_side_of_a_power_of_ten():
    # log p computed in nats and divided by ln 10 is -1199.9999999999998, not -1200: rounding
    # can land on either side of a power of ten, and (9.99…, -1201) is the same number as
    # (1.0, -1200), so the checker must accept both
    def via_nats(probs):
        log10_p = math.fsum(math.log(p) for p in probs) / math.log(10)
        exponent = math.floor(log10_p)
        return 10 ** (log10_p - exponent), exponent

    assert via_nats([1e-3] * 400) != (1.0, -1200)
    assert evaluate("ch01.scientific_prob", via_nats).passed
    same = registry()["ch01.scientific_prob"].compare
    assert same((9.9999999999995, -1201), (1.0, -1200))
    assert same((1.0000000000004, -1200), (1.0, -1200))


def test_scientific_prob_rejects_a_mantissa_outside_one_to_ten_or_a_fractional_exponent():
    same = registry()["ch01.scientific_prob"].compare
    assert same((5.0, -1), (5.0, -1)) and same((5.0, -1.0), (5.0, -1))
    assert not same((0.5, 0), (5.0, -1))       # the same number, but m < 1
    assert not same((50.0, -2), (5.0, -1))     # m >= 10
    assert not same((5.0, -1.5), (5.0, -1))    # not a whole exponent
    assert not same(0.5, (5.0, -1)) and not same((5.0, True), (5.0, 1))


def test_corpus_perplexity_is_the_perplexity_of_the_pooled_tokens():
    rng = np.random.default_rng(0)
    sentences = [np.log(rng.uniform(0.001, 0.9, n)) for n in (3, 17, 1, 40)]
    reports = [(metrics.perplexity(lp), len(lp)) for lp in sentences]
    pooled = metrics.perplexity(np.concatenate(sentences))
    assert math.isclose(ch01._corpus_perplexity(reports), pooled, rel_tol=1e-12)
    # and the tempting mean of the sentences' perplexities is not it
    assert abs(np.mean([p for p, _ in reports]) / pooled - 1) > 0.1
