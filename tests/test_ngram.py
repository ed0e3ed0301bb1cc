"""lmkit.ngram: exact counts, distributions that sum to 1, Kneser–Ney by hand, KenLM agreement,
the published Penn Treebank perplexity, the language-model contract, and clear errors."""

import inspect
import math
import os
import subprocess
import sys
import warnings
from fractions import Fraction

import numpy as np
import pytest

import lmkit.models.base
from lmkit import metrics, ngram
from lmkit.models.base import LanguageModel
from lmkit.ngram import (
    BOS,
    EOS,
    MLE,
    UNK,
    AddDelta,
    Interpolated,
    KneserNey,
    NgramBase,
    NgramCounts,
    NgramModel,
    NotFittedError,
    RecursiveSmoothing,
    StupidBackoff,
)
from lmkit.text import Vocab

# "I love you tons. / I love you 3000. / I am Iron Man. / You love me." lower-cased, without
# punctuation: 15 words.
TOY = [s.split() for s in ["i love you tons", "i love you 3000", "i am iron man", "you love me"]]


def exact(value: float, fraction: Fraction) -> bool:
    return math.isclose(value, float(fraction), rel_tol=1e-12, abs_tol=0)


# -- the toy corpus ------------------------------------------------------------------------------

def test_toy_corpus_counts_and_mle_probabilities_are_exact():
    words = MLE(1, eos=False).fit(TOY)  # the lecture's unigram: 15 words, no </s>
    assert exact(words.prob("i"), Fraction(3, 15))
    assert exact(words.prob("love"), Fraction(3, 15))  # "love" occurs three times, not two
    bigram = MLE(2).fit(TOY)
    assert bigram.count(["love", "you"]) == 2
    assert bigram.count(["love"]) == 3
    assert exact(bigram.prob("i", ["<s>"]), Fraction(3, 4))  # three sentences start with "i"
    assert bigram.prob("i", []) == bigram.prob("i", ["<s>"])  # a context starts at <s>
    assert exact(bigram.prob("you", ["love"]), Fraction(2, 3))  # only true with 3 × "love"
    # With </s> predicted (the default, as SRILM and KenLM do) the unigram has 19 events.
    assert exact(MLE(1).fit(TOY).prob("i"), Fraction(3, 19))
    assert exact(MLE(1).fit(TOY).prob("</s>"), Fraction(4, 19))


def test_padding_counts_sentence_starts_and_collapses_repeated_bos():
    lm = MLE(3).fit(TOY)
    assert lm.count(["<s>", "i"]) == 3
    assert lm.count(["<s>", "<s>", "i"]) == 3  # padded order-1 times, stored once
    assert lm.count(["i", "<s>"]) == 0
    assert lm.count(["<s>"]) == 4
    assert lm.prob("love", ["<s>", "<s>", "i"]) == lm.prob("love", ["<s>", "i"]) == 2 / 3
    assert lm.prob("i", ["<s>", "<s>"]) == lm.prob("i", ["<s>"]) == 3 / 4
    assert lm.prob("love", ["i"]) == 2 / 3  # the model puts <s> in front of the context
    with pytest.raises(ValueError, match="<s> after its first token"):
        lm.prob("i", ["you", "<s>"])  # a context is one text from its start


def test_vocab_is_a_vocab_whose_ids_are_the_models_and_unknown_words_are_unk():
    lm = KneserNey(2, modified=False).fit(TOY)
    assert isinstance(lm.vocab, Vocab)
    assert lm.vocab.itos[:3] == ["<s>", "</s>", "<unk>"] and lm.vocab.specials == (BOS, EOS, UNK)
    assert lm.vocab.itos[3:6] == ["i", "love", "you"]  # 3 times each: ties in a-z order
    assert sorted(lm.vocab.itos[1:]) == sorted({w for s in TOY for w in s} | {"</s>", "<unk>"})
    assert lm.prob("zebra", ["love"]) == lm.prob("<unk>", ["love"]) > 0
    assert lm.prob("you", ["zebra"]) == lm.prob("you", ["<unk>"])
    rare = AddDelta(1, min_freq=2).fit(TOY)  # words seen once become <unk>
    assert set(rare.vocab.itos) == {"<s>", "</s>", "<unk>", "i", "love", "you"}
    assert rare.count(["<unk>"]) == 6  # tons, 3000, am, iron, man, me
    assert MLE(1, eos=False).fit(TOY).vocab.itos[:2] == ["<s>", "<unk>"]


