"""lmkit.context.context_loss: the loss with the context cut (or shuffled) beyond distance d."""

import math

import pytest
import torch
import torch.nn.functional as F

import lmkit
from lmkit.context import context_loss
from lmkit.models import RNNLM, FixedWindowLM, RNNConfig, WindowConfig
from lmkit.models.conv import CausalConvLM, ConvConfig

V = 11


def conv(dilations=(1,)):
    lmkit.set_seed(0)
    return CausalConvLM(ConvConfig(vocab_size=V, embed_dim=8, channels=8, kernel_size=2,
                                   dilations=dilations))


def rnn():
    lmkit.set_seed(0)
    return RNNLM(RNNConfig(vocab_size=V, embed_dim=8, hidden_size=16, cell="lstm"))


IDS = torch.randint(0, V, (400,), generator=torch.Generator().manual_seed(1))


def test_a_model_that_reads_two_tokens_stops_gaining_at_two():
    model = conv()                                   # receptive field 2
    cut = context_loss(model, IDS, [1, 2, 3, 8, 32], n=64)
    assert list(cut) == [1, 2, 3, 8, 32]
    assert cut[1] != cut[2]
    assert cut[2] == pytest.approx(cut[3]) == pytest.approx(cut[8]) == pytest.approx(cut[32])
    mixed = context_loss(model, IDS, [1, 2, 8, 32], n=64, shuffle=True)
    # what lies beyond the receptive field is never read, shuffled or not
    assert mixed[2] == pytest.approx(cut[2]) and mixed[8] == pytest.approx(cut[8])


def test_equals_the_loss_computed_by_hand():
    model = rnn()
    got = context_loss(model, IDS, [5, 20], n=16, seed=3)
    gen = torch.Generator().manual_seed(3)
    pos = torch.randint(20, len(IDS), (16,), generator=gen)
    read = torch.stack([IDS[p - 5:p] for p in pos.tolist()])
    with torch.no_grad():
        logits, _ = model(read)
    assert got[5] == pytest.approx(F.cross_entropy(logits[:, -1], IDS[pos]).item(), rel=1e-6)


def test_shuffling_changes_an_rnn_and_the_full_span_is_the_same_either_way():
    model = rnn()
    cut = context_loss(model, IDS, [2, 40], n=64)
    mixed = context_loss(model, IDS, [2, 40], n=64, shuffle=True)
    assert mixed[40] == pytest.approx(cut[40])       # nothing lies beyond the span
    assert mixed[2] != pytest.approx(cut[2])
    assert all(0 < v < 2 * math.log(V) for v in cut.values())


def test_bad_input():
    model = rnn()
    with pytest.raises(TypeError, match="recurrent"):
        context_loss(FixedWindowLM(WindowConfig(vocab_size=V, window=3)), IDS, [1])
    with pytest.raises(ValueError, match="1-D integer"):
        context_loss(model, IDS.float(), [1])
    with pytest.raises(ValueError, match="at least 401"):
        context_loss(model, IDS, [400])
    with pytest.raises(ValueError, match="at least one"):
        context_loss(model, IDS, [])
    with pytest.raises(ValueError):
        context_loss(model, IDS, [0])
    with pytest.raises(TypeError):
        context_loss(model, IDS, [2], shuffle=1)
