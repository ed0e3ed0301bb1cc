"""The one implementation of the language-model contract that every neural model shares.

A neural model is an ``nn.Module`` that declares how it is called, with one class attribute:

- ``recurrent = False`` (a window model, e.g. :class:`~lmkit.models.FixedWindowLM`):
  ``model(contexts)`` maps ``(B, k)`` ids of the ``k = context_size`` previous tokens to
  ``(B, |V|)`` next-token logits;
- ``recurrent = True`` (e.g. :class:`~lmkit.models.RNNLM`): ``model(ids, state=None)`` maps
  ``(B, T)`` ids to ``(logits, state)``, the ``(B, T, |V|)`` logits of the token after each
  position and the state to continue from (``None`` starts afresh).

lmkit never guesses the kind from the type of a model's output: :func:`lmkit.train.fit` and
:class:`NeuralLM` both read ``recurrent``. From that one primitive :class:`NeuralLM` derives the
verbs of :class:`~lmkit.models.base.LanguageModel` (scoring, distributions, sampling).

**The start token.** A neural model has no ``<s>``: before the first token of a text it reads
its ``start`` token, ``</s>`` by default (a text then starts the way every sentence after an
``</s>`` does, as in training on a stream of sentences). A character model without ``</s>`` in
its vocabulary names another token, e.g. ``start="\\n"`` (a text starts at a line start).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lmkit._checks import eval_mode
from lmkit.batching import Batches, window_pairs
from lmkit.models.base import EOS, LanguageModel, Stepper, Texts, check_context
from lmkit.text import Vocab

__all__ = ["NeuralLM"]

#: Tokens per block when a recurrent model scores a long text (the state is carried between
#: blocks, so the block size changes memory use, not the result).
SCORE_BLOCK = 512
#: Windows per batch when a window model scores a text.
SCORE_BATCH = 1024


class NeuralLM(LanguageModel, nn.Module):
    """Base class of lmkit's neural language models: the contract, implemented once.

    A subclass calls :meth:`_set_vocab` in its ``__init__`` and sets ``recurrent`` (and, for a
    window model, ``context_size``). Then ``token_logprobs``, ``perplexity``, ``bits_per_char``,
    ``distribution``, ``prob``, ``logprob`` and ``generate`` work on texts of tokens.
    """

    #: ``True``: ``forward(ids (B, T), state=None) -> (logits (B, T, |V|), state)``;
    #: ``False``: ``forward(contexts (B, k)) -> logits (B, |V|)`` with ``k = context_size``.
    recurrent: bool = False

    def _set_vocab(self, vocab: Vocab | None, start: str | None, vocab_size: int) -> None:
        """Attach the vocabulary (``None``: the model works on ids only) and the start token."""
        if vocab is not None:
            if not isinstance(vocab, Vocab):
                raise TypeError(f"vocab must be an lmkit.text.Vocab, got {type(vocab).__name__}")
            if len(vocab) != vocab_size:
                raise ValueError(f"the vocabulary has {len(vocab)} tokens but the config says "
                                 f"vocab_size={vocab_size}; use vocab_size=len(vocab)")
            if start is None:
                start = EOS
            if not isinstance(start, str):
                raise TypeError(f"start must be a token (a str), got {type(start).__name__}")
            if start not in vocab:
                raise ValueError(f"the start token {start!r} is not in the vocabulary; pass "
                                 f"start= a token that texts follow (e.g. '\\n' for a character "
                                 f"model), or build the vocabulary with '</s>'")
        elif start is not None:
            raise ValueError("start needs a vocabulary: pass vocab= too")
        self._vocab, self.start = vocab, start

    @property
    def vocab(self) -> Vocab:
        if self._vocab is None:
            # A ValueError, not an AttributeError: nn.Module would turn the latter into a
            # confusing "object has no attribute 'vocab'".
            raise ValueError(f"This {type(self).__name__} has no vocabulary, so it cannot "
                                 f"read or write tokens. Build it with vocab=the Vocab that "
                                 f"encoded its training data, e.g. "
                                 f"{type(self).__name__}(config, vocab=vocab).")
        return self._vocab

    # -- the primitive, on ids ------------------------------------------------------------------

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def _stream(self, seqs: list[list[str]]) -> torch.Tensor:
        """``(N + 1,)`` ids: the start token, then every sequence (each followed by ``</s>``)."""
        v = self.vocab
        ids = [v[self.start]]
        for s in seqs:
            ids.extend(v.encode(s))
            if self.eos:
                ids.append(v[EOS])
        return torch.tensor(ids, dtype=torch.long, device=self._device())

    def _score_stream(self, stream: torch.Tensor) -> torch.Tensor:
        """``(N,)`` log p of ``stream[1:]``, each token given every token before it."""
        out = []
        if self.recurrent:
            state = None
            for begin in range(0, stream.numel() - 1, SCORE_BLOCK):
                block = stream[begin:begin + SCORE_BLOCK + 1]
                x, y = block[None, :-1], block[1:]                        # (1, T), (T,)
                logits, state = self(x, state)                            # (1, T, |V|)
                out.append(F.log_softmax(logits[0], -1).gather(1, y[:, None])[:, 0])
        else:
            k = self.context_size
            contexts, targets = window_pairs(stream[1:].cpu(), k, pad_id=int(stream[0]))
            for c, t in Batches(contexts, targets, SCORE_BATCH):           # (B, k), (B,)
                logits = self(c.to(stream.device))                        # (B, |V|)
                out.append(F.log_softmax(logits, -1).gather(1, t.to(stream.device)[:, None])
                           [:, 0])
        return torch.cat(out)

    def _next_logits(self, ids: list[int], state: object = None) -> tuple[torch.Tensor, object]:
        """``(|V|,)`` logits of the token after ``ids`` (the recurrent state after them too)."""
        x = torch.tensor([ids], dtype=torch.long, device=self._device())
        if self.recurrent:
            logits, state = self(x, state)                                # (1, T, |V|)
            return logits[0, -1], state
        return self(x[:, -self.context_size:])[0], None                   # (|V|,)

    @staticmethod
    def _probs(logits: torch.Tensor) -> np.ndarray:
        return F.softmax(logits.detach().double(), -1).cpu().numpy()

    # -- the contract ---------------------------------------------------------------------------

    def token_logprobs(self, texts: Texts) -> np.ndarray:
        seqs, _ = self._encode_texts(texts)
        with torch.no_grad(), eval_mode(self):
            return self._score_stream(self._stream(seqs)).double().cpu().numpy()

    def _context_ids(self, context: Sequence[str]) -> list[int]:
        """The start token (repeated to fill a window) and the context, as ids."""
        ids = self.vocab.encode(check_context(context))
        pad = self.context_size if not self.recurrent else 1
        return [self.vocab[self.start]] * pad + ids

    def distribution(self, context: Sequence[str] = ()) -> np.ndarray:
        ids = self._context_ids(context)
        with torch.no_grad(), eval_mode(self):
            return self._probs(self._next_logits(ids)[0])

    def _stepper(self, prompt: list[int]) -> Stepper:
        ids = [self.vocab[self.start]] * (1 if self.recurrent else self.context_size) + prompt
        state: object = None
        pending = ids

        def step(new_id: int | None) -> np.ndarray:
            nonlocal state, pending
            if new_id is not None:
                pending = [new_id] if self.recurrent else [*pending, new_id][-self.context_size:]
            with torch.no_grad(), eval_mode(self):
                logits, state = self._next_logits(pending, state)
            return self._probs(logits)
        return step
