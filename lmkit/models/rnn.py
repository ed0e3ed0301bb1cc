"""Recurrent language models: the vanilla RNN written out step by step, and the RNN LM around it.

A vanilla (Elman) RNN reads a sequence one vector at a time and keeps a hidden state ``h``::

    h_t = tanh(W_xh x_t + b_xh + W_hh h_{t-1} + b_hh)      (H,)     h_0 = 0 unless given

with the same ``W_xh, W_hh, b_xh, b_hh`` at every step (the book writes ``n_h`` for ``H``, ``e_t``
for the input and ``b_h = b_xh + b_hh``: only the sum of the two biases matters).
:class:`ScratchRNN` computes exactly this with one Python loop over time; its parameters have
PyTorch's names and shapes (``weight_ih_l0`` is ``W_xh`` ``(H, D)``, ``weight_hh_l0`` is
``W_hh`` ``(H, H)``, ``bias_ih_l0``/``bias_hh_l0`` are ``b_xh``/``b_hh`` ``(H,)``), so weights
move between it and ``torch.nn.RNN`` with ``load_state_dict``, :meth:`ScratchRNN.from_torch` and
:meth:`ScratchRNN.to_torch`.

The language model :class:`RNNLM` is embedding → recurrent layer → linear layer::

    e_t = E[x_t]                      (d,)      E: the embedding table (|V|, d)
    h_t = RNN(e_t, h_{t-1})           (H,)
    ŷ_t = softmax(W_hy h_t + b_y)     (|V|,)    p(x_{t+1} | x_1 … x_t)

>>> model = RNNLM(RNNConfig(vocab_size=60, embed_dim=16, hidden_size=32))
>>> logits, state = model(torch.zeros(4, 10, dtype=torch.long))   # (B, T) ids
>>> tuple(logits.shape), tuple(state.shape)                        # (B, T, |V|), (L, B, H)
((4, 10, 60), (1, 4, 32))

The recurrent layer is chosen by name from :data:`LAYERS` (``"rnn"``, ``"lstm"``, ``"gru"``:
PyTorch's layers; ``"scratch"``, ``"scratch-lstm"``, ``"scratch-gru"``: this module's
:class:`ScratchRNN` and :mod:`lmkit.models.gated`'s ``ScratchLSTM`` and ``ScratchGRU``), or passed
in as a module of your own (``RNNLM(config, layer=nn.GRU(d, H, batch_first=True))``);
:class:`RNNLM` uses it unchanged. An LSTM's state is a pair ``(h, c)``; training, scoring and
sampling carry it like any other state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lmkit._checks import check_bool, check_ids, check_int, check_probability, check_sequence
from lmkit.models.gated import ScratchGRU, ScratchLSTM
from lmkit.models.neural import NeuralLM
from lmkit.text import Vocab

__all__ = ["LAYERS", "RNNLM", "RNNConfig", "ScratchRNN"]

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh, "relu": torch.relu}


class ScratchRNN(nn.Module):
    """A vanilla RNN layer, ``h_t = act(W_xh x_t + b_xh + W_hh h_{t-1} + b_hh)``, step by step.

    It computes what ``nn.RNN(input_size, hidden_size, num_layers, nonlinearity=...,
    batch_first=True)`` computes, with the same parameter names, shapes and initialisation
    (uniform in ``±1/sqrt(H)``), but as a readable loop over time steps.

    Args:
        input_size: ``D``, the size of each input vector ``x_t``.
        hidden_size: ``H``, the size of the hidden state ``h_t``.
        num_layers: stacked layers; layer ``l > 0`` reads the hidden states of layer ``l - 1``.
        nonlinearity: ``"tanh"`` (the default, as in ``nn.RNN``) or ``"relu"``.
        dropout: dropout on the outputs of every layer but the last (in training mode only).

    Call it on ``x`` of shape ``(B, T, D)`` and optionally ``h0`` of shape ``(L, B, H)``
    (zeros if ``None``) to get ``(outputs, h_n)``: the last layer's hidden states ``(B, T, H)``
    and every layer's final state ``(L, B, H)``.
    """

    bidirectional = False

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", dropout: float = 0.0) -> None:
        super().__init__()
        check_int(input_size, "input_size", 1)
        check_int(hidden_size, "hidden_size", 1)
        check_int(num_layers, "num_layers", 1)
        if nonlinearity not in _ACTIVATIONS:
            raise ValueError(f"nonlinearity must be one of {sorted(_ACTIVATIONS)} (as in "
                             f"nn.RNN), got {nonlinearity!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.nonlinearity = nonlinearity
        self.dropout = check_probability(dropout, "dropout", below_one=True)
        for layer in range(num_layers):
            d_in = input_size if layer == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{layer}",
                                    nn.Parameter(torch.empty(hidden_size, d_in)))  # W_xh (H, D)
            self.register_parameter(f"weight_hh_l{layer}",
                                    nn.Parameter(torch.empty(hidden_size, hidden_size)))  # W_hh
            self.register_parameter(f"bias_ih_l{layer}",
                                    nn.Parameter(torch.empty(hidden_size)))  # b_xh (H,)
            self.register_parameter(f"bias_hh_l{layer}",
                                    nn.Parameter(torch.empty(hidden_size)))  # b_hh (H,)
        self.reset_parameters()

    @property
    def mode(self) -> str:
        """``"RNN_TANH"`` or ``"RNN_RELU"``, as ``nn.RNN.mode``."""
        return f"RNN_{self.nonlinearity.upper()}"

    def reset_parameters(self) -> None:
        """Draw every weight uniformly from ``[-1/sqrt(H), 1/sqrt(H)]``, as ``nn.RNN`` does."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def layer_weights(self, layer: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                 torch.Tensor]:
        """``(W_xh, W_hh, b_xh, b_hh)`` of one layer (0-based)."""
        return (getattr(self, f"weight_ih_l{layer}"), getattr(self, f"weight_hh_l{layer}"),
                getattr(self, f"bias_ih_l{layer}"), getattr(self, f"bias_hh_l{layer}"))

    def _check_inputs(self, x: torch.Tensor, h0: torch.Tensor | None) -> None:
        check_sequence(x, self.input_size)
        if h0 is not None:
            expected = (self.num_layers, x.shape[0], self.hidden_size)
            if not isinstance(h0, torch.Tensor):
                raise TypeError(f"h0 must be a tensor of shape {expected} or None, got "
                                f"{type(h0).__name__}")
            if tuple(h0.shape) != expected:
                raise ValueError(f"h0 must have shape (num_layers, B, hidden_size) = {expected}, "
                                 f"got {tuple(h0.shape)}; pass the state the previous call "
                                 f"returned, or None for zeros")

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the recurrence over all ``T`` steps.

        Args:
            x: ``(B, T, D)`` input vectors.
            h0: ``(L, B, H)`` initial states, or ``None`` for zeros.

        Returns:
            ``(outputs, h_n)``: ``(B, T, H)`` hidden states of the last layer at every step and
            ``(L, B, H)`` the final hidden state of every layer.
        """
        self._check_inputs(x, h0)
        B, T, _ = x.shape
        act = _ACTIVATIONS[self.nonlinearity]
        if h0 is None:
            h0 = x.new_zeros(self.num_layers, B, self.hidden_size)          # (L, B, H)
        layer_input, last_states = x, []
        for layer in range(self.num_layers):
            W_xh, W_hh, b_xh, b_hh = self.layer_weights(layer)
            h = h0[layer]                                                    # (B, H)
            outputs = []
            for t in range(T):
                h = act(layer_input[:, t] @ W_xh.T + b_xh + h @ W_hh.T + b_hh)  # (B, H)
                outputs.append(h)
            layer_input = torch.stack(outputs, dim=1)                        # (B, T, H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
            last_states.append(h)
        return layer_input, torch.stack(last_states)                         # (B,T,H), (L,B,H)

    @classmethod
    def from_torch(cls, rnn: nn.RNN) -> ScratchRNN:
        """A :class:`ScratchRNN` with a copy of the weights of a batch-first ``nn.RNN``."""
        if not isinstance(rnn, nn.RNN):
            raise TypeError(f"rnn must be a torch.nn.RNN, got {type(rnn).__name__}")
        unsupported = [name for name, bad in (("batch_first=False", not rnn.batch_first),
                                              ("bias=False", not rnn.bias),
                                              ("bidirectional=True", rnn.bidirectional),
                                              ("proj_size", getattr(rnn, "proj_size", 0)))
                       if bad]
        if unsupported:
            raise ValueError(f"ScratchRNN copies nn.RNN(..., batch_first=True) with biases, "
                             f"one direction and no projection; this one has "
                             f"{', '.join(unsupported)}")
        scratch = cls(rnn.input_size, rnn.hidden_size, rnn.num_layers, rnn.nonlinearity,
                      rnn.dropout)
        scratch.load_state_dict(rnn.state_dict())
        return scratch.to(next(rnn.parameters()))

    def to_torch(self) -> nn.RNN:
        """An ``nn.RNN(..., batch_first=True)`` with a copy of this layer's weights."""
        rnn = nn.RNN(self.input_size, self.hidden_size, self.num_layers,
                     nonlinearity=self.nonlinearity, dropout=self.dropout, batch_first=True)
        rnn.load_state_dict(self.state_dict())
        return rnn.to(next(self.parameters()))

    def extra_repr(self) -> str:
        extra = f", num_layers={self.num_layers}" if self.num_layers > 1 else ""
        extra += f", dropout={self.dropout}" if self.dropout else ""
        return (f"{self.input_size}, {self.hidden_size}{extra}, "
                f"nonlinearity={self.nonlinearity!r}")


