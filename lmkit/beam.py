"""Beam search: keep the ``k`` most probable prefixes at every step instead of one.

Greedy decoding commits to the most probable token at each step; a sequence whose first token
is not the most probable is never considered, however likely its whole. Beam search keeps the
``k`` best *prefixes* (the beam): at each step it extends every prefix by every token, scores
each extension by its total log-probability, and keeps the ``k`` best extensions. An extension
that ends with ``</s>`` is a finished hypothesis and leaves the beam.

- ``beam_size=1`` is greedy decoding, token for token.
- The search stops when no live prefix can still beat the best finished hypothesis
  (log-probabilities only fall as a prefix grows, so the best a prefix can still do is keep its
  log-probability and grow to ``max_len`` tokens), or after ``max_len`` tokens.
- **Length normalisation.** Every token multiplies in a probability below 1, so the total
  log-probability favours short outputs. Hypotheses are ranked by
  ``logprob / length ** length_penalty`` (``length`` counts ``</s>``): 0 ranks by the
  log-probability itself, 1 by the mean log-probability per token.

The search knows nothing about models: it calls ``step(prefixes, state)``, which returns the
next-token log-probabilities of every live prefix and the model's new state (or ``None``).
The search reorders the state when it reorders the beam (tensors along their first dimension,
lists by item), so a recurrent decoder runs one step per beam and token. The seq2seq models
(:func:`lmkit.models.seq2seq.beam_translate`) and every language model of the book
(:meth:`lmkit.models.base.LanguageModel.beam_search`) use it.

This module needs only NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmkit._checks import check_int, check_number

__all__ = ["Hypothesis", "beam_search", "beam_search_batch", "exact_search", "exact_search_batch",
           "normalised_score"]

#: ``step(prefixes, state) -> (logprobs (k, |V|), state)``: ``prefixes`` are the ``k`` live
#: prefixes (lists of token ids, ``[]`` at the start), ``state`` what the previous call returned
#: (reordered to match the prefixes; the ``state`` given to :func:`beam_search` at first).
Step = Callable[[list[list[int]], Any], tuple[Any, Any]]


@dataclass(frozen=True)
class Hypothesis:
    """One output of the search: its tokens (without ``</s>``), its total log-probability
    (``</s>`` included when ``finished``), and its rank score."""

    tokens: list[int]
    logprob: float
    score: float
    finished: bool


def normalised_score(logprob: float, length: int, length_penalty: float) -> float:
    """``logprob / length ** length_penalty`` (``length`` at least 1)."""
    return logprob / max(1, length) ** length_penalty


def _reorder(state: Any, rows: np.ndarray) -> Any:
    """The state of the beams ``rows`` (tensors and arrays along dimension 0, lists by item)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(_reorder(s, rows) for s in state)
    if isinstance(state, list):
        return [state[i] for i in rows.tolist()]
    if hasattr(state, "index_select"):                      # a torch tensor
        import torch
        return state.index_select(0, torch.as_tensor(rows, dtype=torch.long))
    if isinstance(state, np.ndarray):
        return state[rows]
    raise TypeError(f"a beam state must be None, a tensor, an array, or a tuple/list of them, "
                    f"got {type(state).__name__}")


def _as_logprobs(out: Any, k: int) -> np.ndarray:
    logp = out.detach().double().cpu().numpy() if hasattr(out, "detach") else \
        np.asarray(out, dtype=np.float64)
    if logp.ndim != 2 or logp.shape[0] != k:
        raise ValueError(f"step must return log-probabilities of shape (k, |V|) = ({k}, |V|) "
                         f"for k live prefixes, got shape {logp.shape}")
    if np.isnan(logp).any() or (logp > 1e-6).any():
        raise ValueError("step must return log-probabilities (all <= 0, no NaN); did it return "
                         "logits? apply log_softmax first")
    return logp


def beam_search(step: Step, state: Any = None, *, beam_size: int, max_len: int, eos: int | None,
                length_penalty: float = 0.0, never: Sequence[int] = ()) -> list[Hypothesis]:
    """Beam search for one sequence: :func:`beam_search_batch` with a batch of one.

    Returns the hypotheses, best score first: every finished one, then (if none finished, or
    the search hit ``max_len``) the live ones, marked ``finished=False``.
    """
    return beam_search_batch(step, state, 1, beam_size=beam_size, max_len=max_len, eos=eos,
                             length_penalty=length_penalty, never=never)[0]


