"""lmkit: the companion package of the course-book on neural language models.

One module per idea (see the book's preface for the map):

- :mod:`lmkit.data`       the book's corpora: download, verify, cache, or read from a mirror
- :mod:`lmkit.text`       tokenizers and :class:`~lmkit.text.Vocab`
- :mod:`lmkit.batching`   token streams, context windows, (batch, time) blocks for truncated BPTT
- :mod:`lmkit.ngram`      counting and smoothed n-gram models (add-δ, interpolation, Kneser–Ney)
- :mod:`lmkit.metrics`    cross-entropy, perplexity, bits per character; corpus BLEU
- :mod:`lmkit.translation` Tatoeba French–English pairs for chapters 9 and 10
- :mod:`lmkit.models`     the neural language models (:mod:`lmkit.models.window`, …)
- :mod:`lmkit.train`      the one training loop: progress bar, clipping, truncated BPTT, history
- :mod:`lmkit.generate`   greedy, temperature and top-k sampling from any neural language model
- :mod:`lmkit.grad`       finite-difference gradient checks, per-step hidden-state gradient norms
- :mod:`lmkit.plot`       training curves and the book's other recurring plots
- :mod:`lmkit.widgets`    the interactive explorers (plain functions underneath, sliders on top)
- :mod:`lmkit.exercises`  the exercise checker used in every chapter

Every notebook of the book starts with ``lmkit.check_version("X.Y.Z")`` so that a reader whose
installed lmkit differs from the one the book was written against is told so at once.
"""

from __future__ import annotations

import random
import warnings

from lmkit import data, metrics, text

__version__ = "0.1.0"

__all__ = ["LmkitVersionWarning", "__version__", "check_version", "data", "metrics",
           "set_seed", "text"]


class LmkitVersionWarning(UserWarning):
    """The installed lmkit is not the version a notebook was written for."""


def check_version(expected: str) -> None:
    """Warn (:class:`LmkitVersionWarning`) if the installed lmkit is not version ``expected``.

    Notebooks call this right after their set-up cell. A mismatch is the classic failure of
    course-book helper packages: a notebook from one edition of the book running against the
    package of another, which fails later with a confusing error far from its cause.

    >>> check_version(__version__)  # silent when the versions match
    """
    if not isinstance(expected, str) or not expected.strip():
        raise TypeError(f"expected must be a version string such as '{__version__}', "
                        f"got {expected!r}")
    if expected.strip() == __version__:
        return
    warnings.warn(
        f"This notebook was written for lmkit {expected}, but lmkit {__version__} is installed. "
        f"Results and function names may differ. Install the matching version with "
        f"`pip install \"lmkit @ git+<the book's repository>@v{expected}\"` "
        f"(the notebook's first cell does this on Colab), then restart the kernel.",
        LmkitVersionWarning,
        stacklevel=2,
    )


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's random number generators in one call.

    Use it at the top of every experiment so that numbers reproduce from run to run.
    """
    from lmkit._checks import check_seed

    if seed is None:
        raise TypeError("seed must be an int in 0 … 2**32 - 1, got None")
    seed = check_seed(seed)
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency, but seeding need not fail
        return
    torch.manual_seed(seed)
