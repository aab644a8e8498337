"""Shared pieces of the benchmarks: a real terminal (tmux), the results table and JSON."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
import uuid
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


class Tmux:
    """A program running in a detached 80x24 tmux session, read with capture-pane."""

    def __init__(self, command: str, env: dict | None = None, width: int = 80, height: int = 24):
        self.name = f"bench-{uuid.uuid4().hex[:8]}"
        self.command = command
        self.env = env or {}
        self.size = (width, height)
        self.started = 0.0

    def __enter__(self) -> Tmux:
        exports = " ".join(
            f"{key}={shlex.quote(value)}"
            for key, value in self.env.items()
            if key.startswith(("SCHOOL_TUI", "TZ", "HOME", "NO_COLOR", "PATH"))
        )
        self.started = time.perf_counter()
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(self.size[0]),
                "-y",
                str(self.size[1]),
                f"env {exports} TERM=xterm-256color {self.command}",
            ],
            check=True,
        )
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        ).stdout

    def cursor(self) -> str:
        return subprocess.run(
            ["tmux", "display", "-p", "-t", self.name, "#{cursor_x},#{cursor_y}"],
            capture_output=True,
            text=True,
        ).stdout.strip()

    def wait_for(
        self, text: str, since: float | None = None, also: str | None = None, timeout: float = 60
    ) -> float:
        """Seconds from `since` until `text` (and `also`) are on the screen."""
        since = self.started if since is None else since
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            screen = self.screen()
            if text in screen and (also is None or also in screen):
                return time.perf_counter() - since
        raise TimeoutError(f"{text!r} did not appear; screen was:\n{self.screen()}")

    def wait_for_absent(self, text: str, timeout: float = 60) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if text not in self.screen():
                return
        raise TimeoutError(f"{text!r} did not go away")

    def press_and_wait_for_row_change(self, key: str, timeout: float = 10) -> None:
        """Press `key` and wait until the cursor is on another row (focus moved)."""
        before = self.cursor().split(",")[1]
        self.keys(key)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.cursor().split(",")[1] != before:
                return
        raise TimeoutError(f"the cursor stayed on row {before} after {key}")

    def type_and_wait(self, text: str, timeout: float = 10) -> None:
        """Type `text` and wait until the terminal shows it (the app has taken the keys)."""
        self.type(text)
        self.wait_for(text, timeout=timeout)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)
