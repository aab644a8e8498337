"""Guidance reports: confidential. Only Guidance and the Principal see them (RLS), and the
text itself is no column they may SELECT: `read_report` goes through the database functions
that first record the read in the audit trail (sql/schema/01_audit.sql, 09_guidance.sql)."""

from __future__ import annotations

import psycopg


def recent_reports(conn: psycopg.Connection, limit: int = 200) -> list[tuple]:
    """(report id, date, student, counselor), newest first. Never the text: listing is not
    reading."""
    return conn.execute(
        """
        SELECT g.id, g.report_date, s.last_name || ', ' || s.first_name,
               coalesce(c.last_name || ', ' || c.first_name, '—')
        FROM school.guidance_reports g
        JOIN school.users s ON s.id = g.student_id
        LEFT JOIN school.users c ON c.id = g.counselor_id
        ORDER BY g.report_date DESC, g.id DESC LIMIT %s
        """,
        (limit,),
    ).fetchall()


def read_report(conn: psycopg.Connection, report_id: int) -> str:
    """The report's text, after its READ entry in the audit trail has committed.

    Two statements on purpose: open_guidance_report writes the entry and commits (its own
    transaction); only then does read_guidance_report hand out the text, so no rollback can
    take the record of a read back. On a connection inside a transaction of the caller's the
    open cannot commit and the read is refused: use an autocommit connection (the pool's are).
    """
    with conn.transaction():
        conn.execute("SELECT school.open_guidance_report(%s)", (report_id,))
    return conn.execute("SELECT school.read_guidance_report(%s)", (report_id,)).fetchone()[0]


def students(conn: psycopg.Connection, limit: int = 500) -> list[tuple]:
    """Students with their current section, for counsellors choosing whom a report is about:
    (id, presence, name, email, section, enrollment status, reports)."""
    return conn.execute(
        """
        SELECT u.id, coalesce(o.status, 'offline'), u.last_name || ', ' || u.first_name, u.email,
               coalesce(sec.grade_level || ' - ' || sec.name, '—'), coalesce(e.current_status, '—'),
               (SELECT count(*) FROM school.guidance_reports g WHERE g.student_id = u.id)
        FROM school.users u
        JOIN school.roles r ON r.id = u.role_id AND r.name = 'Student'
        LEFT JOIN school.enrollment_progress e ON e.student_id = u.id
             AND e.school_year_id = (SELECT id FROM school.school_years WHERE is_current)
        LEFT JOIN school.sections sec ON sec.id = e.section_id
        LEFT JOIN school.online_status o ON o.user_id = u.id
        ORDER BY u.last_name, u.first_name, u.id LIMIT %s
        """,
        (limit,),
    ).fetchall()
