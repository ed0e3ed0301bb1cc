"""lmkit.tasks: the recall task's data, loss, accuracy and gradient norms."""

import pytest
import torch
from torch import nn

import lmkit
from lmkit.grad import hidden_grad_norms
from lmkit.models import RNNLM, RNNConfig
from lmkit.tasks import RecallTask, recall_grad_norms
from lmkit.train import fit

pytestmark = pytest.mark.usefixtures("one_thread")


def test_batch_layout_symbol_fillers_query():
    task = RecallTask(k=7, num_symbols=4, num_fillers=3)
    x, y = task.batch(50, seed=1)
    assert x.shape == (50, 7) and y.shape == (50,) and x.dtype == y.dtype == torch.long
    assert task.vocab_size == 8 and task.chance == 0.25
    assert torch.equal(x[:, 0], y) and (y < 4).all()
    assert ((x[:, 1:-1] >= 4) & (x[:, 1:-1] < 7)).all()
    assert (x[:, -1] == 7).all()


def test_batches_are_seeded_and_fresh():
    task = RecallTask(k=5)
    a, b = task.batches(8, 3, seed=2), task.batches(8, 3, seed=2)
    assert len(a) == 3 and all(torch.equal(p[0], q[0]) for p, q in zip(a, b, strict=True))
    assert not torch.equal(a[0][0], a[1][0])
    assert torch.equal(task.batch(4, seed=3)[0], task.batch(4, seed=3)[0])
    gen = torch.Generator().manual_seed(0)
    assert task.batch(4, generator=gen)[0].shape == (4, 5)


def test_k_equal_2_has_no_fillers():
    x, y = RecallTask(k=2).batch(3, seed=0)
    assert x.shape == (3, 2) and torch.equal(x[:, 0], y)


def test_loss_scores_the_last_step_only():
    task = RecallTask(k=4)
    x, y = task.batch(6, seed=0)
    logits = torch.zeros(6, 4, task.vocab_size)
    logits[torch.arange(6), -1, y] = 50.0                     # certain and right at the end
    assert task.loss(logits, y).item() < 1e-6
    logits[:, :-1] = torch.randn(6, 3, task.vocab_size)       # earlier steps do not count
    assert task.loss(logits, y).item() < 1e-6
    assert task.loss(logits[:, -1], y).item() < 1e-6         # (B, V) works too


class Oracle(nn.Module):
    """Reads the first token and answers it at the last step."""

    recurrent = True

    def __init__(self, vocab_size):
        super().__init__()
        self.vocab_size = vocab_size
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x, state=None):
        logits = torch.zeros(*x.shape, self.vocab_size)
        logits[:, -1] = nn.functional.one_hot(x[:, 0], self.vocab_size).float()
        return logits, state


def test_accuracy_of_an_oracle_and_of_a_constant():
    task = RecallTask(k=6)
    assert task.accuracy(Oracle(task.vocab_size), n=200) == 1.0
    lmkit.set_seed(0)
    untrained = RNNLM(RNNConfig(vocab_size=task.vocab_size, embed_dim=4, hidden_size=8))
    assert 0.0 <= task.accuracy(untrained, n=400) < 0.4


def test_a_small_rnn_learns_k_5_with_fit():
    task = RecallTask(k=5)
    lmkit.set_seed(0)
    model = RNNLM(RNNConfig(vocab_size=task.vocab_size, embed_dim=16, hidden_size=32))
    fit(model, task.batches(64, 150, seed=0), max_steps=150, lr=1e-2, loss_fn=task.loss,
        progress=False)
    assert task.accuracy(model) > 0.9


def test_recall_grad_norms_match_hidden_grad_norms_and_reach_back():
    task = RecallTask(k=12)
    lmkit.set_seed(0)
    model = RNNLM(RNNConfig(vocab_size=task.vocab_size, embed_dim=8, hidden_size=16))
    norms = recall_grad_norms(model, task, n=32, seed=5)
    assert norms.shape == (12,) and norms.dtype == torch.float64
    x, y = task.batch(32, 5)
    m64 = model.double()
    direct = hidden_grad_norms(m64.rnn, m64.embed(x).detach(),
                               loss=lambda H: task.loss(m64.output(H), y))
    assert torch.allclose(norms, direct, rtol=1e-10)
    assert norms[0] < norms[-1]


def test_recall_grad_norms_work_for_an_lstm_layer():
    task = RecallTask(k=6)
    model = RNNLM(RNNConfig(vocab_size=task.vocab_size, embed_dim=4, hidden_size=8),
                  layer=nn.LSTM(4, 8, batch_first=True))
    assert recall_grad_norms(model, task, n=8).shape == (6,)


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"k": 1}, ValueError, "k must be an int >= 2"),
    ({"k": 2.0}, TypeError, "k must be an int"),
    ({"k": 5, "num_symbols": 1}, ValueError, "num_symbols"),
    ({"k": 5, "num_fillers": 0}, ValueError, "num_fillers"),
])
def test_task_rejects_bad_settings(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        RecallTask(**kwargs)


def test_bad_calls_get_clear_errors():
    task = RecallTask(k=5)
    with pytest.raises(ValueError, match="batch_size"):
        task.batch(0)
    with pytest.raises(TypeError, match="generator"):
        task.batch(2, generator=3)
    with pytest.raises(ValueError, match="k=5"):
        task.loss(torch.zeros(2, 4, task.vocab_size), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(B, k, V\)"):
        task.loss(torch.zeros(2), torch.zeros(2, dtype=torch.long))
    with pytest.raises(TypeError, match="torch module"):
        task.accuracy(lambda x: x)
    with pytest.raises(TypeError, match="RNNLM"):
        recall_grad_norms(nn.Linear(2, 2), task)
    with pytest.raises(TypeError, match="RecallTask"):
        recall_grad_norms(Oracle(3), "task")
