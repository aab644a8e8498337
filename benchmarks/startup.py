"""Start-up and login latency, measured the way a person sees them: in a real terminal.

The app runs in tmux (80x24); we time from process spawn until the login form is on the
screen, and from pressing Enter on the password until the student's home is painted.
Baselines in the same run: a bare Python start, a bare Textual app showing one Input, and
the login's raw parts (argon2 alone, a raw SCRAM connect, the home's SQL through psql).

Writes benchmarks/results/startup.json. Usage: python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import print_table, write_results  # noqa: E402
from tests.e2e.terminal import Terminal  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOGIN_MARK = "Log in with your school email"
HOME_MARK = "Student home"

BARE_TEXTUAL_APP = """
from textual.app import App
from textual.widgets import Input, Static
class Bare(App):
    def compose(self):
        yield Static("Log in with your school email")
        yield Input()
Bare().run()
"""


def _median_time(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        samples.append(fn())
    return statistics.median(samples)


def time_until_screen(command: str, mark: str, env: dict) -> float:
    with Terminal(command, env=env) as term:
        return term.wait_for(mark, since=term.started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from school_tui.db.connect import Target
    from school_tui.server.config import load
    from school_tui.server.provision import prepare, release

    data_dir = Path(tempfile.mkdtemp(prefix="school-tui-bench-"))
    env = {**os.environ, "SCHOOL_TUI_DATA_DIR": str(data_dir), "TZ": "UTC"}
    for name in ("SCHOOL_TUI_DSN", "PGHOST", "PGPORT", "PGDATABASE", "PGSERVICE"):
        env.pop(name, None)
    config = load(environ=env, toml_path=data_dir / "none.toml")
    target = Target.from_config(config)
    print("preparing the embedded server and demo school…", flush=True)
    prepare(target, demo_if_empty=True)
    try:
        results = run(target, env, args.runs)
    finally:
        release(target)
        shutil.rmtree(data_dir, ignore_errors=True)
    print_table("startup", results)
    write_results("startup", results)


def run(target, env: dict, runs: int) -> dict:
    app_cmd = f"{BIN / 'school-tui'}"
    results: dict[str, float] = {}
    results["raw_python_start_s"] = _median_time(
        lambda: _time_process([sys.executable, "-c", "pass"]), runs
    )
    bare = Path(tempfile.mkdtemp()) / "bare.py"
    bare.write_text(BARE_TEXTUAL_APP)
    results["raw_textual_input_s"] = _median_time(
        lambda: time_until_screen(f"{sys.executable} {bare}", LOGIN_MARK, env), runs
    )
    results["startup_to_login_s"] = _median_time(
        lambda: time_until_screen(app_cmd, LOGIN_MARK, env), runs
    )

    def one_login() -> float:
        with Terminal(app_cmd, env=env) as term:
            term.wait_for(LOGIN_MARK)
            term.wait_for_absent("Starting the database")
            term.type_and_wait("student@demo.school")
            term.press_and_wait_for_row_change("Enter")
            term.type("school-tui-demo")
            pressed = time.perf_counter()
            term.keys("Enter")
            return term.wait_for(HOME_MARK, since=pressed, also="Enrolled")

    results["login_to_home_s"] = _median_time(one_login, runs)
    results.update(raw_login_parts(target, runs))
    return results


def _time_process(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - started


def raw_login_parts(target, runs: int) -> dict:
    """The same work the login does, piece by piece, without the app around it."""
    import psycopg

    from school_tui.auth.passwords import derive_db_password
    from school_tui.db import people

    with psycopg.connect(target.prelogin(), autocommit=True) as pre:
        login_role, salt = people.prelogin_lookup(pre, "student@demo.school")

    def kdf() -> float:
        started = time.perf_counter()
        derive_db_password("school-tui-demo", salt)
        return time.perf_counter() - started

    password = derive_db_password("school-tui-demo", salt)
    conninfo = target.person(login_role, password)

    def connect() -> float:
        started = time.perf_counter()
        psycopg.connect(conninfo).close()
        return time.perf_counter() - started

    # The student home's own SQL, recorded as the app sends it, replayed through psql.
    psql = _psql_binary()
    home_sql = record_student_home_sql(conninfo)

    def psql_home() -> float:
        started = time.perf_counter()
        subprocess.run(
            [psql, "-X", "-q", "-o", "/dev/null", "-v", "ON_ERROR_STOP=1", "-d", conninfo],
            input=home_sql,
            text=True,
            check=True,
        )
        return time.perf_counter() - started

    return {
        "raw_argon2_kdf_s": _median_time(kdf, runs),
        "raw_scram_connect_s": _median_time(connect, runs),
        "psql_student_home_sql_s": _median_time(psql_home, runs),
    }


def record_student_home_sql(conninfo: str) -> str:
    """Run the student home's pane queries once, keeping each statement as sent."""
    import psycopg

    from school_tui.screens.homes.student import StudentHome

    recorded: list[str] = []

    class Recording(psycopg.Connection):
        def execute(self, query, params=None, **kwargs):
            recorded.append(psycopg.ClientCursor(self).mogrify(query, params))
            return super().execute(query, params, **kwargs)

    with Recording.connect(conninfo, autocommit=True) as conn:
        for pane in StudentHome.PANES:
            pane.query(conn)
    return ";\n".join(recorded) + ";\n"


def _psql_binary() -> str:
    from school_tui.server.embedded import _bin_dir

    return str(_bin_dir() / "psql")


if __name__ == "__main__":
    main()