@pytest.mark.parametrize("min_freq", [1, 2, 3])
@pytest.mark.parametrize("eos", [True, False])
def test_vocab_equals_the_one_vocab_built_from_the_training_tokens(min_freq, eos):
    rng = np.random.default_rng(min_freq)
    corpus = random_corpus(rng, 30, 60) + [["<unk>", "zz", "aa"], ["aa", "zz"]]  # ties, <unk>
    model = MLE(2, min_freq=min_freq, eos=eos).fit(corpus)
    tokens = [t for s in corpus for t in s]
    expected = Vocab(tokens, min_freq=min_freq, specials=[BOS, EOS, UNK] if eos else [BOS, UNK])
    got = model.vocab
    assert got.itos == expected.itos and got.stoi == expected.stoi
    assert got.counts == expected.counts and got.specials == expected.specials
    assert (got.min_freq, got.unk_id, repr(got)) == (expected.min_freq, expected.unk_id,
                                                     repr(expected))


# -- Kneser–Ney by hand ----------------------------------------------------------------------------

def test_kneser_ney_bigram_matches_the_hand_computation():
    lm = KneserNey(2, modified=False).fit(TOY)
    # Bigram counts (the highest order uses raw counts): <s> i 3, i love 2, love you 2 and twelve
    # bigrams seen once (you tons, tons </s>, you 3000, 3000 </s>, i am, am iron, iron man,
    # man </s>, <s> you, you love, love me, me </s>). n1 = 12, n2 = 2, so
    #   D = n1 / (n1 + 2 n2) = 12 / 16 = 3/4.
    # Context "love": a(love you) = 2, a(love me) = 1, a(love ·) = 3, two different followers:
    #   alpha(love you) = (2 - 3/4) / 3 = 5/12,   gamma(love) = (3/4) · 2 / 3 = 1/2.
    # Unigrams count continuations, the number of different tokens seen before each word:
    #   i 1 (<s>), love 2 (i, you), you 2 (love, <s>), </s> 4 (tons, 3000, man, me),
    #   tons, 3000, am, iron, man, me 1 each, <unk> 0: a(·) = 15; n1 = 7, n2 = 2, so
    #   D = 7 / (7 + 4) = 7/11, and ten tokens have a > 0: gamma() = (7/11) · 10 / 15 = 14/33.
    # The vocabulary has M = 11 tokens (10 words and </s>, <unk>), so
    #   p(you) = (2 - 7/11) / 15 + (14/33) / 11 = 1/11 + 14/363 = 47/363
    #   p(you | love) = 5/12 + 1/2 · 47/363.
    d2, d1 = Fraction(3, 4), Fraction(7, 11)
    gamma_1 = d1 * 10 / 15
    p_you = (2 - d1) / 15 + gamma_1 / 11
    assert p_you == Fraction(47, 363)
    assert exact(lm.prob("you", ["love"]), Fraction(5, 12) + Fraction(1, 2) * p_you)
    assert exact(lm.prob("you", ["zebra"]), p_you)  # <unk> was never a context: p_1 alone
    # An unseen bigram: all of it comes from the backoff, p(tons | love) = 1/2 · p(tons).
    p_tons = (1 - d1) / 15 + gamma_1 / 11
    assert exact(lm.prob("tons", ["love"]), Fraction(1, 2) * p_tons)
    # <unk> was never seen: only the uniform share of the unigram backoff.
    assert exact(lm.prob("<unk>", ["zebra"]), gamma_1 / 11)
    # "i" after <s>: the n-gram starts with <s>, so its raw count (3 of 4 sentence starts) is used.
    # <s> has 2 followers (i ×3, you ×1): alpha = (3 - 3/4)/4 = 9/16, gamma(<s>) = (3/4)·2/4 = 3/8.
    p_i = (1 - d1) / 15 + gamma_1 / 11
    assert exact(lm.prob("i", ["<s>"]), Fraction(9, 16) + Fraction(3, 8) * p_i)
    assert lm.prob("i", []) == lm.prob("i", ["<s>"])
    # The empty context is the start of a text: p(<unk> | <s>) = gamma(<s>) p(<unk>).
    assert exact(lm.prob("<unk>", []), Fraction(3, 8) * gamma_1 / 11)
    assert lm.discounts_ == [(float(d1),) * 3, (float(d2),) * 3]


def test_continuation_counts_favour_words_with_many_different_predecessors():
    # "francisco" is frequent but always follows "san"; "glasses" follows many words.
    corpus = [["san", "francisco"]] * 6 + [[w, "glasses"] for w in "my his her new old".split()]
    kn = KneserNey(2, modified=False).fit(corpus)
    mle = MLE(1).fit(corpus)
    assert mle.prob("francisco") > mle.prob("glasses")
    # After a context never seen ("reading" is <unk>), only the lower order, which counts
    # continuations, speaks.
    assert kn.prob("glasses", ["reading"]) > kn.prob("francisco", ["reading"])


