"""The language-model contract: one set of verbs that every language model of the book answers.

Every LM in lmkit (each n-gram model of :mod:`lmkit.ngram`, :class:`~lmkit.models.FixedWindowLM`,
:class:`~lmkit.models.RNNLM` with any recurrent layer, and the models of later chapters) is a
:class:`LanguageModel`, so any of them swaps for any other in a learner's code::

    for model in [kn5, window_model, rnn_model]:
        print(model.perplexity(test_sentences))

**Texts.** A *text* is a list of token sequences: sentences (``[["the", "cat"], ["a", "dog"]]``)
or one long document (``[list(shakespeare)]`` for a character model). Tokens are strings; the
model maps them to ids itself (tokens outside :attr:`~LanguageModel.vocab` count as ``<unk>``).

**What is scored.** Every token of every sequence, and, if the model predicts an end of sequence
(:attr:`~LanguageModel.eos`: ``"</s>"`` is in its vocabulary), one ``</s>`` after each sequence.
So for the same text every model scores the same
``sum(map(len, texts)) + (len(texts) if model.eos else 0)`` tokens, in the same order, and
comparisons need no slicing. The first token of a text is predicted from the start of the text
(``<s>`` for an n-gram model, the model's ``start`` token for a neural one).

**The verbs** (natural logs throughout):

=========================================  =====================================================
``model.vocab``                            the :class:`~lmkit.text.Vocab` of the model
``model.context_size``                     tokens of history the model can see: ``n - 1`` for an
                                           n-gram, ``k`` for a window, ``None`` (unbounded) for
                                           a recurrent model
``model.eos``                              whether the model predicts ``</s>`` after each text
``model.distribution(context)``            ``(len(vocab),)`` ``p(w | context)`` for every ``w``;
                                           sums to 1
``model.prob(token, context)``             one entry of it; ``logprob`` its natural log
``model.token_logprobs(texts)``            ``(T,)`` float64 ``log p`` of every scored token
``model.perplexity(texts)``                ``exp`` of the mean negative log-probability
``model.bits_per_char(texts)``             bits per scored token, for character-level models
``model.generate(n, max_tokens, ...)``     ``n`` sampled token lists; ``temperature``, ``top_k``
                                           and ``seed`` (default 0) as in :mod:`lmkit.generate`
``model.beam_search(beam_size, ...)``      the most probable continuations found by beam
                                           search (:mod:`lmkit.beam`), with their log-probs
=========================================  =====================================================

A ``context`` is the list of tokens of the text so far, from its start (``[]`` at the start); a
model that sees fewer tokens uses the last ones. A subclass provides :attr:`vocab`,
:attr:`context_size`, :meth:`token_logprobs`, :meth:`distribution` and :meth:`_stepper`; the
rest is shared. ``tests/test_lm_contract.py`` checks every model class against this contract.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from lmkit import metrics
from lmkit._checks import check_int, check_number, check_seed
from lmkit.text import Vocab

__all__ = ["BOS", "EOS", "PAD", "UNK", "LanguageModel", "NotFittedError", "Texts", "check_texts",
           "draw", "sample"]

BOS, EOS, UNK, PAD = "<s>", "</s>", "<unk>", "<pad>"

#: A text: a list of token sequences (sentences, or one long document).
Texts = Iterable[Sequence[str]]

#: ``step(token_id or None) -> (len(vocab),) probabilities of the next token``; ``step(None)``
#: first (after the prompt), then ``step(id)`` for each token drawn.
Stepper = Callable[[int | None], np.ndarray]


class NotFittedError(ValueError, AttributeError):
    """A model was used before it was fitted (a ValueError, as in scikit-learn)."""


def check_texts(texts: object, name: str = "texts") -> list[list[str]]:
    """Validate a text (a list of token sequences) and return it as a list of lists of str."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name} must be a list of token lists, got a str; split it first, e.g. "
                        f"[line.split() for line in text.splitlines()] for words or "
                        f"[list(text)] for characters")
    try:
        seqs = list(texts)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{name} must be a list of token lists, got "
                        f"{type(texts).__name__}") from None
    out = []
    for i, s in enumerate(seqs):
        if not isinstance(s, (list, tuple)):
            shown = f" ({s[:40]!r})" if isinstance(s, str) else ""
            raise TypeError(f"{name}[{i}] must be a list of tokens, got {type(s).__name__}"
                            f"{shown}; split it first, e.g. 'i love you'.split() (or list(text) "
                            f"for characters)")
        out.append(list(s))
    if not all(issubclass(t, str) for s in out for t in set(map(type, s))):
        i, j, tok = next((i, j, t) for i, s in enumerate(out) for j, t in enumerate(s)
                         if not isinstance(t, str))
        raise TypeError(f"every token must be a str, but {name}[{i}][{j}] is "
                        f"{type(tok).__name__} ({tok!r}); convert it, e.g. with str()")
    return out


