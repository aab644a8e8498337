"""Reads the registrar's screens and the student's enrollment tab need beyond db.enrollment,
db.sections and db.students (those are the domain's API; this module only reads, through
the same grants and row-level security).

- `board_rows`: the live board's keyed update. Given the ids a notification named, the ones
  that now belong to the column shown (status, current school year, grade, section), in
  board_list's row shape; an id not returned is no longer in the column. One query per
  batch of notifications, whatever its size.
- `school_years`: for the section form.
- `my_enrollment_now` / `my_history`: the calling student's current enrollment and every
  status change of theirs (the database shows a student only their own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row


def board_rows(
    conn: psycopg.Connection,
    ids: list[int],
    status: str,
    *,
    grade_level: str | None = None,
    section_id: int | None = None,
) -> list[tuple]:
    """Of the enrollments `ids`, those at `status` in the current school year (and grade,
    section): rows as db.enrollment.board_list returns them (enrollment id first)."""
    return conn.execute(
        """
        SELECT e.id, p.student_number, u.last_name || ', ' || u.first_name,
               coalesce(sec.grade_level, p.grade_level), sec.name, e.current_status,
               e.last_updated, e.remarks, e.student_id, coalesce(o.status, 'offline')
        FROM school.enrollment_progress e
        JOIN school.users u ON u.id = e.student_id
        LEFT JOIN school.student_profiles p ON p.user_id = e.student_id
        LEFT JOIN school.sections sec ON sec.id = e.section_id
        LEFT JOIN school.online_status o ON o.user_id = e.student_id
        WHERE e.id = ANY(%s) AND e.current_status = %s
          AND e.school_year_id = (SELECT id FROM school.school_years WHERE is_current)
          AND (%s::text IS NULL OR coalesce(sec.grade_level, p.grade_level) = %s)
          AND (%s::int IS NULL OR e.section_id = %s)
        ORDER BY e.id
        """,
        (list(ids), status, grade_level, grade_level, section_id, section_id),
    ).fetchall()


def school_years(conn: psycopg.Connection) -> list[tuple[int, str, bool]]:
    """(id, name, is_current), newest first."""
    return conn.execute(
        "SELECT id, name, is_current FROM school.school_years ORDER BY starts_on DESC"
    ).fetchall()


@dataclass(frozen=True)
class MyEnrollment:
    id: int
    school_year: str
    section: str | None  # "Grade 7 - Rizal"; None until assigned
    status: str
    remarks: str | None
    last_updated: datetime


def my_enrollment_now(conn: psycopg.Connection) -> MyEnrollment | None:
    """The calling student's enrollment in the current school year (else their latest)."""
    with conn.cursor(row_factory=class_row(MyEnrollment)) as cur:
        cur.execute(
            """
            SELECT e.id, y.name AS school_year, sec.grade_level || ' - ' || sec.name AS section,
                   e.current_status AS status, e.remarks, e.last_updated
            FROM school.enrollment_progress e
            JOIN school.school_years y ON y.id = e.school_year_id
            LEFT JOIN school.sections sec ON sec.id = e.section_id
            WHERE e.student_id = school.me()
            ORDER BY y.is_current DESC, y.starts_on DESC LIMIT 1
            """
        )
        return cur.fetchone()


def my_history(conn: psycopg.Connection, limit: int = 200) -> list[tuple]:
    """The calling student's status changes, newest first: (when, school year, from, to,
    remark)."""
    return conn.execute(
        """
        SELECT h.changed_at, y.name, h.from_status, h.to_status, h.remark
        FROM school.enrollment_history h
        JOIN school.enrollment_progress e ON e.id = h.enrollment_id
        JOIN school.school_years y ON y.id = e.school_year_id
        WHERE e.student_id = school.me()
        ORDER BY h.id DESC LIMIT %s
        """,
        (limit,),
    ).fetchall()