@pytest.mark.filterwarnings("ignore:too few")  # orders 1 and 2 of ten letters: fallback
def test_modified_discounts_follow_chen_and_goodman():
    rng = np.random.default_rng(1)
    corpus = [list(rng.choice(list("abcdefghij"), size=rng.integers(1, 12), p=np.r_[
        [0.3, 0.2, 0.1, 0.1], np.full(6, 0.05)])) for _ in range(300)]
    kn = KneserNey(3).fit(corpus)
    a = np.bincount(kn._adjusted(kn._counts, 3).astype(int))  # raw trigram counts
    n1, n2, n3, n4 = a[1:5]
    y = n1 / (n1 + 2 * n2)
    expected = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    assert np.allclose(kn.discounts_[2], expected, rtol=1e-12)


# -- every smoothed model is a distribution ------------------------------------------------------

def random_corpus(rng: np.random.Generator, vocab_size: int, sentences: int) -> list[list[str]]:
    words = [f"w{i}" for i in range(vocab_size)]
    p = 1 / np.arange(1, vocab_size + 1)
    return [list(rng.choice(words, size=rng.integers(0, 9), p=p / p.sum()))
            for _ in range(sentences)]


def smoothed_models(order: int, held_out: list[list[str]]):
    return [
        (AddDelta(order, delta=0.3), {}),
        (AddDelta(order, delta=1.0, min_count=2), {}),
        (RecursiveSmoothing(order, eps=[0.5 + k for k in range(order)]), {}),
        (Interpolated(order, lambdas=[0.3] * order), {}),
        (Interpolated(order), {"held_out": held_out}),
        (KneserNey(order, modified=False), {}),
        (KneserNey(order), {}),
        (KneserNey(order, min_count=2), {}),
        (MLE(order, min_count=2), {}),  # the cut n-grams' mass backs off, so seen contexts sum
    ]


@pytest.mark.filterwarnings("ignore:too few")  # tiny corpora: KenLM's fallback discounts
def test_every_smoothed_model_sums_to_one_in_seen_and_unseen_contexts():
    rng = np.random.default_rng(0)
    checked = 0
    for trial in range(40):
        order = 1 + trial % 4
        corpus = random_corpus(rng, int(rng.integers(2, 9)), int(rng.integers(1, 12)))
        if not any(corpus):
            continue
        held_out = random_corpus(rng, 10, 3) + [["w0"]]
        # seen contexts (from the corpus, with <s>), unseen ones, unknown words, shorter ones
        contexts = [["<s>"], [], ["w0"], ["zzz"], ["<s>", "w1", "w0"], ["w9", "w9", "w9"]]
        for s in corpus[:3]:
            padded = ["<s>"] + s
            contexts += [padded[: i + 1] for i in range(len(padded))]
        for model, fit_args in smoothed_models(order, held_out):
            model.fit(corpus, **fit_args)
            for context in contexts:
                p = model.distribution(context)
                assert p.shape == (len(model.vocab),) and p.dtype == np.float64
                assert p[0] == 0  # <s> is never predicted
                if isinstance(model, MLE):  # a distribution where the context was seen
                    assert math.isclose(p.sum(), 1, abs_tol=1e-12) or p.sum() == 0
                    continue
                assert (p[1:] > 0).all(), (model, context)
                assert math.isclose(p.sum(), 1, rel_tol=0, abs_tol=1e-12), (model, context, p.sum())
                checked += 1
    assert checked > 1000


@pytest.mark.filterwarnings("ignore:too few")
def test_sentence_scores_agree_with_token_by_token_queries():
    rng = np.random.default_rng(5)
    corpus = random_corpus(rng, 6, 20)
    test = random_corpus(rng, 8, 5) + [[]]  # w6, w7 are unknown words; an empty sentence
    for model in (KneserNey(3).fit(corpus), RecursiveSmoothing(4).fit(corpus),
                  AddDelta(2, delta=0.5).fit(corpus), MLE(2).fit(corpus)):
        expected = []
        for s in test:
            history = ["<s>"]
            for w in [*s, "</s>"]:
                expected.append(model.logprob(w, history))
                assert model.distribution(history)[model.vocab[w]] == pytest.approx(
                    math.exp(expected[-1]), abs=1e-15)
                history.append(w)
        with np.errstate(divide="ignore"):
            got = model.token_logprobs(test)
        assert got.dtype == np.float64 and got.shape == (model.num_scored(test),)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        sentence = model.sentence_logprobs(test)
        assert sentence.shape == (len(test),)
        assert math.isclose(sentence.sum(), sum(expected), rel_tol=1e-12) or (
            sentence.sum() == sum(expected) == -math.inf)


