"""The book's one training loop: :func:`fit`, built from :func:`train_step`; and :func:`mean_loss`.

Every neural chapter trains with the same function, so a reader learns it once::

    from lmkit.train import fit
    history = fit(model, train_batches, valid_batches, epochs=2, lr=1e-3, clip=1.0)
    history.valid_perplexity[-1]

**The loop.** :func:`fit` is, as in nanoGPT's ``train.py``, one short loop over the batches.
Each iteration is one :func:`train_step` (forward, loss, backward, gradient norm and clipping,
optimizer step), then the schedule's step, the recurrent state handed to the next batch, a
validation every ``eval_every`` steps and a look at the budget. :func:`train_step` is public,
so a chapter can show a single step on its own::

    step = train_step(model, (x, y), optimizer, clip=1.0)
    step.loss, step.grad_norm          # nats per token; the gradients' norm before clipping

**Models.** A model maps a batch's inputs to next-token logits, ``model(x) -> logits`` with
``x`` of shape ``(B, k)`` or ``(B, T)`` and logits ``(B, |V|)`` or ``(B, T, |V|)`` (batch-first).

**Recurrent models declare it.** A model whose class (or instance) has ``recurrent = True``
carries a hidden state: it is called as ``model(x, state)``, with ``state=None`` for a fresh
start, and must return ``(logits, state)``; ``state`` is a tensor or a tuple of tensors (an
LSTM's ``(h, c)``). :class:`lmkit.models.RNNLM` declares it. Nothing is guessed from the type
of the output: a model without the declaration that returns a tuple (say a sequence-to-sequence
model's ``(logits, attention)``) gets a TypeError that says what to change.

**Truncated BPTT.** When the batches are sequential (``train.sequential`` is ``True``, as for
:class:`lmkit.batching.StreamBatches` with ``partition="sequential"``), :func:`fit` passes the
state a batch ended with into the next batch, *detached* from the graph: the forward pass keeps
the history the state summarises, the backward pass stops at the batch boundary. The state is
reset (``None``) at the start of every epoch and for non-sequential batches.

**Batches** are ``(inputs, targets)`` pairs; ``inputs`` may be a tuple, which is unpacked into
the model's arguments. Any re-iterable works (a list, :class:`lmkit.batching.Batches`, a
``DataLoader``); one pass over it is one epoch.
"""

from lmkit.train.history import History
from lmkit.train.loop import fit
from lmkit.train.step import StepResult, detach_state, lm_loss, mean_loss, train_step

__all__ = ["History", "StepResult", "detach_state", "fit", "lm_loss", "mean_loss", "train_step"]
