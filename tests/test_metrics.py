"""lmkit.metrics: cross-entropy, perplexity and bits per character agree with each other."""

import math

import numpy as np
import pytest

from lmkit.metrics import (
    bits_per_char,
    cross_entropy,
    frequency_bucket,
    perplexity,
    perplexity_by_bucket,
)


def test_uniform_model_has_perplexity_equal_to_vocabulary_size():
    for size in (2, 46, 10_000):
        lp = [-math.log(size)] * 37
        assert math.isclose(perplexity(lp), size, rel_tol=1e-12)
        assert math.isclose(bits_per_char(lp), math.log2(size), rel_tol=1e-12)


def test_the_three_metrics_are_consistent():
    rng = np.random.default_rng(0)
    lp = np.log(rng.uniform(0.01, 1.0, size=500))
    h = cross_entropy(lp)
    assert math.isclose(h, -lp.mean(), rel_tol=1e-12)
    assert math.isclose(perplexity(lp), math.exp(h), rel_tol=1e-12)
    assert math.isclose(perplexity(lp), 2 ** bits_per_char(lp), rel_tol=1e-12)
    # A word model over 500 tokens spelling 2,000 characters: bits per char scale accordingly.
    assert math.isclose(bits_per_char(lp, num_chars=2000), bits_per_char(lp) * 500 / 2000)


def test_long_sequences_do_not_underflow():
    lp = [math.log(1e-3)] * 100_000  # the product of the probabilities is 0.0 in floating point
    assert math.isclose(perplexity(lp), 1000.0, rel_tol=1e-9)


def test_accepts_tensors_arrays_and_lists_of_any_shape():
    torch = pytest.importorskip("torch", reason="needs PyTorch (not installed)")
    lp = torch.log(torch.tensor([[0.5, 0.25], [0.125, 0.5]], dtype=torch.float64,
                              requires_grad=True))
    expected = -(math.log(0.5) * 2 + math.log(0.25) + math.log(0.125)) / 4
    for value in (lp, lp.detach().numpy(), lp.tolist()):
        assert math.isclose(cross_entropy(value), expected, rel_tol=1e-12)


def test_zero_probability_gives_inf_with_a_warning():
    with pytest.warns(RuntimeWarning, match="probability 0"):
        assert perplexity([-1.0, -math.inf]) == math.inf
    with pytest.warns(RuntimeWarning):
        assert bits_per_char([-math.inf]) == math.inf


def test_huge_cross_entropy_gives_inf_perplexity_not_overflow_error():
    assert perplexity([-1000.0]) == math.inf


@pytest.mark.parametrize(("bad", "exc", "msg"), [
    ([], ValueError, "empty"),
    ([0.5, -1.0], ValueError, "must be <= 0"),
    ([float("nan")], ValueError, "NaN"),
    ("abc", TypeError, "sequence of log-probabilities"),
    (-1.0, TypeError, "sequence of log-probabilities"),
    ([["a"]], TypeError, "numbers"),
])
def test_bad_input_is_rejected_with_a_clear_message(bad, exc, msg):
    for metric in (cross_entropy, perplexity, bits_per_char):
        with pytest.raises(exc, match=msg):
            metric(bad)


def test_bits_per_char_rejects_bad_num_chars():
    with pytest.raises(ValueError, match="num_chars must be an int >= 1"):
        bits_per_char([-1.0], num_chars=0)
    with pytest.raises(TypeError, match="num_chars must be an int"):
        bits_per_char([-1.0], num_chars=2.5)


def test_a_sum_below_the_smallest_float_is_an_infinite_loss_not_an_overflow():
    assert cross_entropy([-1e308, -1e308]) == math.inf
    assert perplexity([-1e308, -1e308]) == math.inf
    assert bits_per_char([-1e308, -1e308]) == math.inf


def test_perplexity_by_bucket_pools_to_the_perplexity_of_all_tokens():
    rng = np.random.default_rng(1)
    lp = np.log(rng.uniform(0.001, 1.0, size=300))
    labels = rng.choice(["rare", "common", "</s>"], size=300).tolist()
    buckets = perplexity_by_bucket(lp, labels)
    assert list(buckets) == list(dict.fromkeys(labels))  # order of first appearance
    assert sum(n for n, _ in buckets.values()) == 300
    for label, (n, ppl) in buckets.items():
        mine = lp[[x == label for x in labels]]
        assert n == mine.size and math.isclose(ppl, perplexity(mine), rel_tol=1e-12)
    pooled = math.exp(sum(n * math.log(ppl) for n, ppl in buckets.values()) / 300)
    assert math.isclose(pooled, perplexity(lp), rel_tol=1e-12)


def test_perplexity_by_bucket_takes_any_hashable_labels():
    buckets = perplexity_by_bucket([math.log(0.5), math.log(0.25)], np.array([3, 7]))
    assert buckets == {3: (1, pytest.approx(2.0)), 7: (1, pytest.approx(4.0))}
    assert perplexity_by_bucket([-1.0], [("a", 1)])[("a", 1)][0] == 1


@pytest.mark.parametrize(("logprobs", "labels", "exc", "msg"), [
    ([-1.0, -2.0], ["a"], ValueError, "one label per token: got 1 labels for 2"),
    ([-1.0], [], ValueError, "got 0 labels for 1"),
    ([-1.0, -2.0], "ab", TypeError, "labels must be a sequence"),
    ([-1.0], 3, TypeError, "labels must be a sequence"),
    ([-1.0], [["a"]], TypeError, r"labels must be hashable .* labels\[0\] is list"),
    ([], [], ValueError, "empty"),
    ([0.5], ["a"], ValueError, "must be <= 0"),
])
def test_perplexity_by_bucket_rejects_bad_input(logprobs, labels, exc, msg):
    with pytest.raises(exc, match=msg):
        perplexity_by_bucket(logprobs, labels)


@pytest.mark.parametrize(("count", "label"), [
    (0, "0"), (1, "1–10"), (10, "1–10"), (11, "11–100"), (100, "11–100"),
    (101, "101–1,000"), (1000, "101–1,000"), (1001, "1,001–10,000"),
    (10_000, "1,001–10,000"), (10_001, ">10,000"), (np.int64(5), "1–10"),
])
def test_frequency_bucket_labels(count, label):
    assert frequency_bucket(count) == label


def test_frequency_bucket_with_other_edges():
    assert [frequency_bucket(c, (1, 5)) for c in (1, 2, 5, 6)] == ["1", "2–5", "2–5", ">5"]
    assert frequency_bucket(5000, [2000]) == ">2,000"


@pytest.mark.parametrize(("count", "edges", "exc", "msg"), [
    (-1, (10,), ValueError, "count must be an int >= 0"),
    (2.0, (10,), TypeError, "count must be an int"),
    (True, (10,), TypeError, "count must be an int"),
    ("7", (10,), TypeError, "count must be an int"),
    (3, (), TypeError, "edges must be a non-empty sequence"),
    (3, "10", TypeError, "edges must be a non-empty sequence"),
    (3, (10, 10), ValueError, "edges must increase"),
    (3, (100, 10), ValueError, "edges must increase"),
    (3, (0, 10), ValueError, r"edges\[0\] must be an int >= 1"),
    (3, (10, 1.5), TypeError, r"edges\[1\] must be an int"),
])
def test_frequency_bucket_rejects_bad_input(count, edges, exc, msg):
    with pytest.raises(exc, match=msg):
        frequency_bucket(count, edges)
