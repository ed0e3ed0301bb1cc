"""What every results file under bench/results/ starts with: the script, the command, the date
and the machine, so that a figure the book cites says where and how it was measured."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path

import torch

import lmkit


def stamp() -> dict:
    """``{"script", "command", "date", "machine"}`` of the running bench script."""
    script = "bench/" + Path(sys.argv[0]).name
    return {"script": script,
            "command": " ".join(["python", script, *sys.argv[1:]]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "processor": platform.machine(),
                        "cpus": os.cpu_count(), "threads": torch.get_num_threads(),
                        "python": platform.python_version(), "torch": torch.__version__,
                        "lmkit": lmkit.__version__}}


def write(record: dict, path: str | Path) -> None:
    """Write a results record as indented UTF-8 JSON (making its folder) and say where."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path}")
