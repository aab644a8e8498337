"""Accounting's reads beyond the ledger's own API (db/ledger.py): collections by day, method
and clerk, outstanding balances with aging, a student's statement, a payment's receipt.

Money stays numeric/Decimal. The collections-by-day query reads only the payments in the
period through the index on the payment's time (benchmarks: collections_report_ms_1m).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import psycopg

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
