"""The audit trail (sql/schema/01_audit.sql): browse, one entry, CSV export.

Readable by the Admin and the Principal only (the database refuses everyone else). Pages are
keyset-paginated by id, newest first: `page(conn, f, before=<last id shown>)`, never OFFSET,
so the next page costs the same however deep one goes and entries written meanwhile do not
shift what comes next.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import set_json_loads

PAGE_SIZE = 100
_JSON_LOADS = functools.partial(json.loads, parse_float=Decimal)


@dataclass(frozen=True)
class AuditFilter:
    """What to show; empty fields do not filter. Dates are whole local days, both included."""

    person: str = ""  # part of an email, a name ("Ada Reyes" or "Reyes, Ada") or a login role
    table: str = ""  # exact table name
    row_id: int | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class EntrySummary:
    """One line of the list."""

    id: int
    logged_at: datetime
    person: str  # "Last, First" of the person, else the login role (the DBA, the owner)
    table_name: str
    row_id: int | None
    action: str


@dataclass(frozen=True)
class Entry:
    id: int
    logged_at: datetime
    login_role: str
    person_id: int | None
    person: str | None  # "First Last" when the login is a person's
    email: str | None
    table_name: str
    row_id: int | None
    action: str
    old_values: dict | None
    new_values: dict | None
    client_addr: str | None
    application_name: str | None
    txid: int

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, old, new) for every field the entry names (in jsonb's key order: shorter
        names first). A side without the field (INSERT's old, DELETE's new) is `MISSING`.
        Numbers are Decimal: money stays exact."""
        old = self.old_values or {}
        new = self.new_values or {}
        fields = list(old) + [k for k in new if k not in old]
        return [(f, old.get(f, MISSING), new.get(f, MISSING)) for f in fields]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _day_start(day: date) -> datetime:
    """Midnight at the start of `day` in this machine's timezone (as times are shown)."""
    return datetime.combine(day, time.min).astimezone()


def _where(f: AuditFilter) -> tuple[sql.Composable, dict]:
    clauses: list[sql.Composable] = []
    params: dict[str, object] = {}
    if f.person.strip():
        params["person"] = _like(f.person.strip())
        clauses.append(
            sql.SQL(
                "(a.person_id IN (SELECT u.id FROM school.users u"
                " WHERE u.email ILIKE %(person)s"
                " OR u.first_name || ' ' || u.last_name ILIKE %(person)s"
                " OR u.last_name || ', ' || u.first_name ILIKE %(person)s)"
                " OR a.login_role ILIKE %(person)s)"
            )
        )
    if f.table:
        params["table"] = f.table
        clauses.append(sql.SQL("a.table_name = %(table)s"))
    if f.row_id is not None:
        params["row_id"] = f.row_id
        clauses.append(sql.SQL("a.row_id = %(row_id)s"))
    if f.since is not None:
        params["since"] = _day_start(f.since)
        clauses.append(sql.SQL("a.logged_at >= %(since)s"))
    if f.until is not None:
        params["until"] = _day_start(f.until + timedelta(days=1))
        clauses.append(sql.SQL("a.logged_at < %(until)s"))
    if not clauses:
        return sql.SQL("true"), params
    return sql.SQL(" AND ").join(clauses), params


def page(
    conn: psycopg.Connection,
    f: AuditFilter,
    *,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[EntrySummary], bool]:
    """Up to `limit` entries older than entry `before` (newest first), and whether more follow."""
    where, params = _where(f)
    if before is not None:
        where = sql.SQL("{} AND a.id < %(before)s").format(where)
        params["before"] = before
    params["limit"] = limit + 1
    query = sql.SQL(
        """
        SELECT a.id, a.logged_at,
               coalesce(u.last_name || ', ' || u.first_name, a.login_role) AS person,
               a.table_name, a.row_id, a.action
        FROM school.audit_log a
        LEFT JOIN school.users u ON u.id = a.person_id
        WHERE {}
        ORDER BY a.id DESC
        LIMIT %(limit)s
        """
    ).format(where)
    with conn.cursor(row_factory=class_row(EntrySummary)) as cur:
        rows = cur.execute(query, params).fetchall()
    return rows[:limit], len(rows) > limit


_ENTRY_COLUMNS = sql.SQL(
    """
    a.id, a.logged_at, a.login_role, a.person_id,
    u.first_name || ' ' || u.last_name AS person, u.email,
    a.table_name, a.row_id, a.action, a.old_values, a.new_values,
    host(a.client_addr) AS client_addr, a.application_name, a.txid
    """
)


def entry(conn: psycopg.Connection, entry_id: int) -> Entry | None:
    query = sql.SQL(
        "SELECT {} FROM school.audit_log a LEFT JOIN school.users u ON u.id = a.person_id "
        "WHERE a.id = %s"
    ).format(_ENTRY_COLUMNS)
    with conn.cursor(row_factory=class_row(Entry)) as cur:
        set_json_loads(_JSON_LOADS, cur)
        return cur.execute(query, (entry_id,)).fetchone()


def entries(conn: psycopg.Connection, f: AuditFilter) -> Iterator[tuple]:
    """Every entry the filter matches as CSV_HEADER's tuple (the values as the server writes
    them: jsonb as its text), newest first, streamed row by row (single-row mode): an export
    of millions of entries holds one in memory at a time."""
    where, params = _where(f)
    query = sql.SQL(
        """
        SELECT a.id, a.logged_at, a.login_role, a.person_id,
               u.first_name || ' ' || u.last_name, u.email,
               a.table_name, a.row_id, a.action, a.old_values::text, a.new_values::text,
               host(a.client_addr), a.application_name, a.txid
        FROM school.audit_log a LEFT JOIN school.users u ON u.id = a.person_id
        WHERE {} ORDER BY a.id DESC
        """
    ).format(where)
    with conn.cursor() as cur:
        yield from cur.stream(query, params)


def audited_tables(conn: psycopg.Connection) -> list[str]:
    """The school's tables under audit (those with the `audit` trigger), by name."""
    rows = conn.execute(
        """
        SELECT c.relname FROM pg_catalog.pg_trigger t
        JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'school'::regnamespace AND t.tgname = 'audit'
        ORDER BY c.relname
        """
    ).fetchall()
    return [row[0] for row in rows]


CSV_HEADER = (
    "id",
    "logged_at",
    "login_role",
    "person_id",
    "person",
    "email",
    "table",
    "row_id",
    "action",
    "old_values",
    "new_values",
    "client_addr",
    "application_name",
    "txid",
)


def export_csv(conn: psycopg.Connection, f: AuditFilter, path: Path) -> int:
    """Write every entry the filter matches to a new file at `path` (never overwrites: an
    existing file is an error). Returns the number of entries written. A failed export
    removes its partial file. Cells are written by csv_export.write_csv, which defuses what a
    spreadsheet would run as a formula: names, titles and application names are anyone's
    text."""
    from school_tui.output.csv_files import write_csv

    return write_csv(Path(path), CSV_HEADER, entries(conn, f))
