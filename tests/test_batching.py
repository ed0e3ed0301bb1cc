"""lmkit.batching: sentence streams, window pairs and TBPTT blocks reassemble the stream."""

from itertools import pairwise

import pytest
import torch

from lmkit.batching import Batches, StreamBatches, read_sentences, sentence_stream, window_pairs
from lmkit.text import Vocab


@pytest.fixture
def vocab():
    return Vocab("the cat sat on the mat".split(), specials=["<unk>", "</s>"])


def test_read_sentences_is_one_sentence_per_nonempty_line():
    text = " pierre <unk> N years old \n\n mr. <unk> is chairman \n"
    assert read_sentences(text) == [["pierre", "<unk>", "N", "years", "old"],
                                    ["mr.", "<unk>", "is", "chairman"]]
    assert read_sentences("") == []
    with pytest.raises(TypeError, match="must be a str"):
        read_sentences(["a b"])


def test_sentence_stream_ends_every_sentence_with_eos(vocab):
    stream = sentence_stream([["the", "cat"], ["a", "mat"]], vocab)
    assert stream.dtype == torch.long and stream.dim() == 1
    assert vocab.decode(stream) == ["the", "cat", "</s>", "<unk>", "mat", "</s>"]
    assert len(stream) == 2 + 1 + 2 + 1  # Σ (len(sentence) + 1): </s> is scored like a word


def test_sentence_stream_bad_input(vocab):
    with pytest.raises(ValueError, match="no '</s>' token"):
        sentence_stream([["a"]], Vocab(["a"], specials=["<unk>"]))
    with pytest.raises(ValueError, match="empty"):
        sentence_stream([], vocab)
    with pytest.raises(TypeError, match="sentence 0 is a str"):
        sentence_stream(["the cat"], vocab)
    with pytest.raises(TypeError, match="got a str"):
        sentence_stream("the cat", vocab)
    with pytest.raises(TypeError, match="Vocab"):
        sentence_stream([["a"]], {"a": 0})


def test_window_pairs_are_every_window_and_the_token_after_it():
    stream = torch.arange(10, 20)
    contexts, targets = window_pairs(stream, window=3)
    assert contexts.shape == (7, 3) and targets.shape == (7,)
    for i in range(7):
        assert contexts[i].tolist() == stream[i:i + 3].tolist()
        assert targets[i] == stream[i + 3]
    # The last context column, shifted by one, is the target column: the stream reassembles.
    assert torch.equal(torch.cat([contexts[0], targets]), stream)


def test_window_pairs_with_padding_score_every_token():
    stream = torch.tensor([4, 5, 6, 7])
    contexts, targets = window_pairs(stream, window=2, pad_id=1)
    assert torch.equal(targets, stream)  # all N tokens are targets
    assert contexts.tolist() == [[1, 1], [1, 4], [4, 5], [5, 6]]
    contexts[0, 0] = 99  # a fresh tensor, not a view that would write into the stream
    assert stream.tolist() == [4, 5, 6, 7]
    assert window_pairs([3, 4], window=1)[1].tolist() == [4]  # lists are accepted


@pytest.mark.parametrize(("stream", "window", "exc", "msg"), [
    (torch.arange(5), 0, ValueError, "window must be an int >= 1"),
    (torch.arange(5), 2.0, TypeError, "window must be an int"),
    (torch.arange(3), 3, ValueError, "too few"),
    (torch.arange(0), 1, ValueError, "too few"),
    (torch.arange(5.0), 2, TypeError, "integer token ids"),
    (torch.zeros(2, 3, dtype=torch.long), 2, ValueError, "must be 1-D"),
    (torch.tensor([1, -2, 3]), 1, ValueError, "negative id"),
    ("the cat", 1, TypeError, "encode the tokens first"),
])
def test_window_pairs_bad_input(stream, window, exc, msg):
    with pytest.raises(exc, match=msg):
        window_pairs(stream, window)


def test_batches_cover_every_example_once_per_epoch():
    x, y = torch.arange(20).reshape(10, 2), torch.arange(10)
    ordered = Batches(x, y, batch_size=4)
    assert len(ordered) == 3
    assert [len(b[1]) for b in ordered] == [4, 4, 2]
    assert torch.equal(torch.cat([b[1] for b in ordered]), y)
    shuffled = Batches(x, y, batch_size=4, shuffle=True)
    torch.manual_seed(0)
    epoch1 = torch.cat([b[1] for b in shuffled])
    epoch2 = torch.cat([b[1] for b in shuffled])
    assert sorted(epoch1.tolist()) == list(range(10)) and not torch.equal(epoch1, epoch2)
    for bx, by in shuffled:
        assert torch.equal(bx[:, 0], 2 * by)  # inputs and targets stay aligned
    torch.manual_seed(0)
    assert torch.equal(torch.cat([b[1] for b in shuffled]), epoch1)  # seeded -> repeatable
    assert len(Batches(x, y, batch_size=4, drop_last=True)) == 2


