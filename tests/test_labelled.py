"""lmkit.labelled: the CoNLL-U reader, the polarity split, label sets, the baseline tagger and
the token features of chapter 8."""

from __future__ import annotations

import os

import pytest

from lmkit import labelled
from lmkit.labelled import (
    LabelSet,
    MostFrequentTag,
    TaggedSentence,
    TokenFeatures,
    read_conllu,
    word_shape,
)

needs_data = pytest.mark.skipif(not os.environ.get("LMKIT_DATA_MIRROR"),
                                reason="needs LMKIT_DATA_MIRROR")


def _line(*cols: str) -> str:
    return "\t".join(cols)


# A hand-made document with a multiword token (1-2), an empty node (3.1), comments, Windows line
# endings on one sentence and no blank line at the end.
DOC = "\n".join([
    "# sent_id = 1",
    "# text = Don't go.",
    _line("1-2", "Don't", *"_" * 8),
    _line("1", "Do", "do", "AUX", *"_" * 6),
    _line("2", "n't", "not", "PART", *"_" * 6),
    _line("3", "go", "go", "VERB", *"_" * 6),
    _line("3.1", "go", "go", "VERB", *"_" * 6),
    _line("4", ".", ".", "PUNCT", *"_" * 6),
    "",
    "# sent_id = 2",
    _line("1", "Hi", "hi", "INTJ", *"_" * 6) + "\r",
    "",
    "",
    _line("1", "Bye", "bye", "INTJ", *"_" * 6),
])


def test_read_conllu_skips_multiword_tokens_and_empty_nodes() -> None:
    assert read_conllu(DOC) == [
        TaggedSentence(["Do", "n't", "go", "."], ["AUX", "PART", "VERB", "PUNCT"]),
        TaggedSentence(["Hi"], ["INTJ"]),
        TaggedSentence(["Bye"], ["INTJ"]),
    ]


@pytest.mark.parametrize("bad, what", [
    (_line("1", "Do", "do", "AUX", "_"), "line 4: a CoNLL-U word line has 10 tab-separated "
                                         "columns, this one has 5"),
    (_line("x", "Do", "do", "AUX", *"_" * 6), "line 4: the ID column must be a word number"),
    (_line("1.0", "Do", "do", "AUX", *"_" * 6), "line 4: the ID column"),
])
def test_read_conllu_names_the_bad_line(bad: str, what: str) -> None:
    doc = "\n".join(["# a", "", "# b", bad])
    with pytest.raises(ValueError, match=what) as info:
        read_conllu(doc, source="mine.conllu")
    assert "mine.conllu" in str(info.value)


def test_read_conllu_rejects_bytes() -> None:
    with pytest.raises(TypeError, match="str"):
        read_conllu(DOC.encode())  # type: ignore[arg-type]


@needs_data
def test_ewt_has_the_published_sizes() -> None:
    sizes = {split: len(labelled.load_ewt(split)) for split in ("train", "dev", "test")}
    assert sizes == {"train": 12544, "dev": 2001, "test": 2077}
    tags = {t for s in labelled.load_ewt("dev") for t in s.tags}
    assert len(tags) == 17
    # The syntactic words, not the multiword surface tokens: "don't" is "do" + "n't".
    assert sum(len(s.words) for s in labelled.load_ewt("dev")) == 25147


@needs_data
def test_polarity_split_is_fixed_balanced_and_disjoint() -> None:
    split = labelled.load_polarity()
    assert {k: len(v) for k, v in split.items()} == {"dev": 1066, "test": 1066, "train": 8530}
    assert split == labelled.load_polarity(seed=0)
    assert split["test"] != labelled.load_polarity(seed=1)["test"]
    every = [ex for part in split.values() for ex in part]
    assert sorted(label for _, label in every).count("pos") == 5331
    ids = {k: {id(ex) for ex in v} for k, v in split.items()}
    assert not (ids["train"] & ids["test"]) and not (ids["dev"] & ids["test"])
    tokens, label = split["train"][0]
    assert label in ("pos", "neg") and all(t == t.lower() for t in tokens)


def test_polarity_split_checks_fractions() -> None:
    with pytest.raises(ValueError, match="dev \\+ test"):
        labelled.load_polarity(dev=0.5, test=0.5)


def test_label_set_refuses_unknown_labels() -> None:
    tags = LabelSet(["NOUN", "VERB", "NOUN"])
    assert len(tags) == 2 and tags.encode(["VERB", "NOUN"]) == [1, 0]
    with pytest.raises(ValueError, match=r"label 'ADJ' \(position 1\) is not one of the 2"):
        tags.encode(["NOUN", "ADJ"])
    with pytest.raises(ValueError, match="outside 0 … 1"):
        tags.decode([2])
    with pytest.raises(TypeError, match="not one str"):
        tags.encode("NOUN")
    with pytest.raises(ValueError, match="at least one"):
        LabelSet([])


def test_word_shape() -> None:
    assert [word_shape(w) for w in ["Paris", "NASA", "2,000", "e-mail", "3pm", ""]] == \
        ["Xx", "X", "d,d", "x-x", "dx", ""]


def test_most_frequent_tag_and_its_unknown_word_rule() -> None:
    train = [TaggedSentence(["the", "run", "Paris", "Rome"], ["DET", "NOUN", "PROPN", "PROPN"]),
             TaggedSentence(["run", "run", "fast"], ["VERB", "VERB", "ADV"]),
             TaggedSentence(["the", "42"], ["DET", "NUM"])]
    tagger = MostFrequentTag(train)
    # Known words: their majority tag ("run": VERB 2, NOUN 1).
    assert tagger(["the", "run"]) == ["DET", "VERB"]
    # Unknown words: the majority tag of rare words of the same shape.
    assert tagger(["Berlin", "17", "slowly"]) == ["PROPN", "NUM", "ADV"]
    # A shape no rare word had: the most frequent tag of all rare words (PROPN 2 of 5).
    assert tagger.tag_unknown("e-mail") == "PROPN"
    with pytest.raises(ValueError, match="sentence 0 has 2 words but 1 tags"):
        MostFrequentTag([TaggedSentence(["a", "b"], ["DET"])])
    with pytest.raises(ValueError, match="sentence 0 is empty"):
        MostFrequentTag([TaggedSentence([], [])])
    with pytest.raises(TypeError, match="split it first"):
        tagger("the run")  # type: ignore[arg-type]


def test_token_features() -> None:
    features = TokenFeatures([["The", "cats", "sat"], ["cats"]], suffix=2)
    assert features.sizes == (5, 5, 4)  # <unk>, <pad> + (the, cats, sat) / (he, ts, at) / ...
    rows = features.encode(["CATS", "bats"])
    word, suffix, shape = zip(*rows, strict=True)
    assert word[0] == features.vocabs[0]["cats"] and word[1] == features.unk_id == 0
    assert suffix[1] == features.vocabs[1]["ts"]  # an unknown word shares the suffix of "cats"
    assert shape == (features.vocabs[2]["X"], features.vocabs[2]["x"])
    assert features.pad_id == 1 and features.known("Cats") and not features.known("bats")
    with pytest.raises(ValueError, match="no words"):
        TokenFeatures([[]])
