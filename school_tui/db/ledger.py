"""The ledger (sql/schema/07_ledger.sql): charging fees, taking payments at the window,
corrections, the day close, and the one query that proves the books add up.

Money is Decimal end to end. Every write goes through a SECURITY DEFINER function that locks
the student's dues; what the database refuses (a CHECK in the function, with a message that
names the field and the rule) comes back as Refused (db.errors) with that message.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import psycopg
from psycopg.rows import class_row

from school_tui.db.errors import refusals

METHODS = ("Cash", "Bank Transfer", "Check", "Card")
# The database refuses these without their reference number (the card's slip is optional).
NEEDS_REFERENCE = frozenset({"Bank Transfer", "Check"})
ADJUSTMENT_KINDS = ("Discount", "Scholarship", "Waiver")


def new_client_key() -> uuid.UUID:
    """The key that makes a post idempotent: made once per payment on the client."""
    return uuid.uuid4()


# =====================================================================================
# Finding a student and their dues
# =====================================================================================
@dataclass(frozen=True)
class StudentMatch:
    student_id: int
    number: str | None  # the registrar's student number, when given
    name: str  # "Last, First"
    email: str
    section: str | None  # "Grade 7 - Rizal" in the current school year
    balance: Decimal
    presence: str = "offline"  # 'online' | 'away' | 'offline' (online_status)


def find_students(conn: psycopg.Connection, text: str, limit: int = 20) -> list[StudentMatch]:
    """Students whose number is `text` (any case), or whose name, email or number contains
    every word of it (any order, any case). The exact number first, then by name."""
    words = [w for w in text.lower().split() if w][:5]
    if not words:
        return []
    cur = conn.cursor(row_factory=class_row(StudentMatch))
    return cur.execute(
        """
        SELECT u.id AS student_id, p.student_number AS number,
               u.last_name || ', ' || u.first_name AS name, u.email,
               (SELECT sec.grade_level || ' - ' || sec.name
                  FROM school.enrollment_progress e
                  JOIN school.sections sec ON sec.id = e.section_id
                  JOIN school.school_years y ON y.id = e.school_year_id AND y.is_current
                 WHERE e.student_id = u.id) AS section,
               coalesce((SELECT b.balance FROM school.student_balances b
                          WHERE b.student_id = u.id), 0) AS balance,
               coalesce(o.status, 'offline') AS presence
          FROM school.users u
          JOIN school.roles r ON r.id = u.role_id AND r.name = 'Student'
          LEFT JOIN school.student_profiles p ON p.user_id = u.id
          LEFT JOIN school.online_status o ON o.user_id = u.id
         WHERE p.student_number = upper(%(text)s)
            OR (SELECT bool_and(coalesce(p.search_text, lower(u.first_name || ' ' || u.last_name
                                                              || ' ' || u.email))
                                LIKE '%%' || w || '%%' ESCAPE '\\')
                  FROM unnest(%(words)s::text[]) w)
         ORDER BY p.student_number = upper(%(text)s) DESC NULLS LAST, u.last_name,
                  u.first_name, u.id
         LIMIT %(limit)s
        """,
        {"text": text.strip(), "words": [_like_escape(w) for w in words], "limit": limit},
    ).fetchall()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Due:
    installment_id: int
    fee_id: int
    fee_type: str
    seq: int
    installments: int  # how many the fee has: "2 of 4"
    due_date: date | None
    amount: Decimal
    open: Decimal
    status: str  # Unpaid, Partial, Overdue (open dues only)
    school_year: str | None


@dataclass(frozen=True)
class Account:
    student_id: int
    name: str
    number: str | None
    balance: Decimal
    dues: list[Due]  # open dues, oldest first: the order a payment settles them

    @property
    def next_due(self) -> Due | None:
        return self.dues[0] if self.dues else None


def account(conn: psycopg.Connection, student_id: int) -> Account | None:
    """A student's balance and open dues, oldest first (None: no such student)."""
    head = conn.execute(
        """
        SELECT u.last_name || ', ' || u.first_name, p.student_number,
               coalesce((SELECT balance FROM school.student_balances
                          WHERE student_id = u.id), 0)
          FROM school.users u
          JOIN school.roles r ON r.id = u.role_id AND r.name = 'Student'
          LEFT JOIN school.student_profiles p ON p.user_id = u.id
         WHERE u.id = %s
        """,
        (student_id,),
    ).fetchone()
    if head is None:
        return None
    cur = conn.cursor(row_factory=class_row(Due))
    dues = cur.execute(
        """
        SELECT ib.installment_id, ib.fee_id, ib.fee_type, ib.seq,
               (SELECT count(*) FROM school.fee_installments i WHERE i.fee_id = ib.fee_id)::int
                   AS installments,
               ib.due_date, ib.amount, ib.open, ib.status, y.name AS school_year
          FROM school.installment_balances ib
          LEFT JOIN school.school_years y ON y.id = ib.school_year_id
         WHERE ib.student_id = %s AND ib.open > 0
         ORDER BY ib.due_date NULLS LAST, ib.fee_id, ib.seq
        """,
        (student_id,),
    ).fetchall()
    return Account(student_id, head[0], head[1], head[2], dues)


