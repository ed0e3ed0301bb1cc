"""lmkit.train: the one training loop and its step: learning, budgets, seeds, TBPTT, the
recurrent declaration, divergence, errors."""

import copy
import math
import time
from itertools import pairwise

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmkit import set_seed
from lmkit.batching import Batches, StreamBatches, sentence_stream, window_pairs
from lmkit.models import FixedWindowLM, WindowConfig
from lmkit.text import Vocab
from lmkit.train import History, StepResult, detach_state, fit, lm_loss, mean_loss, train_step

pytestmark = pytest.mark.usefixtures("one_thread")


CORPUS = [s.split() for s in [
    "the cat sat on the mat", "the dog sat on the log", "a cat ate the fish",
    "a dog ate the bone", "the cat saw the dog", "the dog saw the cat"]] * 20


@pytest.fixture(scope="module")
def data():
    vocab = Vocab((t for s in CORPUS for t in s), specials=["<unk>", "</s>"])
    stream = sentence_stream(CORPUS, vocab)
    return vocab, stream


def window_setup(data, seed=0, batch_size=32):
    vocab, stream = data
    set_seed(seed)
    model = FixedWindowLM(WindowConfig(len(vocab), window=2, embed_dim=8, hidden_dim=16))
    pairs = window_pairs(stream, 2, pad_id=vocab["</s>"])
    return (model, Batches(*pairs, batch_size=batch_size, shuffle=True),
            Batches(*pairs, batch_size=256))


