"""The causal convolutional LM (chapter 11): causality, the receptive field, blocks with a
carried state equal to one pass, and bad input."""

import pytest
import torch

from lmkit.models import CausalConvLM, ConvConfig
from lmkit.models.conv import receptive_field


def model(**options):
    torch.manual_seed(0)
    config = ConvConfig(vocab_size=11, embed_dim=6, channels=8, **options)
    return CausalConvLM(config).double().eval()


@pytest.mark.parametrize("options", [{}, {"gated": False}, {"kernel_size": 2,
                                                          "dilations": (1, 1, 2)}])
def test_no_position_sees_the_future(options):
    m = model(**options)
    ids = torch.randint(11, (3, 40))
    logits, _ = m(ids)
    for t in [0, 7, 25, 38]:
        changed = ids.clone()
        changed[:, t + 1:] = (changed[:, t + 1:] + 1) % 11
        torch.testing.assert_close(m(changed)[0][:, :t + 1], logits[:, :t + 1])
        assert not torch.allclose(m(changed)[0][:, t + 1:], logits[:, t + 1:])


def test_the_receptive_field_is_exactly_what_one_output_reads():
    m = model(kernel_size=3, dilations=(1, 2, 4))
    R = m.receptive_field
    assert R == receptive_field(3, (1, 2, 4)) == 15
    ids = torch.randint(11, (2, 40))
    t = 30
    logits = m(ids)[0][:, t]
    outside, inside = ids.clone(), ids.clone()
    outside[:, t - R] = (outside[:, t - R] + 1) % 11               # one token too far back
    inside[:, t - R + 1] = (inside[:, t - R + 1] + 1) % 11         # the farthest it reads
    torch.testing.assert_close(m(outside)[0][:, t], logits)
    assert not torch.allclose(m(inside)[0][:, t], logits)


def test_blocks_with_a_carried_state_equal_one_pass():
    m = model()
    ids = torch.randint(11, (2, 50))
    whole, _ = m(ids)
    state, parts = None, []
    for begin in range(0, 50, 12):
        logits, state = m(ids[:, begin:begin + 12], state)
        parts.append(logits)
    torch.testing.assert_close(torch.cat(parts, dim=1), whole)


def test_bad_input():
    with pytest.raises(ValueError, match="at least one layer"):
        ConvConfig(vocab_size=5, dilations=())
    with pytest.raises(ValueError, match="dilation"):
        ConvConfig(vocab_size=5, dilations=(1, 0))
    with pytest.raises(TypeError, match="ConvConfig"):
        CausalConvLM({"vocab_size": 5})
    m = model()
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        m(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="state must be"):
        m(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 4, 6, dtype=torch.float64))
