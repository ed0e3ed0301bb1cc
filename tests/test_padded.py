"""Padded batches, masks, the encoder, the tagger and the classifier: padding changes nothing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lmkit.batching import PaddedBatches, length_mask, pad
from lmkit.models import RNNClassifier, RNNEncoder, RNNTagger
from lmkit.models.encoder import pool
from lmkit.models.labelling import predict
from lmkit.train import fit, lm_loss

pytestmark = pytest.mark.usefixtures("one_thread")

PAD = 1
SENTENCES = [[5, 6, 7, 8], [9, 2], [3, 4, 5], [7]]
TAGS = [[0, 1, 2, 0], [1, 1], [2, 0, 1], [2]]


def _batch(extra: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    ids, lengths = pad(SENTENCES, PAD, length=4 + extra)
    return ids, lengths


def test_pad_and_mask() -> None:
    ids, lengths = pad(SENTENCES, PAD)
    assert ids.tolist() == [[5, 6, 7, 8], [9, 2, 1, 1], [3, 4, 5, 1], [7, 1, 1, 1]]
    assert lengths.tolist() == [4, 2, 3, 1]
    assert length_mask(lengths).tolist()[1] == [True, True, False, False]
    assert length_mask(lengths, 6).shape == (4, 6)
    rows, _ = pad([torch.tensor([[1, 2], [3, 4]]), torch.tensor([[5, 6]])], 0)
    assert rows.shape == (2, 2, 2) and rows[1, 1].tolist() == [0, 0]


@pytest.mark.parametrize("call, error, message", [
    (lambda: pad([], 0), ValueError, "nothing to pad"),
    (lambda: pad([[1, 2], []], 0), ValueError, "sequence 1 is empty"),
    (lambda: pad(["the cat"], 0), TypeError, "encode the tokens"),
    (lambda: pad([[1.5, 2.0]], 0), TypeError, "integer ids"),
    (lambda: pad([[1, 2, 3]], 0, length=2), ValueError, "shorter than the longest"),
    (lambda: pad([torch.ones(2, 3).long(), torch.ones(2).long()], 0), ValueError,
     "same trailing shape"),
    (lambda: length_mask(torch.tensor([2, 0])), ValueError, "at least 1"),
    (lambda: length_mask([2, 1]), TypeError, "1-D integer tensor"),
])
def test_pad_errors(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def test_padded_batches_pad_targets_with_ignore_index() -> None:
    batches = PaddedBatches(SENTENCES, TAGS, batch_size=4, pad_id=PAD)
    ((ids, lengths), tags), = list(batches)
    assert tags[3].tolist() == [2, -100, -100, -100]
    assert (tags == -100).eq(~length_mask(lengths)).all()
    labels = PaddedBatches(SENTENCES, [0, 1, 1, 0], batch_size=3, pad_id=PAD)
    assert [y.tolist() for _, y in labels] == [[0, 1, 1], [0]] and len(labels) == 2


def test_padded_batches_bucket_by_length_and_keep_every_sentence() -> None:
    torch.manual_seed(0)
    sentences = [[2] * n for n in range(1, 41)]
    batches = PaddedBatches(sentences, list(range(40)), batch_size=8, pad_id=PAD,
                            shuffle=True, bucket=True)
    seen = []
    for (_, lengths), labels in batches:
        assert int(lengths.max() - lengths.min()) == 7  # sorted: 8 consecutive lengths
        seen += labels.tolist()
    assert sorted(seen) == list(range(40))


@pytest.mark.parametrize("targets, message", [
    ([[0, 1, 2], [1, 1], [2, 0, 1], [2]], "sentence 0 has 4 tokens but 3 target labels"),
    ([0, 1], "same number of sentences"),
    ([0, 1, -1, 0], "a target label is -1"),
])
def test_padded_batches_errors(targets, message) -> None:
    with pytest.raises(ValueError, match=message):
        PaddedBatches(SENTENCES, targets, batch_size=2, pad_id=PAD)


def test_padded_batches_refuse_an_empty_sentence() -> None:
    with pytest.raises(ValueError, match="sentence 1 is empty"):
        PaddedBatches([[2, 3], []], [0, 1], batch_size=2, pad_id=PAD)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_encoder_final_states_are_those_of_the_real_tokens(cell: str) -> None:
    torch.manual_seed(0)
    encoder = RNNEncoder(12, embed=5, hidden=4, cell=cell, bidirectional=True, num_layers=2)
    encoder.eval()
    ids, lengths = _batch(extra=3)
    outputs, final = encoder(ids, lengths)
    for b, sentence in enumerate(SENTENCES):  # each sentence alone, no padding at all
        alone_out, alone_final = encoder(torch.tensor([sentence]), torch.tensor([len(sentence)]))
        torch.testing.assert_close(final[b], alone_final[0])
        torch.testing.assert_close(outputs[b, :len(sentence)], alone_out[0])
        assert outputs[b, len(sentence):].abs().max() == 0  # zeros at padding
    # and they really are the end states: forward half at the last token, backward at the first
    n = encoder.hidden
    last = lengths - 1
    torch.testing.assert_close(final[:, :n], outputs[torch.arange(4), last, :n])
    torch.testing.assert_close(final[:, n:], outputs[:, 0, n:])


def _tagger_loss_and_grads(model: nn.Module, extra: int) -> tuple[torch.Tensor, list]:
    ids, lengths = _batch(extra)
    targets, _ = pad(TAGS, -100, length=4 + extra)
    model.zero_grad()
    loss = lm_loss(model(ids, lengths), targets)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_extra_padding_changes_neither_loss_nor_gradients_nor_predictions(
        bidirectional: bool) -> None:
    torch.manual_seed(0)
    tagger = RNNTagger([12, 6], 3, embed=(4, 2), hidden=5, bidirectional=bidirectional)
    features = [[[t, t % 6] for t in s] for s in SENTENCES]
    # Features too: (T, 2) ids per sentence.
    ids, lengths = pad(features, PAD)
    assert tagger(ids, lengths).shape == (4, 4, 3)
    tagger = RNNTagger(12, 3, embed=4, hidden=5, bidirectional=bidirectional)
    loss0, grads0 = _tagger_loss_and_grads(tagger, 0)
    loss5, grads5 = _tagger_loss_and_grads(tagger, 5)
    torch.testing.assert_close(loss0, loss5)
    for g0, g5 in zip(grads0, grads5, strict=True):
        torch.testing.assert_close(g0, g5)
    small = PaddedBatches(SENTENCES, TAGS, batch_size=4, pad_id=PAD)
    one_by_one = PaddedBatches(SENTENCES, TAGS, batch_size=1, pad_id=PAD)
    p4, g4 = predict(tagger, small)
    p1, g1 = predict(tagger, one_by_one)
    assert p4.tolist() == p1.tolist() and g4.tolist() == g1.tolist() == sum(TAGS, [])


def test_a_unidirectional_tagger_does_not_look_ahead() -> None:
    torch.manual_seed(0)
    tagger = RNNTagger(12, 3, embed=4, hidden=5)
    ids, lengths = _batch()
    changed = ids.clone()
    changed[0, 3] = 11
    before, after = tagger(ids, lengths), tagger(changed, lengths)
    torch.testing.assert_close(before[0, :3], after[0, :3])
    assert not torch.allclose(before[0, 3], after[0, 3])


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_classifier_ignores_padding(pooling: str) -> None:
    torch.manual_seed(0)
    model = RNNClassifier(12, 2, pooling=pooling, embed=4, hidden=5, bidirectional=True)
    model.eval()
    short, long_ = model(*_batch()), model(*_batch(extra=6))
    torch.testing.assert_close(short, long_)


def test_mean_and_max_pool_over_real_positions_only() -> None:
    outputs = torch.tensor([[[1.0, -5.0], [3.0, -1.0], [-9.0, 9.0]]])  # (1, 3, 2)
    lengths = torch.tensor([2])                                        # position 2 is padding
    assert pool(outputs, lengths, "mean").tolist() == [[2.0, -3.0]]
    assert pool(outputs, lengths, "max").tolist() == [[3.0, -1.0]]
    with pytest.raises(ValueError, match="final="):
        pool(outputs, lengths, "last")
    with pytest.raises(ValueError, match="pooling must be one of"):
        pool(outputs, lengths, "sum")


@pytest.mark.parametrize("call, error, message", [
    (lambda m: m(torch.ones(2, 3), torch.tensor([3, 3])), TypeError, "integer tensor"),
    (lambda m: m(torch.ones(2, 3).long(), torch.tensor([3])), ValueError, "lengths must be"),
    (lambda m: m(torch.ones(2, 3).long(), torch.tensor([4, 3])), ValueError, "1 … T = 3"),
    (lambda m: m(torch.full((1, 2), 12), torch.tensor([2])), ValueError, "outside 0 … 11"),
    (lambda m: m(torch.ones(1, 2, 2).long(), torch.tensor([2])), ValueError, "shape \\(B, T\\)"),
])
def test_encoder_input_errors(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call(RNNTagger(12, 3, embed=4, hidden=5))


def test_model_option_errors() -> None:
    with pytest.raises(ValueError, match="pooling must be one of"):
        RNNClassifier(12, 2, pooling="sum")
    with pytest.raises(ValueError, match="cell must be one of"):
        RNNEncoder(12, cell="transformer")
    with pytest.raises(ValueError, match="one embedding size per vocabulary"):
        RNNEncoder([12, 5], embed=(4, 2, 1))


def test_word_dropout_only_in_training_and_never_on_padding() -> None:
    torch.manual_seed(0)
    encoder = RNNEncoder(12, embed=3, hidden=2, word_dropout=0.5)
    ids, _ = _batch(extra=2)
    pad_vector = encoder.embeddings[0].weight[PAD]
    unk_vector = encoder.embeddings[0].weight[0]
    encoder.train()
    embedded = encoder.embed(ids)
    is_unk = (embedded == unk_vector).all(-1)
    assert 0 < int(is_unk[ids != PAD].sum()) < int((ids != PAD).sum())
    assert (embedded[ids == PAD] == pad_vector).all()
    encoder.eval()
    assert not (encoder.embed(ids) == unk_vector).all(-1).any()


def test_fit_trains_a_tagger_on_padded_batches() -> None:
    torch.manual_seed(0)
    tagger = RNNTagger(12, 3, embed=8, hidden=16, bidirectional=True)
    batches = PaddedBatches(SENTENCES * 8, TAGS * 8, batch_size=8, pad_id=PAD, shuffle=True)
    history = fit(tagger, batches, epochs=20, lr=2e-2, progress=False)
    assert history.train_loss[-1] < 0.1 * history.train_loss[0]
    predicted, gold = predict(tagger, PaddedBatches(SENTENCES, TAGS, 4, pad_id=PAD))
    assert predicted.tolist() == gold.tolist()