# =====================================================================================
# Posting and receipts
# =====================================================================================
@dataclass(frozen=True)
class Allocated:
    fee_type: str
    seq: int
    installments: int
    due_date: date | None
    amount: Decimal


@dataclass(frozen=True)
class Receipt:
    payment_id: int
    receipt_no: int
    student_id: int
    student: str
    number: str | None
    amount: Decimal
    method: str
    reference: str | None
    posted_at: datetime
    clerk: str | None
    balance: Decimal  # the student's balance now
    reversed: bool
    allocations: list[Allocated] = field(default_factory=list)
    replayed: bool = False  # the key had posted before: this is that payment, nothing new

    @property
    def receipt_label(self) -> str:
        return format_receipt_no(self.receipt_no)


def format_receipt_no(receipt_no: int) -> str:
    """The printed form of the series: OR 000123 (six digits, more when it outgrows them)."""
    return f"OR {receipt_no:06d}"


def post_payment(
    conn: psycopg.Connection,
    student_id: int,
    amount: Decimal,
    method: str,
    reference: str | None,
    client_key: uuid.UUID,
) -> Receipt:
    """Post at the window as the calling clerk. Posting the same `client_key` again returns
    the first payment (replayed=True) and posts nothing; keep the key until a reply comes.
    Refused: a bad amount, overpayment, a missing reference, a closed day."""
    with refusals():
        row = conn.execute(
            "SELECT payment_id, replayed FROM school.post_payment(%s, %s, %s, %s, %s)",
            (student_id, amount, method, reference, client_key),
        ).fetchone()
    if not conn.autocommit:
        conn.commit()
    found = receipt(conn, row[0])
    assert found is not None  # just posted (or posted before): it is there
    return Receipt(**{**found.__dict__, "replayed": row[1]})


def take_payment(
    conn: psycopg.Connection,
    student_id: int,
    amount: Decimal,
    method: str,
    reference: str | None,
    client_key: uuid.UUID,
) -> tuple[Receipt, str | None]:
    """The cashier's post (post_payment), and the enrollment status the payment moved the
    student to (paying the year's required fees makes a Verified enrollment Payment
    Complete), None when it stayed as it was."""
    from school_tui.db import enrollment

    before = enrollment.current_status(conn, student_id)
    posted = post_payment(conn, student_id, amount, method, reference, client_key)
    after = enrollment.current_status(conn, student_id)
    return posted, (after if after != before else None)


