"""The package itself: version, version check, seeding."""

import importlib.metadata
import random
import warnings

import numpy as np
import pytest
import torch

import lmkit


def test_installed_metadata_matches_version():
    assert importlib.metadata.version("lmkit") == lmkit.__version__


def test_check_version_is_silent_when_versions_match():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lmkit.check_version(lmkit.__version__) is None


def test_check_version_warns_on_mismatch_and_says_how_to_fix():
    with pytest.warns(lmkit.LmkitVersionWarning, match=r"written for lmkit 0\.0\.1.*pip install"):
        lmkit.check_version("0.0.1")


@pytest.mark.parametrize("bad", [None, "", 1.0])
def test_check_version_rejects_non_versions(bad):
    with pytest.raises(TypeError, match="version string"):
        lmkit.check_version(bad)


def test_set_seed_makes_python_numpy_and_torch_reproducible():
    def draw():
        return random.random(), np.random.rand(), torch.rand(3).tolist()

    lmkit.set_seed(123)
    first = draw()
    lmkit.set_seed(123)
    assert draw() == first
    lmkit.set_seed(124)
    assert draw() != first


@pytest.mark.parametrize(("bad", "exc"), [("1", TypeError), (1.5, TypeError), (True, TypeError),
                                          (-1, ValueError), (2**32, ValueError)])
def test_set_seed_rejects_bad_seeds(bad, exc):
    with pytest.raises(exc, match="seed"):
        lmkit.set_seed(bad)