# ------------------------------------------------------------------------------------------------
# The recurrent layers an RNNLM can use by name

def _torch_rnn(input_size: int, hidden_size: int, num_layers: int, nonlinearity: str,
               dropout: float) -> nn.Module:
    return nn.RNN(input_size, hidden_size, num_layers, nonlinearity=nonlinearity,
                  dropout=dropout, batch_first=True)


def _gated(layer: Callable[..., nn.Module]) -> Callable[[int, int, int, str, float], nn.Module]:
    """A factory for a gated layer (which has no ``nonlinearity`` to choose)."""
    def make(input_size: int, hidden_size: int, num_layers: int, nonlinearity: str,
             dropout: float) -> nn.Module:
        if layer in (nn.LSTM, nn.GRU):
            return layer(input_size, hidden_size, num_layers, dropout=dropout, batch_first=True)
        return layer(input_size, hidden_size, num_layers, dropout)
    return make


#: ``RNNConfig(cell=name)``: ``factory(input_size, hidden_size, num_layers, nonlinearity,
#: dropout)`` for each of lmkit's own layers. A layer of your own goes in as
#: ``RNNLM(config, layer=module)`` instead.
LAYERS: dict[str, Callable[[int, int, int, str, float], nn.Module]] = {
    "scratch": ScratchRNN, "rnn": _torch_rnn,
    "scratch-lstm": _gated(ScratchLSTM), "lstm": _gated(nn.LSTM),
    "scratch-gru": _gated(ScratchGRU), "gru": _gated(nn.GRU)}


