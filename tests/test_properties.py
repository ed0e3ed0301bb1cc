"""Property-based tests of lmkit's public functions (Hypothesis).

Random corpora (unicode tokens, empty sentences), random orders, shapes and ids. Every call
either returns a result that obeys the laws of probability (distributions sum to 1, log-probs
are <= 0, perplexity >= 1) or raises a TypeError / ValueError with a message — never another
exception, a NaN, or a change to the caller's data. The number of examples is bounded so that
the whole file runs in seconds in `make test`.
"""

from __future__ import annotations

import copy
import math
import unicodedata
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmkit import metrics, ngram
from lmkit.batching import StreamBatches, window_pairs
from lmkit.models import RNNLM, FixedWindowLM, RNNConfig, WindowConfig
from lmkit.text import Vocab, char_tokenize, word_tokenize

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Tokens: short strings over a few letters (so n-grams repeat) and some unicode.
TOKENS = st.sampled_from(["a", "b", "c", "the", "é", "हि", "猫", "<unk>", "x'y"])
SENTENCES = st.lists(st.lists(TOKENS, max_size=8), max_size=8)
SMOOTHED = [
    lambda n, eos: ngram.AddDelta(n, delta=0.5, eos=eos),
    lambda n, eos: ngram.RecursiveSmoothing(n, eps=2.0, eos=eos),
    lambda n, eos: ngram.KneserNey(n, modified=False, eos=eos),
    lambda n, eos: ngram.KneserNey(n, eos=eos),
    lambda n, eos: ngram.Interpolated(n, lambdas=[0.6] * n, eos=eos),
]


def _quietly(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny corpora: Kneser–Ney's fallback discounts
        return fn(*args)


@FAST
@given(st.text(max_size=80))
def test_word_tokenize_keeps_every_visible_character_in_order(text):
    tokens = word_tokenize(text)
    assert all(isinstance(t, str) and t and not t.isspace() for t in tokens)
    assert "".join(tokens) == "".join(unicodedata.normalize("NFC", text).split())


@FAST
@given(st.lists(st.text(min_size=1, max_size=4), max_size=40), st.integers(1, 3))
def test_vocab_encode_decode_round_trip(tokens, min_freq):
    vocab = Vocab(tokens, min_freq=min_freq)
    ids = vocab.encode(tokens)
    assert all(0 <= i < len(vocab) for i in ids)
    decoded = vocab.decode(ids)
    assert all(d == t or d == "<unk>" for d, t in zip(decoded, tokens, strict=True))
    assert char_tokenize("".join(tokens)) == list("".join(tokens))


@FAST
@given(SENTENCES, SENTENCES, st.integers(1, 4), st.sampled_from(range(len(SMOOTHED))),
       st.booleans())
def test_smoothed_ngram_models_obey_the_laws_of_probability(train, test, order, which, eos):
    train_before, test_before = copy.deepcopy(train), copy.deepcopy(test)
    model = SMOOTHED[which](order, eos)
    try:
        _quietly(model.fit, train)
    except ValueError as error:  # only for a corpus without a single token
        assert sum(map(len, train)) == 0, error
        return
    for context in [[], test[0][:3] if test and test[0] else ["a"], ["never", "seen"]]:
        p = model.distribution(context)
        assert p.shape == (len(model.vocab),) and (p >= 0).all()
        assert math.isclose(p.sum(), 1.0, rel_tol=1e-9)
    try:
        lp = model.token_logprobs(test)
    except ValueError as error:  # nothing to score
        assert model.num_scored(test) == 0, error
    else:
        assert len(lp) == model.num_scored(test)
        assert not np.isnan(lp).any() and (lp <= 1e-12).all()
        assert model.perplexity(test) >= 1 - 1e-9
    assert train == train_before and test == test_before


@FAST
@given(st.lists(st.floats(-50, 0), min_size=1, max_size=50))
def test_metrics_are_consistent(logprobs):
    ppl, bpc = metrics.perplexity(logprobs), metrics.bits_per_char(logprobs)
    assert ppl >= 1 - 1e-12
    assert math.isclose(ppl, 2 ** bpc, rel_tol=1e-9)


@FAST
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=5))
def test_metrics_refuse_bad_log_probabilities_with_a_clear_error(values):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # probability 0: an infinite loss
            result = metrics.perplexity(values)
    except ValueError as error:
        assert str(error)
    else:
        assert result >= 1 and not math.isnan(result)


@FAST
@given(st.lists(st.integers(0, 20), max_size=60), st.integers(-1, 8),
       st.one_of(st.none(), st.integers(-1, 5)))
def test_window_pairs_returns_aligned_pairs_or_a_clear_error(stream, window, pad_id):
    before = list(stream)
    try:
        contexts, targets = window_pairs(stream, window, pad_id=pad_id)
    except (TypeError, ValueError) as error:
        assert str(error)
    else:
        assert contexts.shape == (len(targets), window)
        assert targets.tolist() == stream[len(stream) - len(targets):]
    assert stream == before


@FAST
@given(st.integers(1, 300), st.integers(-1, 9), st.integers(-1, 9),
       st.sampled_from(["sequential", "random"]))
def test_stream_batches_cover_the_stream_or_explain(n, batch_size, seq_len, partition):
    stream = torch.arange(n)
    try:
        batches = StreamBatches(stream, batch_size, seq_len, partition=partition)
    except (TypeError, ValueError) as error:
        assert str(error)
        return
    for x, y in batches:
        assert x.shape == y.shape and torch.equal(y, x + 1)  # y is x shifted by one token


@SLOW
@given(st.lists(st.lists(st.sampled_from(list("abcd")), max_size=6), min_size=1, max_size=4),
       st.booleans(), st.integers(0, 2**16))
def test_neural_models_score_every_text_with_probabilities(texts, recurrent, seed):
    vocab = Vocab(list("abcd"), specials=["<unk>", "</s>"])
    torch.manual_seed(seed)
    model = (RNNLM(RNNConfig(len(vocab), embed_dim=4, hidden_size=4), vocab=vocab) if recurrent
             else FixedWindowLM(WindowConfig(len(vocab), window=2, embed_dim=4, hidden_dim=4),
                                vocab=vocab))
    lp = model.token_logprobs(texts)
    assert len(lp) == sum(map(len, texts)) + len(texts)
    assert not np.isnan(lp).any() and (lp <= 0).all()
    p = model.distribution(texts[0])
    assert math.isclose(p.sum(), 1.0, rel_tol=1e-9)


@pytest.mark.parametrize("bad", [None, 3, "abc", [1, 2], [["a", None]], [[b"a"]]])
def test_every_language_model_refuses_bad_texts_with_a_type_error(bad):
    model = _quietly(ngram.KneserNey(2).fit, [["a", "b"], ["b", "a"]])
    with pytest.raises(TypeError):
        model.token_logprobs(bad)
