"""Plain inserts the demo loader uses (run on the owner's connection, inside its transaction)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import psycopg


def _insert(conn: psycopg.Connection, query: str, params: tuple) -> int:
    return conn.execute(query, params).fetchone()[0]


def people_count(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM school.users").fetchone()[0]


def add_school_year(conn, name: str, starts_on: date, ends_on: date) -> int:
    return _insert(
        conn,
        "INSERT INTO school.school_years (name, starts_on, ends_on, is_current) "
        "VALUES (%s, %s, %s, true) RETURNING id",
        (name, starts_on, ends_on),
    )


def add_section(conn, name: str, grade: str, year_id: int, adviser_id: int, capacity: int) -> int:
    return _insert(
        conn,
        "INSERT INTO school.sections (name, grade_level, school_year_id, "
        "adviser_id, capacity) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (name, grade, year_id, adviser_id, capacity),
    )


def add_subject(conn, section_id: int, name: str, description: str) -> int:
    return _insert(
        conn,
        "INSERT INTO school.subjects (section_id, name, description) "
        "VALUES (%s, %s, %s) RETURNING id",
        (section_id, name, description),
    )


def add_enrollment(conn, student_id, year_id, section_id, status, updated: datetime) -> int:
    return _insert(
        conn,
        "INSERT INTO school.enrollment_progress (student_id, school_year_id, "
        "section_id, current_status, last_updated) VALUES (%s, %s, %s, %s, %s) "
        "RETURNING id",
        (student_id, year_id, section_id, status, updated),
    )


def add_fee(conn, student_id, fee_type, amount: Decimal, due: datetime, status: str) -> int:
    return _insert(
        conn,
        "INSERT INTO school.fees (student_id, fee_type, amount, due_date, status) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (student_id, fee_type, amount, due, status),
    )


def add_payment(conn, fee_id, amount: Decimal, method, paid_at: datetime, recorded_by) -> int:
    return _insert(
        conn,
        "INSERT INTO school.payments (fee_id, amount_paid, payment_method, "
        "payment_date, recorded_by) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (fee_id, amount, method, paid_at, recorded_by),
    )


def add_task(
    conn, teacher_id, section_id, title, description, task_type, timer, due, created
) -> int:
    return _insert(
        conn,
        "INSERT INTO school.tasks (teacher_id, section_id, title, description, "
        "task_type, timer_minutes, due_date, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (teacher_id, section_id, title, description, task_type, timer, due, created),
    )


def add_module(conn, teacher_id, section_id, title, description, url, uploaded) -> int:
    return _insert(
        conn,
        "INSERT INTO school.modules (teacher_id, section_id, title, description, "
        "file_url, uploaded_at) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (teacher_id, section_id, title, description, url, uploaded),
    )


def add_meeting(conn, host_id, section_id, title, link, scheduled, created) -> int:
    return _insert(
        conn,
        "INSERT INTO school.meetings (host_id, section_id, title, meeting_link, "
        "scheduled_at, created_at) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (host_id, section_id, title, link, scheduled, created),
    )


def add_message(conn, sender_id, receiver_id, text, sent_at: datetime, is_read: bool) -> int:
    return _insert(
        conn,
        "INSERT INTO school.messages (sender_id, receiver_id, message, sent_at, "
        "is_read) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (sender_id, receiver_id, text, sent_at, is_read),
    )


def add_announcement(conn, title, content, posted_by, created: datetime) -> int:
    return _insert(
        conn,
        "INSERT INTO school.announcements (title, content, posted_by, created_at) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        (title, content, posted_by, created),
    )


def add_event(conn, title, description, start: datetime, end: datetime, created_by) -> int:
    return _insert(
        conn,
        "INSERT INTO school.events (title, description, start_date, end_date, "
        "created_by) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (title, description, start, end, created_by),
    )


def add_guidance_report(conn, student_id, counselor_id, report, when: datetime) -> int:
    return _insert(
        conn,
        "INSERT INTO school.guidance_reports (student_id, counselor_id, report, "
        "report_date) VALUES (%s, %s, %s, %s) RETURNING id",
        (student_id, counselor_id, report, when),
    )


def add_student_profile(
    conn, user_id, number: str, grade: str, born: date, guardian: str, phone: str, address: str
) -> int:
    return _insert(
        conn,
        "INSERT INTO school.student_profiles (user_id, student_number, grade_level, birth_date, "
        "guardian_name, guardian_phone, address) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "RETURNING user_id",
        (user_id, number, grade, born, guardian, phone, address),
    )