# ------------------------------------------------------------------------------------------------
# The language model

@dataclass(frozen=True)
class RNNConfig:
    """The sizes and choices of an :class:`RNNLM`.

    Attributes:
        vocab_size: ``|V|``, the number of token ids (``len(vocab)``).
        embed_dim: ``d``, the size of a token's embedding vector (the RNN's input size).
        hidden_size: ``H``, the size of the hidden state.
        cell: the recurrent layer, a key of :data:`LAYERS`: ``"rnn"``, ``"lstm"``, ``"gru"``
            (PyTorch's) or ``"scratch"``, ``"scratch-lstm"``, ``"scratch-gru"`` (lmkit's,
            written out step by step).
        num_layers: ``L``, stacked recurrent layers.
        nonlinearity: ``"tanh"`` or ``"relu"`` for the vanilla RNN cells (unused by gated ones).
        dropout: dropout on the embeddings, between layers and before the output layer.
        tie_weights: use the embedding table as the output weights (``W_hy = E``, Press & Wolf,
            2017); needs ``embed_dim == hidden_size``.
    """

    vocab_size: int
    embed_dim: int = 64
    hidden_size: int = 128
    cell: str = "rnn"
    num_layers: int = 1
    nonlinearity: str = "tanh"
    dropout: float = 0.0
    tie_weights: bool = False

    def __post_init__(self) -> None:
        check_int(self.vocab_size, "vocab_size", 1)
        check_int(self.embed_dim, "embed_dim", 1)
        check_int(self.hidden_size, "hidden_size", 1)
        check_int(self.num_layers, "num_layers", 1)
        if self.cell not in LAYERS:
            raise ValueError(f"unknown cell {self.cell!r}; choose one of "
                             f"{', '.join(map(repr, LAYERS))}, or pass a layer of your own: "
                             f"RNNLM(config, layer=my_layer)")
        if self.nonlinearity not in _ACTIVATIONS:
            raise ValueError(f"nonlinearity must be one of {sorted(_ACTIVATIONS)}, got "
                             f"{self.nonlinearity!r}")
        check_probability(self.dropout, "dropout", below_one=True)
        check_bool(self.tie_weights, "tie_weights")
        if self.tie_weights and self.embed_dim != self.hidden_size:
            raise ValueError(f"tie_weights=True shares one (|V|, d) table between input and "
                             f"output, so embed_dim must equal hidden_size; got embed_dim="
                             f"{self.embed_dim}, hidden_size={self.hidden_size}")