def check_context(context: object, name: str = "context") -> list[str]:
    """Validate a context (a list of tokens); a leading ``<s>`` is dropped (models add it)."""
    if isinstance(context, str):
        raise TypeError(f"{name} must be a list of tokens, got the str {context!r}; write "
                        f"[{context!r}] for one word, or list({context!r}) for characters")
    if not isinstance(context, (list, tuple)):
        raise TypeError(f"{name} must be a list of tokens, got {type(context).__name__}")
    for j, t in enumerate(context):
        if not isinstance(t, str):
            raise TypeError(f"every token of {name} must be a str, but {name}[{j}] is "
                            f"{type(t).__name__} ({t!r})")
    context = list(context)
    while context[:1] == [BOS]:
        context = context[1:]
    if BOS in context:
        raise ValueError(f"{name} contains <s> after its first token; a context is the text "
                         f"so far from its start, and the model adds <s> itself")
    return context


def draw(probs: np.ndarray, temperature: float, top_k: int | None,
         rng: np.random.Generator) -> int | None:
    """One token id drawn from ``probs`` reshaped by ``temperature`` and ``top_k``.

    ``temperature = 0`` is greedy (the arg-max); otherwise the draw is from
    ``p^(1/τ)`` renormalised (the same as ``softmax(logits / τ)``), restricted to the ``top_k``
    most likely tokens. Returns ``None`` if no token has positive probability.
    """
    p = np.asarray(probs, dtype=np.float64)
    if not p.sum() > 0:
        return None
    if temperature == 0:
        return int(p.argmax())
    if top_k is not None and top_k < p.size:
        keep = np.argsort(-p, kind="stable")[:top_k]  # ties: the lower id, as argmax does
        q = np.zeros_like(p)
        q[keep] = p[keep]
        p = q
    if temperature != 1:
        with np.errstate(divide="ignore"):
            logp = np.log(p)
        p = np.exp((logp - logp.max()) / temperature)
    return int(rng.choice(p.size, p=p / p.sum()))


def sample(stepper: Callable[[list[int]], Stepper], vocab: Vocab, n: int, max_tokens: int, *,
           prompt: Sequence[str] = (), temperature: float = 1.0, top_k: int | None = None,
           seed: int | None = 0) -> list[list[str]]:
    """The sampling loop behind every ``generate``: ``n`` continuations of ``prompt``.

    ``stepper(prompt_ids)`` returns a :data:`Stepper` for one continuation; each token is drawn
    by :func:`draw`. A continuation stops at ``</s>`` (if ``vocab`` has it; not included) or after
    ``max_tokens`` tokens; ``<s>`` and ``<pad>`` are never drawn.
    """
    n = check_int(n, "n", 0)
    max_tokens = check_int(max_tokens, "max_tokens", 0)
    temperature = check_number(temperature, "temperature", low=0.0,
                               hint="0 means greedy, 1 the model's own distribution")
    if top_k is not None:
        top_k = check_int(top_k, "top_k", 1, hint="1 is greedy; None keeps every token")
    rng = np.random.default_rng(check_seed(seed))
    prompt_ids = vocab.encode(check_context(prompt, "prompt"))
    stop = vocab[EOS] if EOS in vocab else None
    never = [vocab[t] for t in (BOS, PAD) if t in vocab]  # not continuations
    out = []
    for _ in range(n):
        tokens: list[int] = []
        step = stepper(list(prompt_ids))
        probs = step(None) if max_tokens else None
        while len(tokens) < max_tokens:
            probs[never] = 0.0
            token = draw(probs, temperature, top_k, rng)
            if token is None or token == stop:  # a dead end (MLE), or the end of the text
                break
            tokens.append(token)
            if len(tokens) < max_tokens:
                probs = step(token)
        out.append(vocab.decode(tokens))
    return out


