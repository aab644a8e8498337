"""Student records: search as you type, a student's page, create and edit.

A student is a users row with role Student plus their student_profiles row
(sql/schema/05_students.sql). Creating one makes no login: create_student reserves the
login's name only, and the login is made when an Admin first issues a temporary password.

Search matches every typed word anywhere in the lower-cased names, email and student number
(`student_profiles.search_text`), through school.search_students: common words are found
in the first rows by name; rare ones through pg_trgm's GIN index where the server has it,
else by a scan (the fallback, same SQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import psycopg
from psycopg.rows import class_row

from school_tui.db.errors import refusals


@dataclass(frozen=True)
class StudentHit:
    """One search result: enough to show a row and advance the student's status."""

    id: int
    student_number: str
    last_name: str
    first_name: str
    email: str
    grade_level: str | None
    section: str | None  # "Grade 7 - Rizal" in the current year
    enrollment_id: int | None  # the current year's enrollment
    status: str | None
    presence: str = "offline"  # 'online' | 'away' | 'offline' (online_status)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def _like_word(word: str) -> str:
    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_sql(words: list[str]) -> str:
    """The search query: school.search_students finds the ids (as the owner, so the trigram
    index can serve LIKE; see sql/schema/05_students.sql), the rows are read through row-level
    security. Parameters: the patterns (text[]) and the limit (search_params)."""
    return """
        SELECT f.user_id AS id, p.student_number, u.last_name, u.first_name, u.email,
               p.grade_level, sec.grade_level || ' - ' || sec.name AS section,
               e.id AS enrollment_id, e.current_status AS status,
               coalesce(o.status, 'offline') AS presence
        FROM school.search_students(%s::text[], %s) WITH ORDINALITY AS f(user_id, sort_name, n)
        JOIN school.student_profiles p ON p.user_id = f.user_id
        JOIN school.users u ON u.id = f.user_id
        LEFT JOIN LATERAL (
            SELECT e.id, e.current_status, e.section_id FROM school.enrollment_progress e
            WHERE e.student_id = f.user_id
              AND e.school_year_id = (SELECT id FROM school.school_years WHERE is_current)
        ) e ON true
        LEFT JOIN school.sections sec ON sec.id = e.section_id
        LEFT JOIN school.online_status o ON o.user_id = f.user_id
        ORDER BY f.n
    """


def search_params(text: str, limit: int) -> tuple[list[str], list[object]]:
    """The words of `text` (at most 8) and the parameters of search_sql for them."""
    words = text.split()[:8]
    return words, [[_like_word(w) for w in words], limit]


# A page of results: more than an 80x24 screen shows; typing more narrows the rest.
DEFAULT_LIMIT = 25


def search(conn: psycopg.Connection, text: str, *, limit: int = DEFAULT_LIMIT) -> list[StudentHit]:
    """Students whose names, email or student number contain every word of `text` (any
    case, partial words), by last name. Empty text: the first `limit` students."""
    words, params = search_params(text, limit)
    with conn.cursor(row_factory=class_row(StudentHit)) as cur:
        cur.execute(search_sql(words), params)
        return cur.fetchall()


EXPORT_COLUMNS = (
    "student_number",
    "last_name",
    "first_name",
    "email",
    "grade_level",
    "section",
    "status",
)


def every_match(conn: psycopg.Connection, text: str) -> psycopg.Cursor:
    """Every student `search` would find for `text` (not a page: all of them), by name, as
    EXPORT_COLUMNS rows. For exports: read through row-level security, without
    search_students' limit, so a scan (the trigram index cannot serve it; see search_sql)."""
    patterns = [_like_word(w) for w in text.split()[:8]]
    return conn.execute(
        """
        SELECT p.student_number, u.last_name, u.first_name, u.email, p.grade_level,
               sec.grade_level || ' - ' || sec.name, e.current_status
        FROM school.student_profiles p
        JOIN school.users u ON u.id = p.user_id
        LEFT JOIN school.enrollment_progress e ON e.student_id = p.user_id
              AND e.school_year_id = (SELECT id FROM school.school_years WHERE is_current)
        LEFT JOIN school.sections sec ON sec.id = e.section_id
        WHERE p.search_text LIKE ALL (%s::text[])
        ORDER BY p.sort_name, p.user_id
        """,
        (patterns,),
    )


def has_trigram_index(conn: psycopg.Connection) -> bool:
    return conn.execute(
        "SELECT to_regclass('school.student_profiles_search_trgm') IS NOT NULL"
    ).fetchone()[0]


