"""Fees and payments. Money is numeric(10,2) end to end; nothing here uses float."""

from __future__ import annotations

import psycopg

_PAID = "(SELECT coalesce(sum(p.amount_paid), 0) FROM school.payments p WHERE p.fee_id = f.id)"


def summary(conn: psycopg.Connection) -> list[tuple]:
    row = conn.execute(
        f"""
        SELECT coalesce(sum(f.amount), 0), coalesce(sum({_PAID}), 0),
               count(*) FILTER (WHERE f.amount > {_PAID}),
               count(DISTINCT f.student_id) FILTER (WHERE f.amount > {_PAID})
        FROM school.fees f
        """  # noqa: S608 - _PAID is a constant sub-select, not input
    ).fetchone()
    billed, collected, open_fees, owing = row
    return [
        ("Billed", billed),
        ("Collected", collected),
        ("Outstanding", billed - collected),
        ("Open fees", open_fees),
        ("Students with a balance", owing),
    ]


def recent_payments(conn: psycopg.Connection, limit: int = 200) -> list[tuple]:
    return conn.execute(
        """
        SELECT p.payment_date, s.last_name || ', ' || s.first_name, f.fee_type, p.amount_paid,
               p.payment_method, coalesce(c.last_name, '—')
        FROM school.payments p
        JOIN school.fees f ON f.id = p.fee_id
        JOIN school.users s ON s.id = f.student_id
        LEFT JOIN school.users c ON c.id = p.recorded_by
        ORDER BY p.payment_date DESC, p.id DESC LIMIT %s
        """,
        (limit,),
    ).fetchall()


def balances(conn: psycopg.Connection, limit: int = 300) -> list[tuple]:
    return conn.execute(
        f"""
        SELECT s.last_name || ', ' || s.first_name, s.email, sum(f.amount),
               sum({_PAID}), sum(f.amount) - sum({_PAID}), min(f.due_date)
        FROM school.fees f JOIN school.users s ON s.id = f.student_id
        GROUP BY s.id HAVING sum(f.amount) > sum({_PAID})
        ORDER BY sum(f.amount) - sum({_PAID}) DESC, s.last_name, s.id LIMIT %s
        """,  # noqa: S608 - _PAID is a constant sub-select, not input
        (limit,),
    ).fetchall()


def my_fees(conn: psycopg.Connection) -> list[tuple]:
    """The calling student's fees with what is paid and what is left."""
    return conn.execute(
        f"""
        SELECT f.fee_type, f.amount, {_PAID}, f.amount - {_PAID}, f.due_date, f.status
        FROM school.fees f WHERE f.student_id = school.me()
        ORDER BY f.due_date NULLS LAST, f.id
        """  # noqa: S608 - _PAID is a constant sub-select, not input
    ).fetchall()


def my_payments(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        """
        SELECT p.payment_date, f.fee_type, p.amount_paid, p.payment_method
        FROM school.payments p JOIN school.fees f ON f.id = p.fee_id
        WHERE f.student_id = school.me()
        ORDER BY p.payment_date DESC, p.id DESC
        """
    ).fetchall()
