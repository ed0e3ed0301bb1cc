"""ARPA export: the text format of n-gram models that SRILM, KenLM and speech decoders read.

An ARPA file lists, per order, every stored n-gram ``h w`` with ``log10 p(w | h)`` and, for an
n-gram that is also a context, its backoff weight ``log10 gamma(h)``. A reader computes
``p(w | h) = gamma(h) · p(w | h')`` for an unseen ``h w``, and skips unseen contexts for free:
exactly the recursion of lmkit's interpolated models with the next order down as their lower
order (:class:`~lmkit.ngram.KneserNey`, :class:`~lmkit.ngram.Interpolated`,
:class:`~lmkit.ngram.RecursiveSmoothing`).
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np

from lmkit.ngram.base import BOS_ID, NgramModel, combine

__all__ = ["stored_probs", "write_arpa"]


def stored_probs(model: NgramModel) -> list[np.ndarray]:
    """Per order ``k``, ``(n_k,)`` the model's ``p(w | h)`` for every stored n-gram ``h w``.

    An interpolated model adds the lower order to every stored n-gram, so the value the file
    must hold is the full ``alpha(h w) + gamma(h) · p(w | h')``; ``p(w | h')`` is the stored
    value of the n-gram's suffix one order down.
    """
    c = model._counts
    probs = [np.ones(1)]
    uniform = 1.0 / (c.size - 1)
    for k in range(1, c.order + 1):
        lower = probs[k - 1][c.suffix[k]] if k > 1 else uniform
        probs.append(combine(model._alpha[k], model._gamma[k], None, c.parent(k), lower))
        if k == 1:
            probs[1][BOS_ID] = 0.0
    return probs


def write_arpa(model: NgramModel, path: str | PathLike[str]) -> Path:
    """Write ``model`` to ``path`` in ARPA format; return the path.

    Each stored n-gram gets ``log10 p(w | h)`` (for interpolated models, the interpolated
    probability), each context its backoff weight ``log10 gamma(h)``, so that for an unseen
    ``h w`` the reader's ``p(w | h) = gamma(h) · p(w | h')`` is exactly this model's.
    Only models whose lower order is the next one down fit the format: not
    :class:`~lmkit.ngram.MLE` (its zeros have no logarithm, and an unseen context gives 0) nor
    :class:`~lmkit.ngram.AddDelta` (it falls back on the uniform); those raise
    ``NotImplementedError``.
    """
    model._check_fitted()
    if model._uniform_lower or model._backoff or model._unseen_gamma != 1:
        raise NotImplementedError(f"{type(model).__name__} cannot be written in ARPA format, "
                                  f"whose backoff goes to the next lower order and skips "
                                  f"unseen contexts for free; use KneserNey, Interpolated "
                                  f"or RecursiveSmoothing")
    bad = next((t for t in model.vocab.itos if not t or any(ch.isspace() for ch in t)), None)
    if bad is not None:
        raise ValueError(f"the token {bad!r} cannot be written in ARPA format, which separates "
                         f"tokens by whitespace: an ARPA reader would split it or lose it. Train "
                         f"on tokens without spaces (e.g. 'new_york') and without empty strings")
    c = model._counts
    itos = np.array(model.vocab.itos, dtype=object)  # (V,) the text of each token
    names = itos  # (n_k,) the text of each stored k-gram
    probs = stored_probs(model)
    sections = []
    for k in range(1, c.order + 1):
        log_p = np.log10(np.maximum(probs[k], 1e-99))
        if k == 1:
            log_p[BOS_ID] = -99.0  # <s> is never predicted; -99 is the ARPA convention
        lines = [f"{lp:.7f}\t{name}" for lp, name in zip(log_p, names, strict=True)]
        if k < c.order:  # a context gets its backoff weight
            is_context = np.bincount(c.parent(k + 1), minlength=c.keys[k].size) > 0
            bow = np.log10(np.maximum(model._gamma[k + 1], 1e-99))
            lines = [f"{line}\t{b:.7f}" if ctx else line
                     for line, ctx, b in zip(lines, is_context, bow, strict=True)]
            names = names[c.parent(k + 1)] + " " + itos[c.last(k + 1)]
        sections.append(f"\n\\{k}-grams:\n" + "\n".join(lines) + "\n")
    header = "\\data\\\n" + "".join(f"ngram {k}={c.keys[k].size}\n" for k in range(1, c.order + 1))
    path = Path(path)
    path.write_text(header + "".join(sections) + "\n\\end\\\n", encoding="utf-8")
    return path
