"""Checking gradients and watching them flow back through time.

Two tools that chapters 5 to 7 use again and again::

    from lmkit.grad import grad_check, hidden_grad_norms

    # 1. Is a gradient right? Compare it with central finite differences (in float64).
    report = grad_check(lambda: loss_fn(model), model)          # autograd vs finite differences
    report = grad_check(loss, [W, b], grads=[dW, db])          # your hand-written gradient
    print(report)            # one line per parameter: its largest relative error
    assert report            # True when every error is within rtol

    # 2. How large is the gradient of the loss with respect to each hidden state h_t?
    rnn = torch.nn.RNN(8, 16, batch_first=True)
    norms = hidden_grad_norms(rnn, x)                          # (T,) ‖∂J/∂h_t‖, J on the last step

:func:`numerical_grad` is the finite-difference estimate itself, for a function of one tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from lmkit._checks import check_number

__all__ = ["GradCheck", "grad_check", "hidden_grad_norms", "numerical_grad", "source_grad_norms"]

Params = Sequence[torch.Tensor] | Mapping[str, torch.Tensor] | nn.Module


def _check_eps(eps: object) -> float:
    return check_number(eps, "eps", low=0.0, low_open=True, hint="1e-6 suits float64")


def _central_differences(flat: torch.Tensor, f: Callable[[], Any], eps: float) -> torch.Tensor:
    """``(n,)`` float64 ``(f(x + eps·e_i) - f(x - eps·e_i)) / (2·eps)`` for each entry of ``flat``.

    ``flat`` is perturbed in place, one entry at a time, and each entry is restored exactly.
    """
    grad = torch.empty(flat.numel(), dtype=torch.float64)
    with torch.no_grad():
        for i in range(flat.numel()):
            old = flat[i].item()
            try:
                flat[i] = old + eps
                plus = _scalar(f(), "f")
                flat[i] = old - eps
                minus = _scalar(f(), "f")
            finally:  # even when f raises or on Ctrl-C: the caller's tensor is left as it was
                flat[i] = old  # exactly, not by subtracting eps again
            grad[i] = (plus - minus) / (2 * eps)
    return grad


def _scalar(value: object, what: str) -> float:
    """The float value of a function's result, which must be a one-element tensor or a number."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{what} must return a scalar (one number), got a tensor of shape "
                             f"{tuple(value.shape)}; reduce it, e.g. with .sum() or .mean()")
        return float(value.detach())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{what} must return a scalar tensor, got {type(value).__name__}")


