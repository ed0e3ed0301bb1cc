"""From text to training batches: sentence streams, context windows and TBPTT blocks.

The book's convention for a corpus of sentences (Penn Treebank: one sentence per line, already
tokenized, rare words already ``<unk>``) is one long **stream** of token ids: every sentence's
tokens followed by ``</s>``. Every chapter scores the same tokens (the words *and* the ``</s>``
ending each sentence), so per-token perplexities are comparable across the book, from the
n-gram models to the RNNs::

    from lmkit import data
    from lmkit.batching import Batches, StreamBatches, read_sentences, sentence_stream, window_pairs
    from lmkit.text import Vocab

    train = read_sentences(data.load_text("ptb", "train"))
    vocab = Vocab((t for s in train for t in s), specials=["<unk>", "</s>"])
    stream = sentence_stream(train, vocab)                         # (N,)

    # Chapter 3, the fixed-window model: (k previous tokens -> next token) pairs.
    contexts, targets = window_pairs(stream, window=3, pad_id=vocab["</s>"])  # (N, 3), (N,)
    batches = Batches(contexts, targets, batch_size=512, shuffle=True)

    # Chapters 4 and 5, recurrent models: (batch, time) blocks for truncated BPTT.
    blocks = StreamBatches(stream, batch_size=32, seq_len=35)     # sequential partitioning

Both batch iterators can be iterated again and again (one pass is one epoch), have a length
(batches per epoch) and a ``sequential`` flag that tells :func:`lmkit.train.fit` whether a
recurrent model's hidden state should be carried from one batch to the next. Their randomness
(shuffling, random partitioning, random offsets) is drawn from torch's global generator, which
``fit(seed=...)`` and :func:`lmkit.set_seed` seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Literal

import torch

from lmkit._checks import check_bool, check_int
from lmkit.text import Vocab

__all__ = ["Batches", "StreamBatches", "read_sentences", "sentence_stream", "window_pairs"]

#: The token that ends every sentence in a stream (the name n-gram toolkits use).
EOS = "</s>"


def _as_stream(stream: object, name: str = "stream") -> torch.Tensor:
    """Validate a 1-D stream of token ids and return it as a ``torch.long`` tensor ``(N,)``."""
    if not isinstance(stream, torch.Tensor):
        if isinstance(stream, (str, bytes)):
            raise TypeError(f"{name} must be token ids, got a str; encode the tokens first, "
                            f"e.g. sentence_stream(read_sentences(text), vocab)")
        try:
            stream = torch.as_tensor(stream)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a 1-D tensor or list of token ids, got "
                            f"{type(stream).__name__}") from exc
    if stream.is_floating_point() or stream.is_complex() or stream.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer token ids, got dtype {stream.dtype}; "
                        f"convert with .long() only if the values really are ids")
    if stream.dim() != 1:
        raise ValueError(f"{name} must be 1-D (one long sequence of ids), got shape "
                         f"{tuple(stream.shape)}; flatten it with .reshape(-1)")
    if stream.numel() and int(stream.min()) < 0:
        raise ValueError(f"{name} contains a negative id ({int(stream.min())}); token ids are "
                         f"0 … len(vocab) - 1")
    return stream.long()


def read_sentences(text: str) -> list[list[str]]:
    """Split a pre-tokenized corpus into sentences: one per non-empty line, split on whitespace.

    This is the book's reading of Penn Treebank (``data.load_text("ptb", split)``), where every
    line is a sentence and tokens are separated by spaces.

    >>> read_sentences(" the cat sat \\n\\n a dog <unk> \\n")
    [['the', 'cat', 'sat'], ['a', 'dog', '<unk>']]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}; read a file with "
                        f"lmkit.data.load_text(...) first")
    return [line.split() for line in text.splitlines() if line.strip()]