def receipt(conn: psycopg.Connection, payment_id: int) -> Receipt | None:
    """A payment as its receipt: who, what, how, where it went, the balance now."""
    head = conn.execute(
        """
        SELECT p.id, p.receipt_no, p.student_id, u.last_name || ', ' || u.first_name,
               sp.student_number, p.amount_paid, p.payment_method, p.reference,
               p.payment_date, c.first_name || ' ' || c.last_name,
               coalesce((SELECT balance FROM school.student_balances b
                          WHERE b.student_id = p.student_id), 0),
               EXISTS (SELECT 1 FROM school.reversals r WHERE r.payment_id = p.id)
          FROM school.payments p
          JOIN school.users u ON u.id = p.student_id
          LEFT JOIN school.student_profiles sp ON sp.user_id = p.student_id
          LEFT JOIN school.users c ON c.id = p.recorded_by
         WHERE p.id = %s
        """,
        (payment_id,),
    ).fetchone()
    if head is None:
        return None
    cur = conn.cursor(row_factory=class_row(Allocated))
    allocations = cur.execute(
        """
        SELECT f.fee_type, i.seq,
               (SELECT count(*) FROM school.fee_installments x WHERE x.fee_id = i.fee_id)::int
                   AS installments,
               i.due_date, a.amount
          FROM school.allocations a
          JOIN school.fee_installments i ON i.id = a.installment_id
          JOIN school.fees f ON f.id = i.fee_id
         WHERE a.payment_id = %s
         ORDER BY a.id
        """,
        (payment_id,),
    ).fetchall()
    return Receipt(*head, allocations=allocations)  # type: ignore[misc]


def reverse_payment(conn: psycopg.Connection, payment_id: int, reason: str) -> int:
    """Cancel a payment by a reversal entry (the payment stays). Returns the reversal's id."""
    with refusals():
        return conn.execute(
            "SELECT school.reverse_payment(%s, %s)", (payment_id, reason)
        ).fetchone()[0]


def reverse_adjustment(conn: psycopg.Connection, adjustment_id: int, reason: str) -> int:
    with refusals():
        return conn.execute(
            "SELECT school.reverse_adjustment(%s, %s)", (adjustment_id, reason)
        ).fetchone()[0]


# =====================================================================================
# Charging: fee types, schedules, assignment, plans, adjustments
# =====================================================================================
@dataclass(frozen=True)
class FeeType:
    id: int
    name: str
    required: bool
    description: str | None


def fee_types(conn: psycopg.Connection) -> list[FeeType]:
    cur = conn.cursor(row_factory=class_row(FeeType))
    return cur.execute(
        "SELECT id, name, required, description FROM school.fee_types ORDER BY name"
    ).fetchall()


def add_fee_type(
    conn: psycopg.Connection, name: str, required: bool = True, description: str | None = None
) -> int:
    with refusals():
        return conn.execute(
            "INSERT INTO school.fee_types (name, required, description) VALUES (%s, %s, %s) "
            "RETURNING id",
            (name.strip(), required, description),
        ).fetchone()[0]


@dataclass(frozen=True)
class Installment:
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class Schedule:
    id: int
    school_year_id: int
    grade_level: str
    fee_type: str
    amount: Decimal
    due_date: date
    plan: list[Installment]  # empty: one due, on due_date


def schedules(conn: psycopg.Connection, school_year_id: int) -> list[Schedule]:
    rows = conn.execute(
        """
        SELECT s.id, s.school_year_id, s.grade_level, s.fee_type, s.amount, s.due_date,
               coalesce(array_agg(i.due_date ORDER BY i.seq) FILTER (WHERE i.id IS NOT NULL),
                        '{}'),
               coalesce(array_agg(i.amount ORDER BY i.seq) FILTER (WHERE i.id IS NOT NULL), '{}')
          FROM school.fee_schedules s
          LEFT JOIN school.fee_schedule_installments i ON i.schedule_id = s.id
         WHERE s.school_year_id = %s
         GROUP BY s.id
         ORDER BY s.grade_level, s.fee_type
        """,
        (school_year_id,),
    ).fetchall()
    return [
        Schedule(*row[:6], [Installment(d, a) for d, a in zip(row[6], row[7], strict=True)])  # type: ignore[call-arg]
        for row in rows
    ]


