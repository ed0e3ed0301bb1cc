"""Corpus BLEU from its definition (lmkit.metrics.corpus_bleu) against sacreBLEU."""

import math
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmkit.metrics import corpus_bleu, ngrams

sacrebleu = pytest.importorskip("sacrebleu")


def _sacre(hyps, refs):
    """sacreBLEU on the same tokens: joined by spaces, split again on spaces (tokenize="none"),
    no smoothing (as the definition). One reference stream per reference position; a sentence
    with fewer references repeats its last one (which changes neither clipping nor the
    closest length; an empty string would count as a reference of length 0)."""
    k = max(len(r) for r in refs)
    streams = [[" ".join(r[min(j, len(r) - 1)]) for r in refs] for j in range(k)]
    return sacrebleu.corpus_bleu([" ".join(h) for h in hyps], streams, tokenize="none",
                                 smooth_method="none")


WORDS = st.sampled_from(["a", "b", "c", "d", "the", "cat", "."])


@st.composite
def corpora(draw):
    n = draw(st.integers(1, 6))
    sentence = st.lists(WORDS, min_size=1, max_size=9)
    hyps = [draw(st.lists(WORDS, min_size=0, max_size=9)) for _ in range(n)]
    refs = [draw(st.lists(sentence, min_size=1, max_size=3)) for _ in range(n)]  # 1-3 refs
    return hyps, refs


@settings(max_examples=200, deadline=None)
@given(corpora())
def test_equals_sacrebleu_on_random_corpora(corpus):
    hyps, refs = corpus
    ours, theirs = corpus_bleu(hyps, refs), _sacre(hyps, refs)
    assert abs(ours.score - theirs.score) < 0.01
    assert ours.hyp_len == theirs.sys_len and ours.ref_len == theirs.ref_len
    if ours.hyp_len:
        assert abs(ours.bp - theirs.bp) < 1e-9


def test_papineni_clipping_example():
    # Papineni et al. (2002): "the" seven times against "the cat is on the mat": 2/7.
    score = corpus_bleu([["the"] * 7], [[["the", "cat", "is", "on", "the", "mat"]]])
    assert math.isclose(score.precisions[0], 100 * 2 / 7)
    assert score.score == 0.0                            # no bigram matches


def test_clipping_takes_the_maximum_over_references():
    hyp = ["a", "a", "a"]
    score = corpus_bleu([hyp], [[["a", "b"], ["a", "a", "c"]]], max_n=1)
    assert math.isclose(score.precisions[0], 100 * 2 / 3)


def test_brevity_penalty_is_computed_on_the_corpus_not_per_sentence():
    # nltk issue #922: the penalty uses total lengths. One short and one long hypothesis:
    # c = 3 + 7 = 10 > r = 5 + 5, so no penalty at all, though the first sentence alone is
    # short and a mean of sentence penalties would be below 1.
    hyps = [["a", "b", "c"], ["a", "b", "c", "d", "e", "f", "g"]]
    refs = [[["a", "b", "c", "d", "e"]], [["a", "b", "c", "d", "e"]]]
    score = corpus_bleu(hyps, refs)
    assert score.bp == 1.0 and score.hyp_len == 10 and score.ref_len == 10
    per_sentence = [corpus_bleu([h], [r]).bp for h, r in zip(hyps, refs, strict=True)]
    assert sum(per_sentence) / 2 < 0.9
    assert abs(score.score - _sacre(hyps, refs).score) < 0.01


def test_closest_reference_length_shorter_on_ties():
    score = corpus_bleu([["a", "b", "c", "d"]], [[["a", "b", "c"], ["a", "b", "c", "d", "e"]]])
    assert score.ref_len == 3


def test_ngrams():
    assert ngrams(["a", "b", "a", "b"], 2) == {("a", "b"): 2, ("b", "a"): 1}
    assert ngrams(["a"], 2) == {}


@pytest.mark.parametrize(("hyps", "refs", "error"), [
    ([], [], ValueError),
    ([["a"]], [], ValueError),
    (["a b"], [[["a", "b"]]], TypeError),                 # a string, not tokens
    ([["a"]], [["a"]], TypeError),                        # a reference, not a list of them
    ([["a"]], [[]], TypeError),                           # no reference
    ("a b", [[["a"]]], TypeError),
])
def test_bad_input(hyps, refs, error):
    with pytest.raises(error):
        corpus_bleu(hyps, refs)


@pytest.mark.skipif(not os.environ.get("LMKIT_DATA_MIRROR"), reason="needs LMKIT_DATA_MIRROR")
def test_equals_sacrebleu_on_real_translations():
    # Real French–English text: for each test source with two or more translations, the
    # first is the "hypothesis" and the second the reference; and a trivial system that
    # drops the last two tokens (brevity penalty below 1).
    from lmkit.translation import load_pairs

    test = [e for e in load_pairs()["test"]]
    multi = [e for e in test if len(e.references) > 1]
    assert multi
    hyps = [e.references[0] for e in multi]
    refs = [[e.references[1]] for e in multi]
    assert abs(corpus_bleu(hyps, refs).score - _sacre(hyps, refs).score) < 0.01
    hyps = [e.target[:-2] for e in test]
    refs = [[e.target] for e in test]
    ours = corpus_bleu(hyps, refs)
    assert ours.bp < 1 and abs(ours.score - _sacre(hyps, refs).score) < 0.01
