"""How much of its context a language model uses (chapter 11).

After Khandelwal et al. (2018), "Sharp nearby, fuzzy far away": take ``n`` positions of a text,
give a recurrent model only the ``d`` tokens before each of them (or all ``span`` tokens, with the
order of those beyond distance ``d`` shuffled), and measure its loss on the token that follows.
Where the loss stops falling as ``d`` grows, the model has stopped using what lies further back.

Every position is scored from a fresh state (``state=None``), so the model sees exactly the
tokens it is given; the same positions and the same shuffles are used for every ``d``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from lmkit._checks import check_bool, check_int, eval_mode

__all__ = ["context_loss"]


def context_loss(model: torch.nn.Module, ids: torch.Tensor, distances: Sequence[int], *,
                 n: int = 256, shuffle: bool = False, seed: int = 0) -> dict[int, float]:
    """Mean loss (nats per token) on ``n`` seeded positions of ``ids`` with context cut at ``d``.

    Args:
        model: a recurrent lmkit model (``recurrent = True``: ``model(ids (B, T))`` returns
            ``(logits (B, T, |V|), state)``), e.g. an RNNLM, CausalConvLM or SelfAttentionLM.
        ids: ``(N,)`` token ids of a held-out text, ``N > max(distances)``.
        distances: the context lengths ``d`` to try, each ≥ 1.
        n: how many target positions (drawn once with ``seed``, each with ``max(distances)``
            tokens before it).
        shuffle: ``False``: the model reads only the last ``d`` tokens. ``True``: it reads all
            ``max(distances)`` tokens, those further than ``d`` in a shuffled order (one
            permutation per ``d``, the same for every position), so their words stay and their
            order goes.

    Returns:
        ``{d: mean negative log-probability of the target}``, in nats, in the order given.
    """
    if not getattr(model, "recurrent", False):
        raise TypeError(f"model must be a recurrent lmkit model (recurrent = True), got "
                        f"{type(model).__name__}; a window model's context is fixed anyway")
    if not isinstance(ids, torch.Tensor) or ids.dim() != 1 or ids.is_floating_point():
        raise ValueError(f"ids must be a 1-D integer tensor (the token ids of a text), got "
                         f"{getattr(ids, 'dtype', type(ids).__name__)} "
                         f"{tuple(getattr(ids, 'shape', ()))}")
    distances = [check_int(d, "a distance") for d in distances]
    if not distances:
        raise ValueError("distances must name at least one context length, e.g. [1, 2, 4, 8]")
    check_int(n, "n")
    check_bool(shuffle, "shuffle")
    span = max(distances)
    if len(ids) <= span:
        raise ValueError(f"ids has {len(ids)} tokens, but a context of {span} needs at least "
                         f"{span + 1}: pass a longer text or smaller distances")
    gen = torch.Generator().manual_seed(check_int(seed, "seed", 0, 2**32 - 1))
    pos = torch.randint(span, len(ids), (n,), generator=gen)                 # (n,)
    context = torch.stack([ids[p - span:p] for p in pos.tolist()])        # (n, span)
    target = ids[pos]                                                     # (n,)
    losses = {}
    with eval_mode(model), torch.no_grad():
        for d in distances:
            if shuffle:
                far = context[:, :span - d][:, torch.randperm(span - d, generator=gen)]
                read = torch.cat([far, context[:, span - d:]], dim=1)
            else:
                read = context[:, span - d:]
            logits, _ = model(read)                                       # (n, T, |V|)
            losses[d] = F.cross_entropy(logits[:, -1], target).item()
    return losses