def save_schedule(
    conn: psycopg.Connection,
    school_year_id: int,
    grade_level: str,
    fee_type: str,
    amount: Decimal,
    due_date: date,
    plan: Sequence[Installment] = (),
    *,
    schedule_id: int | None = None,
) -> int:
    """A new schedule of (year, grade, fee type), or, given `schedule_id`, a change of that
    one's amount, due date and plan. A new one where the three have a schedule already is
    refused (Refused naming the fee type: edit that one instead), never replaced. The
    plan's amounts must add up to `amount`; fees already charged keep their own copy."""
    with refusals():
        return conn.execute(
            "SELECT school.save_fee_schedule(%s, %s, %s, %s, %s, %s, %s::date[], %s::numeric[])",
            (
                schedule_id,
                school_year_id,
                grade_level,
                fee_type,
                amount,
                due_date,
                [p.due_date for p in plan],
                [p.amount for p in plan],
            ),
        ).fetchone()[0]


def assign_fees(
    conn: psycopg.Connection,
    school_year_id: int,
    grade_level: str | None = None,
    section_id: int | None = None,
    student_id: int | None = None,
) -> int:
    """Charge the year's schedules to the students they apply to (all, a grade level, a
    section or one student). Charges nothing twice. Returns the number of fees created."""
    with refusals():
        return conn.execute(
            "SELECT school.assign_fees(%s, %s, %s, %s)",
            (school_year_id, grade_level, section_id, student_id),
        ).fetchone()[0]


def add_fee(
    conn: psycopg.Connection,
    student_id: int,
    fee_type: str,
    amount: Decimal,
    school_year_id: int | None,
    due_date: date | None,
    plan: Sequence[Installment] = (),
) -> int:
    """An ad-hoc charge to one student (no schedule), with an optional installment plan."""
    with refusals():
        return conn.execute(
            "SELECT school.add_fee(%s, %s, %s, %s, %s, %s::date[], %s::numeric[])",
            (
                student_id,
                fee_type,
                amount,
                school_year_id,
                due_date,
                [p.due_date for p in plan],
                [p.amount for p in plan],
            ),
        ).fetchone()[0]


def set_installment_plan(
    conn: psycopg.Connection, fee_id: int, plan: Sequence[Installment]
) -> None:
    """Replace a fee's dues (only while nothing was paid or adjusted on it)."""
    with refusals():
        conn.execute(
            "SELECT school.set_installment_plan(%s, %s::date[], %s::numeric[])",
            (fee_id, [p.due_date for p in plan], [p.amount for p in plan]),
        )


def add_adjustment(
    conn: psycopg.Connection,
    fee_id: int,
    kind: str,
    reason: str,
    approved_by: int,
    amount: Decimal | None = None,
    percent: Decimal | None = None,
    client_key: uuid.UUID | None = None,
) -> int:
    """A discount, scholarship or waiver of part of a fee: a fixed `amount` or a `percent` of
    the fee, never more than the fee has open. Returns the adjustment's id."""
    with refusals():
        return conn.execute(
            "SELECT school.add_adjustment(%s, %s, %s, %s, %s, %s, %s)",
            (fee_id, kind, amount, percent, reason, approved_by, client_key or new_client_key()),
        ).fetchone()[0]


# =====================================================================================
# Day close
# =====================================================================================
@dataclass(frozen=True)
class MethodTotal:
    method: str
    payments: int
    reversals: int
    collected: Decimal
    reversed: Decimal
    expected: Decimal


def expected_takings(conn: psycopg.Connection, clerk_id: int, day: date) -> list[MethodTotal]:
    """What the clerk's drawer should hold for `day`, per method (all four, zeros too)."""
    cur = conn.cursor(row_factory=class_row(MethodTotal))
    return cur.execute(
        "SELECT method, payments, reversals, collected, reversed, expected "
        "FROM school.expected_takings(%s, %s)",
        (clerk_id, day),
    ).fetchall()


