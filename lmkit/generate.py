"""Generating text from the book's neural language models: greedy, temperature and top-k sampling.

Generation feeds the model its own output. From the model's logits ``z`` for the next token,

- **greedy** decoding takes ``argmax z`` (``temperature=0``);
- **sampling** draws from ``softmax(z / τ)``: the temperature ``τ`` sharpens the distribution
  (``τ < 1``, towards greedy) or flattens it (``τ > 1``, towards uniform); ``τ = 1`` samples
  the model's own distribution;
- **top-k** sampling keeps only the ``k`` most likely tokens, renormalised, before drawing.

:func:`next_token_distribution` is that rule as a pure function on logits; :func:`sample`
applies it token by token to any lmkit model, and :func:`sample_text` goes from a prompt string
to a string::

    ids = sample(model, vocab.encode(list("the time ")), 200, temperature=0.8, seed=1)
    print(sample_text(model, vocab, "the time ", 200, temperature=0.8, seed=1))

Two kinds of model are supported:

- **recurrent** models (``model(x, state) -> (logits, state)``, e.g.
  :class:`lmkit.models.RNNLM`): the prompt is read once, then one token at a time is fed
  back with the state carried, so each step costs the same however long the text;
- **fixed-window** models (``model.config.window = k``, ``model(context (B, k)) -> (B, |V|)``,
  e.g. :class:`lmkit.models.FixedWindowLM`): each step shows the model the last ``k`` tokens;
  a prompt shorter than ``k`` is left-padded with ``pad_id``.

Sampling uses its own seeded ``torch.Generator``: the same seed gives the same text, and the
global random state is left alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lmkit.text import Vocab

__all__ = ["greedy", "next_token_distribution", "sample", "sample_text", "top_k_filter"]


def _check_temperature(temperature: object) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature must be a number >= 0, got {temperature!r}")
    if not (temperature >= 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a finite number >= 0 (0 means greedy), got "
                         f"{temperature}")
    return float(temperature)


def _check_top_k(top_k: object) -> int | None:
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, int):
        raise TypeError(f"top_k must be an int >= 1 or None (no filtering), got {top_k!r}")
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1 (1 is greedy) or None (no filtering), got {top_k}")
    return top_k


def _check_logits(logits: object) -> torch.Tensor:
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor of shape (..., |V|), got "
                        f"{getattr(logits, 'dtype', type(logits).__name__)}")
    if logits.dim() == 0 or logits.shape[-1] == 0:
        raise ValueError(f"logits must have a last dimension of size |V| >= 1, got shape "
                         f"{tuple(logits.shape)}")
    if torch.isnan(logits).any():
        raise ValueError("logits contain NaN; the model's weights have probably diverged")
    return logits


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row and set the others to ``-inf``.

    Exactly ``k`` entries survive per row (ties at the boundary are broken by position), so a
    token outside the top ``k`` can never be drawn. ``k >= |V|`` keeps everything.

    >>> top_k_filter(torch.tensor([1.0, 3.0, 2.0, 0.0]), 2)
    tensor([-inf, 3., 2., -inf])
    """
    logits = _check_logits(logits)
    k = _check_top_k(k)
    assert k is not None
    if k >= logits.shape[-1]:
        return logits.clone()
    keep = torch.topk(logits, k, dim=-1).indices                        # (..., k)
    mask = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, keep, True)
    return logits.masked_fill(~mask, -math.inf)


def next_token_distribution(logits: torch.Tensor, temperature: float = 1.0,
                            top_k: int | None = None) -> torch.Tensor:
    """The distribution a sampler draws from: ``softmax(top_k(logits) / temperature)``.

    Args:
        logits: ``(..., |V|)`` unnormalised next-token scores.
        temperature: ``τ >= 0``. ``τ = 1`` is the model's distribution, smaller is sharper,
            larger is flatter; ``τ = 0`` is the limit, all mass on the ``argmax`` (greedy).
        top_k: keep only the ``k`` most likely tokens (``None``: all).

    Returns:
        ``(..., |V|)`` probabilities (each row sums to 1).

    >>> next_token_distribution(torch.tensor([0.0, math.log(3.0)]))
    tensor([0.2500, 0.7500])
    >>> next_token_distribution(torch.tensor([0.0, math.log(3.0)]), temperature=0)
    tensor([0., 1.])
    """
    logits = _check_logits(logits)
    temperature = _check_temperature(temperature)
    top_k = _check_top_k(top_k)
    if temperature == 0:
        best = logits.argmax(dim=-1, keepdim=True)
        return torch.zeros_like(logits).scatter_(-1, best, 1.0)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    return F.softmax(logits / temperature, dim=-1)


