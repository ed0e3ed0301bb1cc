"""Execute each notebook of the book in a fresh kernel and time it against the budget.

    .venv/bin/python bench/notebook_times.py                   # every notebook in book/
    .venv/bin/python bench/notebook_times.py book/01-*.ipynb   # some of them

The time includes starting the kernel, as a reader's "Restart & Run all" does. Budgets (from the
design): 90 s per notebook, 12 minutes for the whole book, on a 2-core CPU. Exits with status 1
if a notebook fails or runs over its budget. Record the printed table in BENCHMARKS.md.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK_BUDGET_S = 90.0
BOOK_BUDGET_S = 12 * 60.0
ROOT = Path(__file__).resolve().parents[1]


def run(notebook: Path) -> float:
    """Execute ``notebook`` with its folder as working directory; return wall seconds."""
    nb = nbformat.read(notebook, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    return time.perf_counter() - start


def main(paths: list[str]) -> int:
    notebooks = [Path(p).resolve() for p in paths] or sorted((ROOT / "book").glob("*.ipynb"))
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"LMKIT_DATA_MIRROR={'set' if os.environ.get('LMKIT_DATA_MIRROR') else 'unset'}")
    print(f"{'notebook':34} {'seconds':>8} {'budget':>7} {'share of budget':>16}")
    total, failed = 0.0, False
    for nb in notebooks:
        try:
            seconds = run(nb)
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            print(f"{nb.name:34} FAILED: {type(exc).__name__}: {str(exc)[:200]}")
            failed = True
            continue
        total += seconds
        over = seconds > NOTEBOOK_BUDGET_S
        failed |= over
        print(f"{nb.name:34} {seconds:8.1f} {NOTEBOOK_BUDGET_S:7.0f} "
              f"{seconds / NOTEBOOK_BUDGET_S:15.0%}{'  OVER BUDGET' if over else ''}")
    print(f"{'whole book':34} {total:8.1f} {BOOK_BUDGET_S:7.0f} {total / BOOK_BUDGET_S:15.0%}")
    return 1 if failed or total > BOOK_BUDGET_S else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
