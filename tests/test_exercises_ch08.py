"""Chapter 8's reference solutions agree with lmkit's pooling, encoder and loss."""

import pytest
import torch

from lmkit.batching import pad
from lmkit.exercises import ch08, registry
from lmkit.models import RNNEncoder
from lmkit.models.encoder import pool
from lmkit.train import lm_loss

pytestmark = pytest.mark.usefixtures("one_thread")


def test_masked_mean_is_lmkits_mean_pooling():
    for outputs, lengths in registry()["ch08.masked_mean"].cases:
        torch.testing.assert_close(ch08._masked_mean(outputs, lengths),
                                   pool(outputs, lengths, "mean"))


def test_last_states_are_a_unidirectional_encoders_final_states():
    torch.manual_seed(0)
    encoder = RNNEncoder(10, embed=3, hidden=4).double()
    ids, lengths = pad([[2, 3, 4], [5], [6, 7]], pad_id=1)
    outputs, final = encoder(ids, lengths)
    torch.testing.assert_close(ch08._last_states(outputs, lengths), final)


def test_masked_loss_is_lm_loss_with_ignored_padding():
    for logits, targets, lengths in registry()["ch08.masked_loss"].cases:
        ignored = targets.clone()
        ignored[torch.arange(targets.shape[1])[None, :] >= lengths[:, None]] = -100
        torch.testing.assert_close(ch08._masked_loss(logits, targets, lengths),
                                   lm_loss(logits, ignored))
