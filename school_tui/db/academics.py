"""Sections, subjects, modules, tasks and meetings. Row-level security decides whose rows
each caller sees: a teacher their own, a student their sections', overseers all."""

from __future__ import annotations

import psycopg


def sections_overview(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        """
        SELECT sec.grade_level, sec.name, coalesce(a.last_name || ', ' || a.first_name, '—'),
               (SELECT count(*) FROM school.enrollment_progress e
                 WHERE e.section_id = sec.id AND e.current_status <> 'Withdrawn'),
               sec.capacity
        FROM school.sections sec
        LEFT JOIN school.users a ON a.id = sec.adviser_id
        WHERE sec.school_year_id = (SELECT id FROM school.school_years WHERE is_current)
        ORDER BY substring(sec.grade_level from '[0-9]+')::int NULLS FIRST, sec.name
        """
    ).fetchall()


def subjects(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        """
        SELECT sec.grade_level, sec.name, sub.name, sub.description
        FROM school.subjects sub JOIN school.sections sec ON sec.id = sub.section_id
        ORDER BY substring(sec.grade_level from '[0-9]+')::int NULLS FIRST, sec.name, sub.name
        """
    ).fetchall()


def tasks(conn: psycopg.Connection, limit: int = 300) -> list[tuple]:
    return conn.execute(
        """
        SELECT t.due_date, t.task_type, t.title, sec.grade_level || ' - ' || sec.name,
               u.last_name || ', ' || u.first_name
        FROM school.tasks t
        JOIN school.sections sec ON sec.id = t.section_id
        JOIN school.users u ON u.id = t.teacher_id
        ORDER BY t.due_date NULLS LAST, t.id LIMIT %s
        """,
        (limit,),
    ).fetchall()


def modules(conn: psycopg.Connection, limit: int = 300) -> list[tuple]:
    return conn.execute(
        """
        SELECT m.uploaded_at, m.title, sec.grade_level || ' - ' || sec.name,
               u.last_name || ', ' || u.first_name, m.file_url
        FROM school.modules m
        JOIN school.sections sec ON sec.id = m.section_id
        JOIN school.users u ON u.id = m.teacher_id
        ORDER BY m.uploaded_at DESC, m.id DESC LIMIT %s
        """,
        (limit,),
    ).fetchall()


def meetings(conn: psycopg.Connection, limit: int = 300) -> list[tuple]:
    return conn.execute(
        """
        SELECT m.scheduled_at, m.title, coalesce(sec.grade_level || ' - ' || sec.name, 'all'),
               m.meeting_link
        FROM school.meetings m LEFT JOIN school.sections sec ON sec.id = m.section_id
        ORDER BY m.scheduled_at, m.id LIMIT %s
        """,
        (limit,),
    ).fetchall()


def work_per_section(conn: psycopg.Connection) -> list[tuple]:
    """Tasks and modules per section: what the principal and coordinator monitor."""
    return conn.execute(
        """
        SELECT sec.grade_level, sec.name,
               (SELECT count(*) FROM school.tasks t WHERE t.section_id = sec.id),
               (SELECT count(*) FROM school.modules m WHERE m.section_id = sec.id),
               (SELECT count(*) FROM school.subjects s WHERE s.section_id = sec.id)
        FROM school.sections sec
        WHERE sec.school_year_id = (SELECT id FROM school.school_years WHERE is_current)
        ORDER BY substring(sec.grade_level from '[0-9]+')::int NULLS FIRST, sec.name
        """
    ).fetchall()
