"""The encoder–decoder of chapter 9: padding, the encoder's final state, greedy decoding,
teacher forcing, translate, PaddedPairs, and the errors for bad input."""

import pytest
import torch

from lmkit.batching import PaddedPairs, pad
from lmkit.batching.padded import IGNORE_INDEX
from lmkit.models import Seq2Seq
from lmkit.models.seq2seq import greedy, greedy_translate, translate
from lmkit.text import Vocab
from lmkit.train import lm_loss

SRC = [["je", "suis", "grand", "."], ["il", "est", "petit", "."], ["tu", "es", "là", "!"]]
TGT = [["i'm", "tall", "."], ["he", "is", "small", "."], ["you", "are", "here", "!"]]
src_vocab = Vocab(w for s in SRC for w in s)
tgt_vocab = Vocab(w for s in TGT for w in s)


def model(seed=0, **options):
    torch.manual_seed(seed)
    return Seq2Seq(src_vocab, tgt_vocab, embed=8, hidden=12, **options).double()


def pairs(batch_size=3):
    return PaddedPairs([src_vocab.encode(s) for s in SRC], [tgt_vocab.encode(t) for t in TGT],
                       batch_size, pad_id=tgt_vocab["<pad>"], bos_id=tgt_vocab["<s>"],
                       eos_id=tgt_vocab["</s>"])


def padded_more(batch, extra=3):
    """The same batch with `extra` more padding columns on every tensor."""
    (src, n, tgt_in), tgt_out = batch
    pad_id = tgt_vocab["<pad>"]

    def grow(x, value):
        return torch.cat([x, torch.full((x.shape[0], extra), value)], dim=1)

    return (grow(src, pad_id), n, grow(tgt_in, pad_id)), grow(tgt_out, IGNORE_INDEX)


def loss_and_grads(m, batch):
    m.zero_grad()
    (src, n, tgt_in), tgt_out = batch
    loss = lm_loss(m(src, n, tgt_in), tgt_out)
    loss.backward()
    return loss.detach(), {k: p.grad.clone() for k, p in m.named_parameters()}


def test_padded_pairs_shift_the_target_and_pad_it():
    (src, n, tgt_in), tgt_out = next(iter(pairs()))
    assert n.tolist() == [4, 4, 4]
    bos, eos, p = tgt_vocab["<s>"], tgt_vocab["</s>"], tgt_vocab["<pad>"]
    assert tgt_in[0].tolist() == [bos, *tgt_vocab.encode(TGT[0]), p]
    assert tgt_out[0].tolist() == [*tgt_vocab.encode(TGT[0]), eos, IGNORE_INDEX]
    assert tgt_out[1].tolist() == [*tgt_vocab.encode(TGT[1]), eos]


def assert_padding_changes_nothing(m):
    """Extra padding columns change neither the loss nor any gradient of ``m``."""
    batch = next(iter(pairs()))
    loss, grads = loss_and_grads(m, batch)
    loss2, grads2 = loss_and_grads(m, padded_more(batch))
    torch.testing.assert_close(loss, loss2)
    for k in grads:
        torch.testing.assert_close(grads[k], grads2[k], msg=k)


@pytest.mark.parametrize("attention", [None, "additive", "dot"])
@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_extra_padding_changes_neither_loss_nor_gradients(cell, attention):
    assert_padding_changes_nothing(model(cell=cell, attention=attention))


def test_extra_padding_does_not_change_translations():
    m = model()
    (src, n, _), _ = next(iter(pairs()))
    (src2, _, _), _ = padded_more(next(iter(pairs())), extra=5)
    assert greedy(m, src, n, max_len=6) == greedy(m, src2, n, max_len=6)


def test_the_loss_is_the_mean_over_real_target_tokens():
    m = model()
    (src, n, tgt_in), tgt_out = next(iter(pairs()))
    logits = m(src, n, tgt_in)
    real = tgt_out != IGNORE_INDEX
    manual = -logits.log_softmax(-1)[real].gather(1, tgt_out[real][:, None]).mean()
    torch.testing.assert_close(lm_loss(logits, tgt_out), manual)


def test_the_encoder_state_is_that_after_the_last_real_token():
    m = model()
    short = src_vocab.encode(["je", "suis", "."])
    src, n = pad([short, src_vocab.encode(SRC[1])], pad_id=src_vocab["<pad>"])
    alone, _ = pad([short], pad_id=src_vocab["<pad>"])
    both = m.encode(src, n)                               # (1, 2, n)
    torch.testing.assert_close(both[:, 0], m.encode(alone, torch.tensor([3]))[:, 0])
    # reading the padding as if it were text gives another state
    assert not torch.allclose(both[:, 0], m.encode(src[:1], torch.tensor([4]))[:, 0])


class ScriptedDecoder(torch.nn.Module):
    """A decoder that emits scripted tokens, one row per sentence, and counts its calls."""

    def __init__(self, script, vocab_size):
        super().__init__()
        self.script, self.vocab_size, self.calls = script, vocab_size, 0

    def forward(self, token, state):
        t = self.calls
        self.calls += 1
        logits = torch.zeros(len(self.script), 1, self.vocab_size, dtype=torch.float64)
        for b, row in enumerate(self.script):
            logits[b, 0, row[min(t, len(row) - 1)]] = 1.0
        return logits, state


