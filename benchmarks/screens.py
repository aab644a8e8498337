"""Every screen of every role on a district's data, as the role's own login.

On a private embedded server, a district at --scale (1.0: about 100,000 students, 1,000,000
payments, 2,000,000 messages; benchmarks/district.py) is generated; then each entry of
benchmarks/screen_registry.py (the db/ functions a screen calls to paint, or to react to one
live change) runs on a connection of its role's login, as the app's pool makes them
(autocommit, psycopg's prepared statements after 5 runs): 2 runs to warm up, then --runs
timed at the client (the calls, their round trips, the rows made into Python objects).

The baseline, psql_sql_ms_p95_<screen>: the same statements through psql as the superuser,
so without row-level security. One more run of the screen's reads on a connection whose
cursors bind parameters on the client (psycopg.ClientCursor) records each statement with its
values inlined, exactly as sent. psql then runs that list 2 + --runs times with `\\timing`
(psql's time per statement, client side), each run's statements summed. So that the
identity functions (school.me(), my_role(), the policies' session_user) find the same
person, the person's row in school.users is lent the superuser's name for the replay and
given back after (db.district.lend_identity): the same rows, only without the policies.

Writes benchmarks/results/screens.json: screen_sql_ms_p95_max, screen_sql_ms_p95_<screen>,
psql_sql_ms_p95_<screen>, district_scale and the district's row counts; prints a table with
the goals (<= 20 ms, <= 2x psql) and which screens miss them.
Usage: python benchmarks/screens.py [--scale 0.01] [--runs 20] [--only name,...] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS  # noqa: E402

GOAL_MS = 20.0
GOAL_RATIO = 2.0
WARM = 2
# Below this, psql's figure is taken as this for the ratio: a round trip from Python and
# its rows made into objects cost about that whatever the query.
RATIO_FLOOR_MS = 2.0


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def psql_binary() -> str:
    import shutil

    from school_tui.server.embedded import _bin_dir

    bundled = _bin_dir() / "psql"
    found = str(bundled) if bundled.exists() else shutil.which("psql")
    if found is None:
        raise RuntimeError("no psql for the baseline")
    return found


def pick_context(target, made):
    import psycopg

    from benchmarks.screen_registry import Context
    from school_tui.db import district

    student, teacher = made.logins["Student"], made.logins["Teacher"]
    with psycopg.connect(target.admin(), autocommit=True) as admin:
        found = district.screen_context(admin, student, teacher)
    return Context(
        today=date.today(),
        student_id=student,
        teacher_id=teacher,
        name_text="cruz",
        **found,
    )


def recorded_statements(conninfo: str, entry, ctx) -> list[str]:
    """The statements `entry` sends, values inlined, as one run sends them."""
    import psycopg

    statements: list[str] = []

    class Recording(psycopg.ClientCursor):
        def execute(self, query, params=None, **kwargs):  # type: ignore[override]
            statements.append(self.mogrify(query, params))
            return super().execute(query, params, **kwargs)

    with psycopg.connect(conninfo, autocommit=True, cursor_factory=Recording) as conn:
        entry.reads(conn, ctx)
    return statements


def time_reads(conninfo: str, entry, ctx, runs: int, budget_s: float) -> list[float]:
    """`runs` timed runs after WARM; fewer (at least 3) once `budget_s` is spent: a screen
    of seconds is over its goal by any count, and 20 runs of it would take minutes."""
    import psycopg

    samples: list[float] = []
    started = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for n in range(WARM + runs):
            t0 = time.perf_counter()
            entry.reads(conn, ctx)
            if n >= WARM:
                samples.append((time.perf_counter() - t0) * 1000)
                if len(samples) >= 3 and time.perf_counter() - started > budget_s:
                    break
    return samples


def time_psql(target, user_id: int, statements: list[str], runs: int) -> list[float] | None:
    """Per run, the sum of psql's \\timing of each statement; None if one failed."""
    import psycopg

    from school_tui.db import district

    if not statements:
        return [0.0] * runs
    body = "".join(s.strip().rstrip(";") + ";\n" for s in statements)
    with psycopg.connect(target.admin(), autocommit=True) as admin:
        own = district.login_role_of(admin, user_id)
        # Lent inside psql's own session: the login guard checks a new session's password
        # against the person whose login_role it finds, so psql must connect first.
        lend = psycopg.ClientCursor(admin).mogrify(
            "UPDATE school.users SET login_role = session_user WHERE id = %s;\n", (user_id,)
        )
        give_back = psycopg.ClientCursor(admin).mogrify(
            "UPDATE school.users SET login_role = %s WHERE id = %s;\n", (own, user_id)
        )
        script = lend + "\\timing on\n" + body * (WARM + runs) + "\\timing off\n" + give_back
        try:
            done = subprocess.run(
                [psql_binary(), "-X", "-q", "-o", os.devnull, "-d", target.admin()],
                input=script,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "PGAPPNAME": "bench-psql"},
            )
        finally:
            district.lend_identity(admin, user_id, own)
    times = [float(t) for t in re.findall(r"^Time: ([0-9.]+) ms", done.stdout, re.M)]
    per = len(statements)
    if done.returncode or "ERROR" in done.stderr or len(times) != per * (WARM + runs):
        print(f"    psql replay failed: {done.stderr.strip()[:300]}", flush=True)
        return None
    return [sum(times[i * per : (i + 1) * per]) for i in range(WARM, WARM + runs)]


