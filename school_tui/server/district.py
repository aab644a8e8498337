"""A district's worth of data for the benchmarks: `school-tui demo --district [--scale S]`,
and benchmarks/screens.py, registrar.py and cashier.py through `load`.

At scale 1: about 100,000 students, 1,000,000 payments, 2,000,000 chat messages, 20,000
tasks, ten school years; db/district.py says the shape. Written set-wise in one
transaction as the owner or a superuser, into an empty database: the bulk tables are
written in replica mode (no per-row triggers, no foreign-key checks) with the audit trail's
and the enrollment's per-statement triggers off, so the books are proved afterwards by the
ledger's invariant query (`load` raises if it finds anything).

One login per role, `<role>@district.school` (DISTRICT_LOGINS), password DISTRICT_PASSWORD:
the Student login has a long ledger and the longest conversation, with the Teacher login,
who advises a section and teaches subjects. Everybody else gets a login nobody can use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from school_tui.db import district, ledger, people

DISTRICT_PASSWORD = "school-tui-district"
DISTRICT_LOGINS = {
    "Admin": "admin@district.school",
    "Principal": "principal@district.school",
    "Academic Coordinator": "coordinator@district.school",
    "Teacher": "teacher@district.school",
    "Student": "student@district.school",
    "Guidance": "guidance@district.school",
    "Registrar": "registrar@district.school",
    "Accounting": "accounting@district.school",
}
NAMES = {
    "Admin": ("Ada", "Reyes"),
    "Principal": ("Paolo", "Santos"),
    "Academic Coordinator": ("Carla", "Mendoza"),
    "Teacher": ("Tomas", "Garcia"),
    "Student": ("Sofia", "Cruz"),
    "Guidance": ("Gloria", "Ramos"),
    "Registrar": ("Rafael", "Flores"),
    "Accounting": ("Andrea", "Villanueva"),
}


class BooksDoNotAddUp(RuntimeError):
    pass


@dataclass
class District:
    size: district.Size
    logins: dict[str, int]  # role -> user id
    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


PARTS = frozenset({"ledger", "chat", "teaching"})


def load(
    conn: psycopg.Connection,
    scale: float = 1.0,
    progress: Callable[[str], None] = print,
    parts: frozenset[str] = PARTS,
) -> District:
    """Fill an empty school database (`conn`: the owner or a superuser, autocommit). People,
    sections and enrollments always; of PARTS, those in `parts` (a benchmark that needs
    only some of them saves the time of the others)."""
    size = district.Size.at(scale)
    clock = [time.perf_counter()]
    seconds: dict[str, float] = {}

    def step(name: str) -> None:
        now = time.perf_counter()
        seconds[name] = now - clock[0]
        progress(f"  {name}: {seconds[name]:.1f} s")
        clock[0] = now

    logins = {
        role: people.create_person(
            conn,
            role=role,
            first_name=NAMES[role][0],
            last_name=NAMES[role][1],
            email=email,
            password=DISTRICT_PASSWORD,
            must_change=False,
        )
        for role, email in DISTRICT_LOGINS.items()
    }
    step("logins")
    with conn.transaction():
        district.years(conn)
        district.staff(conn, size)
        district.students(conn, size)
        step("people")
        district.sections(conn)
        step("sections")
        district.set_bulk_triggers(conn, enabled=False)
        conn.execute("SET LOCAL session_replication_role = replica")
        district.enrollments(conn)
        step("enrollments")
        if "ledger" in parts:
            district.ledger(conn, district.clerk_ids(conn))
            step("ledger")
        if "chat" in parts:
            district.chat(conn, size, logins)
            step("chat")
        conn.execute("SET LOCAL session_replication_role = origin")
        district.set_bulk_triggers(conn, enabled=True)
        if "teaching" in parts:
            district.teaching(conn, size)
            district.notices_and_guidance(conn, size, logins)
            step("teaching and notices")
    conn.execute("VACUUM ANALYZE")
    step("vacuum analyze")
    violations = ledger.invariant_violations(conn)
    step("invariants")
    if violations:
        raise BooksDoNotAddUp(f"{len(violations)} violations, e.g. {violations[:5]}")
    return District(size=size, logins=logins, seconds=seconds, rows=district.counts(conn))
