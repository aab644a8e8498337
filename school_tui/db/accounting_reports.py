"""Accounting's reads beyond the ledger's own API (db/ledger.py): collections by day, method
and clerk, outstanding balances with aging, a student's statement, a payment's receipt.

Money stays numeric/Decimal. The collections-by-day query reads only the payments in the
period through the index on the payment's time (benchmarks: collections_report_ms_1m).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from school_tui.domain.school import GRADE_LEVELS

# -- aging ----------------------------------------------------------------------------------

# (label, first day overdue, last day overdue or None): what is overdue by how long, on the
# report's day. Not yet due is its own column, so the columns add up to the balance.
AGING_BUCKETS = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("90+", 91, None))
NOT_DUE = "Not due"
AGING_COLUMNS = (
    "Grade level",
    "Section",
    "Students",
    NOT_DUE,
    *(label for label, _, _ in AGING_BUCKETS),
    "Total",
)


def aging_bucket(due: date, as_of: date) -> str:
    """Which column an unpaid amount due on `due` falls in on `as_of`: due today is 0 days
    overdue (0-30); 30 days is still 0-30, 31 is 31-60, 91 and more is 90+."""
    days = (as_of - due).days
    if days < 0:
        return NOT_DUE
    for label, first, last in AGING_BUCKETS:
        if days >= first and (last is None or days <= last):
            return label
    raise AssertionError(days)  # the buckets cover every day from 0


def _bucket_sql(days: str) -> str:
    """The same buckets as SQL FILTER clauses over an integer expression `days`."""
    parts = [f"coalesce(sum(remaining) FILTER (WHERE {days} < 0), 0)"]
    for _, first, last in AGING_BUCKETS:
        upper = f" AND {days} <= {last}" if last is not None else ""
        parts.append(f"coalesce(sum(remaining) FILTER (WHERE {days} >= {first}{upper}), 0)")
    return ",\n               ".join(parts)


def fill_days(
    rows: Sequence[tuple[date, int, Decimal]], start: date, end: date
) -> list[tuple[date, int, Decimal]]:
    """Every day from start to end, with 0 for days nothing was collected (the chart's x
    axis is time, not the days that happen to have payments)."""
    by_day = {row[0]: row for row in rows}
    out = []
    day = start
    while day <= end:
        out.append(by_day.get(day, (day, 0, Decimal("0.00"))))
        day += timedelta(days=1)
    return out


def _period(conn: psycopg.Connection, start: date, end: date) -> tuple:
    """The period's bounds as timestamptz in the session's time zone: [start, end + 1 day)."""
    return (start, end + timedelta(days=1))


# -- collections ----------------------------------------------------------------------------
# Payments count on the day they were taken, reversals (money handed back) on the day they
# were made, by the payment's method: what a report of a closed day says never changes.
# Both read only their period, through the index on the time column.

_TAKEN = """
    SELECT payment_date::date AS day, payment_method AS method, recorded_by AS clerk,
           count(*) AS n, sum(amount_paid) AS total
      FROM school.payments
     WHERE payment_date >= %(start)s::timestamptz AND payment_date < %(end)s::timestamptz
     GROUP BY 1, 2, 3
"""
_UNDONE = """
    SELECT r.reversed_at::date AS day, p.payment_method AS method, r.reversed_by AS clerk,
           0 AS n, -sum(r.amount) AS total
      FROM school.reversals r JOIN school.payments p ON p.id = r.payment_id
     WHERE r.reversed_at >= %(start)s::timestamptz AND r.reversed_at < %(end)s::timestamptz
     GROUP BY 1, 2, 3
