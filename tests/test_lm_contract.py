"""The language-model contract, checked over every model class (lmkit/models/base.py).

In the spirit of scikit-learn's ``parametrize_with_checks``: each check below runs on every
language model of the book. A new model class joins by adding one line to ``MODELS`` (a
function that returns a fitted model, on words) or ``CHAR_MODELS`` (on characters).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lmkit import ngram
from lmkit.models import (
    RNNLM,
    CausalConvLM,
    ConvConfig,
    FixedWindowLM,
    LanguageModel,
    RNNConfig,
    SelfAttentionConfig,
    SelfAttentionLM,
    WindowConfig,
)
from lmkit.text import Vocab

SENTENCES = [s.split() for s in [
    "the cat sat on the mat", "the dog sat on the log", "a cat saw a dog",
    "the dog saw the cat on the mat", "a bird sat on a dog", "i love you", "you love me",
    "i am a cat"]]
WORDS = Vocab((t for s in SENTENCES for t in s), specials=["<unk>", "</s>"])
TEXT = "the cat sat on the mat.\nthe dog sat on the log.\na cat saw a dog.\n"
CHARS = Vocab(list(TEXT), specials=["<unk>"])


def _neural(model: torch.nn.Module) -> torch.nn.Module:
    return model.double()  # untrained weights: the contract does not depend on training


def _seeded(build):
    def make():
        torch.manual_seed(0)
        return build()
    return make


MODELS = {
    "MLE": lambda: ngram.MLE(2).fit(SENTENCES),
    "AddDelta": lambda: ngram.AddDelta(3, delta=0.5).fit(SENTENCES),
    "RecursiveSmoothing": lambda: ngram.RecursiveSmoothing(3, eps=2.0).fit(SENTENCES),
    "Interpolated": lambda: ngram.Interpolated(3).fit(SENTENCES[:6], held_out=SENTENCES[6:]),
    "KneserNey": lambda: ngram.KneserNey(3, modified=False).fit(SENTENCES),
    "ModifiedKneserNey": lambda: ngram.KneserNey(2).fit(SENTENCES),
    "FixedWindowLM": _seeded(lambda: _neural(FixedWindowLM(
        WindowConfig(len(WORDS), window=2, embed_dim=6, hidden_dim=8), vocab=WORDS))),
    "RNNLM-rnn": _seeded(lambda: _neural(RNNLM(
        RNNConfig(len(WORDS), embed_dim=6, hidden_size=8), vocab=WORDS))),
    "RNNLM-scratch": _seeded(lambda: _neural(RNNLM(
        RNNConfig(len(WORDS), embed_dim=6, hidden_size=8, cell="scratch", num_layers=2),
        vocab=WORDS))),
    "RNNLM-lstm": _seeded(lambda: _neural(RNNLM(
        RNNConfig(len(WORDS), embed_dim=6, hidden_size=8, cell="lstm"), vocab=WORDS))),
    "RNNLM-gru": _seeded(lambda: _neural(RNNLM(
        RNNConfig(len(WORDS), embed_dim=6, hidden_size=8, cell="gru"), vocab=WORDS))),
    "RNNLM-scratch-lstm": _seeded(lambda: _neural(RNNLM(
        RNNConfig(len(WORDS), embed_dim=6, hidden_size=8, cell="scratch-lstm", num_layers=2),
        vocab=WORDS))),
    "RNNLM-scratch-gru": _seeded(lambda: _neural(RNNLM(
        RNNConfig(len(WORDS), embed_dim=6, hidden_size=8, cell="scratch-gru"), vocab=WORDS))),
    "CausalConvLM": _seeded(lambda: _neural(CausalConvLM(
        ConvConfig(len(WORDS), embed_dim=6, channels=8, dilations=(1, 2)), vocab=WORDS))),
    "SelfAttentionLM": _seeded(lambda: _neural(SelfAttentionLM(
        SelfAttentionConfig(len(WORDS), embed_dim=8, context=5, mlp=8), vocab=WORDS))),
    "RNNLM-own-layer": _seeded(lambda: _neural(RNNLM(
        RNNConfig(len(WORDS), embed_dim=6, hidden_size=8), vocab=WORDS,
        layer=nn.GRU(6, 8, batch_first=True)))),
}
CHAR_MODELS = {
    "KneserNey-chars": lambda: ngram.KneserNey(3, eos=False).fit([list(TEXT)]),
    "RNNLM-chars": _seeded(lambda: _neural(RNNLM(
        RNNConfig(len(CHARS), embed_dim=4, hidden_size=8), vocab=CHARS, start="\n"))),
    "CausalConvLM-chars": _seeded(lambda: _neural(CausalConvLM(
        ConvConfig(len(CHARS), embed_dim=4, channels=8), vocab=CHARS, start="\n"))),
    "SelfAttentionLM-chars": _seeded(lambda: _neural(SelfAttentionLM(
        SelfAttentionConfig(len(CHARS), embed_dim=8, context=6, mlp=0), vocab=CHARS,
        start="\n"))),
    "FixedWindowLM-chars": _seeded(lambda: _neural(FixedWindowLM(
        WindowConfig(len(CHARS), window=3, embed_dim=4, hidden_dim=8), vocab=CHARS,
        start="\n"))),
}
ALL = {**MODELS, **CHAR_MODELS}
# MLE gives every token probability 0 after a context it never saw (0/0): it is a
# distribution only after the contexts of its training text.
NOT_SMOOTHED = {"MLE"}


@pytest.fixture(params=list(ALL), scope="module")
def case(request):
    name = request.param
    with _quiet():
        model = ALL[name]()
    if name in CHAR_MODELS:
        texts = [list("the cat saw the log."), list("a dog sat.")]
    else:
        texts = [["the", "cat", "saw", "a", "bird"], ["you", "sat", "on", "zebra"]]
    return name, model, texts


class _quiet:
    """Tiny corpora trip Kneser–Ney's discount estimate; its warning is not under test here."""

    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", UserWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def _contexts(model, texts):
    """The context of every scored token of the first text, and the token."""
    first = texts[0] + (["</s>"] if model.eos else [])
    return [(first[:i], tok) for i, tok in enumerate(first)]