class TinyGRULM(nn.Module):
    """A minimal recurrent LM with the interface fit expects: it declares ``recurrent = True``
    and maps ``model(x, state) -> (logits, state)``.

    It records the state each call received and returned, so the tests can see what fit
    carried from batch to batch.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 8, hidden_dim: int = 12) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.GRU(embed_dim, hidden_dim, batch_first=True)
        self.out = nn.Linear(hidden_dim, vocab_size)
        self.received: list = []
        self.returned: list = []

    recurrent = True

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        self.received.append(state)
        h, state = self.rnn(self.embed(x), state)  # (B, T, H), (1, B, H)
        self.returned.append(state)
        return self.out(h), state                  # (B, T, V)


def test_fit_reduces_the_loss_on_a_tiny_corpus(data):
    model, train, valid = window_setup(data)
    before = mean_loss(model, valid)
    history = fit(model, train, valid, epochs=4, lr=1e-2, progress=False)
    assert isinstance(history, History) and history.stop_reason == "epochs"
    assert history.steps == 4 * len(train) and len(history.valid_loss) == 4
    assert history.valid_loss[-1] < 0.5 * before
    assert history.valid_perplexity[-1] < 5 < len(data[0])  # far below a uniform guess
    first, last = history.train_loss[:5], history.train_loss[-5:]
    assert sum(last) < 0.5 * sum(first)
    assert history.num_tokens == 4 * len(data[1])
    assert history.valid_perplexity == [math.exp(v) for v in history.valid_loss]
    assert history.valid_bits == pytest.approx([math.log2(p) for p in history.valid_perplexity])
    assert len(history.grad_norm) == len(history.lr) == len(history.seconds) == history.steps
    assert history.tokens_per_second > 0
    assert "valid perplexity" in repr(history) and "finished 4 epoch(s)" in history.message


def test_same_seed_gives_the_same_history_exactly(data):
    runs = []
    for seed in (0, 0, 1):
        model, train, valid = window_setup(data, seed=seed)
        runs.append(fit(model, train, valid, epochs=2, lr=1e-2, seed=seed, progress=False))
    a, b, c = runs
    for name in ("train_loss", "grad_norm", "lr", "valid_loss", "eval_step"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.train_loss != c.train_loss


def test_the_fit_seed_alone_fixes_the_batch_order(data):
    model, train, valid = window_setup(data)
    h1 = fit(copy.deepcopy(model), train, valid, max_steps=10, seed=3, progress=False)
    h2 = fit(copy.deepcopy(model), train, valid, max_steps=10, seed=4, progress=False)
    h3 = fit(copy.deepcopy(model), train, valid, max_steps=10, seed=3, progress=False)
    assert h1.train_loss == h3.train_loss != h2.train_loss


def test_budgets_and_evaluation_schedule(data):
    model, train, valid = window_setup(data)
    h = fit(model, train, valid, max_steps=7, eval_every=3, progress=False)
    assert h.steps == 7 and h.stop_reason == "max_steps"
    assert h.eval_step == [3, 6, 7]  # every 3 steps, and once more when training stops
    h = fit(model, train, None, epochs=2, max_steps=10**6, progress=False)
    assert h.steps == 2 * len(train) and h.stop_reason == "epochs" and h.valid_loss == []
    h = fit(model, train, valid, progress=False)  # no budget given: one epoch
    assert h.steps == len(train) and h.eval_step == [len(train)]


def test_time_budget_stops_training(data):
    class Slow(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            time.sleep(0.02)
            return self.inner(x)

    model, train, _ = window_setup(data)
    h = fit(Slow(model), train, epochs=1000, time_budget=0.3, progress=False)
    assert h.stop_reason == "time_budget" and 3 <= h.steps <= 20
    assert "time budget of 0.3 s" in h.message


def test_learning_rate_schedules(data):
    model, train, _ = window_setup(data)
    h = fit(model, train, max_steps=20, lr=0.01, schedule="cosine", progress=False)
    assert h.lr[0] == pytest.approx(0.01)
    assert all(a >= b for a, b in pairwise(h.lr)) and h.lr[-1] < 0.002
    h = fit(model, train, max_steps=3, lr=0.01, schedule=lambda step: 0.5 ** step,
            progress=False)
    assert h.lr == pytest.approx([0.01, 0.005, 0.0025])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    h = fit(model, train, max_steps=4, optimizer=opt, schedule=sched, progress=False)
    assert h.lr == pytest.approx([0.1, 0.1, 0.01, 0.01])
    with pytest.raises(ValueError, match="another optimizer"):
        fit(model, train, max_steps=1, schedule=sched, progress=False)  # default Adam != opt
    with pytest.raises(ValueError, match="needs a known number of steps"):
        fit(model, train, time_budget=1.0, schedule="cosine", progress=False)
    with pytest.raises(ValueError, match="schedule must be"):
        fit(model, train, schedule="exponential", progress=False)


def test_gradient_norm_is_recorded_before_clipping_and_the_update_is_clipped(data):
    model, train, _ = window_setup(data)
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    h = fit(model, train, max_steps=1, optimizer=opt, clip=1e-3, progress=False)
    step = torch.cat([(p.detach() - b).reshape(-1)
                      for p, b in zip(model.parameters(), before, strict=True)])
    assert h.grad_norm[0] > 1e-2  # the raw norm, much larger than the threshold
    assert step.norm().item() == pytest.approx(1e-3, rel=1e-3)  # SGD moved by lr · clip


# --- truncated backpropagation through time ------------------------------------------------

def rnn_setup(data, partition="sequential"):
    vocab, stream = data
    set_seed(0)
    model = TinyGRULM(len(vocab))
    return model, StreamBatches(stream, batch_size=4, seq_len=6, partition=partition)


def test_tbptt_carries_the_state_across_batches_detached(data):
    model, train = rnn_setup(data)
    n = len(train)
    h = fit(model, train, epochs=2, lr=1e-2, progress=False)
    assert h.steps == 2 * n and len(model.received) == 2 * n
    for epoch in range(2):
        assert model.received[epoch * n] is None  # every epoch starts from a fresh state
        for j in range(epoch * n + 1, (epoch + 1) * n):
            carried, produced = model.received[j], model.returned[j - 1]
            assert carried.shape == produced.shape == (1, 4, 12)  # state shape preserved
            assert torch.equal(carried, produced.detach())        # the values go on ...
            assert produced.requires_grad                          # (the graph was there)
            assert carried.grad_fn is None and not carried.requires_grad  # ... the graph stops


def test_tbptt_equals_a_hand_written_truncated_bptt_loop(data):
    model, train = rnn_setup(data)
    twin = copy.deepcopy(model)
    h = fit(model, train, epochs=1, optimizer=torch.optim.SGD(model.parameters(), lr=0.5),
            clip=None, progress=False)
    opt = torch.optim.SGD(twin.parameters(), lr=0.5)
    losses, state = [], None
    for x, y in train:
        logits, state = twin(x, state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()  # would fail ("backward through the graph a second time") w/o detach
        opt.step()
        state = state.detach()
        losses.append(loss.item())
    assert h.train_loss == pytest.approx(losses, rel=1e-6, abs=1e-7)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6)


def test_random_partition_starts_every_batch_fresh(data):
    model, train = rnn_setup(data, partition="random")
    fit(model, train, max_steps=5, progress=False)
    assert model.received == [None] * 5
    model, train = rnn_setup(data)
    fit(model, train, max_steps=5, carry_state=False, progress=False)  # explicit override
    assert model.received == [None] * 5


def test_mean_loss_carries_the_state_over_sequential_batches(data):
    model, batches = rnn_setup(data)
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for x, y in batches:
            logits, state = model(x, state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                     reduction="sum").item()
            count += y.numel()
    assert mean_loss(model, batches) == pytest.approx(total / count, rel=1e-6)
    assert mean_loss(model, batches, carry_state=False) != pytest.approx(total / count)
    h = fit(model, batches, batches, max_steps=3, progress=False)
    assert len(h.valid_loss) == 1 and math.isfinite(h.valid_loss[0])


def test_detach_state_handles_tensors_tuples_and_none():
    h = torch.ones(2, 3, requires_grad=True) * 2
    c = torch.ones(2, 3, requires_grad=True) * 3
    out = detach_state((h, c))  # an LSTM's (h, c)
    assert isinstance(out, tuple) and all(not t.requires_grad for t in out)
    assert torch.equal(out[0], h) and torch.equal(out[1], c)
    assert detach_state(None) is None
    assert not detach_state([h])[0].requires_grad
    assert not detach_state({"h": h})["h"].requires_grad
    with pytest.raises(TypeError, match="recurrent state"):
        detach_state(3.0)


# --- one training step ----------------------------------------------------------------------

def test_one_train_step_lowers_the_loss_on_a_tiny_problem(data):
    model, train, _ = window_setup(data)
    batch = next(iter(train))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with torch.no_grad():
        before = lm_loss(model(batch[0]), batch[1]).item()
    step = train_step(model, batch, opt, clip=None)
    assert isinstance(step, StepResult) and step.updated
    assert step.loss == pytest.approx(before, rel=1e-6)  # the loss before the update
    assert step.tokens == batch[1].numel() and step.state is None
    with torch.no_grad():
        assert lm_loss(model(batch[0]), batch[1]).item() < before


def test_train_step_returns_the_norm_before_clipping_and_clips_the_update(data):
    model, train, _ = window_setup(data)
    batch = next(iter(train))
    twin = copy.deepcopy(model)
    lm_loss(twin(batch[0]), batch[1]).backward()
    raw = torch.cat([p.grad.reshape(-1) for p in twin.parameters()]).norm().item()
    before = [p.detach().clone() for p in model.parameters()]
    step = train_step(model, batch, torch.optim.SGD(model.parameters(), lr=1.0), clip=1e-3)
    assert step.grad_norm == pytest.approx(raw, rel=1e-5) and raw > 1e-2
    moved = torch.cat([(p.detach() - b).reshape(-1)
                       for p, b in zip(model.parameters(), before, strict=True)])
    assert moved.norm().item() == pytest.approx(1e-3, rel=1e-3)  # SGD moved by lr · clip
    after = [p.grad.norm() for p in model.parameters()]
    assert torch.stack(after).norm().item() == pytest.approx(1e-3, rel=1e-3)  # clipped grads


def test_train_step_carries_a_detached_state(data):
    model, train = rnn_setup(data)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    batches = iter(train)
    first = train_step(model, next(batches), opt)
    assert first.state.shape == (1, 4, 12)
    assert not first.state.requires_grad and first.state.grad_fn is None
    assert model.returned[-1].requires_grad                     # the model's own was in a graph
    assert torch.equal(first.state, model.returned[-1].detach())
    second = train_step(model, next(batches), opt, state=first.state)  # no "backward twice"
    assert model.received[-1] is first.state and second.updated


def test_train_step_refuses_a_nan_or_too_large_loss_and_keeps_the_weights(data):
    model, train, _ = window_setup(data)
    batch = next(iter(train))
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    step = train_step(model, batch, opt, max_loss=0.01)  # every loss is above 0.01 nats
    assert not step.updated and step.loss > 0.01
    step = train_step(Breaks(model, at=1), batch, opt)
    assert not step.updated and math.isnan(step.loss)
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before, strict=True))


@pytest.mark.parametrize(("kwargs", "exc", "msg"), [
    ({"optimizer": "sgd"}, TypeError, "optimizer must be a torch.optim.Optimizer"),
    ({"clip": -1.0}, ValueError, "clip must be"),
    ({"clip": "1"}, TypeError, "clip must be a number"),
    ({"max_loss": None}, TypeError, "max_loss must be a number"),
    ({"batch": "xy"}, TypeError, r"\(inputs, targets\) pair"),
    ({"state": torch.zeros(1)}, ValueError, "is not recurrent"),
])
def test_train_step_rejects_bad_input(data, kwargs, exc, msg):
    model, train, _ = window_setup(data)
    args = {"batch": next(iter(train)), "optimizer": torch.optim.SGD(model.parameters(), lr=1)}
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        train_step(model, args.pop("batch"), args.pop("optimizer"), **args)


# --- how a model declares that it is recurrent ----------------------------------------------

class WithAttention(nn.Module):
    """Returns ``(logits, attention weights)``, as a sequence-to-sequence model does: a tuple
    that is *not* ``(logits, state)``."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 8)
        self.out = nn.Linear(8, vocab_size)

    def forward(self, x: torch.Tensor):
        e = self.embed(x)                                          # (B, T, 8)
        attention = torch.softmax(e @ e.transpose(1, 2), dim=-1)  # (B, T, T)
        return self.out(attention @ e), attention                 # (B, T, V), (B, T, T)


