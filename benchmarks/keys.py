"""A burst of keys into one field, in a real terminal, and the key after it acted on.

In tmux (80x24), `tmux send-keys` types 10,000 characters and then Ctrl+S in one go, as a
paste without brackets, a stuck key or a hostile script would. Timed from the send until
what the Ctrl+S does is on the screen: every key before it has been handled, and it was
not lost.

- burst_10000_keys_s: school-tui, the Registrar's students search (an Input whose every
  change starts a search), then Ctrl+S: until the export form shows.
- raw_key_delivery_10000_s, the floor: a bare Textual app that only counts the keys it
  gets (no widget takes them), Ctrl+S shows the count: Textual's parser and event loop
  delivering 10,000 keys.
- raw_stock_input_10000_s: a bare Textual app with one Input and a Ctrl+S binding that
  shows the Input's length: stock Textual typing the burst key by key.

Each is the median of --runs, the app and its baselines taking turns. Writes
benchmarks/results/keys.json. Usage: python benchmarks/keys.py [--runs N] [--keys N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import print_table, write_results  # noqa: E402
from tests.e2e.terminal import Terminal  # noqa: E402

BIN = Path(sys.executable).parent
SEARCH_MARK = "Name, student number or email"
EXPORT_MARK = "Enter exports, Escape cancels."
TIMEOUT_S = 600.0

BARE_APP = """
import sys
from textual.app import App
from textual.binding import Binding
from textual.widgets import Input, Static
WITH_INPUT = sys.argv[1] == "input"
class Bare(App):
    # Not a priority binding: Ctrl+S goes where the keys before it went and acts after them.
    BINDINGS = [Binding("ctrl+s", "save", "Save")]
    count = 0
    def compose(self):
        yield Static("ready", id="status")
        if WITH_INPUT:
            yield Input(id="field")
    def on_key(self, event):
        if event.is_printable:
            self.count += 1
    def action_save(self):
        n = len(self.query_one(Input).value) if WITH_INPUT else self.count
        self.query_one("#status", Static).update(f"saved {n}")
Bare().run()
"""


def burst_text(n: int) -> str:
    return "".join("abcdefghij"[i % 10] for i in range(n))


def timed_burst(term: Terminal, n: int, mark: str) -> float:
    """Send n characters and Ctrl+S in one burst; seconds until `mark` is on the screen."""
    sent = time.perf_counter()
    term.type(burst_text(n))
    term.keys("C-s")
    return term.wait_for(mark, since=sent, timeout=TIMEOUT_S)


def school_tui_burst(env: dict, n: int) -> float:
    with Terminal(str(BIN / "school-tui"), env=env) as term:
        term.log_in("registrar@demo.school", "school-tui-demo", home=" home ", also="unread")
        term.keys("s")
        term.wait_for(SEARCH_MARK, timeout=30)
        return timed_burst(term, n, EXPORT_MARK)


def bare_burst(script: Path, kind: str, env: dict, n: int) -> float:
    with Terminal(f"{sys.executable} {script} {kind}", env=env) as term:
        term.wait_for("ready", timeout=30)
        return timed_burst(term, n, f"saved {n}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keys", type=int, default=10_000)
    args = parser.parse_args()

    from school_tui.db.connect import Target
    from school_tui.server.config import load
    from school_tui.server.provision import prepare, release

    data_dir = Path(tempfile.mkdtemp(prefix="school-tui-keys-"))
    env = {**os.environ, "SCHOOL_TUI_DATA_DIR": str(data_dir), "TZ": "UTC"}
    for name in ("SCHOOL_TUI_DSN", "PGHOST", "PGPORT", "PGDATABASE", "PGSERVICE"):
        env.pop(name, None)
    target = Target.from_config(load(environ=env, toml_path=data_dir / "none.toml"))
    print("preparing the embedded server and demo school…", flush=True)
    prepare(target, demo_if_empty=True)
    script = data_dir / "bare.py"
    script.write_text(BARE_APP)
    n = args.keys
    measures = {
        f"burst_{n}_keys_s": lambda: school_tui_burst(env, n),
        f"raw_key_delivery_{n}_s": lambda: bare_burst(script, "count", env, n),
        f"raw_stock_input_{n}_s": lambda: bare_burst(script, "input", env, n),
    }
    samples: dict[str, list[float]] = {name: [] for name in measures}
    try:
        # One session kept open keeps one tmux server up (see benchmarks/startup.py).
        with Terminal("sleep 86400", env=env):
            for _ in range(args.runs):
                for name, measure in measures.items():
                    samples[name].append(measure())
                    print(f"{name}: {samples[name][-1]:.3f}", flush=True)
    finally:
        release(target)
        shutil.rmtree(data_dir, ignore_errors=True)
    results = {name: statistics.median(values) for name, values in samples.items()}
    print_table("keys", results)
    write_results("keys", results)


if __name__ == "__main__":
    main()
