"""Shared pieces of the benchmarks: the results table and JSON.

The real terminal (tmux) the start-up benchmark drives is tests/e2e/terminal.py.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(name: str, results: dict[str, float]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({k: round(v, 6) for k, v in results.items()}, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def print_table(name: str, results: dict[str, float]) -> None:
    width = max(len(key) for key in results)
    print(f"\n{name}")
    print(f"{'metric'.ljust(width)}  value")
    print(f"{'-' * width}  ----------")
    for key, value in results.items():
        print(f"{key.ljust(width)}  {value:10.4f}")