def test_a_tuple_output_without_the_declaration_is_an_error(data):
    vocab, stream = data
    model = WithAttention(len(vocab))
    batches = StreamBatches(stream, batch_size=4, seq_len=6)
    for call in (lambda: fit(model, batches, max_steps=1, progress=False),
                 lambda: mean_loss(model, batches),
                 lambda: train_step(model, next(iter(batches)),
                                    torch.optim.SGD(model.parameters(), lr=0.1))):
        with pytest.raises(TypeError, match=r"set recurrent = True on the model class if it "
                                            r"carries a state .*or return only the logits"):
            call()


def test_the_declaration_makes_fit_carry_the_state(data):
    vocab, stream = data

    class Declared(TinyGRULM):
        recurrent = True

    class Undeclared(TinyGRULM):
        recurrent = False

    batches = StreamBatches(stream, batch_size=4, seq_len=6)
    model = Declared(len(vocab))
    fit(model, batches, max_steps=3, progress=False)
    assert model.received[0] is None and model.received[1] is not None  # carried
    assert torch.equal(model.received[2], model.returned[1].detach())
    with pytest.raises(TypeError, match="set recurrent = True"):
        fit(Undeclared(len(vocab)), batches, max_steps=3, progress=False)
    instance = Undeclared(len(vocab))
    instance.recurrent = True  # declared on an instance works too
    fit(instance, batches, max_steps=2, progress=False)
    assert instance.received[1] is not None


