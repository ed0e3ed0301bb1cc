"""The fixed-window neural language model of Bengio et al. (2003).

The previous ``k`` tokens are looked up in one embedding table, their vectors are concatenated,
passed through a ``tanh`` hidden layer and mapped to one logit per vocabulary word (the book's
notation, chapter 3)::

    x = [e_{t-k}; …; e_{t-1}]                (k·d,)    embeddings, concatenated
    h = tanh(W_xh x + b_h)                   (n_h,)
    o = W_hy h + b_y [+ D x]                 (|V|,)    D: optional direct connections
    ŷ = softmax(o)

The lectures write ``h = f(V x + b₁)``, ``ŷ = softmax(W h + b₂)``; Bengio et al.'s own letters
are ``H, d`` for ``W_xh, b_h``, ``U, b`` for ``W_hy, b_y`` and ``W`` for ``D``. In PyTorch terms:
``E`` is ``model.embed.weight`` (``(|V|, d)``), ``W_xh, b_h`` are ``model.hidden.weight, .bias``
(``(n_h, k·d)``, ``(n_h,)``), ``W_hy, b_y`` are ``model.output.weight, .bias`` (``(|V|, n_h)``,
``(|V|,)``) and ``D`` is ``model.direct.weight`` (``(|V|, k·d)``).

>>> model = FixedWindowLM(WindowConfig(vocab_size=100, window=3, embed_dim=8, hidden_dim=16))
>>> model(torch.zeros(4, 3, dtype=torch.long)).shape   # (B, k) ids -> (B, |V|) logits
torch.Size([4, 100])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lmkit._checks import check_bool, check_ids, check_int, check_number
from lmkit.models.neural import NeuralLM
from lmkit.text import Vocab

__all__ = ["FixedWindowLM", "WindowConfig"]


@dataclass(frozen=True)
class WindowConfig:
    """The sizes of a :class:`FixedWindowLM`.

    Attributes:
        vocab_size: ``|V|``, the number of token ids (``len(vocab)``).
        window: ``k >= 1``, how many previous tokens the model sees.
        embed_dim: ``d``, the size of a token's embedding vector.
        hidden_dim: ``n_h``, the size of the ``tanh`` hidden layer.
        direct: add Bengio's direct connections from the concatenated embeddings to the
            output layer (``D x``, ``|V| · k · d`` more parameters).
        embed_init_std: standard deviation of the normal initial embeddings.
    """

    vocab_size: int
    window: int = 3
    embed_dim: int = 64
    hidden_dim: int = 128
    direct: bool = False
    embed_init_std: float = 0.1

    def __post_init__(self) -> None:
        check_int(self.vocab_size, "vocab_size", 1)
        check_int(self.window, "window", 1)
        check_int(self.embed_dim, "embed_dim", 1)
        check_int(self.hidden_dim, "hidden_dim", 1)
        check_number(self.embed_init_std, "embed_init_std", low=0.0, low_open=True)
        check_bool(self.direct, "direct")


class FixedWindowLM(NeuralLM):
    """Bengio et al.'s (2003) neural probabilistic language model over a window of ``k`` tokens.

    Args:
        config: the sizes, a :class:`WindowConfig`.
        vocab: the :class:`~lmkit.text.Vocab` that encoded the training data (needed for the
            language-model verbs on texts: ``perplexity``, ``generate``, …).
        start: the token read before a text starts (default ``"</s>"``); a text's first tokens
            see ``k`` copies of it, as :func:`lmkit.batching.window_pairs` pads with ``pad_id``.

    Call it on ``(B, k)`` context ids (column ``k - 1`` is the token right before the one to
    predict, as :func:`lmkit.batching.window_pairs` makes them) to get ``(B, |V|)`` logits. As
    a :class:`~lmkit.models.base.LanguageModel` it scores texts of tokens
    (``model.perplexity(test_sentences)``) and samples them (``model.generate(...)``).
    """

    recurrent = False

    def __init__(self, config: WindowConfig, vocab: Vocab | None = None,
                 start: str | None = None) -> None:
        super().__init__()
        if not isinstance(config, WindowConfig):
            raise TypeError(f"config must be a WindowConfig, got {type(config).__name__}; "
                            f"write FixedWindowLM(WindowConfig(vocab_size=len(vocab), window=3))")
        self.config = config
        c = config
        self.context_size = c.window
        self._set_vocab(vocab, start, c.vocab_size)
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)                 # E
        self.hidden = nn.Linear(c.window * c.embed_dim, c.hidden_dim)        # W_xh, b_h
        self.output = nn.Linear(c.hidden_dim, c.vocab_size)                  # W_hy, b_y
        # Small initial embeddings (PyTorch's default is N(0, 1)): what training writes into
        # them then dominates sooner. On Penn Treebank (chapter 3) this lowers the perplexity
        # after 600 steps from 324 to 291, and nearest neighbours become meaningful.
        nn.init.normal_(self.embed.weight, std=c.embed_init_std)
        self.direct = (nn.Linear(c.window * c.embed_dim, c.vocab_size, bias=False)  # D
                       if c.direct else None)

    def _check_context(self, context_ids: torch.Tensor) -> None:
        k = self.config.window
        if not isinstance(context_ids, torch.Tensor):
            raise TypeError(f"context_ids must be a torch.Tensor of shape (B, {k}), got "
                            f"{type(context_ids).__name__}; use torch.tensor(ids)")
        if context_ids.dim() != 2 or context_ids.shape[1] != k:
            hint = ("; for a single context use context_ids.unsqueeze(0)"
                    if context_ids.dim() == 1 and context_ids.shape[0] == k else "")
            raise ValueError(f"context_ids must have shape (B, {k}) (a batch of windows of the "
                             f"model's {k} previous tokens), got {tuple(context_ids.shape)}{hint}")
        if context_ids.shape[0] == 0:
            raise ValueError("context_ids holds no windows (shape (0, k)); give at least one")
        check_ids(context_ids, self.config.vocab_size, "context_ids")

    def forward(self, context_ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits.

        Args:
            context_ids: ``(B, k)`` integer ids of the ``k`` previous tokens, oldest first.

        Returns:
            ``(B, |V|)`` unnormalised scores; ``softmax`` of a row is ``p(w_t | context)``.
        """
        self._check_context(context_ids)
        B = context_ids.shape[0]
        x = self.embed(context_ids).reshape(B, -1)      # (B, k, d) -> (B, k·d)
        h = torch.tanh(self.hidden(x))                  # (B, n_h)
        logits = self.output(h)                         # (B, |V|)
        if self.direct is not None:
            logits = logits + self.direct(x)            # (B, |V|)
        return logits