"""


def collections_query(keys: str, start: date, end: date) -> tuple[str, dict]:
    """The collections report's SQL and parameters, grouped by `keys` (a constant of this
    module): what _collections runs, and what the benchmark runs through psql as the raw
    baseline."""
    return (
        f"""
        SELECT {keys}, sum(n)::int, sum(total)::numeric(14,2)
          FROM ({_TAKEN} UNION ALL {_UNDONE}) c
         GROUP BY {keys} ORDER BY {keys}
        """,  # noqa: S608 - keys and the sub-selects are constants of this module
        {"start": start, "end": end + timedelta(days=1)},
    )


def _collections(conn: psycopg.Connection, start: date, end: date, keys: str) -> list[tuple]:
    """Net collections (payments taken minus reversals made) grouped by `keys` (a constant of
    this module), with the number of payments taken."""
    return conn.execute(*collections_query(keys, start, end)).fetchall()


def collections_by_day(conn: psycopg.Connection, start: date, end: date) -> list[tuple]:
    """(day, payments, net collected) for the days start..end (both included) that had any."""
    return _collections(conn, start, end, "day")


def collections_by_method(conn: psycopg.Connection, start: date, end: date) -> list[tuple]:
    """(method, payments, net collected) over the period."""
    return _collections(conn, start, end, "method")


def collections_by_clerk(conn: psycopg.Connection, start: date, end: date) -> list[tuple]:
    """(clerk, method, payments, net collected) over the period."""
    rows = _collections(conn, start, end, "clerk, method")
    names: dict[int, str] = dict(
        conn.execute(
            "SELECT id, last_name || ', ' || first_name FROM school.users WHERE id = ANY(%s)",
            ([r[0] for r in rows if r[0] is not None],),
        ).fetchall()
    )
    named = [(names.get(clerk, "(no clerk)"), method, n, total) for clerk, method, n, total in rows]
    return sorted(named, key=lambda r: (r[0], r[1]))


# -- outstanding balances with aging --------------------------------------------------------


def outstanding_aging(conn: psycopg.Connection, as_of: date | None = None) -> list[tuple]:
    """(grade level, section, students owing, not due, 0-30, 31-60, 61-90, 90+, total) of the
    open dues, by the section the student is in for the due's school year, aged as of `as_of`
    (None: the database's today, the day the ledger calls a due overdue by)."""
    return conn.execute(
        f"""
        WITH open AS (
            SELECT ib.student_id, ib.open AS remaining,
                   coalesce(coalesce(%(as_of)s::date, current_date) - ib.due_date, -1) AS days,
                   coalesce(sec.grade_level, '(no section)') AS grade_level,
                   coalesce(sec.name, '—') AS section,
                   coalesce(array_position(ARRAY['Kindergarten', 'Grade 1', 'Grade 2',
                       'Grade 3', 'Grade 4', 'Grade 5', 'Grade 6', 'Grade 7', 'Grade 8',
                       'Grade 9', 'Grade 10', 'Grade 11', 'Grade 12'], sec.grade_level), 99)
                       AS grade_order
              FROM school.installment_balances ib
              LEFT JOIN school.enrollment_progress e
                     ON e.student_id = ib.student_id AND e.school_year_id = ib.school_year_id
              LEFT JOIN school.sections sec ON sec.id = e.section_id
             WHERE ib.open > 0
        )
        SELECT grade_level, section, count(DISTINCT student_id)::int,
               {_bucket_sql("days")},
               sum(remaining)
          FROM open
         GROUP BY grade_order, grade_level, section
         ORDER BY grade_order, section
        """,  # noqa: S608 - the bucket clauses are built from this module's constants
        {"as_of": as_of},
    ).fetchall()


# -- the student's statement ----------------------------------------------------------------


def _receipt_label(receipt_no: int) -> str:
    from school_tui.db.ledger import format_receipt_no

    return format_receipt_no(receipt_no)


def statement(conn: psycopg.Connection, student_id: int | None = None):
    """The statement of `student_id` (None: the caller's own). Row-level security decides:
    a student asking for someone else's gets None, as for a student that is not there."""
    from school_tui.domain.account import Statement, running_balance

    head = conn.execute(
        """
        SELECT u.id, u.last_name || ', ' || u.first_name, u.email,
               (SELECT sec.grade_level || ' · ' || sec.name
                  FROM school.enrollment_progress e
                  JOIN school.sections sec ON sec.id = e.section_id
                  JOIN school.school_years y ON y.id = e.school_year_id
                 WHERE e.student_id = u.id ORDER BY y.starts_on DESC LIMIT 1),
               now()
          FROM school.users u JOIN school.roles r ON r.id = u.role_id AND r.name = 'Student'
         WHERE u.id = coalesce(%s, school.me())
        """,
        (student_id,),
    ).fetchone()
    if head is None:
        return None
    sid, name, email, where, now = head
    rows = conn.execute(
        """
        SELECT at, kind, description, reference, charge, credit, payment_id, fee_id,
               adjustment_id
          FROM (
            SELECT f.created_at AS at, 1 AS o, f.id AS k, 'Charge' AS kind,
                   f.fee_type || coalesce(' ' || y.name, '') AS description, '' AS reference,
                   f.amount AS charge, 0::numeric AS credit, NULL::int AS payment_id,
                   f.id AS fee_id, NULL::int AS adjustment_id
              FROM school.fees f LEFT JOIN school.school_years y ON y.id = f.school_year_id
             WHERE f.student_id = %(sid)s
            UNION ALL
            SELECT a.recorded_at, 2, a.id, 'Adjustment',
                   a.kind || coalesce(' ' || trim_scale(a.percent) || '%%', '') || ' on '
                   || f.fee_type || ': ' || a.reason
                   || coalesce(' (approved by ' || ap.first_name || ' ' || ap.last_name || ')', ''),
                   '', 0, a.amount, NULL, a.fee_id, a.id
              FROM school.adjustments a JOIN school.fees f ON f.id = a.fee_id
              LEFT JOIN school.users ap ON ap.id = a.approved_by
             WHERE a.student_id = %(sid)s
            UNION ALL
            SELECT p.payment_date, 3, p.id, 'Payment',
                   p.payment_method || coalesce(' ' || p.reference, ''),
                   p.receipt_no::text, 0, p.amount_paid, p.id, NULL, NULL
              FROM school.payments p WHERE p.student_id = %(sid)s
            UNION ALL
            SELECT r.reversed_at, 4, r.id, 'Reversal',
                   CASE WHEN r.payment_id IS NOT NULL
                        THEN 'of payment: ' ELSE 'of adjustment: ' END || r.reason,
                   coalesce((SELECT p.receipt_no::text FROM school.payments p
                              WHERE p.id = r.payment_id), ''),
                   r.amount, 0, NULL, NULL, NULL
              FROM school.reversals r WHERE r.student_id = %(sid)s
          ) lines
         ORDER BY at, o, k
        """,
        {"sid": sid},
    ).fetchall()
    lines = running_balance(
        [
            (at.astimezone().date(), kind, description,
             _receipt_label(int(ref)) if ref.isdigit() else ref, charge, credit, pid, fid, aid)
            for at, kind, description, ref, charge, credit, pid, fid, aid in rows
        ]
    )  # fmt: skip
    from school_tui.server.config import school_name

    return Statement(school_name(), sid, name, email, where or "(no section)", now, lines)


# -- receipts -------------------------------------------------------------------------------


def receipt(conn: psycopg.Connection, payment_id: int):
    """The payment's receipt (domain.account.Receipt), with the balance as it stood right after it
    (a reprint shows what the first print showed), or None when the reader may not see it."""
    from school_tui.db import ledger
    from school_tui.domain.account import Receipt, ReceiptLine
    from school_tui.server.config import school_name

    r = ledger.receipt(conn, payment_id)
    if r is None:
        return None
    # Everything up to this payment in the statement's order (time, then charges,
    # adjustments, payments, reversals, then id), so the receipt and the statement's line
    # agree, also for a payment recorded with an earlier date than later-numbered ones.
    after = conn.execute(
        """
        SELECT coalesce((SELECT sum(amount) FROM school.fees
                          WHERE student_id = p.student_id AND created_at <= p.payment_date), 0)
             - coalesce((SELECT sum(amount) FROM school.adjustments
                          WHERE student_id = p.student_id AND recorded_at <= p.payment_date), 0)
             - coalesce((SELECT sum(amount_paid) FROM school.payments x
                          WHERE x.student_id = p.student_id
                            AND (x.payment_date, x.id) <= (p.payment_date, p.id)), 0)
             + coalesce((SELECT sum(amount) FROM school.reversals
                          WHERE student_id = p.student_id AND reversed_at < p.payment_date), 0)
          FROM school.payments p WHERE p.id = %s
        """,
        (payment_id,),
    ).fetchone()[0]
    reversal = conn.execute(
        "SELECT reversed_at::date || ': ' || reason FROM school.reversals WHERE payment_id = %s",
        (payment_id,),
    ).fetchone()
    lines = [
        ReceiptLine(
            a.fee_type + (f" ({a.seq} of {a.installments})" if a.installments > 1 else ""),
            a.due_date,
            a.amount,
        )
        for a in r.allocations
    ]
    return Receipt(
        school_name=school_name(),
        receipt_no=r.receipt_label,
        issued_at=r.posted_at,
        student_name=r.student,
        student_number=r.number or f"ID {r.student_id}",
        lines=lines,
        total=r.amount,
        method=r.method,
        reference=r.reference,
        clerk=r.clerk or "—",
        balance_after=after,
        reversed_note=reversal[0] if reversal else None,
    )


def find_students(conn: psycopg.Connection, text: str) -> list[tuple]:
    """(id, name, number, grade/section, balance, presence) of the students `text` finds."""
    from school_tui.db import ledger

    return [
        (m.student_id, m.name, m.number or m.email, m.section or "—", m.balance, m.presence)
        for m in ledger.find_students(conn, text)
    ]


# -- the student's own fees and payments (their home) ---------------------------------------


def my_fees(conn: psycopg.Connection) -> list[tuple]:
    """The calling student's fees (fee, amount, discounts, paid, balance, next due, status),
    and a last line with the totals: their balance."""
    rows = conn.execute(
        """
        SELECT fb.fee_type || coalesce(' ' || y.name, ''), fb.amount, fb.adjusted, fb.paid,
               fb.balance, fb.next_due, fb.status
          FROM school.fee_balances fb LEFT JOIN school.school_years y ON y.id = fb.school_year_id
         WHERE fb.student_id = school.me()
         ORDER BY fb.due_date NULLS LAST, fb.fee_id
        """
    ).fetchall()
    if rows:
        zero = Decimal("0.00")
        rows.append(
            (
                "Total",
                sum((r[1] for r in rows), zero),
                sum((r[2] for r in rows), zero),
                sum((r[3] for r in rows), zero),
                sum((r[4] for r in rows), zero),
                min((r[5] for r in rows if r[5] is not None), default=None),
                "Balance",
            )
        )
    return rows


def my_payments(conn: psycopg.Connection) -> list[tuple]:
    """The calling student's payments, newest first, each keyed by its id (Enter shows the
    receipt): date, receipt number, amount, method, reversed or not."""
    return [
        (pid, at, _receipt_label(no), amount, method, "Reversed" if rev else "")
        for pid, at, no, amount, method, rev in conn.execute(
            """
            SELECT p.id, p.payment_date, p.receipt_no, p.amount_paid, p.payment_method,
                   EXISTS (SELECT 1 FROM school.reversals r WHERE r.payment_id = p.id)
              FROM school.payments p WHERE p.student_id = school.me()
             ORDER BY p.payment_date DESC, p.id DESC
            """
        ).fetchall()
    ]


# -- fee schedules (the Fees screen) --------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    id: int
    school_year_id: int
    school_year: str
    grade_level: str
    fee_type: str
    amount: Decimal
    due_date: date
    plan: list  # [(due date, amount)], empty: one due on due_date
    assigned: int  # students charged from it

    @property
    def installments(self) -> int:
        return len(self.plan)


@dataclass(frozen=True)
class ScheduleChoices:
    years: list  # [(name, id)], the current year first
    grades: tuple
    fee_types: list


def fee_schedules(conn: psycopg.Connection) -> list[Schedule]:
    """Every schedule, the current and newest school years first."""
    rows = conn.execute(
        """
        SELECT s.id, s.school_year_id, y.name, s.grade_level, s.fee_type, s.amount, s.due_date,
               coalesce((SELECT array_agg(ARRAY[i.due_date::text, i.amount::text] ORDER BY i.seq)
                           FROM school.fee_schedule_installments i
                          WHERE i.schedule_id = s.id), '{}'),
               (SELECT count(*) FROM school.fees f WHERE f.schedule_id = s.id)::int
          FROM school.fee_schedules s JOIN school.school_years y ON y.id = s.school_year_id
         ORDER BY y.is_current DESC, y.starts_on DESC,
                  array_position(%s::text[], s.grade_level), s.fee_type
        """,
        (list(GRADE_LEVELS),),
    ).fetchall()
    return [
        Schedule(  # type: ignore[call-arg]
            *row[:7],
            [(date.fromisoformat(d), Decimal(a)) for d, a in row[7]],
            row[8],
        )
        for row in rows
    ]


def schedule_choices(conn: psycopg.Connection) -> ScheduleChoices:
    from school_tui.db import ledger

    years = conn.execute(
        "SELECT name, id FROM school.school_years ORDER BY is_current DESC, starts_on DESC"
    ).fetchall()
    return ScheduleChoices(
        [tuple(y) for y in years], GRADE_LEVELS, [t.name for t in ledger.fee_types(conn)]
    )


def save_schedule(
    conn: psycopg.Connection,
    school_year_id: int,
    grade_level: str,
    fee_type: str,
    amount: Decimal,
    due_date: date,
    plan: Sequence = (),
    schedule_id: int | None = None,
) -> int:
    """A new schedule (schedule_id None: refused when the year, grade and type have one), or
    a change of schedule `schedule_id` (the ledger's save_schedule)."""
    from school_tui.db import ledger

    return ledger.save_schedule(
        conn,
        school_year_id,
        grade_level,
        fee_type,
        amount,
        due_date,
        [ledger.Installment(d, a) for d, a in plan],
        schedule_id=schedule_id,
    )


def assign_scopes(conn: psycopg.Connection, school_year_id: int) -> list[tuple[str, tuple]]:
    """What fees can be assigned to in a school year: (label, (grade level, section id or
    None)) for each grade level that has sections, then each of its sections."""
    rows = conn.execute(
        """
        SELECT grade_level, id, name FROM school.sections WHERE school_year_id = %s
         ORDER BY array_position(%s::text[], grade_level), name, id
        """,
        (school_year_id, list(GRADE_LEVELS)),
    ).fetchall()
    out: list[tuple[str, tuple]] = []
    grades: set[str] = set()
    for grade, section_id, name in rows:
        if grade not in grades:
            grades.add(grade)
            out.append((f"{grade}: every section", (grade, None)))
        out.append((f"{grade} · {name}", (grade, section_id)))
    return out


def assign_preview(
    conn: psycopg.Connection,
    school_year_id: int,
    grade_level: str | None,
    section_id: int | None,
    student_id: int | None = None,
) -> tuple[int, int, int]:
    """What assign_fees would do: (students it applies to, fees it would add, fees they
    already have). The same targets as the ledger's assign_fees: a student's grade level is
    their section's, else their profile's (a late enrollee may have no section yet)."""
    return conn.execute(  # type: ignore[return-value]  # one row
        """
        SELECT count(DISTINCT e.student_id)::int,
               count(*) FILTER (WHERE f.id IS NULL)::int,
               count(f.id)::int
          FROM school.enrollment_progress e
          LEFT JOIN school.sections sec ON sec.id = e.section_id
          LEFT JOIN school.student_profiles sp ON sp.user_id = e.student_id
          JOIN school.fee_schedules s ON s.school_year_id = e.school_year_id
                                     AND s.grade_level = coalesce(sec.grade_level, sp.grade_level)
          LEFT JOIN school.fees f ON f.student_id = e.student_id AND f.schedule_id = s.id
         WHERE e.school_year_id = %(year)s AND e.current_status <> 'Withdrawn'
           AND (%(grade)s::text IS NULL OR s.grade_level = %(grade)s::text)
           AND (%(section)s::int IS NULL OR e.section_id = %(section)s::int)
           AND (%(student)s::int IS NULL OR e.student_id = %(student)s::int)
        """,
        {"year": school_year_id, "grade": grade_level, "section": section_id,
         "student": student_id},
    ).fetchone()  # fmt: skip


def assign_fees(
    conn: psycopg.Connection,
    school_year_id: int,
    grade_level: str | None,
    section_id: int | None,
    student_id: int | None = None,
) -> int:
    """Charge the year's schedules to a grade level, a section or one student (the ledger's
    assign_fees: nothing twice). Returns the number of fees created."""
    from school_tui.db import ledger

    return ledger.assign_fees(conn, school_year_id, grade_level, section_id, student_id)


def fee_types(conn: psycopg.Connection) -> list:
    """Every fee type (ledger.FeeType: name, required, description), by name."""
    from school_tui.db import ledger

    return ledger.fee_types(conn)


def add_fee_type(conn: psycopg.Connection, name: str, required: bool) -> int:
    """A new fee type (the ledger's add_fee_type); `required` ones must be paid for the
    year's enrollment to become Payment Complete."""
    from school_tui.db import ledger

    return ledger.add_fee_type(conn, name, required)


# -- corrections ----------------------------------------------------------------------------


def approvers(conn: psycopg.Connection) -> list[tuple[str, int]]:
    """Who may approve a discount or scholarship: (name and role, id), active staff of the
    Principal, Admin and Accounting roles (the ledger checks the same)."""
    return [
        tuple(r)
        for r in conn.execute(
            """
            SELECT u.last_name || ', ' || u.first_name || ' (' || r.name || ')', u.id
              FROM school.users u JOIN school.roles r ON r.id = u.role_id
             WHERE u.is_active AND r.name IN ('Principal', 'Admin', 'Accounting')
             ORDER BY array_position(ARRAY['Principal', 'Admin', 'Accounting'], r.name),
                      u.last_name, u.first_name, u.id
            """
        ).fetchall()
    ]


def add_adjustment(conn: psycopg.Connection, **fields) -> int:
    from school_tui.db import ledger

    return ledger.add_adjustment(conn, **fields)


def reverse_payment(conn: psycopg.Connection, payment_id: int, reason: str) -> int:
    from school_tui.db import ledger

    return ledger.reverse_payment(conn, payment_id, reason)


def reverse_adjustment(conn: psycopg.Connection, adjustment_id: int, reason: str) -> int:
    from school_tui.db import ledger

    return ledger.reverse_adjustment(conn, adjustment_id, reason)


# -- the day close --------------------------------------------------------------------------


def business_day(conn: psycopg.Connection) -> date:
    """The database's today (its clock, the session's time zone): the day a payment posted now
    is on, and the latest day close_day accepts."""
    return conn.execute("SELECT current_date").fetchone()[0]


def day_expected(conn: psycopg.Connection, day: date) -> list[tuple[str, int, Decimal]]:
    """(method, payments, expected) of the calling clerk's drawer for `day`: the ledger's
    expected_takings (payments taken minus payments reversed that day)."""
    return [
        tuple(r)
        for r in conn.execute(
            "SELECT method, payments, expected FROM school.expected_takings(school.me(), %s)",
            (day,),
        ).fetchall()
    ]


def my_day_closes(conn: psycopg.Connection, limit: int = 60) -> list[tuple]:
    """(day, expected cash, counted cash, closed at) of the calling clerk, newest first."""
    return conn.execute(
        """
        SELECT business_date, expected_cash, counted_cash, closed_at FROM school.day_closes
         WHERE clerk_id = school.me() ORDER BY business_date DESC LIMIT %s
        """,
        (limit,),
    ).fetchall()


def close_day(conn: psycopg.Connection, day: date, counted_cash: Decimal, note: str) -> int:
    from school_tui.db import ledger

    return ledger.close_day(conn, day, counted_cash, note)
