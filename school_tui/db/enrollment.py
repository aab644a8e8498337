"""Enrollment progress per school year: the registrar writes it, under the rules of
sql/schema/06_enrollment.sql."""

from __future__ import annotations

import psycopg

from school_tui.db.errors import refusals
from school_tui.domain.school import ENROLLMENT_STATUSES

STATUS_ORDER = ENROLLMENT_STATUSES


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


# -- the pipeline's rules and history (sql/schema/06_enrollment.sql) -------------------


def transitions(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Every status -> the statuses it may go to, forward first (the database's rules)."""
    allowed: dict[str, list[str]] = {status: [] for status in STATUS_ORDER}
    for from_status, to_status in conn.execute(
        "SELECT from_status, to_status FROM school.enrollment_transitions "
        "ORDER BY from_status, position, to_status"
    ):
        allowed.setdefault(from_status, []).append(to_status)
    return allowed


def allowed_from(conn: psycopg.Connection, status: str) -> list[str]:
    """The statuses `status` may go to, the usual next step first."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT to_status FROM school.enrollment_transitions WHERE from_status = %s "
            "ORDER BY position, to_status",
            (status,),
        )
    ]


def next_status(conn: psycopg.Connection, status: str) -> str | None:
    """The pipeline's forward step from `status` (None at the end)."""
    allowed = allowed_from(conn, status)
    forward = [s for s in allowed if s != "Withdrawn"]
    return forward[0] if forward else None


def set_status(
    conn: psycopg.Connection, enrollment_ids: list[int], to: str, remark: str | None = None
) -> int:
    """Move every enrollment in `enrollment_ids` to `to`, all or none (the database refuses
    the lot, naming the first student who cannot move). Returns how many changed (those
    already at `to` are left alone)."""
    remark = (remark or "").strip() or None
    with refusals():
        return conn.execute(
            "SELECT school.set_enrollment_status(%s, %s, %s)",
            (list(enrollment_ids), to, remark),
        ).fetchone()[0]


def history(conn: psycopg.Connection, enrollment_id: int) -> list[tuple]:
    """(changed_at, from, to, remark, by whom) of one enrollment, oldest first."""
    return conn.execute(
        """
        SELECT h.changed_at, h.from_status, h.to_status, h.remark,
               b.first_name || ' ' || b.last_name
        FROM school.enrollment_history h LEFT JOIN school.users b ON b.id = h.changed_by
        WHERE h.enrollment_id = %s ORDER BY h.id
        """,
        (enrollment_id,),
    ).fetchall()


def current_status(conn: psycopg.Connection, student_id: int) -> str | None:
    """The student's status this school year (None: not enrolled this year)."""
    row = conn.execute(
        "SELECT e.current_status FROM school.enrollment_progress e "
        "JOIN school.school_years y ON y.id = e.school_year_id AND y.is_current "
        "WHERE e.student_id = %s",
        (student_id,),
    ).fetchone()
    return row[0] if row else None


def _current_year(year_id: int | None) -> tuple[str, list]:
    if year_id is None:
        return "(SELECT id FROM school.school_years WHERE is_current)", []
    return "%s", [year_id]


def board_counts(
    conn: psycopg.Connection,
    *,
    year_id: int | None = None,
    grade_level: str | None = None,
    section_id: int | None = None,
) -> list[tuple[str, int]]:
    """(status, students) in pipeline order, zeros included, for a school year (default the
    current one), optionally one grade level or one section."""
    year_sql, params = _current_year(year_id)
    return conn.execute(
        f"""
        SELECT s.status, count(x.id)
        FROM unnest(%s::text[]) WITH ORDINALITY AS s(status, position)
        LEFT JOIN (
            SELECT e.id, e.current_status
            FROM school.enrollment_progress e
            LEFT JOIN school.student_profiles p ON p.user_id = e.student_id
            LEFT JOIN school.sections sec ON sec.id = e.section_id
            WHERE e.school_year_id = {year_sql}
              AND (%s::text IS NULL OR coalesce(sec.grade_level, p.grade_level) = %s)
              AND (%s::int IS NULL OR e.section_id = %s)
        ) x ON x.current_status = s.status
        GROUP BY s.status, s.position ORDER BY s.position
        """,  # noqa: S608 - year_sql is a constant or a placeholder
        [list(STATUS_ORDER), *params, grade_level, grade_level, section_id, section_id],
    ).fetchall()


BOARD_COLUMNS = ("Student no.", "Student", "Grade", "Section", "Status", "Updated", "Remark")

# Rows: enrollment id, BOARD_COLUMNS, then the student's user id and presence.
_BOARD_SELECT = """
    SELECT e.id, p.student_number, u.last_name || ', ' || u.first_name,
           coalesce(sec.grade_level, p.grade_level), sec.name, e.current_status,
           e.last_updated, e.remarks, e.student_id, coalesce(o.status, 'offline')
    FROM school.enrollment_progress e
    JOIN school.users u ON u.id = e.student_id
    LEFT JOIN school.student_profiles p ON p.user_id = e.student_id
    LEFT JOIN school.sections sec ON sec.id = e.section_id
    LEFT JOIN school.online_status o ON o.user_id = e.student_id
"""


def board_list(
    conn: psycopg.Connection,
    status: str,
    *,
    year_id: int | None = None,
    grade_level: str | None = None,
    section_id: int | None = None,
    limit: int | None = 500,
) -> list[tuple]:
    """Enrollments at `status` (rows: enrollment id first, then BOARD_COLUMNS, the student's
    id and presence), by name; the first `limit` (None: all of them)."""
    year_sql, params = _current_year(year_id)
    return conn.execute(
        _BOARD_SELECT
        + f"""
        WHERE e.current_status = %s AND e.school_year_id = {year_sql}
          AND (%s::text IS NULL OR coalesce(sec.grade_level, p.grade_level) = %s)
          AND (%s::int IS NULL OR e.section_id = %s)
        ORDER BY u.last_name, u.first_name, e.id LIMIT %s
        """,  # noqa: S608 - year_sql is a constant or a placeholder
        [status, *params, grade_level, grade_level, section_id, section_id, limit],
    ).fetchall()


def enrollment_row(conn: psycopg.Connection, enrollment_id: int) -> tuple | None:
    """One enrollment as board_list shows it (for a live update keyed by its id), or None
    when it is gone or not visible to the caller."""
    return conn.execute(_BOARD_SELECT + " WHERE e.id = %s", (enrollment_id,)).fetchone()


def channel(conn: psycopg.Connection) -> str:
    """The staff channel enrollment changes are notified on ('e:<enrollment id>')."""
    return conn.execute("SELECT school.enrollment_channel()").fetchone()[0]
