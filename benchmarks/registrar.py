"""The registrar's speed: student search as you type, and a validated CSV import.

On an embedded server of its own (a temporary data directory), the district's people,
sections and enrollments (school_tui.server.district, at --students / 100,000 of its full
size; ten school years, sections of 60) and its Registrar login:

- search_ms_100k_p95: the app's search (school_tui.db.students.search, one page) over a
  connection of the registrar, for what a person types: every prefix of a last name, of a
  first name plus a last name, of a student number and of an email, 1 to 8 characters.
  psql_search_ms_100k_p95: the same SQL, the parameters inlined, through one psql session
  of the same login (`\\timing`), the baseline. Goal: <= 15 ms.
- import_10k_s: read_csv + preview + commit of a 10,000-row CSV of new students (a tenth
  with a section) as the registrar, wall time. copy_10k_s: raw COPY of the same file into a
  plain text table by the superuser, the baseline. Goal: <= 3 s.

`trigram_index` says whether pg_trgm's index was there (1) or the fallback ran (0).
Writes benchmarks/results/registrar.json.
Usage: python benchmarks/registrar.py [--students N] [--queries N]
"""

from __future__ import annotations

import argparse
import io
import random
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import print_table, write_results  # noqa: E402
from school_tui.db.district import FIRST, GRADES, LAST  # noqa: E402

IMPORT_ROWS = 10_000
SEED = 5
# The sections the import's rows name (a tenth of them): the district's are full (60).
IMPORT_SECTION = "Annex"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def typed_queries(admin, count: int) -> list[str]:
    """What a person types, keystroke by keystroke: prefixes of real names, numbers, emails."""
    rng = random.Random(SEED)
    rows = admin.execute(
        "SELECT u.first_name, u.last_name, u.email, p.student_number "
        "FROM school.student_profiles p JOIN school.users u ON u.id = p.user_id "
        "ORDER BY p.user_id LIMIT 2000"
    ).fetchall()
    queries: list[str] = []
    while len(queries) < count:
        first, last, email, number = rng.choice(rows)
        kind = rng.randrange(4)
        if kind == 0:
            text = last.lower()
        elif kind == 1:
            text = f"{first[:3].lower()} {last.lower()}"
        elif kind == 2:
            text = number[-6:].lstrip("0") or number
        else:
            text = email.split("@")[0]
        for end in range(1, min(len(text), 8) + 1):
            if not text[:end].endswith(" "):
                queries.append(text[:end])
    return queries[:count]


def time_app_search(conninfo: str, queries: list[str]) -> list[float]:
    import psycopg

    from school_tui.db import students

    samples = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for text in queries[:20]:  # warm the cache and the plan
            students.search(conn, text)
        for text in queries:
            start = time.perf_counter()
            students.search(conn, text)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def time_psql_search(conninfo: str, queries: list[str]) -> list[float]:
    """The same statements through psql (\\timing: the server's answer as psql sees it)."""
    import psycopg

    from school_tui.db import students

    with psycopg.connect(conninfo, autocommit=True) as conn:
        cur = psycopg.ClientCursor(conn)
        statements = []
        for text in queries:
            words, params = students.search_params(text, students.DEFAULT_LIMIT)
            statements.append(cur.mogrify(students.search_sql(words), params).strip() + ";")
    script = "\\timing on\n\\o /dev/null\n" + "\n".join(statements[:20] + statements) + "\n"
    out = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo],
        input=script,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    times = [float(t) for t in re.findall(r"^Time: ([0-9.]+) ms", out, re.MULTILINE)]
    return times[20:]


def import_csv(rows: int) -> bytes:
    rng = random.Random(SEED + 1)
    out = io.StringIO()
    out.write(
        "student_number,first_name,last_name,email,grade_level,section,birth_date,"
        "guardian_name,guardian_phone,address\n"
    )
    for n in range(rows):
        grade = rng.choice(GRADES)
        section = IMPORT_SECTION if n % 10 == 0 else ""
        last = rng.choice(LAST)
        out.write(
            f"2027-{n:06d},{rng.choice(FIRST)},{last},new{n}@bench.school,{grade},{section},"
            f"20{rng.randint(10, 19)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)},"
            f"Parent {last},+63 9{rng.randint(10, 99)} 555 {rng.randint(1000, 9999)},"
            f'"{rng.randint(1, 300)} Mabini St, Quezon City"\n'
        )
    return out.getvalue().encode()


def time_import(conninfo: str, data: bytes) -> tuple[float, object]:
    import psycopg

    from school_tui.db import student_import
    from school_tui.domain.student_csv import read_csv

    with psycopg.connect(conninfo, autocommit=True) as conn:
        start = time.perf_counter()
        parsed = read_csv(data)
        rows = student_import.preview(conn, parsed)
        assert all(r.action == "add" for r in rows), [r for r in rows if r.action != "add"][:3]
        summary = student_import.commit(conn, parsed, checked=rows)
        return time.perf_counter() - start, summary


def time_copy(admin, data: bytes) -> float:
    admin.execute(
        "CREATE TABLE public.bench_copy (student_number text, first_name text, last_name text, "
        "email text, grade_level text, section text, birth_date text, guardian_name text, "
        "guardian_phone text, address text)"
    )
    start = time.perf_counter()
    with admin.cursor() as cur:
        with cur.copy("COPY public.bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(data)
    elapsed = time.perf_counter() - start
    admin.execute("DROP TABLE public.bench_copy")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()

    import psycopg

    from benchmarks.district import district_server, login_conninfo
    from school_tui.db import district
    from school_tui.db import students as students_db
    from school_tui.server.district import DISTRICT_LOGINS, DISTRICT_PASSWORD

    results: dict[str, float] = {}
    # The district's people, sections and enrollments: no ledger, chat or teaching.
    with district_server(args.students / 100_000, parts=frozenset()) as (target, made):
        results["generate_s"] = sum(made.seconds.values())
        with psycopg.connect(target.admin(), autocommit=True) as admin:
            district.add_sections(admin, IMPORT_SECTION, 200)
            queries = typed_queries(admin, args.queries)
            conninfo = login_conninfo(target, DISTRICT_LOGINS["Registrar"], DISTRICT_PASSWORD)
            with psycopg.connect(conninfo) as conn:
                results["trigram_index"] = float(students_db.has_trigram_index(conn))
            app = time_app_search(conninfo, queries)
            raw = time_psql_search(conninfo, queries)
            results["search_ms_100k_p95"] = percentile(app, 95)
            results["search_ms_100k_p50"] = percentile(app, 50)
            results["search_ms_100k_max"] = max(app)
            results["psql_search_ms_100k_p95"] = percentile(raw, 95)
            results["psql_search_ms_100k_p50"] = percentile(raw, 50)
            data = import_csv(IMPORT_ROWS)
            results["copy_10k_s"] = time_copy(admin, data)
            elapsed, summary = time_import(conninfo, data)
            assert summary.added == IMPORT_ROWS, summary
            results["import_10k_s"] = elapsed
            results["students"] = float(made.size.students)
    print_table("registrar", results)
    write_results("registrar", results)


if __name__ == "__main__":
    main()
