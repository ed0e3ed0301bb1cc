"""The encoder–decoder of chapter 9: two RNNs joined by one vector.

The encoder (:class:`lmkit.models.RNNEncoder`) reads the source sentence; its state after the
last *real* token (the batch is packed, so padding is never read) is the decoder's initial
state. The decoder (:class:`Decoder`) is a conditional language model of the target sentence:
it reads ``<s> y_1 … y_{m}`` and predicts ``y_1 … y_m </s>``. That single vector is all the
decoder ever learns about the source: the *bottleneck* that chapter 10's attention removes.

- **Training** (:meth:`Seq2Seq.forward`) is teacher-forced: the decoder reads the reference
  prefix, whatever it would have predicted itself. With ``teacher_forcing < 1`` each input token
  is, with probability ``1 - teacher_forcing``, replaced by the model's own previous prediction
  (scheduled sampling at a fixed rate; Bengio et al., 2015).
- **Decoding** (:func:`greedy`) feeds the model its own predictions, for a batch at once, until
  every sentence has produced ``</s>`` or ``max_len`` tokens.
- :func:`translate` turns a sentence (a string) into a translation (a string), for readers.
- ``Seq2Seq(..., attention="additive")`` (or ``"dot"``) is chapter 10's model: the decoder
  (:class:`AttentionDecoder`) looks at every encoder state at every step, through
  :mod:`lmkit.models.attention`. Everything else (training, :func:`greedy`, :func:`translate`,
  :func:`beam_translate`) is the same call for both models.
- :func:`beam_translate` decodes with beam search (:func:`lmkit.beam.beam_search`); :func:`align`
  returns the attention weights of a translation, for heat maps.

::

    model = Seq2Seq(src_vocab, tgt_vocab, embed=64, hidden=128)
    logits = model(src, src_lengths, tgt_in)          # (B, T, |V_tgt|)
    fit(model, PaddedPairs(...), max_steps=500)       # the mean loss over real target tokens
    translate(model, "Je suis content.")              # "i'm happy ."
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from lmkit._checks import check_ids, check_int, check_probability, eval_mode
from lmkit.batching.padded import length_mask
from lmkit.models.attention import ATTENTIONS, make_attention
from lmkit.models.encoder import RNNEncoder
from lmkit.text import Vocab

__all__ = ["AttentionDecoder", "Decoder", "Seq2Seq", "align", "beam_translate", "greedy",
           "greedy_translate", "search_step", "translate"]

_CELLS = {"gru": nn.GRU, "rnn": nn.RNN}
_STEP_CELLS = {"gru": nn.GRUCell, "rnn": nn.RNNCell}

#: What the decoder carries from step to step, every tensor batch-first: ``(s,)`` without
#: attention; ``(s, memory, mask)`` with it (the encoder's outputs ``(B, S, D)`` and the mask of
#: real source tokens ``(B, S)`` travel along, so a beam can reorder them with the state).
DecoderState = tuple[torch.Tensor, ...]


class Decoder(nn.Module):
    """A conditional RNN language model: embeddings, a GRU (or RNN), a linear layer.

    Shapes: ``forward(tgt_in, state)`` with ``tgt_in`` ``(B, T)`` ids and ``state``
    ``(1, B, n)`` returns ``(logits (B, T, |V|), state (1, B, n))``. Padding at the end of
    ``tgt_in`` does not change the logits at real positions (the layer reads left to right).
    """

    def __init__(self, vocab_size: int, embed: int, hidden: int, *, cell: str = "gru",
                 pad_id: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.vocab_size = check_int(vocab_size, "vocab_size", minimum=2)
        self.embedding = nn.Embedding(vocab_size, check_int(embed, "embed"),
                                      padding_idx=pad_id)
        self.rnn = _CELLS[cell](embed, check_int(hidden, "hidden"), batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, tgt_in: torch.Tensor,
                state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.dropout(self.embedding(tgt_in))          # (B, T, e)
        h, state = self.rnn(x, state)                     # (B, T, n), (1, B, n)
        return self.out(self.dropout(h)), state           # (B, T, |V|)


class AttentionDecoder(nn.Module):
    """A conditional RNN language model that attends to the encoder's states at every step.

    Step ``i`` (Bahdanau et al., 2015): the previous state ``s_{i-1}`` queries the encoder
    states, giving the context ``c_i`` and the weights ``α_i``; the cell reads the previous
    token's embedding together with ``c_i``; the output layer reads ``s_i`` and ``c_i``::

        c_i, α_i = attention(s_{i-1}, H, mask)
        s_i      = GRUCell([e(y_{i-1}); c_i], s_{i-1})
        logits_i = W [s_i; c_i] + b

    Shapes: ``step(token (B,), s (B, n), memory (B, S, D), mask (B, S))`` returns
    ``(logits (B, |V|), s (B, n), weights (B, S))``; ``forward(tgt_in (B, T), s, memory,
    mask)`` runs the ``T`` steps and returns ``(logits (B, T, |V|), s, weights (B, T, S))``.
    """

    def __init__(self, vocab_size: int, embed: int, hidden: int, memory_size: int, *,
                 attention: str = "additive", cell: str = "gru", pad_id: int = 1,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.vocab_size = check_int(vocab_size, "vocab_size", minimum=2)
        self.embedding = nn.Embedding(vocab_size, check_int(embed, "embed"),
                                      padding_idx=pad_id)
        self.attention = make_attention(attention, check_int(hidden, "hidden"),
                                        check_int(memory_size, "memory_size"))
        self.cell = _STEP_CELLS[cell](embed + memory_size, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden + memory_size, vocab_size)

    def _advance(self, token: torch.Tensor, s: torch.Tensor, memory: torch.Tensor,
                 mask: torch.Tensor, projected: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(s_i, c_i, α_i)`` from ``y_{i-1}`` and ``s_{i-1}``."""
        x = self.dropout(self.embedding(token))                   # (B, e)
        context, weights = self.attention(s, memory, mask,        # (B, D), (B, S)
                                          projected=projected)
        s = self.cell(torch.cat([x, context], dim=-1), s)         # (B, n)
        return s, context, weights

    def step(self, token: torch.Tensor, s: torch.Tensor, memory: torch.Tensor,
             mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s, context, weights = self._advance(token, s, memory, mask)
        logits = self.out(self.dropout(torch.cat([s, context], dim=-1)))
        return logits, s, weights                                 # (B, |V|), (B, n), (B, S)

    def forward(self, tgt_in: torch.Tensor, s: torch.Tensor, memory: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        projected = self.attention.project_keys(memory)         # once, not at every step
        states, contexts, weights = [], [], []
        for t in range(tgt_in.shape[1]):        # the recurrence, one step at a time
            s, context, alpha = self._advance(tgt_in[:, t], s, memory, mask, projected)
            states.append(s)
            contexts.append(context)
            weights.append(alpha)
        both = torch.cat([torch.stack(states, 1), torch.stack(contexts, 1)], dim=-1)
        logits = self.out(self.dropout(both))   # the output layer, all steps at once
        return logits, s, torch.stack(weights, dim=1)      # (B, T, |V|), (B, n), (B, T, S)


class Seq2Seq(nn.Module):
    """Encoder–decoder: the encoder's final state starts the decoder, which may also attend.

    Args:
        src_vocab, tgt_vocab: the :class:`~lmkit.text.Vocab` of each language; the target
            vocabulary needs ``<s>`` and ``</s>``, and both give ``<pad>`` the same id.
        embed: embedding size (both sides).
        hidden: the hidden size ``n`` of both RNNs: the size of the bottleneck.
        cell: ``"gru"`` (default) or ``"rnn"``.
        dropout: on embeddings and decoder outputs during training.
        teacher_forcing: the probability that the decoder reads the reference token rather
            than its own previous prediction, in training (1: always the reference).
        attention: ``None`` (chapter 9: the final state is all the decoder sees),
            ``"additive"`` or ``"dot"`` (chapter 10: an :class:`AttentionDecoder`).

    ``forward(src (B, S), src_lengths (B,), tgt_in (B, T))`` returns logits ``(B, T, |V_tgt|)``;
    with ``return_weights=True`` (attention only) ``(logits, weights (B, T, S))``, the weight of
    each source position at each target step (0 at padding).
    """

    recurrent = False   # called as model(src, src_lengths, tgt_in) -> logits; no state carried

    def __init__(self, src_vocab: Vocab, tgt_vocab: Vocab, *, embed: int = 64,
                 hidden: int = 128, cell: str = "gru", dropout: float = 0.0,
                 teacher_forcing: float = 1.0, attention: str | None = None,
                 bidirectional: bool = False) -> None:
        super().__init__()
        for name, v in (("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab)):
            if not isinstance(v, Vocab):
                raise TypeError(f"{name} must be a lmkit.text.Vocab, got {type(v).__name__}")
            if "<pad>" not in v.specials:
                raise ValueError(f"{name} has no '<pad>' special token; build it with the "
                                 f"default specials")
        for token in ("<s>", "</s>"):
            if token not in tgt_vocab.specials:
                raise ValueError(f"tgt_vocab has no {token!r}: the decoder starts with <s> and "
                                 f"stops at </s>; build it with the default specials")
        if src_vocab["<pad>"] != tgt_vocab["<pad>"]:
            raise ValueError(f"the vocabularies pad with different ids ({src_vocab['<pad>']} "
                             f"and {tgt_vocab['<pad>']}); give both the same specials")
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}")
        if attention is not None and attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS} or None, got "
                             f"{attention!r}")
        self.attention = attention
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.pad_id, self.bos_id = tgt_vocab["<pad>"], tgt_vocab["<s>"]
        self.eos_id = tgt_vocab["</s>"]
        self.teacher_forcing = check_probability(teacher_forcing, "teacher_forcing")
        dropout = check_probability(dropout, "dropout", below_one=True)
        self.encoder = RNNEncoder(len(src_vocab), embed, hidden, cell=cell,
                                  pad_id=self.pad_id, dropout=dropout,
                                  bidirectional=bidirectional)
        # Both directions' final states, mapped to the decoder's size (Bahdanau et al.)
        self.bridge = nn.Linear(2 * hidden, hidden) if bidirectional else None
        memory = self.encoder.output_size
        self.decoder: Decoder | AttentionDecoder
        if attention is None:
            self.decoder = Decoder(len(tgt_vocab), embed, hidden, cell=cell,
                                   pad_id=self.pad_id, dropout=dropout)
        else:
            self.decoder = AttentionDecoder(len(tgt_vocab), embed, hidden, memory,
                                            attention=attention, cell=cell,
                                            pad_id=self.pad_id, dropout=dropout)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> torch.Tensor:
        """The decoder's initial state ``(1, B, n)``: the encoder's state after the last
        real token of each source sentence."""
        return self.start(src, src_lengths)[0].unsqueeze(0)

    def start(self, src: torch.Tensor, src_lengths: torch.Tensor) -> DecoderState:
        """Encode a batch; return the decoder's state before its first step (batch-first)."""
        outputs, final = self.encoder(src, src_lengths)     # (B, S, D), (B, D)
        if self.bridge is not None:                         # D = 2n: to the decoder's n
            final = torch.tanh(self.bridge(final))
        if self.attention is None:
            return (final,)
        return final, outputs, length_mask(src_lengths, src.shape[1])

    def step(self, token: torch.Tensor, state: DecoderState
             ) -> tuple[torch.Tensor, DecoderState, torch.Tensor | None]:
        """One decoder step: ``token (B,)`` read in ``state``; returns ``(logits (B, |V|),
        the next state, the attention weights (B, S) or None)``."""
        if self.attention is None:
            logits, h = self.decoder(token.unsqueeze(1), state[0].unsqueeze(0))
            return logits[:, 0], (h[0],), None
        s, memory, mask = state
        logits, s, weights = self.decoder.step(token, s, memory, mask)
        return logits, (s, memory, mask), weights

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor,
                *, return_weights: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        check_ids(tgt_in, len(self.tgt_vocab), "tgt_in")
        if tgt_in.dim() != 2 or tgt_in.shape[0] != src.shape[0] or tgt_in.shape[1] == 0:
            raise ValueError(f"tgt_in must be (B, T) = ({src.shape[0]}, T >= 1), got "
                             f"{tuple(tgt_in.shape)}")
        if return_weights and self.attention is None:
            raise ValueError("this model has no attention (attention=None), so it has no "
                             "weights to return; build it with attention='additive'")
        state = self.start(src, src_lengths)
        if not self.training or self.teacher_forcing == 1.0:    # all steps at once
            if self.attention is None:
                logits, _ = self.decoder(tgt_in, state[0].unsqueeze(0))
                return logits
            logits, _, weights = self.decoder(tgt_in, *state)
            return (logits, weights) if return_weights else logits
        steps, weights, token = [], [], tgt_in[:, 0]            # (B,): <s>
        for t in range(tgt_in.shape[1]):
            if t > 0:   # the reference token, or (prob. 1 - ratio) the model's own guess
                own = steps[-1][:, 0].argmax(-1, keepdim=True)  # (B, 1)
                keep = torch.rand(own.shape) < self.teacher_forcing
                token = torch.where(keep | (tgt_in[:, t:t + 1] == self.pad_id),
                                    tgt_in[:, t:t + 1], own)[:, 0]
            logit, state, alpha = self.step(token, state)
            steps.append(logit.unsqueeze(1))
            weights.append(alpha)
        logits = torch.cat(steps, dim=1)                        # (B, T, |V|)
        return (logits, torch.stack(weights, dim=1)) if return_weights else logits


@torch.no_grad()
def greedy(model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor,
           max_len: int = 20) -> list[list[int]]:
    """Greedy decoding for a batch: at each step the most probable token, fed back in.

    Args:
        src: ``(B, S)`` padded source ids; src_lengths: ``(B,)``.
        max_len: at most this many tokens per sentence (``</s>`` included), at least 1.

    Returns:
        ``B`` lists of target ids, each cut before its first ``</s>`` (a sentence that reached
        ``max_len`` without one is returned as it is). ``<s>`` and ``<pad>`` are never chosen.
    """
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a Seq2Seq, got {type(model).__name__}")
    max_len = check_int(max_len, "max_len", hint="the longest translation, e.g. 20")
    with eval_mode(model):
        state = model.start(src, src_lengths)
        B = src.shape[0]
        token = torch.full((B,), model.bos_id)
        done = torch.zeros(B, dtype=torch.bool)
        out = []
        for _ in range(max_len):
            logits, state, _ = model.step(token, state)     # (B, |V|)
            logits[:, [model.pad_id, model.bos_id]] = -torch.inf
            token = logits.argmax(-1)                       # (B,)
            out.append(token)
            done |= token == model.eos_id
            if bool(done.all()):
                break
        ids = torch.stack(out, dim=1).tolist()
    return [row[:row.index(model.eos_id)] if model.eos_id in row else row for row in ids]


def greedy_translate(model: Seq2Seq, sources: Sequence[Sequence[str]], *, max_len: int = 20,
                     batch_size: int = 512) -> list[list[str]]:
    """Greedy translations of tokenized source sentences (lists of tokens), in batches."""
    from lmkit.batching import pad

    if not sources:
        raise ValueError("sources is empty: there is nothing to translate")
    out: list[list[str]] = []
    for start in range(0, len(sources), check_int(batch_size, "batch_size")):
        ids = [model.src_vocab.encode(s) for s in sources[start:start + batch_size]]
        src, lengths = pad(ids, model.pad_id)
        out += [model.tgt_vocab.decode(row) for row in greedy(model, src, lengths, max_len)]
    return out


def translate(model: Seq2Seq, sentence: str, *, max_len: int = 20) -> str:
    """Translate one sentence greedily: ``translate(model, "Je suis content.")``.

    The sentence is tokenized as the training data was (:func:`lmkit.translation.tokenize`).
    Words the model never saw become ``<unk>`` with a warning that names them; a sentence with
    no known word at all is an error (the model would translate nothing but ``<unk>``).
    """
    from lmkit.translation import tokenize

    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str, got {type(sentence).__name__}; for token "
                        f"lists use greedy_translate")
    tokens = tokenize(sentence)
    if not tokens:
        raise ValueError("sentence is empty: there is nothing to translate")
    unknown = [t for t in tokens if t not in model.src_vocab]
    if len(unknown) == len(tokens):
        raise ValueError(f"none of the words of {sentence!r} is in the source vocabulary, so "
                         f"the model cannot translate it (it was trained on other words)")
    if unknown:
        warnings.warn(f"not in the source vocabulary, read as <unk>: {unknown}", UserWarning,
                      stacklevel=2)
    return " ".join(greedy_translate(model, [tokens], max_len=max_len)[0])