def test_perplexity_counts_eos_but_not_bos():
    lm = AddDelta(1, delta=1.0).fit([["a", "b"], ["a"]])  # counts a 2, b 1, </s> 2; M = 4
    p = {"a": 3 / 9, "b": 2 / 9, "</s>": 3 / 9}
    tokens = ["a", "b", "</s>"]  # scoring [["a", "b"]]: three tokens, <s> is not one
    expected = math.exp(-sum(math.log(p[t]) for t in tokens) / 3)
    assert math.isclose(lm.perplexity([["a", "b"]]), expected, rel_tol=1e-12)
    assert math.isclose(metrics.perplexity(lm.token_logprobs([["a", "b"]])), expected)


# -- maximum likelihood and stupid backoff -------------------------------------------------------

def test_mle_gives_zero_to_unseen_events_and_infinite_perplexity_with_a_warning():
    lm = MLE(2).fit(TOY)
    assert lm.prob("me", ["i"]) == 0.0
    assert lm.logprob("me", ["i"]) == -math.inf
    assert lm.prob("you", ["zebra"]) == 0.0  # an unseen context: 0/0, read as 0
    with pytest.warns(RuntimeWarning, match="probability 0"):
        assert lm.perplexity([["i", "am", "you"]]) == math.inf  # "am you" never seen
    assert math.isfinite(lm.perplexity([["i", "love", "you", "tons"]]))
    with pytest.raises(NotImplementedError, match="ARPA"):
        lm.to_arpa("never-written.arpa")


def test_stupid_backoff_is_a_score_not_a_language_model():
    lm = StupidBackoff(3).fit(TOY)
    assert lm.score("you", ["i", "love"]) == 1.0  # seen: 2 / 2
    assert math.isclose(lm.score("me", ["i", "love"]), 0.4 * 1 / 3)  # 0.4 · c(love me)/c(love ·)
    assert lm.score("i", []) == lm.score("i", ["<s>"]) == 3 / 4  # the contexts of the models
    assert lm.logscore("you", ["love"]) == math.log(lm.score("you", ["love"]))
    scores = lm.scores(["i", "love"])
    assert scores.shape == (len(lm.vocab),) and scores[0] == 0 and scores.sum() > 1
    assert not isinstance(lm, LanguageModel) and isinstance(lm, NgramBase)
    for name in ("prob", "logprob", "perplexity", "token_logprobs", "distribution",
                 "bits_per_char", "sentence_logprobs", "to_arpa"):
        assert not hasattr(lm, name), name  # no method whose only job would be to raise
    assert lm.token_logscores(TOY).shape == (19,)
    a = lm.generate(3, seed=1)
    assert a == lm.generate(3, seed=1) and lm.generate(2) == lm.generate(2, seed=0)
    assert lm.generate(1, 5, prompt=["i"], temperature=0) == [["love", "you", "3000"]]
    assert lm.generate(1, 5, prompt=["i"], top_k=1, seed=9) == [["love", "you", "3000"]]
    with pytest.raises(ValueError, match="temperature"):
        lm.generate(temperature=-1.0)
    with pytest.raises(TypeError, match="list of tokens"):
        lm.generate(prompt="i love")


# -- ARPA and KenLM ------------------------------------------------------------------------------

def markov_corpus(rng: np.random.Generator, sentences: int) -> list[list[str]]:
    """Sentences from a sparse bigram chain over a Zipfian vocabulary of 400 words."""
    size = 400
    zipf = 1 / np.arange(1, size + 1) ** 1.1
    zipf /= zipf.sum()
    favourite = rng.integers(0, size, size=(size, 3))  # each word's usual followers
    out = []
    for _ in range(sentences):
        w, s = int(rng.choice(size, p=zipf)), []
        while len(s) < 30:
            s.append(f"w{w}")
            if rng.random() < 0.12:
                break
            w = int(favourite[w, rng.integers(3)] if rng.random() < 0.6
                    else rng.choice(size, p=zipf))
        out.append(s)
    return out