def measure(
    target, made, runs: int, only: set[str] | None, budget_s: float = 60.0
) -> dict[str, float]:
    from benchmarks.district import login_conninfo
    from benchmarks.screen_registry import SCREENS
    from school_tui.server.district import DISTRICT_LOGINS, DISTRICT_PASSWORD

    ctx = pick_context(target, made)
    conninfo = {
        role: login_conninfo(target, email, DISTRICT_PASSWORD)
        for role, email in DISTRICT_LOGINS.items()
    }
    results: dict[str, float] = {}
    for entry in SCREENS:
        if only and entry.name not in only:
            continue
        print(f"  {entry.name} ({entry.role})…", flush=True)
        app = time_reads(conninfo[entry.role], entry, ctx, runs, budget_s)
        statements = recorded_statements(conninfo[entry.role], entry, ctx)
        raw = time_psql(target, made.logins[entry.role], statements, len(app))
        if len(app) < runs:
            results[f"screen_runs_{entry.name}"] = float(len(app))
        results[f"screen_sql_ms_p95_{entry.name}"] = percentile(app, 95)
        results[f"psql_sql_ms_p95_{entry.name}"] = percentile(raw, 95) if raw else -1.0
    return results


def verdicts(results: dict[str, float]) -> list[tuple[str, float, float, list[str]]]:
    """(screen, p95, psql p95, goals missed) per screen, slowest first."""
    rows = []
    for key, value in results.items():
        if not key.startswith("screen_sql_ms_p95_") or key == "screen_sql_ms_p95_max":
            continue
        name = key.removeprefix("screen_sql_ms_p95_")
        raw = results.get(f"psql_sql_ms_p95_{name}", -1.0)
        missed = []
        if value > GOAL_MS:
            missed.append(f"> {GOAL_MS:g} ms")
        if raw >= 0 and value > GOAL_RATIO * max(raw, RATIO_FLOOR_MS):
            missed.append(f"> {GOAL_RATIO:g}x psql")
        rows.append((name, value, raw, missed))
    return sorted(rows, key=lambda r: -r[1])


def print_table(results: dict[str, float]) -> int:
    rows = verdicts(results)
    width = max(len(r[0]) for r in rows)
    print(f"\nscreens (goals: <= {GOAL_MS:g} ms and <= {GOAL_RATIO:g}x psql; p95 ms)")
    print(f"{'screen'.ljust(width)}  {'app':>9}  {'psql':>9}  misses")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 9}  ------")
    for name, value, raw, missed in rows:
        shown_raw = f"{raw:9.2f}" if raw >= 0 else "   failed"
        print(f"{name.ljust(width)}  {value:9.2f}  {shown_raw}  {', '.join(missed) or 'ok'}")
    failing = sum(1 for r in rows if r[3])
    print(f"{failing} of {len(rows)} screens miss a goal")
    return failing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.01, help="1.0: the full district")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", default="", help="screen names, comma-separated")
    parser.add_argument(
        "--budget-s", type=float, default=60.0, help="per screen: fewer runs (>= 3) past it"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "screens.json")
    args = parser.parse_args(argv)

    from benchmarks.district import district_server

    only = {n for n in args.only.split(",") if n} or None
    with district_server(args.scale) as (target, made):
        results = measure(target, made, args.runs, only, args.budget_s)
        screens = [v for k, v in results.items() if k.startswith("screen_sql_ms_p95_")]
        out: dict[str, float] = {"screen_sql_ms_p95_max": max(screens)}
        out.update(results)
        out["district_scale"] = args.scale
        out.update({f"district_rows_{t}": float(n) for t, n in made.rows.items()})
        out.update(
            {f"district_generate_s_{k.replace(' ', '_')}": v for k, v in made.seconds.items()}
        )
    print_table(out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({k: round(v, 3) for k, v in out.items()}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
