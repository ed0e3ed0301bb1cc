"""The causal self-attention LM (chapter 11): no position sees the future, the window of C
tokens is exactly what one output reads, blocks with a carried state equal one pass, the
weights, and bad input."""

import pytest
import torch
from test_conv import assert_blocks_equal_one_pass, assert_no_future, assert_reads_exactly

from lmkit.models import SelfAttentionConfig, SelfAttentionLM


def model(**options):
    torch.manual_seed(0)
    config = SelfAttentionConfig(**{"vocab_size": 11, "embed_dim": 8, "mlp": 16} | options)
    m = SelfAttentionLM(config).double().eval()
    with torch.no_grad():                       # a non-zero bias per distance
        m.distance_bias.normal_()
    return m


@pytest.mark.parametrize("options", [{"context": 8}, {"context": 8, "mlp": 0},
                                     {"context": 1}])
def test_no_position_sees_the_future(options):
    assert_no_future(model(**options), torch.randint(11, (3, 30)), [0, 5, 20, 28])


def test_one_output_reads_exactly_the_last_c_tokens():
    assert_reads_exactly(model(context=6), torch.randint(11, (2, 30)), t=20, span=6)


def test_blocks_with_a_carried_state_equal_one_pass():
    assert_blocks_equal_one_pass(model(context=7), torch.randint(11, (2, 40)), block=9)


def test_weights_sum_to_one_over_the_window_and_are_zero_elsewhere():
    m = model(context=4)
    logits, _, w = m(torch.randint(11, (2, 6)), return_weights=True)
    assert w.shape == (2, 6, 3 + 6)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 6, dtype=torch.float64))
    assert (w[:, :, :3] == 0).all()             # no history: the state's slots are empty
    for t in range(6):
        key = t + 3                             # the query's own index among the keys
        assert (w[:, t, key + 1:] == 0).all() and (w[:, t, :max(0, key - 3)] == 0).all()


def test_bad_input():
    with pytest.raises(ValueError, match="context"):
        SelfAttentionConfig(vocab_size=5, context=0)
    with pytest.raises(TypeError, match="SelfAttentionConfig"):
        SelfAttentionLM({"vocab_size": 5})
    m = model(context=4)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        m(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="state must be"):
        m(torch.zeros(2, 3, dtype=torch.long), (torch.zeros(2, 2, 8), torch.ones(2, 2).bool()))
