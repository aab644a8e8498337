"""Enrollment progress per school year (the registrar writes it; see sql/schema.sql)."""

from __future__ import annotations

import psycopg

STATUS_ORDER = ("Pending", "Verified", "Payment Complete", "Enrolled", "Withdrawn")


def status_counts(conn: psycopg.Connection) -> list[tuple]:
    """Students per status in the current school year, in pipeline order (zeros included)."""
    return conn.execute(
        """
        SELECT s.status, count(e.id)
        FROM unnest(%s::text[]) WITH ORDINALITY AS s(status, position)
        LEFT JOIN school.enrollment_progress e ON e.current_status = s.status
             AND e.school_year_id = (SELECT id FROM school.school_years WHERE is_current)
        GROUP BY s.status, s.position ORDER BY s.position
        """,
        (list(STATUS_ORDER),),
    ).fetchall()


def recent_changes(conn: psycopg.Connection, limit: int = 200) -> list[tuple]:
    return conn.execute(
        """
        SELECT e.last_updated, u.last_name || ', ' || u.first_name, sec.grade_level, sec.name,
               e.current_status
        FROM school.enrollment_progress e
        JOIN school.users u ON u.id = e.student_id
        LEFT JOIN school.sections sec ON sec.id = e.section_id
        ORDER BY e.last_updated DESC, e.id DESC LIMIT %s
        """,
        (limit,),
    ).fetchall()


def my_enrollment(conn: psycopg.Connection) -> list[tuple]:
    """The calling student's own enrollment rows, newest school year first."""
    return conn.execute(
        """
        SELECT y.name, coalesce(sec.grade_level || ' - ' || sec.name, 'not yet assigned'),
               e.current_status, e.last_updated, e.remarks
        FROM school.enrollment_progress e
        JOIN school.school_years y ON y.id = e.school_year_id
        LEFT JOIN school.sections sec ON sec.id = e.section_id
        WHERE e.student_id = school.me()
        ORDER BY y.starts_on DESC
        """
    ).fetchall()
