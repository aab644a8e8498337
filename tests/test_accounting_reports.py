"""Accounting's reports on a small known ledger: totals by day, method and clerk, and the
outstanding balances' aging buckets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from school_tui.db import accounting_reports as ar


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(-1, "Not due"), (0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
     (90, "61-90"), (91, "90+"), (4000, "90+")],
)  # fmt: skip
def test_aging_bucket_edges(days, bucket):
    as_of = date(2025, 6, 30)
    from datetime import timedelta

    assert ar.aging_bucket(as_of - timedelta(days=days), as_of) == bucket


def test_fill_days_gives_every_day():
    rows = [(date(2025, 6, 2), 3, Decimal("300.00"))]
    filled = ar.fill_days(rows, date(2025, 6, 1), date(2025, 6, 3))
    assert [d.day for d, _, _ in filled] == [1, 2, 3]
    assert [t for _, _, t in filled] == [Decimal("0.00"), Decimal("300.00"), Decimal("0.00")]
