"""Chapter 3's parameter-budget exercise agrees with lmkit's FixedWindowLM."""

import pytest

from lmkit.exercises import ch03, registry
from lmkit.models import FixedWindowLM, WindowConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def _num_params(v, k, d, h, direct):
    config = WindowConfig(vocab_size=v, window=k, embed_dim=d, hidden_dim=h, direct=direct)
    return sum(p.numel() for p in FixedWindowLM(config).parameters())


@pytest.mark.parametrize("direct", [False, True])
def test_the_count_is_fixedwindowlms(direct):
    for v, k, d, h in [(50, 1, 4, 8), (50, 5, 4, 8), (300, 3, 7, 5)]:
        assert ch03._count(v, k, d, h, direct) == _num_params(v, k, d, h, direct)


@pytest.mark.parametrize("case", [c for c in registry()["ch03.largest_window"].cases
                                  if c[0] <= 1_000])
def test_largest_window_fits_and_one_more_does_not(case):
    v, d, h, budget, direct = case
    k = ch03._largest_window(*case)
    assert k == 0 or _num_params(v, k, d, h, direct) <= budget
    assert _num_params(v, k + 1, d, h, direct) > budget