@dataclass(frozen=True)
class StudentFields:
    """What the registrar types for a student (already checked by validate_student)."""

    first_name: str
    last_name: str
    email: str
    student_number: str
    grade_level: str | None = None
    birth_date: date | None = None
    guardian_name: str | None = None
    guardian_phone: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Profile:
    id: int
    first_name: str
    last_name: str
    email: str
    is_active: bool
    student_number: str | None
    grade_level: str | None
    birth_date: date | None
    guardian_name: str | None
    guardian_phone: str | None
    address: str | None
    school_year: str | None
    section_id: int | None
    section: str | None
    enrollment_id: int | None
    status: str | None
    remarks: str | None
    last_updated: datetime | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def fields(self) -> StudentFields:
        return StudentFields(
            self.first_name,
            self.last_name,
            self.email,
            self.student_number or "",
            self.grade_level,
            self.birth_date,
            self.guardian_name,
            self.guardian_phone,
            self.address,
        )


def get(conn: psycopg.Connection, student_id: int) -> Profile | None:
    """A student's details and their current year's enrollment (None: no such student, or
    one the caller may not see)."""
    with conn.cursor(row_factory=class_row(Profile)) as cur:
        cur.execute(
            """
            SELECT u.id, u.first_name, u.last_name, u.email, u.is_active,
                   p.student_number, p.grade_level, p.birth_date, p.guardian_name,
                   p.guardian_phone, p.address, y.name AS school_year, e.section_id,
                   sec.grade_level || ' - ' || sec.name AS section, e.id AS enrollment_id,
                   e.current_status AS status, e.remarks, e.last_updated
            FROM school.users u
            JOIN school.roles r ON r.id = u.role_id AND r.name = 'Student'
            LEFT JOIN school.student_profiles p ON p.user_id = u.id
            LEFT JOIN school.school_years y ON y.is_current
            LEFT JOIN school.enrollment_progress e
                   ON e.student_id = u.id AND e.school_year_id = y.id
            LEFT JOIN school.sections sec ON sec.id = e.section_id
            WHERE u.id = %s
            """,
            (student_id,),
        )
        return cur.fetchone()


profile = get


def create(
    conn: psycopg.Connection, fields: StudentFields, *, section_id: int | None = None
) -> int:
    """A new student (no login yet) with a Pending enrollment in the section's school year,
    else the current one. Returns their users.id."""
    f = fields
    with refusals():
        return conn.execute(
            "SELECT school.create_student(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                f.first_name,
                f.last_name,
                f.email,
                f.student_number,
                f.grade_level,
                f.birth_date,
                f.guardian_name,
                f.guardian_phone,
                f.address,
                section_id,
            ),
        ).fetchone()[0]


def update(conn: psycopg.Connection, student_id: int, fields: StudentFields) -> None:
    f = fields
    with refusals():
        conn.execute(
            "SELECT school.update_student(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                student_id,
                f.first_name,
                f.last_name,
                f.email,
                f.student_number,
                f.grade_level,
                f.birth_date,
                f.guardian_name,
                f.guardian_phone,
                f.address,
            ),
        )


def save(
    conn: psycopg.Connection,
    profile: Profile | None,
    fields: StudentFields,
    section_id: int | None,
) -> int:
    """The student form's save, in one transaction: a new student (profile None) in
    `section_id`, or `profile`'s student updated and put in `section_id` of the current
    year (None: out of their section). Refused naming the field; returns their users.id."""
    from school_tui.db import sections

    with conn.transaction():
        if profile is None:
            return create(conn, fields, section_id=section_id)
        update(conn, profile.id, fields)
        if section_id is not None and section_id != profile.section_id:
            sections.assign(conn, section_id, [profile.id])
        elif section_id is None and profile.section_id is not None:
            sections.unassign(conn, [profile.id])
        return profile.id


@dataclass(frozen=True)
class FeeSummary:
    fees: int
    billed: Decimal
    paid: Decimal
    balance: Decimal
    overdue: int


def fee_summary(conn: psycopg.Connection, student_id: int) -> FeeSummary:
    """Totals of the student's fees and payments (read-only; Accounting writes them)."""
    with conn.cursor(row_factory=class_row(FeeSummary)) as cur:
        cur.execute("SELECT * FROM school.student_fee_summary(%s)", (student_id,))
        return cur.fetchone()  # type: ignore[return-value]  # the function returns one row


@dataclass(frozen=True)
class HistoryEntry:
    enrollment_id: int
    school_year: str
    changed_at: datetime
    from_status: str | None
    to_status: str
    remark: str | None
    changed_by: str | None  # the person's name; None: the system (owner, a DBA)


def enrollment_history(conn: psycopg.Connection, student_id: int) -> list[HistoryEntry]:
    """Every status change of the student, in every school year, newest first."""
    with conn.cursor(row_factory=class_row(HistoryEntry)) as cur:
        cur.execute(
            """
            SELECT h.enrollment_id, y.name AS school_year, h.changed_at, h.from_status,
                   h.to_status, h.remark, b.first_name || ' ' || b.last_name AS changed_by
            FROM school.enrollment_history h
            JOIN school.enrollment_progress e ON e.id = h.enrollment_id
            JOIN school.school_years y ON y.id = e.school_year_id
            LEFT JOIN school.users b ON b.id = h.changed_by
            WHERE e.student_id = %s
            ORDER BY h.id DESC
            """,
            (student_id,),
        )
        return cur.fetchall()