def test_every_model_is_a_language_model_with_declared_kind(case):
    name, model, _ = case
    assert isinstance(model, LanguageModel)
    assert isinstance(model.vocab, Vocab)
    assert model.context_size is None or (isinstance(model.context_size, int)
                                          and model.context_size >= 0)
    assert model.eos == ("</s>" in model.vocab)


def test_distribution_sums_to_one_after_any_context(case):
    name, model, texts = case
    contexts = [c for c, _ in _contexts(model, texts)]
    if name in NOT_SMOOTHED:
        contexts = [c for c in contexts if not c or model.count(c[-1:]) > 0]
    contexts.append(["never", "seen", "words"] if name not in NOT_SMOOTHED else [])
    for context in contexts:
        p = model.distribution(context)
        assert p.shape == (len(model.vocab),) and p.dtype == np.float64
        assert (p >= 0).all()
        assert math.isclose(p.sum(), 1.0, rel_tol=1e-9), (context, p.sum())


def test_token_logprobs_are_the_distribution_given_the_text_so_far(case):
    name, model, texts = case
    lp = model.token_logprobs(texts[:1])
    expected = [model.logprob(tok, ctx) for ctx, tok in _contexts(model, texts)]
    assert lp.dtype == np.float64
    np.testing.assert_allclose(lp, expected, rtol=1e-9, atol=1e-12)


def test_every_model_scores_the_same_tokens(case):
    name, model, texts = case
    n = sum(map(len, texts)) + (len(texts) if model.eos else 0)
    assert model.num_scored(texts) == n == len(model.token_logprobs(texts))