class LanguageModel(ABC):
    """The contract every language model of the book follows (see the module docstring)."""

    # -- what a model declares ------------------------------------------------------------------

    @property
    @abstractmethod
    def vocab(self) -> Vocab:
        """The :class:`~lmkit.text.Vocab` mapping the model's tokens to ids."""

    #: Tokens of history the model conditions on (``None``: all of them).
    context_size: int | None = None

    @property
    def eos(self) -> bool:
        """Whether the model predicts ``</s>`` after every sequence of a text."""
        return EOS in self.vocab

    # -- what a model implements ----------------------------------------------------------------

    @abstractmethod
    def token_logprobs(self, texts: Texts) -> np.ndarray:
        """``(T,)`` float64 natural-log probabilities of every scored token of ``texts``."""

    @abstractmethod
    def distribution(self, context: Sequence[str] = ()) -> np.ndarray:
        """``(len(vocab),)`` float64 probabilities of the next token after ``context``."""

    @abstractmethod
    def _stepper(self, prompt: list[int]) -> Stepper:
        """A :data:`Stepper` that has read the start of a text and then ``prompt`` (ids)."""

    # -- shared ---------------------------------------------------------------------------------

    def prob(self, token: str, context: Sequence[str] = ()) -> float:
        """``p(token | context)``; ``context`` is the text so far (a list of tokens)."""
        if not isinstance(token, str):
            raise TypeError(f"token must be a str, got {type(token).__name__} ({token!r})")
        return float(self.distribution(context)[self.vocab[token]])

    def logprob(self, token: str, context: Sequence[str] = ()) -> float:
        """``log p(token | context)`` in nats (``-inf`` for probability 0)."""
        p = self.prob(token, context)
        return math.log(p) if p > 0 else -math.inf

    def num_scored(self, texts: Texts) -> int:
        """How many tokens :meth:`token_logprobs` scores for ``texts``."""
        seqs = check_texts(texts)
        return sum(map(len, seqs)) + (len(seqs) if self.eos else 0)

    def perplexity(self, texts: Texts) -> float:
        """``exp`` of the mean negative log-probability of the scored tokens of ``texts``.

        ``inf`` (with a RuntimeWarning) if some token has probability 0.
        """
        return metrics.perplexity(self.token_logprobs(texts))

    def bits_per_char(self, texts: Texts) -> float:
        """Mean negative log-probability in bits per scored token of a character-level model.

        Every token of a character model is one character (``</s>``, where the model has it,
        stands for the line break). For a word-level model use
        ``lmkit.metrics.bits_per_char(model.token_logprobs(texts), num_chars=...)``.
        """
        long = [t for t in self.vocab.itos if len(t) > 1 and t not in self.vocab.specials]
        if long:
            raise ValueError(f"bits_per_char needs a character-level model (one character per "
                             f"token), but this model has tokens such as {long[0]!r}; compare "
                             f"perplexity, or use lmkit.metrics.bits_per_char(logprobs, "
                             f"num_chars=len(text))")
        return metrics.bits_per_char(self.token_logprobs(texts))

    def generate(self, n: int = 1, max_tokens: int = 50, *, prompt: Sequence[str] = (),
                 temperature: float = 1.0, top_k: int | None = None, seed: int | None = 0
                 ) -> list[list[str]]:
        """Sample ``n`` continuations of ``prompt``, each a list of up to ``max_tokens`` tokens.

        Each token is drawn from the model's distribution given the text so far, reshaped by
        ``temperature`` (``0``: greedy; below 1 sharper, above 1 flatter) and ``top_k`` (only the
        ``k`` most likely tokens). A continuation stops at ``</s>`` (not included) or after
        ``max_tokens`` tokens; ``<s>`` and ``<pad>`` are never drawn. Same ``seed``, same
        samples (``None``: fresh randomness); the prompt itself is not repeated in the output.
        """
        return sample(self._stepper, self.vocab, n, max_tokens, prompt=prompt,
                      temperature=temperature, top_k=top_k, seed=seed)

    def beam_search(self, beam_size: int = 5, max_tokens: int = 20, *,
                    prompt: Sequence[str] = (), length_penalty: float = 0.0
                    ) -> list[tuple[list[str], float]]:
        """The most probable continuations of ``prompt`` that beam search finds, best first.

        Each is ``(tokens, logprob)``: the tokens (without ``</s>``) and their natural-log
        probability given the prompt (``</s>`` included where the continuation ended with it);
        at most ``max_tokens`` tokens, ``</s>`` counted.
        ``beam_size=1`` is greedy decoding (``generate(temperature=0)``); ``length_penalty`` ranks
        by ``logprob / length ** length_penalty`` (see :func:`lmkit.beam.beam_search`). Only
        :meth:`distribution` is used, so every model of the book can be searched.
        """
        from lmkit.beam import beam_search

        start = check_context(prompt, "prompt")
        vocab = self.vocab

        def step(prefixes: list[list[int]], state: None) -> tuple[np.ndarray, None]:
            seen: dict[tuple[int, ...], np.ndarray] = {}    # a beam repeats a prefix
            for p in map(tuple, prefixes):
                if p not in seen:
                    seen[p] = self.distribution(start + vocab.decode(p))
            with np.errstate(divide="ignore"):
                return np.log(np.stack([seen[tuple(p)] for p in prefixes])), None

        hyps = beam_search(step, beam_size=beam_size,
                           max_len=check_int(max_tokens, "max_tokens"),
                           eos=vocab[EOS] if self.eos else None,
                           length_penalty=length_penalty,
                           never=[vocab[t] for t in (BOS, PAD) if t in vocab])
        return [(vocab.decode(h.tokens), h.logprob) for h in hyps]

    # -- helpers for subclasses -----------------------------------------------------------------

    def _encode_texts(self, texts: Texts, name: str = "texts") -> tuple[list[list[str]], int]:
        """Validate ``texts`` for scoring; return them and how many tokens will be scored."""
        seqs = check_texts(texts, name)
        for i, s in enumerate(seqs):
            if BOS in s or (self.eos and EOS in s):
                raise ValueError(f"{name}[{i}] contains <s> or </s>; the model adds them "
                                 f"itself, so pass the tokens without them")
        total = sum(map(len, seqs)) + (len(seqs) if self.eos else 0)
        if total == 0:
            raise ValueError(f"{name} holds no tokens to score (give at least one token"
                             f"{' or one sequence' if self.eos else ''})")
        return seqs, total