def sentence_stream(sentences: Iterable[Sequence[str]], vocab: Vocab,
                    eos: str = EOS) -> torch.Tensor:
    """Encode sentences as one stream of ids, each sentence followed by ``eos``.

    Args:
        sentences: lists of tokens (for example from :func:`read_sentences`).
        vocab: the vocabulary; it must contain ``eos`` (build it with ``specials=["<unk>",
            "</s>"]`` or the default specials). Tokens outside it become ``<unk>``.
        eos: the end-of-sentence token appended to every sentence.

    Returns:
        ``(N,)`` ``torch.long`` ids, ``N = Σ (len(sentence) + 1)``.

    >>> v = Vocab("a b a".split(), specials=["<unk>", "</s>"])
    >>> sentence_stream([["a", "b"], ["b", "c"]], v).tolist()   # c is unknown
    [2, 3, 1, 3, 0, 1]
    """
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be an lmkit.text.Vocab, got {type(vocab).__name__}")
    if eos not in vocab:
        raise ValueError(f"the vocabulary has no {eos!r} token to end sentences with; build it "
                         f"with Vocab(tokens, specials=['<unk>', '{eos}'])")
    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of token lists, got a str; split it first "
                        "with read_sentences(text)")
    eos_id = vocab[eos]
    ids: list[int] = []
    for i, sentence in enumerate(sentences):
        if isinstance(sentence, str):
            raise TypeError(f"sentence {i} is a str ({sentence[:30]!r}); every sentence must "
                            f"be a list of tokens, e.g. from read_sentences(text)")
        ids.extend(vocab.encode(sentence))
        ids.append(eos_id)
    if not ids:
        raise ValueError("sentences is empty: there is nothing to make a stream of")
    return torch.tensor(ids, dtype=torch.long)