# ------------------------------------------------------------------------------------------------
# Sampling from a model

def _window(model: nn.Module) -> int | None:
    """The context size ``k`` of a fixed-window model, ``None`` for a recurrent one."""
    window = getattr(getattr(model, "config", None), "window", None)
    return window if isinstance(window, int) and not isinstance(window, bool) else None


def _check_ids(ids: object, name: str, vocab_size: int | None) -> list[int]:
    if isinstance(ids, str):
        raise TypeError(f"{name} must be token ids, got a str; encode it first, e.g. "
                        f"vocab.encode(list(text)), or use sample_text(model, vocab, text, ...)")
    if isinstance(ids, torch.Tensor):
        if ids.dim() != 1:
            raise ValueError(f"{name} must be a 1-D sequence of ids, got shape "
                             f"{tuple(ids.shape)}")
        ids = ids.tolist()
    try:
        ids = list(ids)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{name} must be a list of token ids, got {type(ids).__name__}") from None
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(f"{name} must hold int token ids, got {type(i).__name__} ({i!r})")
        if i < 0 or (vocab_size is not None and i >= vocab_size):
            raise ValueError(f"{name} contains id {i}, outside the model's vocabulary "
                             f"0 … {(vocab_size or 0) - 1}")
    return ids


def _stepper(model: nn.Module, prompt: list[int], pad_id: int | None
             ) -> Callable[[int | None], torch.Tensor]:
    """A function ``step(new_id) -> (|V|,) logits`` for the next token; ``step(None)`` first."""
    device = next(model.parameters()).device
    k = _window(model)
    if k is not None:  # fixed window: the last k tokens, left-padded
        if len(prompt) < k and pad_id is None:
            raise ValueError(f"the prompt has {len(prompt)} token(s) but this fixed-window model "
                             f"reads {k}; give a longer prompt or pad_id (the id the model was "
                             f"trained to see before a text starts, e.g. vocab['</s>'])")
        context = [pad_id] * max(0, k - len(prompt)) + prompt  # type: ignore[list-item]

        def step_window(new_id: int | None) -> torch.Tensor:
            if new_id is not None:
                context.append(new_id)
            x = torch.tensor([context[-k:]], device=device)             # (1, k)
            return model(x)[0]                                          # (|V|,)
        return step_window

    if not prompt:
        raise ValueError("the prompt is empty; a recurrent model needs at least one token to "
                         "read before it predicts, e.g. the id of '\\n' (a line start) or of "
                         "'</s>' (a sentence start)")
    state = None
    pending: list[int] = prompt

    def step_recurrent(new_id: int | None) -> torch.Tensor:
        nonlocal state, pending
        ids = pending if new_id is None else [new_id]
        x = torch.tensor([ids], device=device)                          # (1, T)
        out = model(x) if state is None else model(x, state)            # (1, T, |V|), state
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"{type(model).__name__} is neither a recurrent model (returning "
                            f"(logits, state)) nor a fixed-window model (with config.window)")
        logits, state = out
        return logits[0, -1]                                            # (|V|,)
    return step_recurrent