def beam_search_batch(step: Step, state: Any, batch: int, *, beam_size: int, max_len: int,
                      eos: int | None, length_penalty: float = 0.0,
                      never: Sequence[int] = ()) -> list[list[Hypothesis]]:
    """Beam search for ``batch`` independent sequences at once (each its own beam).

    Args:
        step: see :data:`Step`; it is called with ``batch * beam_size`` prefixes, those of
            sequence ``b`` in rows ``b * beam_size … (b + 1) * beam_size - 1`` (a beam with
            fewer live prefixes repeats one; its extra rows are never chosen).
        state: the model's state before the first token, ``batch`` rows (or ``None``).
        beam_size: ``k``, the number of prefixes kept per sequence (1 is greedy).
        max_len: at most this many tokens per hypothesis (``</s>`` included).
        eos: the id that ends a hypothesis (``None``: only ``max_len`` ends one).
        length_penalty: ``α >= 0`` in ``logprob / length ** α``.
        never: ids never chosen (``<s>``, ``<pad>``).

    Returns:
        For each sequence, its hypotheses, best score first (see :func:`beam_search`).
    """
    batch = check_int(batch, "batch")
    k = check_int(beam_size, "beam_size", hint="1 is greedy decoding; try 5")
    max_len = check_int(max_len, "max_len", hint="the longest output, e.g. 20")
    alpha = check_number(length_penalty, "length_penalty", low=0.0,
                         hint="0 ranks by log-probability, 1 by log-probability per token")
    rows = batch * k
    prefixes: list[list[int]] = [[] for _ in range(rows)]
    totals = np.full((batch, k), -np.inf)
    totals[:, 0] = 0.0                                      # one live prefix each: []
    state = _reorder(state, np.repeat(np.arange(batch), k))
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    active = np.ones(batch, dtype=bool)
    for t in range(1, max_len + 1):
        out, state = step(prefixes, state)
        logp = _as_logprobs(out, rows)
        vocab = logp.shape[1]
        logp[:, list(never)] = -np.inf
        cand = (totals[:, :, None] + logp.reshape(batch, k, vocab)).reshape(batch, k * vocab)
        width = min(2 * k, k * vocab)
        top = np.argpartition(-cand, width - 1, axis=1)[:, :width]        # (batch, 2k)
        parents = np.repeat(np.arange(batch) * k, k)        # dead rows: copies of row 0
        new_prefixes = list(prefixes)
        new_totals = np.full((batch, k), -np.inf)
        for b in np.flatnonzero(active):
            ranked = sorted(top[b], key=lambda j: (-cand[b, j], j))  # ties: lower beam, id
            live = 0
            for rank, j in enumerate(ranked):
                if not np.isfinite(cand[b, j]) or live == k:
                    break
                row, token = divmod(int(j), vocab)
                prefix = prefixes[b * k + row]
                if eos is not None and token == eos:
                    if rank < k:                            # an end among the k best
                        finished[b].append(Hypothesis(prefix, float(cand[b, j]),
                                                      normalised_score(cand[b, j], t, alpha),
                                                      True))
                    continue
                parents[b * k + live] = b * k + row
                new_prefixes[b * k + live] = prefix + [token]
                new_totals[b, live] = cand[b, j]
                live += 1
            for r in range(live, k):                        # pad the beam with a live copy
                parents[b * k + r] = parents[b * k]
                new_prefixes[b * k + r] = new_prefixes[b * k]
            # A live prefix can at best keep its log-probability and grow to max_len tokens:
            # if even that scores no better than the best finished hypothesis, b is done.
            best_done = max((h.score for h in finished[b]), default=-np.inf)
            if live == 0 or normalised_score(new_totals[b].max(), max_len, alpha) <= best_done:
                active[b] = False
            elif t == max_len:
                finished[b] += [Hypothesis(new_prefixes[b * k + r], float(new_totals[b, r]),
                                           normalised_score(new_totals[b, r], t, alpha), False)
                                for r in range(live)]
        if not active.any() or t == max_len:
            break
        prefixes, totals = new_prefixes, np.where(active[:, None], new_totals, -np.inf)
        state = _reorder(state, parents)
    for b in range(batch):
        if not finished[b]:   # nothing finished and nothing live: the last live prefixes
            finished[b] = [Hypothesis(prefixes[b * k + r], float(totals[b, r]),
                                      normalised_score(totals[b, r], len(prefixes[b * k + r]),
                                                       alpha), False)
                           for r in range(k) if np.isfinite(totals[b, r])] or \
                [Hypothesis([], 0.0, 0.0, False)]
        finished[b].sort(key=lambda h: -h.score)
    return finished