def window_pairs(stream: torch.Tensor | Sequence[int], window: int,
                 pad_id: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All (previous ``window`` tokens -> next token) pairs of a stream.

    Pair ``i`` has context ``stream[i : i + window]`` (oldest token first, so column
    ``window - 1`` is the token right before the target) and target ``stream[i + window]``.

    Args:
        stream: ``(N,)`` token ids.
        window: the context size ``k >= 1``.
        pad_id: if given, the stream is first left-padded with ``window`` copies of this id, so
            that *every* token of the stream is a target (``N`` pairs). Pass the id of ``</s>``:
            the start of the text then looks like the start of any other sentence, and the
            model scores the same ``N`` tokens as the n-gram models of chapter 2. Without
            padding there are ``N - window`` pairs.

    Returns:
        ``(contexts, targets)``: ``(N', k)`` and ``(N',)`` ``torch.long`` tensors (``N' = N``
        with ``pad_id``, else ``N - k``). ``contexts`` is a fresh tensor (not a view).

    >>> c, t = window_pairs(torch.tensor([5, 6, 7, 8]), window=2)
    >>> c.tolist(), t.tolist()
    ([[5, 6], [6, 7]], [7, 8])
    >>> c, t = window_pairs(torch.tensor([5, 6]), window=2, pad_id=0)
    >>> c.tolist(), t.tolist()
    ([[0, 0], [0, 5]], [5, 6])
    """
    stream = _as_stream(stream)
    window = check_int(window, "window")
    if pad_id is not None:
        pad_id = check_int(pad_id, "pad_id", 0, hint="it is a token id, e.g. vocab['</s>']")
        stream = torch.cat([torch.full((window,), pad_id, dtype=torch.long), stream])
    if stream.numel() <= window:
        raise ValueError(f"the stream has {stream.numel()} token(s), too few for a window of "
                         f"{window} plus a target; use a longer stream, a smaller window, or "
                         f"pad_id=vocab['</s>'] to pad the start")
    contexts = stream.unfold(0, window, 1)[:-1].clone()  # (N', k)
    targets = stream[window:].clone()                     # (N',)
    return contexts, targets


class Batches:
    """Mini-batches of aligned ``(inputs, targets)`` tensors, optionally shuffled each epoch.

    Args:
        inputs: ``(N, ...)`` tensor, e.g. the ``(N, k)`` contexts of :func:`window_pairs`.
        targets: ``(N, ...)`` tensor with the same first dimension, e.g. ``(N,)`` next tokens.
        batch_size: examples per batch (the last batch may be smaller unless ``drop_last``).
        shuffle: draw a new random order at the start of every epoch (use it for training,
            not for evaluation).
        drop_last: drop the last, smaller batch.

    Iterating yields ``(inputs[idx], targets[idx])`` pairs of shapes ``(B, ...)``.

    >>> b = Batches(torch.arange(10).reshape(5, 2), torch.arange(5), batch_size=2)
    >>> len(b), [y.tolist() for _, y in b]
    (3, [[0, 1], [2, 3], [4]])
    """

    #: Batches are independent examples: a recurrent state is never carried between them.
    sequential = False

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int, *,
                 shuffle: bool = False, drop_last: bool = False) -> None:
        for name, value in (("inputs", inputs), ("targets", targets)):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}; "
                                f"wrap it with torch.tensor(...)")
            if value.dim() == 0:
                raise ValueError(f"{name} must have a first (example) dimension, got a scalar")
        if inputs.shape[0] != targets.shape[0]:
            raise ValueError(f"inputs and targets must hold the same number of examples, got "
                             f"{inputs.shape[0]} and {targets.shape[0]}")
        if inputs.shape[0] == 0:
            raise ValueError("inputs and targets are empty: there is nothing to batch")
        self.inputs, self.targets = inputs, targets
        self.batch_size = check_int(batch_size, "batch_size")
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        if drop_last and len(self) == 0:
            raise ValueError(f"drop_last=True with batch_size={batch_size} > the "
                             f"{inputs.shape[0]} examples leaves no batch; lower batch_size")

    @property
    def num_examples(self) -> int:
        return self.inputs.shape[0]

    def __len__(self) -> int:
        n, b = self.num_examples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = self.num_examples
        order = torch.randperm(n) if self.shuffle else None
        for i in range(len(self)):
            if order is None:
                idx: slice | torch.Tensor = slice(i * self.batch_size, (i + 1) * self.batch_size)
            else:
                idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            yield self.inputs[idx], self.targets[idx]

    def __repr__(self) -> str:
        return (f"Batches({self.num_examples} examples, batch_size={self.batch_size}, "
                f"{len(self)} batches, shuffle={self.shuffle})")


class StreamBatches:
    """A token stream cut into ``(batch, time)`` blocks for truncated backpropagation through time.

    Each batch is ``(X, Y)`` with ``X, Y`` of shape ``(B, T)`` and ``Y`` the stream shifted by
    one token: ``Y[b, t]`` is the token that follows ``X[b, t]``.

    ``partition="sequential"`` (Mikolov; the PyTorch word-language-model example): the stream
    is cut into ``B`` equal rows, one per batch lane, and batch ``j`` is columns
    ``j*T … (j+1)*T - 1`` of every row. Row ``b`` of batch ``j + 1`` continues row ``b`` of batch
    ``j``, so a recurrent model's final hidden state of one batch is the right initial state of
    the next (``sequential`` is ``True`` and :func:`lmkit.train.fit` carries it, detached). The
    last batch is shorter in time when the row length is not a multiple of ``T``.

    ``partition="random"`` (d2l.ai): the stream is cut into pieces of ``T`` tokens which are
    shuffled and grouped ``B`` at a time; consecutive batches are unrelated, so every batch
    starts from a fresh state (``sequential`` is ``False``). The last batch may hold fewer
    than ``B`` pieces.

    Args:
        stream: ``(N,)`` token ids, e.g. from :func:`sentence_stream`.
        batch_size: ``B``, the number of sequences per batch.
        seq_len: ``T``, the truncation length (time steps per batch).
        partition: ``"sequential"`` or ``"random"``.
        random_offset: start each epoch at a random offset in ``[0, T)`` so that the cut points
            differ from epoch to epoch (drops up to ``T - 1`` tokens at the start). Default:
            off for sequential (an exact, repeatable pass, as evaluation needs), on for random.

    Tokens that do not fill a row (sequential: fewer than ``B``; random: fewer than ``T``) at
    the end of the stream are dropped; :attr:`num_tokens` says how many targets a pass scores.
    """

    def __init__(self, stream: torch.Tensor | Sequence[int], batch_size: int, seq_len: int, *,
                 partition: Literal["sequential", "random"] = "sequential",
                 random_offset: bool | None = None) -> None:
        self.stream = _as_stream(stream)
        self.batch_size = check_int(batch_size, "batch_size")
        self.seq_len = check_int(seq_len, "seq_len")
        if partition not in ("sequential", "random"):
            raise ValueError(f"partition must be 'sequential' or 'random', got {partition!r}")
        self.partition = partition
        self.random_offset = (partition == "random") if random_offset is None else check_bool(
            random_offset, "random_offset")
        # The worst case (largest offset) must still leave one block.
        shortest = self.stream.numel() - 1 - (self.seq_len - 1) * self.random_offset
        need = self.batch_size if partition == "sequential" else self.seq_len
        if shortest < need:
            raise ValueError(
                f"the stream has {self.stream.numel()} tokens, too few for batch_size="
                f"{batch_size}, seq_len={seq_len} with partition={partition!r}: it needs at "
                f"least {need + 1 + (self.seq_len - 1) * self.random_offset}; use a longer "
                f"stream or smaller sizes")

    @property
    def sequential(self) -> bool:
        """Whether batch ``j + 1`` continues batch ``j`` row by row (carry the state)."""
        return self.partition == "sequential"

    def _offset(self) -> int:
        return int(torch.randint(self.seq_len, ())) if self.random_offset else 0

    def _sizes(self, offset: int) -> tuple[int, int]:
        """(row length L for sequential / number of pieces for random) at this offset."""
        n = self.stream.numel() - 1 - offset  # tokens that have a successor
        if self.sequential:
            return n // self.batch_size, -(-(n // self.batch_size) // self.seq_len)
        pieces = n // self.seq_len
        return pieces, -(-pieces // self.batch_size)

    def __len__(self) -> int:
        """Batches per epoch (at offset 0; a random offset can make an epoch one batch shorter)."""
        return self._sizes(0)[1]

    @property
    def num_tokens(self) -> int:
        """Targets scored in one pass at offset 0 (all of them but the dropped tail)."""
        size = self._sizes(0)[0]
        return size * (self.batch_size if self.sequential else self.seq_len)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        offset = self._offset()
        size, _ = self._sizes(offset)
        s = self.stream[offset:]
        B, T = self.batch_size, self.seq_len
        if self.sequential:
            L = size
            rows_x = s[:B * L].view(B, L)            # (B, L): row b is a contiguous chunk
            rows_y = s[1:B * L + 1].view(B, L)       # (B, L): the same, one token later
            for t in range(0, L, T):
                yield rows_x[:, t:t + T], rows_y[:, t:t + T]  # (B, T), the last may be shorter
        else:
            pieces_x = s[:size * T].view(size, T)      # (P, T)
            pieces_y = s[1:size * T + 1].view(size, T)  # (P, T)
            order = torch.randperm(size)
            for i in range(0, size, B):
                idx = order[i:i + B]
                yield pieces_x[idx], pieces_y[idx]     # (B, T), the last may have fewer rows

    def __repr__(self) -> str:
        return (f"StreamBatches({self.stream.numel()} tokens, batch_size={self.batch_size}, "
                f"seq_len={self.seq_len}, partition={self.partition!r}, {len(self)} batches)")