@pytest.mark.parametrize("make", [
    lambda: KneserNey(4),
    lambda: KneserNey(3, modified=False),
    lambda: KneserNey(4, min_count=[1, 1, 2, 2]),
    lambda: RecursiveSmoothing(3, eps=[1.0, 5.0, 5.0]),
    lambda: Interpolated(3, lambdas=[0.9, 0.6, 0.4]),
], ids=["kn4-modified", "kn3-original", "kn4-cutoff", "recursive3", "interpolated3"])
def test_kenlm_reads_our_arpa_file_and_gives_the_same_scores(make, tmp_path):
    kenlm = pytest.importorskip("kenlm", reason="pip install kenlm (a test dependency)")
    rng = np.random.default_rng(42)
    train, held_out = markov_corpus(rng, 3000), markov_corpus(rng, 200)
    held_out[0] = ["w1", "never-seen", "w2"]  # an unknown word: <unk> for both
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the corpus is big enough for real discounts
        model = make().fit(train)
    arpa = model.to_arpa(tmp_path / "model.arpa")
    ken = kenlm.Model(str(arpa))
    assert ken.order == model.order
    theirs = np.array([score for s in held_out
                       for score, _, _ in ken.full_scores(" ".join(s), bos=True, eos=True)])
    ours = model.token_logprobs(held_out) / math.log(10)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-4)
    assert np.abs(theirs - ours).max() < 1e-5  # in fact as close as KenLM's float32 allows


def test_arpa_header_and_sections(tmp_path):
    lm = KneserNey(2, modified=False).fit(TOY)
    text = lm.to_arpa(tmp_path / "toy.arpa").read_text()
    assert text.startswith("\\data\\\nngram 1=12\nngram 2=15\n")
    assert "\n\\1-grams:\n-99.0000000\t<s>\t" in text
    assert text.rstrip().endswith("\\end\\")
    p = float(next(line.split("\t")[0] for line in text.splitlines()
                   if line.endswith("\tlove you")))
    assert math.isclose(p, math.log10(lm.prob("you", ["love"])), abs_tol=1e-7)


# -- the published Penn Treebank figure ----------------------------------------------------------

def ptb(split: str) -> list[list[str]]:
    from lmkit import data

    return [line.split() for line in data.load_text("ptb", split).splitlines() if line.strip()]


needs_ptb = pytest.mark.skipif(
    not os.environ.get("LMKIT_DATA_MIRROR")
    or not os.path.isfile(os.path.join(os.environ["LMKIT_DATA_MIRROR"], "ptb", "ptb.test.txt")),
    reason="needs Penn Treebank: set LMKIT_DATA_MIRROR to the course's data mirror "
           "(e.g. ../shared/data)")


@needs_ptb
def test_modified_kneser_ney_5gram_reproduces_the_published_ptb_perplexity():
    train, test = ptb("train"), ptb("test")
    lm = KneserNey(5).fit(train)
    ppl = lm.perplexity(test)
    assert abs(ppl - 141.2) / 141.2 < 0.005  # Mikolov (2012), SRILM KN5
    assert abs(ppl - 141.186) < 0.01  # KenLM's lmplz -o 5 gives 141.1862 on the same files
    assert lm.num_ngrams == {1: 10001, 2: 264990, 3: 586558, 4: 717733, 5: 737952}
    # Dropping singletons of order 2 and up (KenLM --prune 0 1 1 1 1: 158.4975) costs 17 points.
    cut = KneserNey(5, min_count=2).fit(train)
    assert abs(cut.perplexity(test) - 158.4975) < 0.01
    assert sum(cut.num_ngrams.values()) == 245881


# -- generation, characters, storage ---------------------------------------------------------------

def test_generation_is_reproducible_and_follows_the_counts():
    lm = MLE(3).fit(TOY)
    a, b = lm.generate(5, seed=7), lm.generate(5, seed=7)
    assert a == b and lm.generate(5) == lm.generate(5, seed=0)  # the default seed is 0
    assert all(" ".join(s) in {" ".join(t) for t in TOY} for s in a)  # MLE trigram: copies
    assert lm.generate(1, prompt=["you"]) == [["love", "me"]]  # the continuation only
    assert lm.generate(1, prompt=["<s>", "you"]) == [["love", "me"]]
    assert len(AddDelta(2).fit(TOY).generate(1, max_tokens=4, seed=3)[0]) <= 4


def test_generation_draws_each_token_from_the_distribution():
    lm = KneserNey(3, modified=False).fit(TOY)
    rng = np.random.default_rng(4)
    expected = []
    for _ in range(6):  # what generate does: one rng.choice over all ids per token
        tokens = []
        while len(tokens) < 10:
            p = lm.distribution(["i", *tokens])
            token = lm.vocab.itos[rng.choice(len(p), p=p / p.sum())]
            if token == "</s>":
                break
            tokens.append(token)
        expected.append(tokens)
    assert lm.generate(6, 10, prompt=["i"], seed=4) == expected