def numerical_grad(f: Callable[[torch.Tensor], Any], x: torch.Tensor,
                   eps: float = 1e-6) -> torch.Tensor:
    """The gradient of a scalar function ``f`` at ``x`` by central finite differences.

    Each entry is ``(f(x + eps·e_i) - f(x - eps·e_i)) / (2·eps)``: two calls of ``f`` per entry
    of ``x``, so keep ``x`` small (hundreds of entries, not millions). The error of the estimate
    is of order ``eps²`` (truncation) plus ``1e-16 / eps`` (rounding in float64).

    Args:
        f: a function of one tensor that returns a scalar (a one-element tensor or a number).
            It is called with float64 tensors, so it must accept them.
        x: the point, a floating-point tensor of any shape; it is not modified.
        eps: the step.

    Returns:
        A float64 tensor of the shape of ``x``.

    >>> g = numerical_grad(lambda v: (v ** 3).sum(), torch.tensor([1.0, 2.0]))
    >>> [round(v, 6) for v in g.tolist()]
    [3.0, 12.0]
    """
    if not callable(f):
        raise TypeError(f"f must be a function of one tensor, got {type(f).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    if x.numel() == 0:
        raise ValueError("x is empty: there is nothing to differentiate with respect to")
    eps = _check_eps(eps)
    base = x.detach().to(torch.float64).clone()
    return _central_differences(base.view(-1), lambda: f(base), eps).view(x.shape)


@dataclass
class GradCheck:
    """The result of :func:`grad_check`: the largest relative error of each parameter's gradient.

    Attributes:
        errors: ``{name: max relative error}``, one entry per checked tensor.
        rtol: the tolerance; the check passes when every error is at most ``rtol``.
        atol: entries whose gradients are both smaller than ``atol / rtol`` in size are compared
            absolutely: their difference is divided by ``atol / rtol`` instead of their size.

    ``bool(report)`` is :attr:`passed`, and ``print(report)`` shows a small table.
    """

    errors: dict[str, float] = field(default_factory=dict)
    rtol: float = 1e-5
    atol: float = 1e-8

    @property
    def max_error(self) -> float:
        """The largest error over all parameters (0 when nothing was checked)."""
        return max(self.errors.values(), default=0.0)

    @property
    def passed(self) -> bool:
        """Whether every parameter's gradient agrees with the finite differences."""
        return all(e <= self.rtol for e in self.errors.values())

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if not self.errors:
            return "gradient check: nothing checked"
        width = max(len(name) for name in self.errors)
        lines = [f"{name:{width}}  max relative error {err:.2e}  "
                 f"{'ok' if err <= self.rtol else 'WRONG'}" for name, err in self.errors.items()]
        verdict = "passed" if self.passed else "FAILED"
        return "\n".join([*lines, f"gradient check {verdict} (rtol = {self.rtol:g})"])


def _named(params: Params) -> list[tuple[str, torch.Tensor]]:
    if isinstance(params, nn.Module):
        named = [(n, p) for n, p in params.named_parameters() if p.requires_grad]
    elif isinstance(params, Mapping):
        named = list(params.items())
    elif isinstance(params, torch.Tensor):
        named = [("0", params)]
    elif isinstance(params, Sequence) and not isinstance(params, str):
        named = [(str(i), p) for i, p in enumerate(params)]
    else:
        raise TypeError(f"params must be a list of tensors, a dict {{name: tensor}} or an "
                        f"nn.Module, got {type(params).__name__}")
    if not named:
        raise ValueError("params is empty: there is no gradient to check")
    for name, p in named:
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"parameter {name!r} is a {type(p).__name__}, not a tensor")
        if p.dtype != torch.float64:
            raise TypeError(f"parameter {name!r} has dtype {p.dtype}; gradient checks need "
                            f"float64 (in float32, finite differences are mostly rounding "
                            f"noise): convert with model.double() or tensor.double()")
        if not p.is_contiguous():
            raise ValueError(f"parameter {name!r} is not contiguous in memory (a transposed "
                             f"view?); pass the tensor the loss is computed from, not a view")
    return named


def grad_check(f: Callable[[], torch.Tensor], params: Params, *,
               grads: Sequence[torch.Tensor] | Mapping[str, torch.Tensor] | None = None,
               eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-8) -> GradCheck:
    """Compare the gradient of a scalar loss with central finite differences, per parameter.

    Args:
        f: a function without arguments that computes the scalar loss from the current values
            of ``params`` (a closure, e.g. ``lambda: loss_fn(model(x), y)``).
        params: the float64 tensors to differentiate with respect to: a list, a dict
            ``{name: tensor}`` or an ``nn.Module`` (its parameters that require grad).
        grads: the gradients to check, in the same order (or with the same names) as
            ``params``. ``None`` checks autograd's gradients: ``torch.autograd.grad(f(), ...)``,
            which needs ``requires_grad=True`` on every tensor. Pass your own (for example a
            hand-written backward pass) to check them instead.
        eps: the finite-difference step; each entry of every parameter costs two calls of ``f``.
        rtol, atol: the tolerances; see :class:`GradCheck` for the error measure.

    Returns:
        A :class:`GradCheck`; it is true when every parameter passes.

    The error of entry ``i`` is ``|g_i - n_i| / max(|g_i|, |n_i|, atol / rtol)`` for the
    checked gradient ``g`` and the finite-difference estimate ``n``; each parameter reports
    its largest error. The parameters are perturbed in place and restored exactly.
    """
    if not callable(f):
        raise TypeError(f"f must be a function without arguments that returns the loss, got "
                        f"{type(f).__name__}; wrap it: lambda: loss_fn(model(x), y)")
    eps = _check_eps(eps)
    rtol = check_number(rtol, "rtol", low=0.0, low_open=True)
    atol = check_number(atol, "atol", low=0.0, low_open=True)
    named = _named(params)
    tensors = [p for _, p in named]
    if grads is None:
        missing = [n for n, p in named if not p.requires_grad]
        if missing:
            raise ValueError(f"autograd cannot differentiate with respect to {missing}: they "
                             f"do not require grad; call .requires_grad_() on them or pass grads=")
        loss = f()
        _scalar(loss, "f")
        checked = list(torch.autograd.grad(loss, tensors, allow_unused=True))
        checked = [torch.zeros_like(p) if g is None else g for g, p in zip(checked, tensors,
                                                                         strict=True)]
    else:
        if isinstance(grads, Mapping):
            if set(grads) != {n for n, _ in named}:
                raise ValueError(f"grads must have the names of params: {[n for n, _ in named]}, "
                                 f"got {list(grads)}")
            checked = [grads[n] for n, _ in named]
        else:
            checked = list(grads)
        if len(checked) != len(tensors):
            raise ValueError(f"grads has {len(checked)} tensor(s) but params has {len(tensors)}")
        for (name, p), g in zip(named, checked, strict=True):
            if not isinstance(g, torch.Tensor) or g.shape != p.shape:
                raise ValueError(f"the gradient of {name!r} must be a tensor of shape "
                                 f"{tuple(p.shape)}, got "
                                 f"{tuple(g.shape) if isinstance(g, torch.Tensor) else g!r}")
    floor = atol / rtol
    errors: dict[str, float] = {}
    for (name, p), g in zip(named, checked, strict=True):
        num = _central_differences(p.data.view(-1), f, eps)
        with torch.no_grad():
            g = g.detach().to(torch.float64).reshape(-1)
            scale = torch.maximum(torch.maximum(g.abs(), num.abs()),
                                  torch.tensor(floor, dtype=torch.float64))
            errors[name] = float(((g - num).abs() / scale).max())
    return GradCheck(errors, rtol=float(rtol), atol=float(atol))


