"""The record of `bench/ptb_lstm.py`, which chapter 7 and chapter 11's leaderboard read.

The file is written by the benchmark, not by hand; these tests check that the committed record
has what its readers expect and that it says what the book says it says: the best model, chosen
on validation, is below chapter 2's Kneser–Ney 5-gram (141.2) on Penn Treebank test.
"""

import datetime
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "ptb_lstm.json"
KN5_TEST = 141.2


@pytest.fixture(scope="module")
def record():
    if not RESULTS.exists():
        pytest.skip(f"{RESULTS.relative_to(ROOT)} is absent (run bench/ptb_lstm.py)")
    return json.loads(RESULTS.read_text())


def test_record_has_the_expected_keys(record):
    assert {"script", "command", "date", "machine", "seed", "settings", "parameters", "train",
            "run", "valid_curve", "valid_tokens", "test_tokens", "models", "best"} <= set(record)
    assert record["script"] == "bench/ptb_lstm.py"
    assert record["command"].startswith("python bench/ptb_lstm.py")
    assert datetime.datetime.fromisoformat(record["date"]).tzinfo is not None
    assert {"platform", "cpus", "threads", "python", "torch", "lmkit"} <= set(record["machine"])
    assert isinstance(record["seed"], int)
    assert {"steps", "tokens", "seconds", "tokens_per_second"} <= set(record["train"])
    assert {"wall_seconds", "cpu_seconds"} <= set(record["run"])
    assert set(record["models"]) == {"lstm", "kn5", "mixture"}
    for name, row in record["models"].items():
        for split in ("valid", "test"):
            assert math.isfinite(row[split]) and row[split] > 1, (name, split)
    assert 0 < record["models"]["mixture"]["lambda"] < 1
    steps = [point["step"] for point in record["valid_curve"]]
    assert steps == sorted(steps) and all(s <= record["train"]["steps"] for s in steps)


def test_the_same_tokens_and_kneser_ney_as_chapter_2(record):
    assert record["valid_tokens"] == 73_760 and record["test_tokens"] == 82_430
    assert abs(record["models"]["kn5"]["test"] - 141.19) < 0.01


def test_best_entry_is_chosen_on_validation_and_beats_kn5_on_test(record):
    models = record["models"]
    assert record["best"] == min(models, key=lambda name: models[name]["valid"])
    assert record["best"] != "kn5"
    assert models[record["best"]]["test"] < KN5_TEST


def test_run_stayed_within_ten_minutes(record):
    assert record["run"]["wall_seconds"] <= 600


def test_no_model_weights_next_to_the_results():
    weights = [p for ext in ("pt", "pth", "bin", "safetensors", "ckpt")
               for p in (ROOT / "bench").rglob(f"*.{ext}")]
    assert not weights, weights