def test_character_models_and_storage_figures():
    text = ["hello world", "hold the door", "hello there"]
    lm = KneserNey(3, modified=False).fit([list(s) for s in text])
    assert " " in lm.vocab and "h" in lm.vocab
    assert math.isclose(lm.distribution(list("hel")).sum(), 1.0, abs_tol=1e-12)
    assert lm.prob("l", list("he")) > lm.prob("z", list("he"))
    counts = lm.num_ngrams
    assert counts[1] == len(lm.vocab)  # the vocabulary, <s> included
    assert counts[2] < counts[3]
    assert lm.nbytes > 8 * sum(counts.values())


def test_ngram_listing_and_the_share_of_unseen_ngrams():
    lm = MLE(2).fit(TOY)
    bigrams = lm.ngram_counts(2)
    assert bigrams[("love", "you")] == 2 and bigrams[("<s>", "i")] == 3
    assert sum(bigrams.values()) == 19  # one bigram ends at each of the 15 words and 4 </s>
    assert lm.ngram_counts(1)[("love",)] == 3 and ("<unk>",) not in lm.ngram_counts(1)
    # <s> i (seen), i hate (<unk>: unseen), hate you (unseen), you </s> (unseen)
    assert lm.unseen_fraction([["i", "hate", "you"]]) == {1: 0.25, 2: 0.75}
    assert lm.unseen_fraction([["i", "am", "you"]]) == {1: 0.0, 2: 0.5}
    cut = KneserNey(2, modified=False, min_count=2).fit(TOY)
    assert cut.count(["i", "love"]) == 2 and cut.count(["i", "am"]) == 0  # cut: seen once
    assert cut.num_ngrams[2] == 3  # <s> i, i love, love you


