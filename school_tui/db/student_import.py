"""Importing students from a CSV: a preview that writes nothing, then one transaction.

preview() says for each row of a school_tui.domain.student_csv.ParsedFile whether it would add a
student, update one (its student number exists; with the fields the row changes) or be
rejected, and why. An update changes only what the row gives: a column the file lacks, or an
empty cell, leaves that field as it is. commit() writes:
in one transaction it COPYs the accepted rows into school.import_staging (INSERT only for
the Registrar and the Admin, each row stamped with the loader's login; COPY cannot go through
row-level security, so the table has none), then school.import_students() checks them again and
inserts/updates users, student_profiles and enrollments set-wise, and deletes the staged
rows. Any failure, at any point, rolls the whole transaction back: nothing is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from school_tui.db.errors import refusals
from school_tui.domain.student_csv import COLUMNS, ParsedFile, Row

Progress = Callable[[int, int], None]
CHUNK = 1000


@dataclass(frozen=True)
class PreviewRow:
    line: int
    action: str  # 'add' | 'update' | 'reject'
    student_number: str
    name: str
    reason: str | None = None
    # an update's fields that the file changes (CHANGE_LABELS' words); empty: none
    changes: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        """The reason of a rejected row; for an update, what it changes."""
        if self.reason:
            return self.reason
        if self.action == "update":
            return "changes " + ", ".join(self.changes) if self.changes else "no changes"
        return ""


@dataclass(frozen=True)
class ImportSummary:
    added: int
    updated: int
    rejected: int  # rows left out (only with skip_rejected)
    total: int


class ImportRejected(ValueError):
    """The file has rejected rows and the caller did not ask to skip them: nothing written."""

    def __init__(self, rows: list[PreviewRow]):
        first = rows[0]
        more = f" (and {len(rows) - 1} more rejected rows)" if len(rows) > 1 else ""
        super().__init__(f"line {first.line}: {first.reason}{more}; nothing was imported")
        self.rows = rows


# What an update may change, in the file's column order: a column the file lacks and an empty
# cell leave the field as it is (school.import_students keeps it).
CHANGE_LABELS = {
    "first_name": "first name",
    "last_name": "last name",
    "email": "email",
    "grade_level": "grade level",
    "section": "section",
    "birth_date": "birth date",
    "guardian_name": "guardian name",
    "guardian_phone": "guardian phone",
    "address": "address",
}


def _current_details(conn: psycopg.Connection, numbers: list[str]) -> dict[str, dict]:
    """The existing students of these numbers as the import compares them: student number ->
    {column: current text ('' for none)}, the section as "grade|name" in the current year."""
    rows = conn.execute(
        """
        SELECT p.student_number, u.first_name, u.last_name, u.email, p.grade_level,
               sec.grade_level || '|' || lower(sec.name), to_char(p.birth_date, 'YYYY-MM-DD'), p.guardian_name,
               p.guardian_phone, p.address
        FROM school.student_profiles p
        JOIN school.users u ON u.id = p.user_id
        LEFT JOIN school.enrollment_progress e ON e.student_id = p.user_id
              AND e.school_year_id = (SELECT id FROM school.school_years WHERE is_current)
        LEFT JOIN school.sections sec ON sec.id = e.section_id
        WHERE p.student_number = ANY(%s)
        """,
        (numbers,),
    ).fetchall()
    return {
        row[0]: dict(zip(CHANGE_LABELS, (v or "" for v in row[1:]), strict=True)) for row in rows
    }


def _changes(values: dict[str, str], current: dict[str, str]) -> tuple[str, ...]:
    changed = []
    for column, label in CHANGE_LABELS.items():
        new = values[column]
        if column == "section" and new:
            new = f"{values['grade_level']}|{new.lower()}"
        if new and new != current[column]:
            changed.append(label)
    return tuple(changed)


def _name(row: Row) -> str:
    return f"{row.values['first_name']} {row.values['last_name']}".strip()


def preview(conn: psycopg.Connection, parsed: ParsedFile) -> list[PreviewRow]:
    """What committing the file would do to each row. Reads only."""
    numbers = sorted(
        {r.values["student_number"] for r in parsed.rows if r.values["student_number"]}
    )
    emails = sorted({r.values["email"].lower() for r in parsed.rows if r.values["email"]})
    existing: dict[str, int] = dict(
        conn.execute(
            "SELECT student_number, user_id FROM school.student_profiles "
            "WHERE student_number = ANY(%s)",
            (numbers,),
        ).fetchall()
    )
    details = _current_details(conn, sorted(existing))
    email_owner: dict[str, int] = dict(
        conn.execute(
            "SELECT lower(email), id FROM school.users WHERE lower(email) = ANY(%s)", (emails,)
        ).fetchall()
    )
    sections = {
        (grade, name.lower())
        for grade, name in conn.execute(
            "SELECT grade_level, name FROM school.sections "
            "WHERE school_year_id = (SELECT id FROM school.school_years WHERE is_current)"
        )
    }
    first_number: dict[str, int] = {}
    first_email: dict[str, int] = {}
    result = []
    for row in parsed.rows:
        v = row.values
        number, email = v["student_number"], v["email"].lower()
        reason = row.problem
        if reason is None and number in first_number:
            reason = f"student number: duplicate of line {first_number[number]} in this file"
        if reason is None and email in first_email:
            reason = f"email: duplicate of line {first_email[email]} in this file"
        student = existing.get(number)
        if reason is None and email in email_owner and email_owner[email] != student:
            reason = "email: already used by another person"
        if (
            reason is None
            and v["section"]
            and (v["grade_level"], v["section"].lower()) not in sections
        ):
            reason = (
                f"section: unknown section {v['section']!r} in {v['grade_level']} this school year"
            )
        if number:
            first_number.setdefault(number, row.line)
        if email:
            first_email.setdefault(email, row.line)
        action = "reject" if reason else ("update" if student is not None else "add")
        changes = _changes(v, details[number]) if action == "update" else ()
        result.append(PreviewRow(row.line, action, number, _name(row), reason, changes))
    return result


def commit(
    conn: psycopg.Connection,
    parsed: ParsedFile,
    progress: Progress | None = None,
    *,
    skip_rejected: bool = False,
    checked: list[PreviewRow] | None = None,
    writing: Callable[[int], object] | None = None,
) -> ImportSummary:
    """Write the file's students in one transaction, all or nothing.

    A file with rejected rows raises ImportRejected (nothing written) unless `skip_rejected`,
    which imports the other rows. `progress(done, total)` is called as rows are sent and once
    more when the database has written them. `writing(total)` is called when every row is
    sent and the database starts checking and writing them (the longest step, with no
    progress of its own). `checked`: the preview just shown for this file (else it is made
    again here); the database checks every row again either way.
    """
    progress = progress or (lambda done, total: None)
    with refusals(), conn.transaction():
        if checked is None:
            checked = preview(conn, parsed)
        rejected = [p for p in checked if p.action == "reject"]
        if rejected and not skip_rejected:
            raise ImportRejected(rejected)
        accepted_lines = {p.line for p in checked if p.action != "reject"}
        rows = [r for r in parsed.rows if r.line in accepted_lines]
        total = len(rows)
        progress(0, total)
        batch = uuid.uuid4()
        columns = ", ".join(COLUMNS)
        with conn.cursor() as cur:
            with cur.copy(
                f"COPY school.import_staging (batch, line, {columns}) FROM STDIN"  # noqa: S608
            ) as copy:
                for done, row in enumerate(rows, start=1):
                    copy.write_row((batch, row.line, *(row.values[c] or None for c in COLUMNS)))
                    if done % CHUNK == 0:
                        progress(done, total)
            progress(total, total)
            if writing is not None:
                writing(total)
            added, updated = conn.execute(  # type: ignore[misc]  # one row
                "SELECT added, updated FROM school.import_students(%s)", (batch,)
            ).fetchone()
        progress(total, total)
    return ImportSummary(added, updated, len(rejected), len(parsed.rows))
