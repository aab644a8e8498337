"""What the Accounting and Student homes list: fees, payments and balances, from the ledger's
derived views (sql/schema/07_ledger.sql). Money is numeric end to end; nothing here uses
float. Writes are in db/ledger.py."""

from __future__ import annotations

import psycopg


def summary(conn: psycopg.Connection) -> list[tuple]:
    row = conn.execute(
        """
        SELECT coalesce(sum(b.charged), 0), coalesce(sum(b.adjusted), 0),
               coalesce(sum(b.paid - b.reversed), 0), coalesce(sum(b.balance), 0),
               (SELECT count(*) FROM school.fee_balances WHERE balance > 0),
               count(*) FILTER (WHERE b.balance > 0)
        FROM school.student_balances b
        """
    ).fetchone()
    billed, adjusted, collected, outstanding, open_fees, owing = row  # type: ignore[misc]
    return [
        ("Billed", billed),
        ("Discounts and scholarships", adjusted),
        ("Collected", collected),
        ("Outstanding", outstanding),
        ("Open fees", open_fees),
        ("Students with a balance", owing),
    ]


def recent_payments(conn: psycopg.Connection, limit: int = 200) -> list[tuple]:
    """Newest first: date, receipt number, student, what it paid for, amount, method, clerk."""
    return conn.execute(
        """
        SELECT p.payment_date, 'OR ' || lpad(p.receipt_no::text, 6, '0'),
               s.last_name || ', ' || s.first_name,
               (SELECT string_agg(DISTINCT f.fee_type, ', ')
                  FROM school.allocations a
                  JOIN school.fee_installments i ON i.id = a.installment_id
                  JOIN school.fees f ON f.id = i.fee_id
                 WHERE a.payment_id = p.id)
                   || CASE WHEN r.id IS NOT NULL THEN ' (reversed)' ELSE '' END,
               p.amount_paid, p.payment_method, coalesce(c.last_name, '—')
        FROM school.payments p
        JOIN school.users s ON s.id = p.student_id
        LEFT JOIN school.users c ON c.id = p.recorded_by
        LEFT JOIN school.reversals r ON r.payment_id = p.id
        ORDER BY p.payment_date DESC, p.id DESC LIMIT %s
        """,
        (limit,),
    ).fetchall()


def balances(conn: psycopg.Connection, limit: int = 300) -> list[tuple]:
    """Who owes, biggest balance first: (id, presence, name, billed, paid, balance, the
    oldest open due)."""
    return conn.execute(
        """
        SELECT s.id, coalesce(o.status, 'offline'), s.last_name || ', ' || s.first_name,
               b.charged - b.adjusted,
               b.paid - b.reversed, b.balance,
               (SELECT min(ib.due_date) FROM school.installment_balances ib
                 WHERE ib.student_id = b.student_id AND ib.open > 0)
        FROM school.student_balances b JOIN school.users s ON s.id = b.student_id
        LEFT JOIN school.online_status o ON o.user_id = s.id
        WHERE b.balance > 0
        ORDER BY b.balance DESC, s.last_name, s.id LIMIT %s
        """,
        (limit,),
    ).fetchall()


def my_fees(conn: psycopg.Connection) -> list[tuple]:
    """The calling student's fees: amount, paid, what is left, the next due, the status."""
    return conn.execute(
        """
        SELECT fb.fee_type, fb.amount, fb.paid, fb.balance, coalesce(fb.next_due, fb.due_date::date),
               fb.status
        FROM school.fee_balances fb WHERE fb.student_id = school.me()
        ORDER BY fb.due_date NULLS LAST, fb.fee_id
        """
    ).fetchall()


def my_payments(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        """
        SELECT p.payment_date, 'OR ' || lpad(p.receipt_no::text, 6, '0'), p.amount_paid,
               p.payment_method,
               CASE WHEN EXISTS (SELECT 1 FROM school.reversals r WHERE r.payment_id = p.id)
                    THEN 'reversed' ELSE '' END
        FROM school.payments p
        WHERE p.student_id = school.me()
        ORDER BY p.payment_date DESC, p.id DESC
        """
    ).fetchall()