def test_a_submodule_named_recurrent_is_not_a_declaration(data):
    vocab, _ = data

    class Feedforward(nn.Module):
        def __init__(self):
            super().__init__()
            self.recurrent = nn.Linear(2, len(vocab))  # truthy, but not the flag

        def forward(self, x):
            return self.recurrent(x.float())

    x, y = torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, dtype=torch.long)
    h = fit(Feedforward(), [(x, y)], max_steps=1, progress=False)
    assert h.steps == 1


def test_a_declared_model_must_return_logits_and_state(data):
    vocab, stream = data

    class LogitsOnly(TinyGRULM):
        def forward(self, x, state=None):
            return super().forward(x, state)[0]

    with pytest.raises(TypeError, match=r"recurrent = True, so it must return \(logits, state"):
        fit(LogitsOnly(len(vocab)), StreamBatches(stream, 4, 6), max_steps=1, progress=False)


# --- divergence and interruption -----------------------------------------------------------

class Breaks(nn.Module):
    """Wraps a model; on call number ``at`` it returns NaN logits or raises ``error``."""

    def __init__(self, inner, at, error=None):
        super().__init__()
        self.inner, self.at, self.error, self.calls = inner, at, error, 0

    def forward(self, x):
        self.calls += 1
        logits = self.inner(x)
        if self.calls == self.at:
            if self.error is not None:
                raise self.error
            return logits * float("nan")
        return logits


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_history(data):
    model, train, valid = window_setup(data)
    with pytest.warns(RuntimeWarning, match=r"diverged at step 4: the training loss was nan"):
        h = fit(Breaks(model, at=4), train, valid, epochs=3, progress=False)
    assert h.diverged and h.stop_reason == "diverged" and h.steps == 3
    assert all(math.isfinite(v) for v in h.train_loss)
    assert "lower the learning rate" in h.message
    assert h.valid_loss == []  # no evaluation of a broken model


