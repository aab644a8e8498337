"""Sections: list, create, edit; a section's roster; assigning and moving students.

The capacity rule lives in the database (enrollment_check in sql/schema/06_enrollment.sql): it locks
the section row and counts who is in it, so two registrars filling the last seat at once
cannot both succeed; the refusal reads "section: Grade 7 - Rizal is full (45 of 45 seats
taken)". Assigning many students is one statement: all of them or none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row

from school_tui.db.errors import Refused, field_named, refusals
from school_tui.domain.school import GRADE_LEVELS


@dataclass(frozen=True)
class Section:
    id: int
    name: str
    grade_level: str
    school_year_id: int
    school_year: str
    adviser_id: int | None
    adviser: str | None
    capacity: int | None
    students: int  # not withdrawn

    @property
    def label(self) -> str:
        return f"{self.grade_level} - {self.name}"


def list_sections(
    conn: psycopg.Connection, *, year_id: int | None = None, grade_level: str | None = None
) -> list[Section]:
    """Sections of a school year (default the current one), by grade then name."""
    with conn.cursor(row_factory=class_row(Section)) as cur:
        cur.execute(
            """
            SELECT sec.id, sec.name, sec.grade_level, sec.school_year_id, y.name AS school_year,
                   sec.adviser_id, a.last_name || ', ' || a.first_name AS adviser, sec.capacity,
                   (SELECT count(*) FROM school.enrollment_progress e
                     WHERE e.section_id = sec.id AND e.current_status <> 'Withdrawn')::int
                     AS students
            FROM school.sections sec
            JOIN school.school_years y ON y.id = sec.school_year_id
            LEFT JOIN school.users a ON a.id = sec.adviser_id
            WHERE sec.school_year_id = coalesce(%s, (SELECT id FROM school.school_years
                                                     WHERE is_current))
              AND (%s::text IS NULL OR sec.grade_level = %s)
            ORDER BY array_position(%s::text[], sec.grade_level), sec.name
            """,
            (year_id, grade_level, grade_level, list(GRADE_LEVELS)),
        )
        return cur.fetchall()


def get_section(conn: psycopg.Connection, section_id: int) -> Section | None:
    for section in list_sections_by_ids(conn, [section_id]):
        return section
    return None


def list_sections_by_ids(conn: psycopg.Connection, ids: list[int]) -> list[Section]:
    with conn.cursor(row_factory=class_row(Section)) as cur:
        cur.execute(
            """
            SELECT sec.id, sec.name, sec.grade_level, sec.school_year_id, y.name AS school_year,
                   sec.adviser_id, a.last_name || ', ' || a.first_name AS adviser, sec.capacity,
                   (SELECT count(*) FROM school.enrollment_progress e
                     WHERE e.section_id = sec.id AND e.current_status <> 'Withdrawn')::int
                     AS students
            FROM school.sections sec
            JOIN school.school_years y ON y.id = sec.school_year_id
            LEFT JOIN school.users a ON a.id = sec.adviser_id
            WHERE sec.id = ANY(%s) ORDER BY sec.id
            """,
            (ids,),
        )
        return cur.fetchall()


def validate_section(name: str, grade_level: str, capacity: object) -> str | None:
    """The first broken rule as "field: rule", else None (the database checks again)."""
    if not name.strip():
        return "name: required"
    if len(name.strip()) > 100:
        return "name: at most 100 characters"
    if grade_level not in GRADE_LEVELS:
        return "grade level: must be Kindergarten or Grade 1 to Grade 12"
    if capacity is not None:
        try:
            seats = int(str(capacity).strip())
        except ValueError:
            return "capacity: a whole number from 1 to 200"
        if not 1 <= seats <= 200:
            return "capacity: a whole number from 1 to 200"
    return None


# A refusal by a constraint rather than a function's message: the part of its name -> field.
_CONSTRAINT_FIELDS = {
    "grade_level_name": "name",  # unique (school year, grade, name)
    "_key": "name",
    "capacity": "capacity",
    "name": "name",
}
_DUPLICATE = "name: this grade already has a section of that name this school year"


@contextlib.contextmanager
def _section_refusals() -> Iterator[None]:
    try:
        with refusals(_CONSTRAINT_FIELDS):
            yield
    except Refused as exc:
        if "duplicate key" in exc.message and "sections" in exc.message:
            raise Refused("name", _DUPLICATE, constraint=exc.constraint) from exc
        raise


def _check(name: str, grade_level: str, capacity: object) -> None:
    problem = validate_section(name, grade_level, capacity)
    if problem:
        raise Refused(field_named(problem), problem)


def create_section(
    conn: psycopg.Connection,
    *,
    name: str,
    grade_level: str,
    school_year_id: int,
    adviser_id: int | None = None,
    capacity: int | None = None,
) -> int:
    """A new section; Refused naming the field when a rule is broken."""
    _check(name, grade_level, capacity)
    with _section_refusals():
        return conn.execute(
            "INSERT INTO school.sections (name, grade_level, school_year_id, adviser_id, "
            "capacity) VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (name.strip(), grade_level, school_year_id, adviser_id, capacity),
        ).fetchone()[0]


def update_section(
    conn: psycopg.Connection,
    section_id: int,
    *,
    name: str,
    grade_level: str,
    adviser_id: int | None,
    capacity: int | None,
) -> None:
    """Rename, regrade, change adviser or capacity (never below the students in it)."""
    _check(name, grade_level, capacity)
    with _section_refusals():
        conn.execute(
            "UPDATE school.sections SET name = %s, grade_level = %s, adviser_id = %s, "
            "capacity = %s WHERE id = %s",
            (name.strip(), grade_level, adviser_id, capacity, section_id),
        )


def delete_section(conn: psycopg.Connection, section_id: int) -> None:
    """Delete an empty section. One that still holds students, subjects, modules, tasks or
    meetings is refused as "section: ... still holds 30 student(s), 6 subject(s) ..."
    (sections_delete_if_empty, sql/schema/03_sections.sql): nothing of another role's goes
    with it."""
    with refusals():
        deleted = conn.execute("SELECT school.delete_section(%s)", (section_id,)).fetchone()
        if not deleted or not deleted[0]:
            raise Refused("section", "section: it no longer exists")


def advisers(conn: psycopg.Connection) -> list[tuple[int, str]]:
    """Active teachers who may advise a section: (id, "Last, First")."""
    return conn.execute(
        """
        SELECT u.id, u.last_name || ', ' || u.first_name
        FROM school.users u JOIN school.roles r ON r.id = u.role_id
        WHERE r.name = 'Teacher' AND u.is_active
        ORDER BY u.last_name, u.first_name, u.id
        """
    ).fetchall()


ROSTER_COLUMNS = ("Student no.", "Student", "Email", "Status")


def roster(conn: psycopg.Connection, section_id: int) -> list[tuple]:
    """The section's students (withdrawn ones last): student id first, then ROSTER_COLUMNS,
    then their presence ('online' | 'away' | 'offline')."""
    return conn.execute(
        """
        SELECT e.student_id, p.student_number, u.last_name || ', ' || u.first_name, u.email,
               e.current_status, coalesce(o.status, 'offline')
        FROM school.enrollment_progress e
        JOIN school.users u ON u.id = e.student_id
        LEFT JOIN school.student_profiles p ON p.user_id = e.student_id
        LEFT JOIN school.online_status o ON o.user_id = e.student_id
        WHERE e.section_id = %s
        ORDER BY e.current_status = 'Withdrawn', u.last_name, u.first_name, u.id
        """,
        (section_id,),
    ).fetchall()


def assign(conn: psycopg.Connection, section_id: int, student_ids: list[int]) -> int:
    """Put the students in the section (moving them from any other of that school year),
    all or none; a student with no enrollment that year gets one (Pending). Refused with
    "section: ... is full" when the seats run out. Returns how many changed."""
    if (
        conn.execute("SELECT 1 FROM school.sections WHERE id = %s", (section_id,)).fetchone()
        is None
    ):
        raise LookupError(f"section: section {section_id} does not exist")
    with refusals():
        return _assign(conn, section_id, student_ids)


def _assign(conn: psycopg.Connection, section_id: int, student_ids: list[int]) -> int:
    return conn.execute(
        """
        WITH target AS (SELECT id, school_year_id FROM school.sections WHERE id = %s),
        moved AS (
            INSERT INTO school.enrollment_progress AS e (student_id, school_year_id, section_id)
            SELECT s.id, t.school_year_id, t.id
            FROM unnest(%s::int[]) WITH ORDINALITY AS s(id, n), target t
            ORDER BY s.n
            ON CONFLICT (student_id, school_year_id) DO UPDATE SET section_id = EXCLUDED.section_id
            WHERE e.section_id IS DISTINCT FROM EXCLUDED.section_id
            RETURNING 1)
        SELECT count(*) FROM moved
        """,
        (section_id, list(student_ids)),
    ).fetchone()[0]


move = assign


def unassign(conn: psycopg.Connection, student_ids: list[int], *, year_id: int | None = None):
    """Take the students out of their section of the year (default the current one)."""
    with refusals():
        return conn.execute(
            """
            UPDATE school.enrollment_progress SET section_id = NULL
            WHERE student_id = ANY(%s) AND section_id IS NOT NULL
              AND school_year_id = coalesce(%s, (SELECT id FROM school.school_years
                                                  WHERE is_current))
            """,
            (list(student_ids), year_id),
        ).rowcount
