"""Accounting's reports, statements and receipts on a small known ledger, read as the people
who read them (a clerk; a student, who gets their own only). The books must add up after
every test that writes money (the ledger's invariant query)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from school_tui.db import accounting_reports as ar
from tests.builders import D, assert_books_add_up, make_books


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(-1, "Not due"), (0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
     (90, "61-90"), (91, "90+"), (4000, "90+")],
)  # fmt: skip
def test_aging_bucket_edges(days, bucket):
    as_of = date(2026, 3, 1)
    assert ar.aging_bucket(as_of - timedelta(days=days), as_of) == bucket


def test_fill_days_gives_every_day():
    rows = [(date(2025, 6, 2), 3, D("300.00"))]
    filled = ar.fill_days(rows, date(2025, 6, 1), date(2025, 6, 3))
    assert [d.day for d, _, _ in filled] == [1, 2, 3]
    assert [t for _, _, t in filled] == [D("0.00"), D("300.00"), D("0.00")]


@pytest.fixture
def books(school):
    """tests/acct_books.py: a small known ledger; it must add up afterwards."""
    ids = make_books(school)
    yield school, ids
    assert_books_add_up(school.admin)


def test_collections_by_day_method_and_clerk(books):
    school, ids = books
    start = ids["today"] - timedelta(days=29)
    with school.connect_as(ids["clerk"]) as conn:
        by_day = ar.collections_by_day(conn, start, ids["today"])
        by_method = ar.collections_by_method(conn, start, ids["today"])
        by_clerk = ar.collections_by_clerk(conn, start, ids["today"])
        # a period without the payments' days has nothing
        assert ar.collections_by_day(conn, start, ids["today"] - timedelta(days=6)) == []
    # today: 100 (check) + 200 (cash) taken, the 100 check reversed: net 200, 2 payments
    assert by_day == [
        (ids["today"] - timedelta(days=5), 2, D("550.00")),
        (ids["today"], 2, D("200.00")),
    ]
    assert by_method == [
        ("Card", 1, D("250.00")),
        ("Cash", 2, D("500.00")),
        ("Check", 1, D("0.00")),
    ]
    assert [row[1:] for row in by_clerk] == [row for row in by_method]
    assert {row[0] for row in by_clerk} == {"Accounting, Test"}
    assert sum(r[2] for r in by_day) == sum(r[2] for r in by_method) == D("750.00")


def test_outstanding_balances_age_by_due_date(books):
    school, ids = books
    with school.connect_as(ids["clerk"]) as conn:
        rows = ar.outstanding_aging(conn, ids["today"])
    # Grade 7: s1 owes 200 of due 2 (45 days) + 250 (10 days) + 250 (not due);
    #          s2 owes 250 (45) + 250 (10) + 250 (not due).
    # Grade 8: s3 owes 400 of the one due 70 days ago.
    assert rows == [
        ("Grade 7", "Rizal", 2, D("500.00"), D("500.00"), D("450.00"), D("0.00"), D("0.00"),
         D("1450.00")),
        ("Grade 8", "Luna", 1, D("0.00"), D("0.00"), D("0.00"), D("400.00"), D("0.00"),
         D("400.00")),
    ]  # fmt: skip
    # the columns add up to what the students owe
    total = school.admin.execute("SELECT sum(balance) FROM school.student_balances").fetchone()[0]
    assert sum(r[-1] for r in rows) == total


def test_statement_and_receipt_as_the_clerk(books):
    school, ids = books
    with school.connect_as(ids["clerk"]) as conn:
        s = ar.statement(conn, ids["s1"])
        receipt = ar.receipt(conn, ids["p1"])
        reversed_receipt = ar.receipt(conn, ids["p2"])
    # in time order (the fixture's first payment is dated before the fees were charged)
    assert [(line.kind, line.balance) for line in s.lines] == [
        ("Payment", D("-300.00")),
        ("Charge", D("700.00")),
        ("Payment", D("600.00")),
        ("Reversal", D("700.00")),
    ]
    assert s.balance == D("700.00")
    assert s.lines[0].payment_id == ids["p1"] and s.lines[0].reference == "OR 000001"
    assert s.lines[1].fee_id is not None and s.lines[1].description == "Tuition 2030-2031"
    # the receipt: where the 300.00 went (the oldest dues first) and the balance right after
    assert receipt.total == receipt.allocated == D("300.00")
    assert [(line.fee, line.amount) for line in receipt.lines] == [
        ("Tuition (1 of 4)", D("250.00")),
        ("Tuition (2 of 4)", D("50.00")),
    ]
    assert receipt.reversed_note is None
    # the balance as it stood right after the payment, not as it is now (reversed since)
    assert reversed_receipt.balance_after == D("600.00")
    assert reversed_receipt.reversed_note.endswith("bounced")


def test_a_student_reads_only_their_own(books):
    school, ids = books
    with school.connect_as(ids["s1"]) as conn:
        own = ar.statement(conn)
        other = ar.statement(conn, ids["s2"])
        fees = ar.my_fees(conn)
        payments = ar.my_payments(conn)
        other_receipt = ar.receipt(conn, ids["p3"])
        own_receipt = ar.receipt(conn, ids["p1"])
    assert own.student_id == ids["s1"] and own.balance == D("700.00")
    assert other is None and other_receipt is None
    assert own_receipt is not None and own_receipt.total == D("300.00")
    assert fees[-1][0] == "Total" and fees[-1][4] == D("700.00")
    assert [p[0] for p in payments] == [ids["p2"], ids["p1"]]
    assert payments[0][-1] == "Reversed"


def test_assign_preview_counts_what_assigning_adds(books):
    school, ids = books
    with school.connect_as(ids["clerk"], autocommit=True) as conn:
        # everyone has their fees already: nothing new, and assigning adds nothing
        assert ar.assign_preview(conn, ids["year"], "Grade 7", None) == (2, 0, 2)
        assert ar.assign_fees(conn, ids["year"], "Grade 7", None) == 0
        ar.save_schedule(
            conn, ids["year"], "Grade 7", "Library", D("150.00"), ids["today"] + timedelta(days=30)
        )
        assert ar.assign_preview(conn, ids["year"], "Grade 7", ids["g7"]) == (2, 2, 2)
        assert ar.assign_fees(conn, ids["year"], "Grade 7", ids["g7"]) == 2
        assert ar.assign_preview(conn, ids["year"], "Grade 7", ids["g7"]) == (2, 0, 4)
        scopes = ar.assign_scopes(conn, ids["year"])
    assert scopes == [
        ("Grade 7: every section", ("Grade 7", None)),
        ("Grade 7 · Rizal", ("Grade 7", ids["g7"])),
        ("Grade 8: every section", ("Grade 8", None)),
        ("Grade 8 · Luna", ("Grade 8", ids["g8"])),
    ]


def test_the_demo_school_charges_before_it_takes_payments(demo_school):
    """The demo's history (payments over the months before its clock) reads as it happened:
    no payment comes before the charges it paid, so no receipt shows a balance below zero and
    every statement starts with its charges (the ledger_clock the loader sets)."""
    admin = demo_school.admin
    assert (
        admin.execute(
            "SELECT count(*) FROM school.payments p JOIN school.fees f USING (student_id) "
            "WHERE f.created_at > p.payment_date"
        ).fetchone()[0]
        == 0
    )
    assert (
        admin.execute(
            "SELECT count(*) FROM school.payments p JOIN school.adjustments a USING (student_id) "
            "WHERE a.recorded_at > p.payment_date"
        ).fetchone()[0]
        == 0
    )
    payments = [r[0] for r in admin.execute("SELECT id FROM school.payments ORDER BY id")]
    assert len(payments) > 200
    after = [ar.receipt(admin, pid).balance_after for pid in payments[::7]]
    assert min(after) >= 0
    student = admin.execute("SELECT student_id FROM school.payments LIMIT 1").fetchone()[0]
    assert ar.statement(admin, student).lines[0].kind == "Charge"