@torch.no_grad()
def sample(model: nn.Module, prompt_ids: Sequence[int] | torch.Tensor, max_tokens: int, *,
           temperature: float = 1.0, top_k: int | None = None, seed: int | None = 0,
           stop_id: int | None = None, pad_id: int | None = None) -> list[int]:
    """Continue ``prompt_ids`` with up to ``max_tokens`` tokens drawn from ``model``.

    Args:
        model: a recurrent or fixed-window lmkit model (see the module docstring).
        prompt_ids: the token ids to start from (read, not returned).
        max_tokens: how many tokens to generate at most.
        temperature: ``0`` for greedy decoding, else the softmax temperature (see
            :func:`next_token_distribution`).
        top_k: sample only among the ``k`` most likely tokens.
        seed: seed of the sampler's own ``torch.Generator`` (``None``: a random seed).
        stop_id: stop after generating this id (it is not included in the result).
        pad_id: fixed-window models only: the id to left-pad a short prompt with.

    Returns:
        The generated ids (without the prompt). The model runs in evaluation mode (no dropout)
        and without gradients; its mode is restored afterwards.
    """
    if not isinstance(model, nn.Module) or next(model.parameters(), None) is None:
        raise TypeError(f"model must be a torch.nn.Module with parameters, got "
                        f"{type(model).__name__}")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        raise ValueError(f"max_tokens must be an int >= 0, got {max_tokens!r}")
    temperature = _check_temperature(temperature)
    top_k = _check_top_k(top_k)
    vocab_size = getattr(getattr(model, "config", None), "vocab_size", None)
    prompt = _check_ids(prompt_ids, "prompt_ids", vocab_size)
    for name, value in (("stop_id", stop_id), ("pad_id", pad_id)):
        if value is not None:
            _check_ids([value], name, vocab_size)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    generator = torch.Generator()
    if seed is None:
        generator.seed()  # a fresh random seed for this generator only
    else:
        generator.manual_seed(seed)
    was_training = model.training
    model.eval()
    out: list[int] = []
    try:
        step = _stepper(model, prompt, pad_id)
        logits = step(None) if max_tokens else None
        while len(out) < max_tokens:
            assert logits is not None
            probs = next_token_distribution(logits.float().cpu(), temperature, top_k)  # (|V|,)
            if temperature == 0:
                token = int(probs.argmax())
            else:
                token = int(torch.multinomial(probs, 1, generator=generator))
            if token == stop_id:
                break
            out.append(token)
            if len(out) < max_tokens:
                logits = step(token)
    finally:
        model.train(was_training)
    return out


def greedy(model: nn.Module, prompt_ids: Sequence[int] | torch.Tensor, max_tokens: int, *,
           stop_id: int | None = None, pad_id: int | None = None) -> list[int]:
    """Greedy decoding: always the most likely next token (``sample(..., temperature=0)``)."""
    return sample(model, prompt_ids, max_tokens, temperature=0.0, stop_id=stop_id,
                  pad_id=pad_id)


def sample_text(model: nn.Module, vocab: Vocab, prompt: str | Sequence[str], max_tokens: int,
                *, sep: str = "", stop: str | None = None, **options: object) -> str:
    """:func:`sample` from text to text: encode ``prompt``, sample, decode and join.

    Args:
        model: a recurrent or fixed-window lmkit model.
        vocab: the :class:`~lmkit.text.Vocab` the model was trained with.
        prompt: a string (split into characters when ``sep == ""``, else on ``sep``) or a list
            of tokens.
        max_tokens: tokens to generate at most.
        sep: what joins the generated tokens: ``""`` for characters, ``" "`` for words.
        stop: a token to stop at (not included), e.g. ``"\\n"`` or ``"</s>"``.
        options: passed on to :func:`sample` (``temperature``, ``top_k``, ``seed``, ``pad_id``).

    Returns:
        The generated continuation (without the prompt).
    """
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be an lmkit.text.Vocab, got {type(vocab).__name__}")
    if not isinstance(sep, str):
        raise TypeError(f"sep must be a str, got {type(sep).__name__}")
    if isinstance(prompt, str):
        tokens = list(prompt) if sep == "" else prompt.split(sep)
    else:
        tokens = list(prompt)
    if stop is not None and stop not in vocab:
        raise ValueError(f"stop token {stop!r} is not in the vocabulary")
    ids = sample(model, vocab.encode(tokens), max_tokens,
                 stop_id=None if stop is None else vocab[stop], **options)  # type: ignore[arg-type]
    return sep.join(vocab.decode(ids))
