"""README.md's leaderboard is what bench/leaderboard.py makes of the results files."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("leaderboard", ROOT / "bench" / "leaderboard.py")
leaderboard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(leaderboard)


def test_readme_holds_the_generated_leaderboard():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count(leaderboard.START) == 1 and readme.count(leaderboard.END) == 1
    block = leaderboard.START + readme.split(leaderboard.START, 1)[1].split(leaderboard.END)[0] \
        + leaderboard.END
    assert block == leaderboard.markdown(), \
        "README.md's leaderboard is stale: run `python bench/leaderboard.py --readme`"


def test_the_window_parameter_count_is_the_models():
    from lmkit.models import FixedWindowLM, WindowConfig
    model = FixedWindowLM(WindowConfig(10_000, window=3, embed_dim=64, hidden_dim=128))
    assert sum(p.numel() for p in model.parameters()) == leaderboard.WINDOW_PARAMETERS


def test_tables_are_sorted_and_complete():
    lines = leaderboard.ptb_table().splitlines()[2:]
    ppl = [float(line.split("|")[2]) for line in lines]
    assert ppl == sorted(ppl, reverse=True)
    names = " ".join(lines)
    for name in ("add-1", "Kneser", "RNN", "LSTM", "fixed window"):
        assert name in names
    chars = leaderboard.char_table()
    for name in ("rnn", "gru", "lstm", "conv", "self-attention", "-gram"):
        assert name in chars