def test_exploding_loss_stops_before_nan(data):
    model, train, _ = window_setup(data)
    opt = torch.optim.SGD(model.parameters(), lr=300.0)
    with pytest.warns(RuntimeWarning, match="diverged"):
        h = fit(model, train, epochs=20, optimizer=opt, clip=None, progress=False)
    assert h.diverged and h.steps < 20 * len(train)
    assert "diverge_factor" in h.message or "nan" in h.message or "inf" in h.message


def test_infinite_gradient_norm_stops_before_the_update(data):
    model, train, _ = window_setup(data)
    model.embed.weight.register_hook(lambda g: g * math.inf)  # a finite loss, an inf gradient
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.warns(RuntimeWarning, match="diverged at step 1: the gradient norm was"):
        h = fit(model, train, epochs=1, progress=False)
    assert h.diverged and h.steps == 0 and "clip harder (clip=1)" in h.message
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before, strict=True))


def test_interrupt_returns_the_history_so_far(data):
    model, train, valid = window_setup(data)
    h = fit(Breaks(model, at=3, error=KeyboardInterrupt()), train, valid, epochs=1,
            progress=False)
    assert h.stop_reason == "interrupted" and h.steps == 2 and "interrupted" in h.message


def test_progress_bar_runs(data, capsys):
    model, train, valid = window_setup(data)
    h = fit(model, train, valid, max_steps=3, eval_every=2, progress=True)
    assert h.steps == 3
    assert "3/3" in capsys.readouterr().err


# --- bad input -----------------------------------------------------------------------------

def test_mismatched_vocabulary_between_data_and_model(data):
    vocab, stream = data
    small = FixedWindowLM(WindowConfig(vocab_size=5, window=2, embed_dim=4, hidden_dim=4))
    with pytest.raises(ValueError, match="outside the model's vocabulary"):
        fit(small, Batches(*window_pairs(stream, 2), 16), progress=False)
    with pytest.raises(ValueError, match="different vocabularies"):
        lm_loss(torch.zeros(3, 5), torch.tensor([0, 1, 7]))