# -- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "exc", "match"), [
    (lambda: KneserNey(0), ValueError, "order must be an int in 1 … 50, got 0; 1 for a unigram"),
    (lambda: MLE(2.0), TypeError, "order must be an int, got float"),
    (lambda: MLE("3"), TypeError, "order must be an int"),
    (lambda: MLE(True), TypeError, "order must be an int"),
    (lambda: AddDelta(2, delta=0), ValueError, "delta must be a finite number > 0, got 0.0"),
    (lambda: AddDelta(2, delta=-1.0), ValueError, "delta.*Laplace"),
    (lambda: AddDelta(2, delta="1"), TypeError, "delta must be a number"),
    (lambda: RecursiveSmoothing(2, eps=[1.0]), ValueError, "eps must be one number or 2 numbers"),
    (lambda: RecursiveSmoothing(2, eps=0.0), ValueError, "eps"),
    (lambda: RecursiveSmoothing(2, eps=[1.0, -1.0]), ValueError, r"eps\[1\] must be"),
    (lambda: RecursiveSmoothing(2, eps=[1.0, None]), TypeError, r"eps\[1\] must be a number"),
    (lambda: Interpolated(2, lambdas=[0.5, 1.5]), ValueError,
     r"lambdas\[1\] must be a finite number in \[0, 1\]"),
    (lambda: KneserNey(3, discount=0.1), ValueError, "modified=False"),
    (lambda: KneserNey(3, modified=False, discount=2.0), ValueError, r"\(0, 1\]"),
    (lambda: KneserNey(3, modified="yes"), TypeError, "modified must be True or False"),
    (lambda: KneserNey(3, min_count=0), ValueError, "min_count"),
    (lambda: KneserNey(3, min_count=1.5), TypeError, "min_count must be an int"),
    (lambda: KneserNey(3, min_count=[2, 2, 2]), ValueError, "starting with 1"),
    (lambda: KneserNey(3, min_count=[1, 2]), ValueError, "min_count must be one int or 3 ints"),
    (lambda: MLE(2, min_freq=0), ValueError, "min_freq"),
    (lambda: MLE(2, eos=1), TypeError, "eos must be True or False"),
    (lambda: StupidBackoff(2, backoff=0), ValueError, "backoff.*Brants"),
])
def test_bad_arguments_are_refused_at_construction(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


@pytest.mark.parametrize(("sentences", "exc", "match"), [
    ([], ValueError, "no tokens"),
    ([[], []], ValueError, "no tokens"),
    ("i love you", TypeError, "got a str; split it first"),
    (["i love you", "you love me"], TypeError, r"sentences\[0\] must be a list of tokens"),
    ([["i", "love"], ["you", 3000]], TypeError, r"sentences\[1\]\[1\] is int"),
    ([["<s>", "i"]], ValueError, "adds <s> and </s> itself"),
    ([["i", "</s>"]], ValueError, "adds <s> and </s> itself"),
    (42, TypeError, "list of token lists"),
    (iter([["i"], "you"]), TypeError, r"sentences\[1\] must be a list of tokens"),
])
def test_bad_training_corpora_are_refused(sentences, exc, match):
    with pytest.raises(exc, match=match):
        KneserNey(2).fit(sentences)


def test_scoring_before_fitting_and_other_misuse():
    assert ngram.NotFittedError is lmkit.models.base.NotFittedError
    assert issubclass(NotFittedError, ValueError)
    uses = {
        KneserNey(3): [lambda m: m.vocab, lambda m: m.perplexity(TOY),
                       lambda m: m.token_logprobs(TOY), lambda m: m.distribution(["i"]),
                       lambda m: m.prob("i"), lambda m: m.generate(1), lambda m: m.num_ngrams,
                       lambda m: m.count(["i"]), lambda m: m.to_arpa("never-written.arpa")],
        MLE(2): [lambda m: m.sentence_logprobs(TOY), lambda m: m.unseen_fraction(TOY)],
        StupidBackoff(2): [lambda m: m.score("a"), lambda m: m.scores(), lambda m: m.generate(),
                           lambda m: m.token_logscores(TOY), lambda m: m.nbytes],
    }
    for model, calls in uses.items():
        for use in calls:
            with pytest.raises(NotFittedError, match=rf"This {type(model).__name__} instance is "
                                                     r"not fitted yet. Call 'fit'"):
                use(model)
    with pytest.raises(ValueError, match="Interpolated needs its weights"):
        Interpolated(3).fit(TOY)
    with pytest.raises(ValueError, match="not both"):
        Interpolated(3, lambdas=0.5).fit(TOY, held_out=TOY)
    with pytest.raises(ValueError, match="held_out holds no tokens"):
        Interpolated(2, eos=False).fit(TOY, held_out=[[]])
    lm = KneserNey(2, modified=False).fit(TOY)
    with pytest.raises(TypeError, match=r"write \['love'\] for one word"):
        lm.prob("you", "love")
    with pytest.raises(TypeError, match="token must be a str"):
        lm.prob(3, ["love"])
    assert lm.prob("<s>", ["love"]) == 0.0  # never predicted
    with pytest.raises(TypeError, match=r"texts\[0\] must be a list"):
        lm.perplexity(["i love you"])
    with pytest.raises(ValueError, match="contains <s> or </s>"):
        lm.token_logprobs([["i", "</s>"]])
    with pytest.raises(ValueError, match="k must be an int in 1 … 2"):
        lm.ngram_counts(3)
    with pytest.raises(TypeError, match="ngram must be a list"):
        lm.count("love you")
    with pytest.raises(ValueError, match="ngram must hold 1"):
        lm.count(["a", "b", "c"])
    with pytest.raises(NotImplementedError, match="ARPA"):
        AddDelta(2).fit(TOY).to_arpa("never-written.arpa")


def test_interpolation_weights_tuned_by_em_beat_fixed_ones():
    rng = np.random.default_rng(3)
    train, valid = markov_corpus(rng, 1500), markov_corpus(rng, 300)
    tuned = Interpolated(3).fit(train, held_out=valid)
    assert all(0 < lam < 1 for lam in tuned.lambdas_)
    assert math.isclose(sum(tuned.weights_), 1.0)
    for fixed in ([0.5] * 3, [0.9, 0.9, 0.9], [0.99, 0.3, 0.1]):
        assert tuned.perplexity(valid) < Interpolated(3, lambdas=fixed).fit(train).perplexity(
            valid)


# -- the interface: parameters, repr, the contract, imports -------------------------------------

@pytest.mark.filterwarnings("ignore:too few")
def test_repr_shows_every_parameter_set_and_nothing_else():
    assert repr(KneserNey(3, min_count=2)) == "KneserNey(3, min_count=2)"
    assert repr(KneserNey(5)) == "KneserNey(5)"
    assert repr(KneserNey(3, modified=False, discount=0.1)) == \
        "KneserNey(3, modified=False, discount=0.1)"
    assert repr(AddDelta(2, delta=0.01, eos=False)) == "AddDelta(2, delta=0.01, eos=False)"
    assert repr(RecursiveSmoothing(3, eps=[1, 5, 5])) == "RecursiveSmoothing(3, eps=[1, 5, 5])"
    assert repr(Interpolated(3, lambdas=0.5, min_freq=2)) == \
        "Interpolated(3, lambdas=0.5, min_freq=2)"
    assert repr(StupidBackoff(4, backoff=0.5)) == "StupidBackoff(4, backoff=0.5)"
    assert repr(MLE(2, min_count=[1, 2])) == "MLE(2, min_count=[1, 2])"
    fitted = KneserNey(2, min_count=2).fit(TOY)
    assert repr(fitted) == "KneserNey(2, min_count=2)"  # fitting changes no parameter


@pytest.mark.filterwarnings("ignore:too few")
@pytest.mark.parametrize("cls", [MLE, AddDelta, RecursiveSmoothing, Interpolated, KneserNey,
                                 StupidBackoff])
def test_parameters_are_stored_as_given_and_fit_adds_only_learned_attributes(cls):
    params = list(inspect.signature(cls.__init__).parameters)[1:]
    given = {"order": np.int64(3), "min_count": [1, 2, 2], "min_freq": 1, "eos": True,
             "delta": 0.5, "eps": (1.0, 10.0, 10.0), "lambdas": [0.9, 0.6, 0.4],
             "modified": False, "discount": None, "backoff": 0.4}
    kwargs = {name: given[name] for name in params}
    model = cls(**kwargs)
    for name in params:
        assert getattr(model, name) is kwargs[name], name  # the very object given
    public = {name for name in vars(model) if not name.startswith("_")}
    assert public == set(params)
    model.fit(TOY)
    for name in params:
        assert getattr(model, name) is kwargs[name], name
    learned = {name for name in vars(model) if not name.startswith("_")} - set(params)
    assert all(name.endswith("_") for name in learned), learned
    eps = RecursiveSmoothing(2, eps=2.0).fit(TOY).eps
    assert eps == 2.0 and isinstance(eps, float)  # a scalar is not expanded per order


def test_context_is_the_text_so_far_from_its_start():
    bigram, unigram = MLE(2).fit(TOY), MLE(1).fit(TOY)
    assert bigram.prob("love", []) == bigram.prob("love", ["<s>"]) == 0.0  # p(love | <s>)
    assert unigram.prob("love", []) == unigram.prob("love", ["i", "am"]) == 3 / 19
    trigram = KneserNey(3, modified=False).fit(TOY)
    for model in (bigram, trigram, AddDelta(3).fit(TOY), RecursiveSmoothing(2).fit(TOY)):
        for w in ("i", "love", "you", "</s>", "zebra"):
            assert model.prob(w, []) == model.prob(w, ["<s>"]) == model.prob(w, ["<s>", "<s>"])
        assert np.array_equal(model.distribution([]), model.distribution(["<s>"]))
    # only the last order - 1 tokens matter, and a short context reaches back to <s>
    assert trigram.prob("you", ["i", "am", "i", "love"]) == trigram.prob("you", ["i", "love"])
    assert trigram.prob("love", ["i"]) != trigram.prob("love", ["you", "i"])
    assert trigram.context_size == 2 and unigram.context_size == 0
    dist = trigram.distribution(["i"])
    assert dist.shape == (len(trigram.vocab),) and dist[trigram.vocab["<s>"]] == 0
    assert trigram.prob("love", ["i"]) == dist[trigram.vocab["love"]]


@pytest.mark.filterwarnings("ignore:too few")
def test_models_follow_the_language_model_contract():
    for model in (MLE(2), AddDelta(2), RecursiveSmoothing(2), Interpolated(2), KneserNey(2)):
        assert isinstance(model, NgramModel) and isinstance(model, LanguageModel)
    lm = KneserNey(3).fit(TOY * 3)
    test = [["i", "love", "me"], ["you", "am", "zebra"], []]
    lp = lm.token_logprobs(test)
    assert lm.num_scored(test) == lp.size == 3 + 3 + 0 + 3  # the words and one </s> each
    assert math.isclose(lm.perplexity(test), math.exp(-lp.mean()), rel_tol=1e-12)
    assert np.allclose(lm.sentence_logprobs(test), [lp[:4].sum(), lp[4:8].sum(), lp[8:].sum()])
    assert lm.eos and not MLE(1, eos=False).fit(TOY).eos
    assert isinstance(NgramCounts(np.array([0, 3]), np.array([0, 1]), 1, 4).nbytes, int)


def test_lmkit_ngram_imports_without_torch():
    code = ("import sys, lmkit.ngram; "
            "assert not [m for m in sys.modules if m.split('.')[0] == 'torch'], 'torch'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_kneser_ney_warns_once_for_all_orders_it_cannot_estimate():
    with pytest.warns(UserWarning, match="too few") as caught:
        KneserNey(8).fit([["a", "b", "c"]])
    assert len([w for w in caught if "too few" in str(w.message)]) == 1
    with pytest.raises(ValueError, match="order must be an int in 1 … 50"):
        KneserNey(4000)


def test_to_arpa_refuses_tokens_the_format_cannot_hold(tmp_path):
    with pytest.warns(UserWarning, match="too few"):
        model = KneserNey(2).fit([["new york", "is", ""], ["is", "big"]])
    with pytest.raises(ValueError, match="cannot be written in ARPA format"):
        model.to_arpa(tmp_path / "lm.arpa")
    assert not (tmp_path / "lm.arpa").exists()
