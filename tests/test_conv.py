"""The causal convolutional LM (chapter 11): causality, the receptive field, blocks with a
carried state equal to one pass, and bad input."""

import pytest
import torch

from lmkit.models import CausalConvLM, ConvConfig
from lmkit.models.conv import receptive_field


def changed_from(ids, begin, end=None):
    """A copy of ids (B, T) with every token of positions begin … end - 1 replaced."""
    out = ids.clone()
    out[:, begin:end] = (out[:, begin:end] + 1) % 11
    return out


def assert_no_future(m, ids, positions):
    """Changing the tokens after t changes no output up to t (any causal LM of ids < 11)."""
    logits, _ = m(ids)
    for t in positions:
        torch.testing.assert_close(m(changed_from(ids, t + 1))[0][:, :t + 1],
                                   logits[:, :t + 1])


def assert_reads_exactly(m, ids, t, span):
    """Output t reads token t - span + 1 and not token t - span."""
    logits = m(ids)[0][:, t]
    torch.testing.assert_close(m(changed_from(ids, t - span, t - span + 1))[0][:, t], logits)
    assert not torch.allclose(m(changed_from(ids, t - span + 1, t - span + 2))[0][:, t], logits)


def assert_blocks_equal_one_pass(m, ids, block):
    """Reading ids block by block, the state carried, gives the logits of one pass."""
    whole, _ = m(ids)
    state, parts = None, []
    for begin in range(0, ids.shape[1], block):
        logits, state = m(ids[:, begin:begin + block], state)
        parts.append(logits)
    torch.testing.assert_close(torch.cat(parts, dim=1), whole)


def model(**options):
    torch.manual_seed(0)
    config = ConvConfig(vocab_size=11, embed_dim=6, channels=8, **options)
    return CausalConvLM(config).double().eval()


@pytest.mark.parametrize("options", [{}, {"gated": False}, {"kernel_size": 2,
                                                          "dilations": (1, 1, 2)}])
def test_no_position_sees_the_future(options):
    m = model(**options)
    ids = torch.randint(11, (3, 40))
    assert_no_future(m, ids, [0, 7, 25, 38])
    logits, _ = m(ids)
    for t in [0, 7, 25, 38]:
        assert not torch.allclose(m(changed_from(ids, t + 1))[0][:, t + 1:], logits[:, t + 1:])


def test_the_receptive_field_is_exactly_what_one_output_reads():
    m = model(kernel_size=3, dilations=(1, 2, 4))
    R = m.receptive_field
    assert R == receptive_field(3, (1, 2, 4)) == 15
    assert_reads_exactly(m, torch.randint(11, (2, 40)), t=30, span=R)


def test_blocks_with_a_carried_state_equal_one_pass():
    assert_blocks_equal_one_pass(model(), torch.randint(11, (2, 50)), block=12)


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