def test_perplexity_is_exp_of_the_mean_negative_logprob(case):
    name, model, texts = case
    if name in NOT_SMOOTHED:
        texts = [SENTENCES[0]]   # every bigram seen: a finite perplexity
    lp = model.token_logprobs(texts)
    assert math.isclose(model.perplexity(texts), math.exp(-lp.mean()), rel_tol=1e-12)


def test_prob_and_logprob_agree(case):
    name, model, texts = case
    for context, token in _contexts(model, texts)[:4]:
        p = model.prob(token, context)
        assert 0 <= p <= 1
        assert model.logprob(token, context) == (math.log(p) if p > 0 else -math.inf)


def test_bits_per_char_for_character_models_only(case):
    name, model, texts = case
    if name in CHAR_MODELS:
        lp = model.token_logprobs(texts)
        assert math.isclose(model.bits_per_char(texts), -lp.mean() / math.log(2), rel_tol=1e-12)
        assert math.isclose(2 ** model.bits_per_char(texts), model.perplexity(texts),
                            rel_tol=1e-9)
    else:
        with pytest.raises(ValueError, match="character-level"):
            model.bits_per_char(texts)


def test_seeded_generation_is_reproducible_and_seeds_differ(case):
    name, model, _ = case
    a = model.generate(4, 12, seed=3)
    assert a == model.generate(4, 12, seed=3)
    assert a != model.generate(4, 12, seed=4)
    assert model.generate(2, 5) == model.generate(2, 5, seed=0)  # the default seed is 0
    assert len(a) == 4 and all(len(s) <= 12 for s in a)
    assert all(tok in model.vocab for s in a for tok in s)
    assert all("</s>" not in s and "<s>" not in s for s in a)


def test_greedy_temperature_zero_and_top_k_one_agree(case):
    name, model, _ = case
    prompt = ["the"] if name not in CHAR_MODELS else list("the")
    greedy = model.generate(1, 8, prompt=prompt, temperature=0, seed=1)
    assert greedy == model.generate(1, 8, prompt=prompt, temperature=0, seed=2)
    assert greedy == model.generate(1, 8, prompt=prompt, top_k=1, seed=5)
    if greedy[0]:  # the first greedy token is the arg-max of the distribution after the prompt
        assert greedy[0][0] == model.vocab.itos[int(model.distribution(prompt).argmax())]


def test_beam_of_one_is_greedy_and_scores_are_the_models(case):
    name, model, _ = case
    prompt = ["the"] if name not in CHAR_MODELS else list("the")
    (tokens, logprob), *_ = model.beam_search(1, 8, prompt=prompt)
    assert [tokens] == model.generate(1, 8, prompt=prompt, temperature=0)
    ended = model.eos and len(tokens) < 8 and model.distribution(prompt + tokens).any()
    scored = tokens + (["</s>"] if ended else [])
    expect = sum(model.logprob(t, prompt + scored[:i]) for i, t in enumerate(scored))
    assert math.isclose(logprob, expect, rel_tol=1e-9, abs_tol=1e-9)


def test_a_wide_beam_finds_the_most_probable_continuation(case):
    """A beam wider than |V| keeps every one-token prefix: it is exhaustive search over
    continuations of up to two tokens, which this test enumerates itself."""
    name, model, _ = case
    if name in NOT_SMOOTHED:
        return
    V = model.vocab
    words = [t for t in V.itos if t not in ("<s>", "<pad>", "</s>")]

    def end(prefix, lp):               # log p(prefix, then </s>) or, at 2 tokens, the prefix
        if len(prefix) == 2 or not model.eos:
            return lp if len(prefix) == 2 else -math.inf
        return lp + math.log(model.prob("</s>", prefix))

    p0 = model.distribution([])
    best = end([], 0.0)
    for w in words:
        lp = math.log(p0[V[w]])
        best = max(best, end([w], lp))
        p1 = model.distribution([w])
        best = max([best, *(end([w, u], lp + math.log(p1[V[u]])) for u in words)])
    found = model.beam_search(len(V) + 1, 2)
    assert math.isclose(found[0][1], best, rel_tol=1e-9)
    assert all(a[1] >= b[1] for a, b in zip(found, found[1:], strict=False))


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(beam_size=0), ValueError, "beam_size"),
    (dict(beam_size=2.0), TypeError, "beam_size"),
    (dict(length_penalty=-0.5), ValueError, "length_penalty"),
    (dict(max_tokens=0), ValueError, "max_tokens"),
    (dict(prompt="the"), TypeError, "list of tokens"),
])
def test_bad_beam_arguments_get_the_same_error_everywhere(case, kwargs, error, message):
    _, model, _ = case
    with pytest.raises(error, match=message):
        model.beam_search(**kwargs)