def _is_cell(rnn: Any, step: bool | None) -> bool:
    if step is not None:
        return bool(step)
    return isinstance(rnn, nn.RNNCellBase) or not isinstance(rnn, nn.Module)


def _top_h(h_n: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``h_n`` with its last layer replaced by ``out`` ``(B, H)`` (the same values, one node)."""
    if h_n.dim() == 3:           # (layers, B, H), PyTorch's layout
        return torch.cat([h_n[:-1], out.unsqueeze(0)], dim=0)
    if h_n.dim() == 2:           # (B, H)
        return out
    raise ValueError(f"the hidden state must have shape (layers, B, H) or (B, H), got "
                     f"{tuple(h_n.shape)}")


def _lstm_as_cell(lstm: Any) -> nn.LSTMCell:
    """An ``nn.LSTMCell`` that shares (not copies) the weights of a one-layer ``nn.LSTM``."""
    if not isinstance(lstm, nn.LSTM) or lstm.num_layers != 1 or lstm.proj_size:
        raise ValueError("wrt='c' needs an LSTM cell (nn.LSTMCell, or a function returning "
                         "(h, c) that computes h from c) or a one-layer nn.LSTM without "
                         f"projections, got {type(lstm).__name__}")
    p = lstm.weight_ih_l0
    cell = nn.LSTMCell(lstm.input_size, lstm.hidden_size, bias=lstm.bias, device=p.device,
                       dtype=p.dtype)
    for name in ("weight_ih", "weight_hh", *(("bias_ih", "bias_hh") if lstm.bias else ())):
        setattr(cell, name, getattr(lstm, f"{name}_l0"))
    return cell


def _squeeze_layers(state: Any) -> Any:
    """A one-layer ``(h, c)`` state of shape ``(1, B, H)`` as ``(B, H)`` tensors."""
    if state is None:
        return None
    return tuple(s[0] if s.dim() == 3 else s for s in state)


def hidden_grad_norms(rnn: Callable[..., Any], x: torch.Tensor, state: Any = None, *,
                      loss: str | Callable[[torch.Tensor], torch.Tensor] = "last",
                      wrt: str = "h", reduction: str = "mean",
                      step: bool | None = None) -> torch.Tensor:
    """The norms ‖∂J/∂h_t‖ of the gradient of a loss ``J`` with respect to every hidden state.

    The derivative is the *total* one that backpropagation computes, ``δ_t = ∂J/∂h_t``: it
    counts every way ``h_t`` influences ``J``, through the output at step ``t`` and through all
    later steps. To get it, the recurrence is run one step at a time and each ``h_t`` is kept as
    a node of the graph (a fused ``nn.RNN`` call would hide the intermediate states).

    Args:
        rnn: the recurrent layer, in one of two forms:

            - a batch-first *sequence module* ``rnn(x, state) -> (outputs, state)`` with outputs
              ``(B, T, H)``: ``nn.RNN``, ``nn.GRU``, ``nn.LSTM`` (``batch_first=True``, one
              direction, any number of layers) or lmkit's recurrent layers. The state is
              ``h`` or ``(h, c)`` with ``h`` of shape ``(layers, B, H)`` or ``(B, H)``;
              ``h_t`` is the last layer's state, ``outputs[:, t]``.
            - a *cell* ``rnn(x_t, state) -> state`` with ``x_t`` of shape ``(B, D)`` and the new
              state ``h`` ``(B, H)`` or ``(h, c)``: ``nn.RNNCell``, ``nn.GRUCell``,
              ``nn.LSTMCell`` or any function, e.g. ``lambda x_t, h: torch.tanh(...)``.

            torch's cells and plain functions count as cells, other modules as sequence
            modules; ``step=True``/``False`` overrides this.
        x: ``(B, T, D)`` floating-point inputs (embeddings, not token ids).
        state: the initial state; ``None`` lets a torch module start from zeros (a plain
            function receives ``None`` and must handle it).
        loss: the scalar ``J`` whose gradient is measured:

            - ``"last"`` (default): ``J = Σ_b Σ_i h_T[b, i]``, the sum of the last hidden
              state. Only the last step is scored, so ‖∂J/∂h_t‖ shows how much of a signal
              from step ``T`` survives ``T - t`` steps back: the quantity that vanishes or
              explodes (chapter 6). For a linear recurrence ``h_t = W h_{t-1} + …`` it is
              ``‖(Wᵀ)^{T-t} 1‖``.
            - ``"all"``: ``J = Σ_t Σ_b Σ_i h_t[b, i]``, every step scored alike.
            - a function ``loss(outputs) -> scalar`` of the ``(B, T, H)`` hidden states, e.g.
              a language model's cross-entropy ``lambda out: F.cross_entropy(head(out)…)``.
        wrt: ``"h"`` (the hidden state) or ``"c"`` (an LSTM's cell state, the total
            derivative: through ``h_t = o_t ⊙ tanh(c_t)`` and through ``c_{t+1}``). ``"c"``
            needs a cell whose ``h`` is computed from the ``c`` it returns (``nn.LSTMCell`` on
            the CPU, a scratch cell) or a one-layer ``nn.LSTM``, which is then stepped through
            an ``nn.LSTMCell`` sharing its weights.
        reduction: ``"mean"`` averages the per-sequence norms over the batch and returns
            ``(T,)``; ``"none"`` returns the ``(B, T)`` per-sequence norms. (With ``"last"``
            and ``"all"``, sequence ``b``'s loss depends on sequence ``b`` only.)
        step: force the cell (``True``) or sequence-module (``False``) reading of ``rnn``.

    Returns:
        ``(T,)`` (or ``(B, T)``) float tensor: entry ``t - 1`` is ‖∂J/∂h_t‖ for ``t = 1 … T``.
        Parameters' ``.grad`` are left untouched.
    """
    if not callable(rnn):
        raise TypeError(f"rnn must be a recurrent module or cell, got {type(rnn).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (B, T, D), got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must hold floating-point inputs (e.g. embeddings), got dtype "
                        f"{x.dtype}; embed token ids first")
    if x.dim() != 3 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have shape (B, T, D) with B, T >= 1 (batch first), got "
                         f"{tuple(x.shape)}")
    if not (callable(loss) or loss in ("last", "all")):
        raise ValueError(f"loss must be 'last', 'all' or a function of the (B, T, H) hidden "
                         f"states, got {loss!r}")
    if wrt not in ("h", "c"):
        raise ValueError(f"wrt must be 'h' or 'c', got {wrt!r}")
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    cell = _is_cell(rnn, step)
    if isinstance(rnn, nn.RNNBase):
        if not rnn.batch_first:
            raise ValueError("the module is not batch-first: build it with batch_first=True")
        if rnn.bidirectional:
            raise ValueError("a bidirectional layer has no single hidden state per step: "
                             "measure each direction with its own unidirectional layer")
    if wrt == "c" and not cell:
        # A fused layer computes h_t from c_t inside one call, so the path c_t -> h_t would be
        # invisible; step through torch's cell with the layer's own weights instead.
        rnn, state = _lstm_as_cell(rnn), _squeeze_layers(state)
        cell = True

    # x as a leaf that requires grad: every h_t is then part of the graph, even for a layer
    # whose weights are frozen.
    x = x.detach().requires_grad_(True)
    hs: list[torch.Tensor] = []   # h_t, (B, H), each a node the rest of the graph uses
    cs: list[torch.Tensor] = []   # c_t for wrt="c"
    with torch.enable_grad():
        for t in range(x.shape[1]):
            if cell:
                state = rnn(x[:, t], state)
                h = state[0] if isinstance(state, tuple) else state
            else:
                out, new = rnn(x[:, t:t + 1], state)      # (B, 1, H)
                h = out[:, 0]                              # (B, H)
                # Feed the next step from `out` itself, so that h_t is one node of the graph
                # (the module also returns it in its state, as a second, separate node).
                if isinstance(new, tuple):
                    state = (_top_h(new[0], h), *new[1:])
                else:
                    state = _top_h(new, h)
            if not isinstance(h, torch.Tensor) or h.dim() != 2:
                raise ValueError(f"the recurrent step must give a hidden state of shape (B, H), "
                                 f"got {getattr(h, 'shape', type(h).__name__)}")
            if not h.requires_grad:
                raise ValueError("the hidden state does not depend on x or on any tensor that "
                                 "requires grad, so it has no gradient to measure")
            hs.append(h)
            if wrt == "c":
                if not isinstance(state, tuple) or len(state) < 2:
                    raise ValueError("wrt='c' needs a state (h, c), as an LSTM has")
                cs.append(state[1])
        outputs = torch.stack(hs, dim=1)                   # (B, T, H)
        if loss == "last":
            J = outputs[:, -1].sum()
        elif loss == "all":
            J = outputs.sum()
        else:
            J = loss(outputs)
        _scalar(J, "loss")
        targets = cs if wrt == "c" else hs
        grads = torch.autograd.grad(J, targets, allow_unused=True)
    norms = torch.stack([torch.zeros(x.shape[0], dtype=x.dtype) if g is None
                         else g.detach().flatten(1).norm(dim=1) for g in grads], dim=1)  # (B, T)
    return norms.mean(dim=0) if reduction == "mean" else norms


def source_grad_norms(model: nn.Module, source: Sequence[int],
                      target: Sequence[int]) -> torch.Tensor:
    """How directly each output of an encoder–decoder depends on each source token.

    For one sentence pair (ids, ``target`` without ``<s>``/``</s>``), the decoder reads
    ``<s> y_1 … y_m`` (teacher forcing) and the matrix entry ``[i, j]`` is
    ``‖∂ log p(y_i | y_<i, x) / ∂ e(x_j)‖``: the norm of the gradient of output step ``i``'s
    log-probability of the reference token (``y_{m+1}`` = ``</s>``) with respect to the
    embedding of source token ``j``. A long path through many recurrent steps shows as a small
    entry; attention gives every output a short path to every source token.

    Args:
        model: a :class:`lmkit.models.Seq2Seq` (with or without attention).

    Returns:
        ``(m + 1, S)`` norms.
    """
    from lmkit._checks import eval_mode

    src = torch.tensor([list(source)])
    gold = [*target, model.eos_id]
    tgt_in = torch.tensor([[model.bos_id, *target]])
    kept: list[torch.Tensor] = []
    hook = model.encoder.embeddings[0].register_forward_hook(
        lambda module, inputs, output: kept.append(output))
    try:
        with eval_mode(model), torch.enable_grad():
            logp = model(src, torch.tensor([src.shape[1]]), tgt_in).log_softmax(-1)[0]
            emb = kept[0]                                       # (1, S, e)
            rows = [torch.autograd.grad(logp[i, y], emb, retain_graph=True)[0][0].norm(dim=-1)
                    for i, y in enumerate(gold)]
    finally:
        hook.remove()
    return torch.stack(rows)                                    # (m + 1, S)
