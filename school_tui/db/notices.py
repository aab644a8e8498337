"""Announcements and events: everyone reads them (grants in sql/schema/10_notices.sql)."""

from __future__ import annotations

import psycopg


def recent_announcements(conn: psycopg.Connection, limit: int = 50) -> list[tuple]:
    return conn.execute(
        """
        SELECT a.created_at, a.title, coalesce(u.first_name || ' ' || u.last_name, '—'), a.content
        FROM school.announcements a LEFT JOIN school.users u ON u.id = a.posted_by
        ORDER BY a.created_at DESC, a.id DESC LIMIT %s
        """,
        (limit,),
    ).fetchall()


def events(conn: psycopg.Connection, limit: int = 50) -> list[tuple]:
    return conn.execute(
        "SELECT start_date, end_date, title, description FROM school.events "
        "ORDER BY start_date, id LIMIT %s",
        (limit,),
    ).fetchall()
