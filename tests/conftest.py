"""Fixtures shared by the test modules."""

import pytest


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models: a second torch thread only adds overhead (and stalls on a busy machine).
    Modules that train or run small models use it with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch  # here, not above: the torch-free tests also run without it (test_colab.py)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
