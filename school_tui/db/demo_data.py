"""Plain inserts the demo loader uses (run on the owner's connection, inside its transaction)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg


def _insert(conn: psycopg.Connection, query: str, params: tuple | dict[str, Any]) -> Any:
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


def set_subject_teacher(conn, subject_id: int, teacher_id: int) -> bool:
    """Who teaches the subject. The demo also loads into a schema from before subjects had
    teachers (tests/db/test_schema_upgrade.py's version 13): there it sets nothing."""
    has_column = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'school.subjects'::regclass "
        "AND attname = 'teacher_id' AND NOT attisdropped)"
    ).fetchone()[0]
    if has_column:
        conn.execute(
            "UPDATE school.subjects SET teacher_id = %s WHERE id = %s", (teacher_id, subject_id)
        )
    return has_column


def add_enrollment(conn, student_id, year_id, section_id, status, updated: datetime) -> int:
    return _insert(
        conn,
        "INSERT INTO school.enrollment_progress (student_id, school_year_id, "
        "section_id, current_status, last_updated) VALUES (%s, %s, %s, %s, %s) "
        "RETURNING id",
        (student_id, year_id, section_id, status, updated),
    )


def add_fee_schedule(conn, year_id, grade, fee_type, amount: Decimal, due: date, plan=()) -> int:
    """A schedule and its installment plan [(due date, amount), ...] (checked at commit)."""
    schedule_id = _insert(
        conn,
        "INSERT INTO school.fee_schedules (school_year_id, grade_level, fee_type, amount, "
        "due_date) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (year_id, grade, fee_type, amount, due),
    )
    for seq, (when, part) in enumerate(plan, start=1):
        conn.execute(
            "INSERT INTO school.fee_schedule_installments (schedule_id, seq, due_date, amount) "
            "VALUES (%s, %s, %s, %s)",
            (schedule_id, seq, when, part),
        )
    return schedule_id


def assign_fees(conn, year_id) -> int:
    return _insert(conn, "SELECT school.assign_fees(%s)", (year_id,))


def student_fees(conn, student_id) -> list[tuple]:
    """(fee id, fee type, amount) of a student, oldest due first."""
    return conn.execute(
        "SELECT id, fee_type, amount FROM school.fees WHERE student_id = %s ORDER BY due_date, id",
        (student_id,),
    ).fetchall()


def add_payment(
    conn, student_id, amount: Decimal, method, reference, paid_at: datetime, recorded_by, key
) -> int:
    """Through the ledger's own posting (allocation oldest first, receipt number, hook)."""
    return _insert(
        conn,
        "SELECT payment_id FROM school.record_payment(%s, %s, %s, %s, %s, %s, %s)",
        (student_id, amount, method, reference, key, recorded_by, paid_at),
    )


def add_adjustment(conn, fee_id, kind, percent: Decimal, reason, approved_by, recorded_by, key):
    return _insert(
        conn,
        "SELECT school.record_adjustment(%s, %s, NULL, %s, %s, %s, %s, %s)",
        (fee_id, kind, percent, reason, approved_by, key, recorded_by),
    )


def add_day_close(conn, clerk_id, day: date, counted: Decimal, note, closed_at: datetime) -> int:
    """A past day close: the ledger's expected totals for the clerk that day, as counted."""
    return _insert(
        conn,
        """
        INSERT INTO school.day_closes (clerk_id, business_date, payments_count, reversals_count,
            expected_cash, expected_bank_transfer, expected_check, expected_card, counted_cash,
            note, closed_at)
        SELECT %(clerk)s, %(day)s, sum(payments), sum(reversals),
               sum(expected) FILTER (WHERE method = 'Cash'),
               sum(expected) FILTER (WHERE method = 'Bank Transfer'),
               sum(expected) FILTER (WHERE method = 'Check'),
               sum(expected) FILTER (WHERE method = 'Card'), %(counted)s, %(note)s, %(at)s
          FROM school.expected_takings(%(clerk)s, %(day)s)
        RETURNING id
        """,
        {"clerk": clerk_id, "day": day, "counted": counted, "note": note, "at": closed_at},
    )


def expected_cash(conn, clerk_id, day: date) -> Decimal:
    return _insert(
        conn,
        "SELECT expected FROM school.expected_takings(%s, %s) WHERE method = 'Cash'",
        (clerk_id, day),
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


def set_ledger_clock(conn, when: datetime | None) -> None:
    """Date the ledger's rows written on this connection `when` (None: now again). Only a
    superuser session may set the clock (the loader is one)."""
    conn.execute(
        "SELECT set_config('school.ledger_clock', %s, false)",
        (when.isoformat() if when is not None else "",),
    )


def balance(conn, student_id) -> Decimal:
    return conn.execute(
        "SELECT balance FROM school.student_balances WHERE student_id = %s", (student_id,)
    ).fetchone()[0]