@dataclass(frozen=True)
class DayClose:
    id: int
    clerk: str
    business_date: date
    payments_count: int
    reversals_count: int
    expected_cash: Decimal
    expected_bank_transfer: Decimal
    expected_check: Decimal
    expected_card: Decimal
    counted_cash: Decimal
    cash_difference: Decimal  # counted - expected: negative is short
    note: str | None
    closed_at: datetime


def close_day(conn: psycopg.Connection, day: date, counted_cash: Decimal, note: str = "") -> int:
    """Record the calling clerk's close of `day` (once). After it they post nothing that day."""
    with refusals():
        return conn.execute(
            "SELECT school.close_day(%s, %s, %s)", (day, counted_cash, note)
        ).fetchone()[0]


def day_closes(conn: psycopg.Connection, limit: int = 100) -> list[DayClose]:
    cur = conn.cursor(row_factory=class_row(DayClose))
    return cur.execute(
        """
        SELECT d.id, u.first_name || ' ' || u.last_name AS clerk, d.business_date,
               d.payments_count, d.reversals_count, d.expected_cash, d.expected_bank_transfer,
               d.expected_check, d.expected_card, d.counted_cash, d.cash_difference, d.note,
               d.closed_at
          FROM school.day_closes d JOIN school.users u ON u.id = d.clerk_id
         ORDER BY d.business_date DESC, d.id DESC LIMIT %s
        """,
        (limit,),
    ).fetchall()


# =====================================================================================
# Reports
# =====================================================================================
def collections_by_day(conn: psycopg.Connection, start: date, end: date) -> list[tuple]:
    """(day, method, payments, collected, reversed, net) for start..end inclusive: payments by
    the day they were taken, reversals by the day they were made."""
    return conn.execute(
        """
        WITH taken AS (
            SELECT payment_date::date AS day, payment_method AS method, count(*) AS n,
                   sum(amount_paid) AS total
              FROM school.payments
             WHERE payment_date >= %(start)s::timestamptz
               AND payment_date < (%(end)s::date + 1)::timestamptz
             GROUP BY 1, 2
        ), undone AS (
            SELECT r.reversed_at::date AS day, p.payment_method AS method, sum(r.amount) AS total
              FROM school.reversals r JOIN school.payments p ON p.id = r.payment_id
             WHERE r.reversed_at >= %(start)s::timestamptz
               AND r.reversed_at < (%(end)s::date + 1)::timestamptz
             GROUP BY 1, 2
        )
        SELECT coalesce(t.day, u.day), coalesce(t.method, u.method), coalesce(t.n, 0),
               coalesce(t.total, 0), coalesce(u.total, 0),
               coalesce(t.total, 0) - coalesce(u.total, 0)
          FROM taken t FULL JOIN undone u ON u.day = t.day AND u.method = t.method
         ORDER BY 1, 2
        """,
        {"start": start, "end": end},
    ).fetchall()