@pytest.mark.parametrize(("inputs", "targets", "size", "exc", "msg"), [
    (torch.zeros(3, 2), torch.zeros(4), 2, ValueError, "same number of examples"),
    (torch.zeros(0, 2), torch.zeros(0), 2, ValueError, "empty"),
    (torch.zeros(3, 2), torch.zeros(3), 0, ValueError, "batch_size must be an int >= 1"),
    ([[1, 2]], torch.zeros(1), 1, TypeError, "must be a torch.Tensor"),
])
def test_batches_bad_input(inputs, targets, size, exc, msg):
    with pytest.raises(exc, match=msg):
        Batches(inputs, targets, size)


@pytest.mark.parametrize(("n", "batch_size", "seq_len"), [(101, 4, 5), (100, 3, 7), (9, 2, 10)])
def test_sequential_blocks_reassemble_the_stream(n, batch_size, seq_len):
    stream = torch.randint(0, 50, (n,))
    batches = StreamBatches(stream, batch_size, seq_len)
    assert batches.sequential
    blocks = list(batches)
    assert len(blocks) == len(batches)
    xs = torch.cat([x for x, _ in blocks], dim=1)  # (B, L): glue the blocks back along time
    ys = torch.cat([y for _, y in blocks], dim=1)
    L = (n - 1) // batch_size
    assert xs.shape == ys.shape == (batch_size, L)
    assert torch.equal(xs.reshape(-1), stream[:batch_size * L])       # rows are the stream
    assert torch.equal(ys.reshape(-1), stream[1:batch_size * L + 1])  # targets: one step on
    assert all(x.shape[0] == batch_size and x.shape[1] <= seq_len for x, _ in blocks)
    assert batches.num_tokens == sum(y.numel() for _, y in blocks) == batch_size * L


def test_sequential_rows_continue_from_batch_to_batch():
    stream = torch.arange(1000)  # ids = positions, so continuity is visible
    blocks = list(StreamBatches(stream, batch_size=4, seq_len=10))
    for (x0, _), (x1, _) in pairwise(blocks):
        assert torch.equal(x1[:, 0], x0[:, -1] + 1)  # row b of the next batch goes on row b


def test_random_partition_blocks_reassemble_the_stream():
    stream = torch.arange(103)
    batches = StreamBatches(stream, batch_size=3, seq_len=5, partition="random",
                            random_offset=False)
    assert not batches.sequential
    torch.manual_seed(0)
    blocks = list(batches)
    assert len(blocks) == len(batches) == 7  # 20 pieces of 5, 3 per batch
    xs = torch.cat([x for x, _ in blocks])      # (20, 5), shuffled pieces
    ys = torch.cat([y for _, y in blocks])
    assert torch.equal(ys, xs + 1)
    order = xs[:, 0].argsort()
    assert torch.equal(xs[order].reshape(-1), stream[:100])  # sorted back: the stream itself
    assert not torch.equal(xs[:, 0], xs[order, 0])           # but they came shuffled
    assert batches.num_tokens == 100


def test_random_offsets_change_the_cut_points_between_epochs():
    stream = torch.arange(200)
    batches = StreamBatches(stream, batch_size=2, seq_len=8, partition="random")
    torch.manual_seed(1)
    starts = [{int(x[0]) % 8 for xb, _ in batches for x in xb} for _ in range(6)]
    assert all(len(s) == 1 for s in starts)   # one offset per epoch
    assert len({s.pop() for s in starts}) > 1  # that differs between epochs
    for xb, yb in batches:
        assert torch.equal(yb, xb + 1)
    seq = StreamBatches(stream, batch_size=2, seq_len=8, random_offset=True)
    xs = torch.cat([x for x, _ in seq], dim=1)
    assert torch.equal(xs.reshape(-1), stream[int(xs[0, 0]):][:xs.numel()])


@pytest.mark.parametrize(("kwargs", "exc", "msg"), [
    ({"stream": torch.arange(5), "batch_size": 8, "seq_len": 2}, ValueError, "too few"),
    ({"stream": torch.arange(5), "batch_size": 1, "seq_len": 9, "partition": "random"},
     ValueError, "too few"),
    ({"stream": torch.arange(50), "batch_size": 2, "seq_len": 2, "partition": "shuffled"},
     ValueError, "partition must be"),
    ({"stream": torch.arange(50), "batch_size": 0, "seq_len": 2}, ValueError, "batch_size"),
    ({"stream": torch.arange(50), "batch_size": 2, "seq_len": 0}, ValueError, "seq_len"),
    ({"stream": torch.rand(50), "batch_size": 2, "seq_len": 2}, TypeError, "integer token ids"),
])
def test_stream_batches_bad_input(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        StreamBatches(**kwargs)


def test_random_offset_must_be_a_bool_not_a_truthy_string():
    with pytest.raises(TypeError, match="random_offset must be True or False"):
        StreamBatches(torch.arange(100), batch_size=2, seq_len=5, random_offset="no")
