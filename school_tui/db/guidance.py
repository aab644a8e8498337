"""Guidance reports: confidential. Only Guidance and the Principal can read them (RLS)."""

from __future__ import annotations

import psycopg


def recent_reports(conn: psycopg.Connection, limit: int = 200) -> list[tuple]:
    return conn.execute(
        """
        SELECT g.report_date, s.last_name || ', ' || s.first_name,
               coalesce(c.last_name || ', ' || c.first_name, '—'), split_part(g.report, E'\\n', 1)
        FROM school.guidance_reports g
        JOIN school.users s ON s.id = g.student_id
        LEFT JOIN school.users c ON c.id = g.counselor_id
        ORDER BY g.report_date DESC, g.id DESC LIMIT %s
        """,
        (limit,),
    ).fetchall()


def students(conn: psycopg.Connection, limit: int = 500) -> list[tuple]:
    """Students with their current section, for counsellors choosing whom a report is about."""
    return conn.execute(
        """
        SELECT u.last_name || ', ' || u.first_name, u.email,
               coalesce(sec.grade_level || ' - ' || sec.name, '—'), coalesce(e.current_status, '—'),
               (SELECT count(*) FROM school.guidance_reports g WHERE g.student_id = u.id)
        FROM school.users u
        JOIN school.roles r ON r.id = u.role_id AND r.name = 'Student'
        LEFT JOIN school.enrollment_progress e ON e.student_id = u.id
             AND e.school_year_id = (SELECT id FROM school.school_years WHERE is_current)
        LEFT JOIN school.sections sec ON sec.id = e.section_id
        ORDER BY u.last_name, u.first_name, u.id LIMIT %s
        """,
        (limit,),
    ).fetchall()