# =====================================================================================
# The books add up: one query, no rows when they do
# =====================================================================================
INVARIANTS_SQL = """
WITH active AS (
    SELECT a.*
      FROM school.allocations a
     WHERE NOT EXISTS (SELECT 1 FROM school.reversals r WHERE r.payment_id = a.payment_id)
       AND NOT EXISTS (SELECT 1 FROM school.reversals r WHERE r.adjustment_id = a.adjustment_id)
), open_by_student AS (
    SELECT f.student_id, sum(i.amount) - coalesce(sum(s.settled), 0) AS open
      FROM school.fee_installments i
      JOIN school.fees f ON f.id = i.fee_id
      LEFT JOIN (SELECT installment_id, sum(amount) AS settled FROM active
                  GROUP BY installment_id) s ON s.installment_id = i.id
     GROUP BY f.student_id
)
SELECT 'payment not allocated in full' AS rule, p.id::bigint AS row_id,
       format('paid %s, allocated %s', p.amount_paid, coalesce(sum(a.amount), 0)) AS detail
  FROM school.payments p LEFT JOIN school.allocations a ON a.payment_id = p.id
 GROUP BY p.id HAVING coalesce(sum(a.amount), 0) <> p.amount_paid
UNION ALL
SELECT 'adjustment not allocated in full', x.id,
       format('adjusted %s, allocated %s', x.amount, coalesce(sum(a.amount), 0))
  FROM school.adjustments x LEFT JOIN school.allocations a ON a.adjustment_id = x.id
 GROUP BY x.id HAVING coalesce(sum(a.amount), 0) <> x.amount
UNION ALL
SELECT 'due over-allocated', i.id, format('due %s, settled %s', i.amount, sum(a.amount))
  FROM school.fee_installments i JOIN active a ON a.installment_id = i.id
 GROUP BY i.id HAVING sum(a.amount) > i.amount
UNION ALL
SELECT 'installments do not add up to the fee', f.id,
       format('fee %s, installments %s', f.amount, coalesce(sum(i.amount), 0))
  FROM school.fees f LEFT JOIN school.fee_installments i ON i.fee_id = f.id
 GROUP BY f.id HAVING coalesce(sum(i.amount), 0) <> f.amount
UNION ALL
SELECT 'allocation to another student''s due', a.id,
       format('payment of student %s, due of student %s', p.student_id, f.student_id)
  FROM school.allocations a
  JOIN school.payments p ON p.id = a.payment_id
  JOIN school.fee_installments i ON i.id = a.installment_id
  JOIN school.fees f ON f.id = i.fee_id
 WHERE p.student_id <> f.student_id
UNION ALL
SELECT 'adjustment allocated to another fee', a.id,
       format('adjustment of fee %s, due of fee %s', x.fee_id, i.fee_id)
  FROM school.allocations a
  JOIN school.adjustments x ON x.id = a.adjustment_id
  JOIN school.fee_installments i ON i.id = a.installment_id
 WHERE x.fee_id <> i.fee_id
UNION ALL
SELECT 'reversal amount differs from what it reverses', r.id,
       format('reversal %s, original %s', r.amount, coalesce(p.amount_paid, x.amount))
  FROM school.reversals r
  LEFT JOIN school.payments p ON p.id = r.payment_id
  LEFT JOIN school.adjustments x ON x.id = r.adjustment_id
 WHERE r.amount <> coalesce(p.amount_paid, x.amount)
    OR r.student_id <> coalesce(p.student_id, x.student_id)
UNION ALL
SELECT 'balance differs from the ledger', coalesce(b.student_id, o.student_id),
       format('charges - adjustments - payments + reversals = %s, open dues = %s',
              b.balance, o.open)
  FROM school.student_balances b FULL JOIN open_by_student o ON o.student_id = b.student_id
 WHERE b.balance IS DISTINCT FROM o.open
UNION ALL
SELECT 'receipt numbers have gaps', max(receipt_no),
       format('%s payments, numbers 1 to %s', count(*), max(receipt_no))
  FROM school.payments HAVING count(*) <> coalesce(max(receipt_no), 0)
"""


def invariant_violations(conn: psycopg.Connection) -> list[tuple[str, int, str]]:
    """(rule, row id, detail) for every way the books fail to add up; [] when they do.

    Run as the owner or a superuser (or Accounting/Principal, who read every ledger row):
    payments and adjustments are allocated in full; no due is settled beyond its amount;
    installments add up to their fee; allocations stay within their student (and an
    adjustment's within its fee); reversals match what they reverse; each student's balance
    (charges - adjustments - payments + reversals) equals their open dues; receipt numbers
    run 1..n without a gap."""
    return conn.execute(INVARIANTS_SQL).fetchall()