def _source_ids(model: Seq2Seq, source: Sequence[str]) -> list[int]:
    if isinstance(source, str) or not source or not all(isinstance(t, str) for t in source):
        raise TypeError(f"a source sentence must be a non-empty list of str tokens, got "
                        f"{source!r:.60}; use lmkit.translation.tokenize for text")
    return model.src_vocab.encode(source)


def search_step(model: Seq2Seq) -> Callable[[list[list[int]], DecoderState],
                                            tuple[torch.Tensor, DecoderState]]:
    """The model as a search step (:data:`lmkit.beam.Step`): the next-token log-probabilities
    of every prefix, reading each prefix's last token (``<s>`` for an empty one).

    Start the search from ``model.start(src, src_lengths)``, in ``torch.no_grad()`` and eval
    mode; :func:`beam_translate` does both.
    """
    def step(prefixes: list[list[int]], state: DecoderState
             ) -> tuple[torch.Tensor, DecoderState]:
        last = torch.tensor([p[-1] if p else model.bos_id for p in prefixes])
        logits, state, _ = model.step(last, state)
        return torch.log_softmax(logits, dim=-1), state

    return step


@torch.no_grad()
def beam_translate(model: Seq2Seq, sources: Sequence[Sequence[str]], *, beam_size: int = 5,
                   max_len: int = 20, length_penalty: float = 0.0, batch_size: int = 128,
                   return_logprobs: bool = False
                   ) -> list[list[str]] | tuple[list[list[str]], list[float]]:
    """Beam-search translations of tokenized source sentences (lists of tokens), in batches.

    Each sentence's best hypothesis under ``logprob / length ** length_penalty``
    (:func:`lmkit.beam.beam_search_batch`, ``batch_size`` sentences at a time);
    ``beam_size=1`` gives :func:`greedy`'s translations. With ``return_logprobs=True`` also
    the model's log-probability of each translation (``</s>`` included when it finished).
    """
    from lmkit.batching import pad
    from lmkit.beam import beam_search_batch

    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a Seq2Seq, got {type(model).__name__}")
    if not sources:
        raise ValueError("sources is empty: there is nothing to translate")

    step = search_step(model)
    outputs, logprobs = [], []
    with eval_mode(model):
        for start in range(0, len(sources), check_int(batch_size, "batch_size")):
            chunk = [_source_ids(model, s) for s in sources[start:start + batch_size]]
            src, lengths = pad(chunk, model.pad_id)
            for hyps in beam_search_batch(step, model.start(src, lengths), len(chunk),
                                          beam_size=beam_size, max_len=max_len,
                                          eos=model.eos_id, length_penalty=length_penalty,
                                          never=(model.pad_id, model.bos_id)):
                outputs.append(model.tgt_vocab.decode(hyps[0].tokens))
                logprobs.append(hyps[0].logprob)
    return (outputs, logprobs) if return_logprobs else outputs


@torch.no_grad()
def align(model: Seq2Seq, source: Sequence[str], target: Sequence[str] | None = None
          ) -> tuple[list[str], np.ndarray]:
    """The attention weights of a translation, for a heat map.

    Args:
        source: the source tokens.
        target: the target tokens (without ``</s>``); ``None``: the model's greedy translation.

    Returns:
        ``(output tokens, weights)``: the target tokens followed by ``</s>``, and a float array
        ``(len(target) + 1, len(source))`` whose row ``i`` is ``α_i``, the weights over the source
        tokens when the decoder predicted output token ``i`` (each row sums to 1).
    """
    if not isinstance(model, Seq2Seq) or model.attention is None:
        raise TypeError("align needs a Seq2Seq built with attention='additive' or 'dot'")
    src = torch.tensor([_source_ids(model, source)])
    if target is None:
        target = model.tgt_vocab.decode(greedy(model, src, torch.tensor([src.shape[1]]))[0])
    tgt_in = torch.tensor([[model.bos_id, *model.tgt_vocab.encode(target)]])
    with eval_mode(model):
        _, weights = model(src, torch.tensor([src.shape[1]]), tgt_in, return_weights=True)
    return [*target, "</s>"], weights[0].double().numpy()