def test_greedy_stops_at_eos_per_sentence_and_at_max_len():
    m = model()
    eos, a, b = tgt_vocab["</s>"], tgt_vocab["tall"], tgt_vocab["he"]
    m.decoder = ScriptedDecoder([[a, eos, b, b, b, b], [a, b, a, b, eos, a]], len(tgt_vocab))
    src, n = pad([[5, 6], [7]], pad_id=1)
    assert greedy(m, src, n, max_len=4) == [[a], [a, b, a, b]]   # cut at </s>; at max_len
    assert m.decoder.calls == 4
    m.decoder.calls = 0
    assert greedy(m, src, n, max_len=50) == [[a], [a, b, a, b]]
    assert m.decoder.calls == 5                          # stops once every sentence is done


def test_greedy_never_emits_pad_or_bos():
    m = model()
    m.decoder = ScriptedDecoder([[tgt_vocab["<pad>"]], [tgt_vocab["<s>"]]], len(tgt_vocab))
    src, n = pad([[5], [6]], pad_id=1)
    out = greedy(m, src, n, max_len=3)
    assert all(t not in (tgt_vocab["<pad>"], tgt_vocab["<s>"]) for row in out for t in row)


def test_teacher_forcing_ratio():
    m = model(teacher_forcing=1.0)
    (src, n, tgt_in), _ = next(iter(pairs()))
    m.train()
    parallel = m(src, n, tgt_in)
    m.teacher_forcing = 1 - 1e-12                        # step by step, every coin says "keep"
    torch.testing.assert_close(m(src, n, tgt_in), parallel)
    m.teacher_forcing = 0.0                              # always its own prediction
    own = m(src, n, tgt_in)
    torch.testing.assert_close(own[:, 0], parallel[:, 0])   # the first input is <s> anyway
    assert not torch.allclose(own, parallel)
    m.eval()                                             # evaluation: always teacher-forced
    torch.testing.assert_close(m(src, n, tgt_in), parallel)


def test_translate_and_its_bad_input():
    m = model()
    out = translate(m, "Je suis grand.", max_len=4)
    assert isinstance(out, str) and len(out.split()) <= 4
    with pytest.raises(ValueError, match="empty"):
        translate(m, "   ")
    with pytest.raises(ValueError, match="none of the words"):
        translate(m, "Bonjour Madame")
    with pytest.warns(UserWarning, match="bonjour"):
        translate(m, "Bonjour, je suis grand.")
    with pytest.raises(ValueError, match="max_len"):
        translate(m, "je suis grand", max_len=0)
    with pytest.raises(TypeError):
        translate(m, ["je", "suis"])
    with pytest.raises(ValueError, match="empty"):
        greedy_translate(m, [])


def test_mismatched_vocabularies_and_ids():
    other = Vocab(["a"], specials=("<unk>", "<s>", "</s>", "<pad>"))
    with pytest.raises(ValueError, match="pad"):
        Seq2Seq(src_vocab, other)
    with pytest.raises(ValueError, match="</s>"):
        Seq2Seq(src_vocab, Vocab(["a"], specials=("<unk>", "<pad>", "<s>")))
    with pytest.raises(TypeError):
        Seq2Seq(src_vocab, ["a", "b"])
    m = model()
    (src, n, tgt_in), _ = next(iter(pairs()))
    with pytest.raises(ValueError, match="outside"):
        m(src, n, tgt_in + len(tgt_vocab))               # target ids of a bigger vocabulary
    with pytest.raises(ValueError):
        m(src + len(src_vocab), n, tgt_in)               # source ids of a bigger vocabulary
    with pytest.raises(ValueError):
        m(src, n, tgt_in[:2])                            # batch sizes differ


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"sources": [], "targets": []}, ValueError),
    ({"sources": [[1]], "targets": [[1], [2]]}, ValueError),
    ({"sources": [[]], "targets": [[1]]}, ValueError),           # an empty source
    ({"sources": "ab", "targets": [[1]]}, TypeError),
])
def test_padded_pairs_bad_input(kwargs, error):
    with pytest.raises(error):
        PaddedPairs(batch_size=2, pad_id=1, bos_id=2, eos_id=3, **kwargs)


def test_padded_pairs_needs_distinct_special_ids():
    with pytest.raises(ValueError, match="differ"):
        PaddedPairs([[4]], [[5]], 1, pad_id=1, bos_id=1, eos_id=3)


def test_padding_embeddings_are_zero_and_get_no_gradient():
    m = model()
    loss_and_grads(m, next(iter(pairs())))
    p = tgt_vocab["<pad>"]
    for embedding in (m.encoder.embeddings[0], m.decoder.embedding):
        assert embedding.padding_idx == p
        assert not embedding.weight[p].any() and not embedding.weight.grad[p].any()


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_teacher_forcing_ratio_must_be_a_probability(ratio):
    with pytest.raises(ValueError, match="teacher_forcing"):
        model(teacher_forcing=ratio)


def test_an_empty_source_in_a_batch_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        greedy_translate(model(), [["je", "suis"], []])