@pytest.mark.parametrize(("train", "kwargs", "exc", "msg"), [
    ([], {}, ValueError, "no batches"),
    ("iterator", {}, TypeError, "iterator"),
    (torch.zeros(3), {}, TypeError, "re-iterable"),
    ("ok", {"epochs": 0}, ValueError, "epochs must be an int >= 1, got 0"),
    ("ok", {"epochs": 1.5}, TypeError, "epochs must be an int"),
    ("ok", {"max_steps": -1}, ValueError, "max_steps must be an int >= 1"),
    ("ok", {"eval_every": True}, TypeError, "eval_every must be an int"),
    ("ok", {"time_budget": 0}, ValueError, "time_budget must be a finite number > 0, got 0.0"),
    ("ok", {"time_budget": "1 min"}, TypeError, "time_budget must be a number"),
    ("ok", {"clip": 0.0}, ValueError, "clip must be a finite number > 0.*None for no clipping"),
    ("ok", {"lr": -1e-3}, ValueError, "lr must be"),
    ("ok", {"lr": 1e-3, "optimizer": "opt"}, ValueError, "give lr or optimizer"),
    ("ok", {"optimizer": "adam"}, TypeError, "optimizer must be a torch.optim.Optimizer"),
    ("ok", {"diverge_factor": 1.0}, ValueError, "diverge_factor"),
    ("ok", {"diverge_factor": "4"}, TypeError, "diverge_factor must be a number"),
    ("ok", {"loss_fn": "cross_entropy"}, TypeError, "loss_fn must be a function"),
    ("ok", {"carry_state": 1}, TypeError, "carry_state must be True or False"),
    ("ok", {"seed": -1}, ValueError, "seed must be an int"),
    ("ok", {"progress": "yes"}, TypeError, "progress must be True or False"),
    ([(torch.zeros(2, 2, dtype=torch.long),)], {}, TypeError, r"\(inputs, targets\) pair"),
    ([(torch.zeros(2, 2, dtype=torch.long), torch.zeros(2))], {}, TypeError,
     "targets must be integer"),
    ([(torch.zeros(2, 2, dtype=torch.long), torch.zeros(3, dtype=torch.long))], {}, ValueError,
     "do not match targets"),
])
def test_fit_rejects_bad_input(data, train, kwargs, exc, msg):
    model, ok, _ = window_setup(data)
    train = {"ok": ok, "iterator": iter(ok)}.get(train, train) if isinstance(train, str) \
        else train
    if kwargs.get("optimizer") == "opt":
        kwargs = {**kwargs, "optimizer": torch.optim.SGD(model.parameters(), lr=0.1)}
    with pytest.raises(exc, match=msg):
        fit(model, train, **{"progress": False, **kwargs})


def test_fit_rejects_an_epoch_without_batches(data):
    class Empty:  # re-iterable, without a length
        def __iter__(self):
            return iter([])

    model, _, _ = window_setup(data)
    with pytest.raises(ValueError, match="train yielded no batches"):
        fit(model, Empty(), max_steps=3, progress=False)
    with pytest.raises(TypeError, match=r"batch 0 must be an \(inputs, targets\) pair"):
        mean_loss(model, [torch.zeros(3)])


def test_fit_rejects_a_non_module():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        fit(lambda x: x, [(torch.zeros(1), torch.zeros(1))])


def test_mean_loss_rejects_empty_batches_and_non_modules(data):
    model, _, _ = window_setup(data)
    with pytest.raises(ValueError, match="empty"):
        mean_loss(model, [])
    with pytest.raises(TypeError, match="torch.nn.Module"):
        mean_loss(lambda x: x, [])


def test_fit_checks_valid_and_the_optimizer_before_training(data):
    """Errors that used to come after an epoch of training (and lose it) now come first."""
    model, train, valid = window_setup(data)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(TypeError, match="valid is an iterator"):
        fit(model, train, iter(list(valid)), epochs=2, progress=False)
    with pytest.raises(ValueError, match="valid has no batches"):
        fit(model, train, [], epochs=2, progress=False)
    other = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="none of the model's parameters"):
        fit(model, train, optimizer=torch.optim.SGD(other.parameters(), lr=0.1), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