def test_top_k_never_draws_outside_the_k_most_likely(case):
    name, model, _ = case
    p = model.distribution([])
    top2 = {model.vocab.itos[i] for i in np.argsort(-p)[:2]}
    firsts = [s[0] for s in model.generate(30, 1, top_k=2, temperature=3.0, seed=0) if s]
    assert set(firsts) <= top2


BAD_TEXTS = [
    ("the cat", TypeError, "list of token lists"),
    ([["the", 3]], TypeError, "must be a str"),
    ([[]] * 0, ValueError, "no tokens"),
    ([["<s>", "the"]], ValueError, "adds them"),
    (["the cat".split(), "a dog"], TypeError, "list of tokens"),
    (42, TypeError, "list of token lists"),
]


@pytest.mark.parametrize("texts, error, message", BAD_TEXTS)
def test_bad_texts_get_the_same_error_everywhere(case, texts, error, message):
    _, model, _ = case
    for verb in (model.token_logprobs, model.perplexity):
        with pytest.raises(error, match=message):
            verb(texts)


BAD_GENERATE = [
    (dict(temperature=-1.0), ValueError, "temperature"),
    (dict(temperature="hot"), TypeError, "temperature"),
    (dict(top_k=0), ValueError, "top_k"),
    (dict(top_k=2.5), TypeError, "top_k"),
    (dict(seed=1.5), TypeError, "seed"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(max_tokens=-1), ValueError, "max_tokens"),
    (dict(prompt="the"), TypeError, "list of tokens"),
]


@pytest.mark.parametrize("kwargs, error, message", BAD_GENERATE)
def test_bad_generate_arguments_get_the_same_error_everywhere(case, kwargs, error, message):
    _, model, _ = case
    with pytest.raises(error, match=message):
        model.generate(**kwargs)


def test_bad_prob_arguments_get_the_same_error_everywhere(case):
    _, model, _ = case
    with pytest.raises(TypeError, match="token must be a str"):
        model.prob(3, [])
    with pytest.raises(TypeError, match="list of tokens"):
        model.distribution("the cat")
    with pytest.raises(TypeError, match="must be a str"):
        model.distribution([1, 2])


def test_models_swap_for_each_other_in_a_learners_code():
    """The same lines of code compare every word model, with no slicing and no unit change."""
    test = [["the", "cat", "sat", "on", "the", "log"], ["a", "dog", "saw", "me"]]
    with _quiet():
        models = {name: build() for name, build in MODELS.items() if name not in NOT_SMOOTHED}
    scores = {name: m.token_logprobs(test) for name, m in models.items()}
    assert len({len(s) for s in scores.values()}) == 1
    mixture = np.logaddexp(np.log(0.5) + scores["KneserNey"], np.log(0.5) + scores["RNNLM-rnn"])
    assert math.isfinite(float(np.exp(-mixture.mean())))


def test_a_neural_model_without_a_vocabulary_says_how_to_get_one():
    model = RNNLM(RNNConfig(10, embed_dim=4, hidden_size=4))
    with pytest.raises(ValueError, match="vocab="):
        model.perplexity([["a"]])
    with pytest.raises(ValueError, match="vocab_size=len"):
        RNNLM(RNNConfig(10), vocab=WORDS)
    with pytest.raises(ValueError, match="start"):
        RNNLM(RNNConfig(len(CHARS)), vocab=CHARS)   # no </s> to start texts with: say start=