def exact_search(step: Step, state: Any = None, *, max_len: int, eos: int,
                 never: Sequence[int] = (), bound: float = -np.inf,
                 max_prefixes: int = 100_000) -> Hypothesis | None:
    """The most probable finished hypothesis of at most ``max_len`` tokens, found for sure:
    :func:`exact_search_batch` for one sequence."""
    return exact_search_batch(step, state, 1, max_len=max_len, eos=eos, never=never,
                              bounds=[bound], max_prefixes=max_prefixes)[0]


def exact_search_batch(step: Step, state: Any, batch: int, *, max_len: int, eos: int,
                       never: Sequence[int] = (), bounds: Sequence[float] | None = None,
                       max_prefixes: int = 100_000) -> list[Hypothesis | None]:
    """The most probable finished hypothesis of each of ``batch`` sequences, found for sure.

    Breadth first: at every length, extend every prefix whose log-probability is above the best
    finished hypothesis of its sequence found so far (its bound at the start); the others cannot
    lead to a better one, since log-probabilities only fall as a prefix grows. With a good bound
    (the log-probability of beam search's answer, say) few prefixes survive and the search is
    fast; it is exact, unlike beam search.

    Args:
        step: see :data:`Step`; called with the surviving prefixes of all sequences together.
        state: the model's state before the first token, ``batch`` rows (or ``None``).
        bounds: for each sequence, a log-probability to beat (default ``-inf``: none).
        max_prefixes: the most prefixes allowed at one length, over all sequences.

    Returns:
        For each sequence, its most probable finished hypothesis, or ``None`` if no finished
        hypothesis of at most ``max_len`` tokens beats its bound.

    Raises:
        RuntimeError: more than ``max_prefixes`` prefixes at one length (tighten the bounds).
    """
    batch = check_int(batch, "batch")
    max_len = check_int(max_len, "max_len", hint="the longest output, e.g. 20")
    bound = np.full(batch, -np.inf) if bounds is None else np.array(bounds, dtype=np.float64)
    if bound.shape != (batch,):
        raise ValueError(f"bounds must hold one log-probability per sequence ({batch}), got "
                         f"{bound.shape[0] if bound.ndim else 'a scalar'}")
    best: list[Hypothesis | None] = [None] * batch
    owner = np.arange(batch)                                # the sequence of each row
    prefixes: list[list[int]] = [[] for _ in range(batch)]
    totals = np.zeros(batch)
    for t in range(1, max_len + 1):
        out, state = step(prefixes, state)
        logp = _as_logprobs(out, len(prefixes))
        logp[:, list(never)] = -np.inf
        cand = totals[:, None] + logp                       # (rows, |V|)
        for r in np.argsort(-cand[:, eos], kind="stable"):  # best ends first
            b = owner[r]
            if cand[r, eos] > bound[b]:
                bound[b] = cand[r, eos]
                best[b] = Hypothesis(prefixes[r], float(bound[b]), float(bound[b]), True)
        cand[:, eos] = -np.inf
        rows, tokens = np.nonzero(cand > bound[owner][:, None])
        if rows.size == 0 or t == max_len:
            break
        if rows.size > max_prefixes:
            raise RuntimeError(f"{rows.size} prefixes beat their bounds at length {t}; give "
                               f"tighter bounds (beam search's log-probabilities)")
        prefixes = [prefixes[r] + [int(w)] for r, w in zip(rows, tokens, strict=True)]
        totals, owner = cand[rows, tokens], owner[rows]
        state = _reorder(state, rows)
    return best
