"""lmkit.text: tokenizers and Vocab."""

import numpy as np
import pytest

from lmkit.text import SPECIALS, Vocab, char_tokenize, word_tokenize


def test_char_tokenize_keeps_every_character():
    assert char_tokenize("a b\n") == ["a", " ", "b", "\n"]
    assert char_tokenize("AbC", lower=True) == ["a", "b", "c"]


def test_word_tokenize_splits_punctuation_and_keeps_contractions():
    assert word_tokenize("Hello, world! It's 1895.") == [
        "Hello", ",", "world", "!", "It's", "1895", "."]
    assert word_tokenize("The TIME", lower=True) == ["the", "time"]
    assert word_tokenize("  \n ") == []


@pytest.mark.parametrize("bad", [None, 3, ["a", "b"], b"bytes"])
def test_tokenizers_reject_non_strings(bad):
    for tokenize in (char_tokenize, word_tokenize):
        with pytest.raises(TypeError, match="must be a str"):
            tokenize(bad)


def test_vocab_specials_come_first_then_frequency_order():
    v = Vocab("b a c a b a".split())
    assert v.itos[: len(SPECIALS)] == list(SPECIALS)
    assert v.itos[len(SPECIALS):] == ["a", "b", "c"]  # by count, ties alphabetical
    assert v.unk_id == 0 and v["<pad>"] == 1
    assert len(v) == len(SPECIALS) + 3


def test_vocab_order_does_not_depend_on_input_order():
    assert Vocab(list("abcabd")).itos == Vocab(list("dbacba")).itos


def test_encode_decode_round_trip_and_unknowns():
    tokens = "the cat sat on the mat".split()
    v = Vocab(tokens)
    assert v.decode(v.encode(tokens)) == tokens
    ids = v.encode(["the", "dog"])
    assert ids[1] == v.unk_id and v.decode(ids) == ["the", "<unk>"]
    assert "cat" in v and "dog" not in v


def test_decode_accepts_tensors_and_numpy():
    import numpy as np

    torch = pytest.importorskip("torch", reason="needs PyTorch (not installed)")

    v = Vocab(list("abc"))
    ids = v.encode(list("cab"))
    assert v.decode(torch.tensor(ids)) == list("cab")
    assert v.decode(np.array(ids)) == list("cab")


def test_min_freq_cut_maps_rare_tokens_to_unk():
    v = Vocab("a a a b b c".split(), min_freq=2)
    assert "c" not in v and "b" in v
    assert v.encode(["c"]) == [v.unk_id]
    assert v.counts["c"] == 1  # counts are kept before the cut


def test_custom_specials_and_tokens_that_are_specials():
    v = Vocab(["<unk>", "x"], specials=["<unk>"])
    assert v.itos == ["<unk>", "x"]  # a literal <unk> in the data (as in PTB) is not duplicated


@pytest.mark.parametrize(("kwargs", "exc", "msg"), [
    ({"tokens": "abc"}, TypeError, "single str"),
    ({"tokens": ["a", 1]}, TypeError, "token 1 is int"),
    ({"tokens": ["a"], "min_freq": 0}, ValueError, "min_freq"),
    ({"tokens": ["a"], "specials": ["<pad>"]}, ValueError, "<unk>"),
    ({"tokens": ["a"], "specials": ["<unk>", "<unk>"]}, ValueError, "repeat"),
])
def test_vocab_rejects_bad_input(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        Vocab(**kwargs)


def test_encode_and_decode_reject_bad_input():
    v = Vocab(list("ab"))
    with pytest.raises(TypeError, match="got a str"):
        v.encode("ab")
    with pytest.raises(ValueError, match="outside this vocabulary"):
        v.decode([len(v)])
    with pytest.raises(TypeError, match="must be an int"):
        v.decode([1.5])


@pytest.mark.parametrize(("text", "expected"), [
    ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),                          # Devanagari vowel signs, virama
    ("cafe\u0301 naïve", ["café", "naïve"]),                     # decomposed accent, composed
    ("ภาษาไทย ดี", ["ภาษาไทย", "ดี"]),                              # Thai marks above/below
    ("Ελληνικά, русский!", ["Ελληνικά", ",", "русский", "!"]),
])
def test_word_tokenize_keeps_combining_marks_with_their_letters(text, expected):
    assert word_tokenize(text) == expected


def test_lower_casing_that_adds_a_mark_keeps_the_word_whole():
    assert word_tokenize("İstanbul'a", lower=True) == ["i̇stanbul'a"]


def test_encode_refuses_tokens_that_are_not_strings_and_decode_takes_numpy_ints():
    v = Vocab(list("abc"))
    with pytest.raises(TypeError, match="token 1 is int"):
        v.encode(["a", 2])
    assert v.decode([np.int64(v["b"])]) == ["b"]
