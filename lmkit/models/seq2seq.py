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

::

    model = Seq2Seq(src_vocab, tgt_vocab, embed=64, hidden=128)
    logits = model(src, src_lengths, tgt_in)          # (B, T, |V_tgt|)
    fit(model, PaddedPairs(...), max_steps=500)       # the mean loss over real target tokens
    translate(model, "Je suis content.")              # "i'm happy ."
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import nn

from lmkit._checks import check_ids, check_int, check_probability, eval_mode
from lmkit.models.encoder import RNNEncoder
from lmkit.text import Vocab

__all__ = ["Decoder", "Seq2Seq", "greedy", "greedy_translate", "translate"]

_CELLS = {"gru": nn.GRU, "rnn": nn.RNN}


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


class Seq2Seq(nn.Module):
    """Encoder–decoder without attention: the encoder's final state starts the decoder.

    Args:
        src_vocab, tgt_vocab: the :class:`~lmkit.text.Vocab` of each language; the target
            vocabulary needs ``<s>`` and ``</s>``, and both give ``<pad>`` the same id.
        embed: embedding size (both sides).
        hidden: the hidden size ``n`` of both RNNs: the size of the bottleneck.
        cell: ``"gru"`` (default) or ``"rnn"``.
        dropout: on embeddings and decoder outputs during training.
        teacher_forcing: the probability that the decoder reads the reference token rather
            than its own previous prediction, in training (1: always the reference).

    ``forward(src (B, S), src_lengths (B,), tgt_in (B, T))`` returns logits ``(B, T, |V_tgt|)``.
    """

    recurrent = False   # called as model(src, src_lengths, tgt_in) -> logits; no state carried

    def __init__(self, src_vocab: Vocab, tgt_vocab: Vocab, *, embed: int = 64,
                 hidden: int = 128, cell: str = "gru", dropout: float = 0.0,
                 teacher_forcing: float = 1.0) -> None:
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
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.pad_id, self.bos_id = tgt_vocab["<pad>"], tgt_vocab["<s>"]
        self.eos_id = tgt_vocab["</s>"]
        self.teacher_forcing = check_probability(teacher_forcing, "teacher_forcing")
        dropout = check_probability(dropout, "dropout", below_one=True)
        self.encoder = RNNEncoder(len(src_vocab), embed, hidden, cell=cell,
                                  pad_id=self.pad_id, dropout=dropout)
        self.decoder = Decoder(len(tgt_vocab), embed, hidden, cell=cell, pad_id=self.pad_id,
                               dropout=dropout)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> torch.Tensor:
        """The decoder's initial state ``(1, B, n)``: the encoder's state after the last
        real token of each source sentence."""
        _, final = self.encoder(src, src_lengths)          # (B, n)
        return final.unsqueeze(0)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor,
                tgt_in: torch.Tensor) -> torch.Tensor:
        check_ids(tgt_in, len(self.tgt_vocab), "tgt_in")
        if tgt_in.dim() != 2 or tgt_in.shape[0] != src.shape[0] or tgt_in.shape[1] == 0:
            raise ValueError(f"tgt_in must be (B, T) = ({src.shape[0]}, T >= 1), got "
                             f"{tuple(tgt_in.shape)}")
        state = self.encode(src, src_lengths)
        if not self.training or self.teacher_forcing == 1.0:
            logits, _ = self.decoder(tgt_in, state)        # all steps at once
            return logits
        steps, token = [], tgt_in[:, :1]                    # (B, 1): <s>
        for t in range(tgt_in.shape[1]):
            if t > 0:   # the reference token, or (prob. 1 - ratio) the model's own guess
                own = steps[-1].argmax(-1)
                keep = torch.rand(own.shape) < self.teacher_forcing
                token = torch.where(keep | (tgt_in[:, t:t + 1] == self.pad_id),
                                    tgt_in[:, t:t + 1], own)
            logit, state = self.decoder(token, state)
            steps.append(logit)
        return torch.cat(steps, dim=1)                      # (B, T, |V|)


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
        state = model.encode(src, src_lengths)
        B = src.shape[0]
        token = torch.full((B, 1), model.bos_id)
        done = torch.zeros(B, dtype=torch.bool)
        out = []
        for _ in range(max_len):
            logits, state = model.decoder(token, state)     # (B, 1, |V|)
            logits[..., [model.pad_id, model.bos_id]] = -torch.inf
            token = logits.argmax(-1)                       # (B, 1)
            out.append(token)
            done |= token[:, 0] == model.eos_id
            if bool(done.all()):
                break
        ids = torch.cat(out, dim=1).tolist()
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