State = torch.Tensor | tuple[torch.Tensor, ...]


class RNNLM(NeuralLM):
    """A recurrent language model: embedding → recurrent layer(s) → linear layer to ``|V|`` logits.

    Args:
        config: the sizes, an :class:`RNNConfig`.
        vocab: the :class:`~lmkit.text.Vocab` that encoded the training data (needed for the
            language-model verbs on texts: ``perplexity``, ``generate``, …).
        start: the token read before a text starts (default ``"</s>"``; ``"\n"`` for a
            character model whose texts start at a line start).
        layer: a recurrent layer of your own instead of ``config.cell``: a batch-first module
            called as ``layer(x (B, T, d), state or None) -> (outputs (B, T, H), state)`` (the
            convention of ``nn.RNN``, ``nn.GRU`` and ``nn.LSTM``), with ``d = embed_dim`` and
            ``H = hidden_size``.

    Call it on ``(B, T)`` token ids (and optionally the state a previous call returned) to get
    ``(logits, state)``: ``(B, T, |V|)`` next-token logits at every position and the final
    state (``(L, B, H)`` for a vanilla RNN, a tuple for an LSTM), which :func:`lmkit.train.fit`
    carries from one batch to the next. As a :class:`~lmkit.models.base.LanguageModel` it
    scores texts of tokens given everything before them and samples them.
    """

    recurrent = True

    def __init__(self, config: RNNConfig, vocab: Vocab | None = None, start: str | None = None,
                 layer: nn.Module | None = None) -> None:
        super().__init__()
        if not isinstance(config, RNNConfig):
            raise TypeError(f"config must be an RNNConfig, got {type(config).__name__}; write "
                            f"RNNLM(RNNConfig(vocab_size=len(vocab), hidden_size=128))")
        if layer is not None and not isinstance(layer, nn.Module):
            raise TypeError(f"layer must be an nn.Module (e.g. nn.GRU(d, H, batch_first=True)), "
                            f"got {type(layer).__name__}")
        self.config = c = config
        self._set_vocab(vocab, start, c.vocab_size)
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)                         # E
        self.rnn = layer if layer is not None else LAYERS[c.cell](
            c.embed_dim, c.hidden_size, c.num_layers, c.nonlinearity,
            c.dropout if c.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.output = nn.Linear(c.hidden_size, c.vocab_size)                         # W_hy, b_y
        if c.tie_weights:
            self.output.weight = self.embed.weight

    def _check_ids(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of token ids of shape (B, T), got "
                            f"{type(x).__name__}; use torch.tensor([ids])")
        if x.dim() != 2:
            hint = "; for one sequence use x.unsqueeze(0)" if x.dim() == 1 else ""
            raise ValueError(f"x must have shape (B, T) (a batch of sequences of token ids), "
                             f"got {tuple(x.shape)}{hint}")
        if x.numel() == 0:
            raise ValueError(f"x is empty (shape {tuple(x.shape)}): give at least one token")
        check_ids(x, self.config.vocab_size, "x")

    def _check_state(self, state: State, batch_size: int) -> None:
        # The layer's own sizes when it has them (a layer of one's own may differ from config).
        rnn = self.rnn
        layers = getattr(rnn, "num_layers", self.config.num_layers)
        layers *= 2 if getattr(rnn, "bidirectional", False) else 1
        expected = (layers, batch_size, getattr(rnn, "hidden_size", self.config.hidden_size))
        mode = getattr(rnn, "mode", None)                # "LSTM", "GRU", "RNN_TANH", …
        if mode == "LSTM" and not (isinstance(state, tuple) and len(state) == 2):
            got = "a tensor" if isinstance(state, torch.Tensor) else type(state).__name__
            raise TypeError(f"an LSTM's state is a pair (h, c) of tensors of shape {expected}, "
                            f"got {got}; pass the (h, c) the previous call returned, or None "
                            f"to start afresh")
        if mode is not None and mode != "LSTM" and isinstance(state, tuple):
            kind = "GRU" if mode == "GRU" else "vanilla RNN"
            raise TypeError(f"a {kind}'s state is one tensor of shape {expected}, got a tuple; "
                            f"a pair (h, c) is an LSTM's state (cell='lstm')")
        parts = state if isinstance(state, tuple) else (state,)
        for part in parts:
            if not isinstance(part, torch.Tensor):
                raise TypeError(f"state must be what the model returned (a tensor, or a tuple "
                                f"of tensors for an LSTM), got {type(part).__name__}")
            if tuple(part.shape) != expected:
                raise ValueError(f"state has shape {tuple(part.shape)}, but this batch needs "
                                 f"(num_layers, B, hidden_size) = {expected}; pass the state "
                                 f"of a batch with the same B, or None to start afresh")

    def forward(self, x: torch.Tensor, state: State | None = None
                ) -> tuple[torch.Tensor, State]:
        """Next-token logits at every position.

        Args:
            x: ``(B, T)`` token ids.
            state: the state returned for the previous block of the same sequences, or
                ``None`` to start from zeros.

        Returns:
            ``(logits, state)``: ``(B, T, |V|)`` unnormalised scores (``softmax(logits[b, t])``
            is ``p(x_{t+1} | x_1 … x_t)``) and the final state (``(h, c)`` for an LSTM).
        """
        self._check_ids(x)
        if state is not None:
            self._check_state(state, x.shape[0])
        e = self.drop(self.embed(x))            # (B, T, d)
        h, state = self.rnn(e, state)           # (B, T, H), (L, B, H) or a pair for an LSTM
        logits = self.output(self.drop(h))      # (B, T, |V|)
        return logits, state
