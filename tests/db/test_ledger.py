"""The ledger in the database (0007_ledger.sql, school_tui/db/ledger.py): charging, posting,
idempotency under retries and concurrency, corrections, the day close, the hook to the
registrar, and the one invariant query, checked after every test that writes money.

The small school (`books` fixture): a Grade 7 section, three Verified students, schedules for
Tuition (10,000.00 in four installments), Miscellaneous (1,000.00, one due) and Books (500.00,
not required), two clerks who log in, a Principal who approves adjustments.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors, sql

from school_tui.db import ledger
from school_tui.db.ledger import Installment, LedgerRefused
from school_tui.domain.money import MoneyFormat, format_money, parse_amount
from tests.builders import add_school_year, add_section, enroll
from tests.harness import assert_ledger_invariants, wait_until_sql

D = Decimal


@dataclass
class Books:
    school: object
    ids: dict[str, int] = field(default_factory=dict)
    conns: list[psycopg.Connection] = field(default_factory=list)
    # The database's today, read when the fixture is made (not at import: a suite running
    # past midnight would compare yesterday with the server's today).
    today: date = field(default_factory=date.today)

    @property
    def past(self) -> date:
        return self.today - timedelta(days=30)

    def clerk(self, which: str = "clerk", autocommit: bool = True) -> psycopg.Connection:
        if which == "clerk2" and "clerk2" not in self.ids:
            self.ids["clerk2"] = self.school.add_person("Accounting", email="clerk2@ledger.test")
        conn = self.school.connect_as(self.ids[which], autocommit=autocommit)
        self.conns.append(conn)
        return conn

    @property
    def admin(self) -> psycopg.Connection:
        return self.school.admin

    def count(self, table: str) -> int:
        return self.admin.execute(
            sql.SQL("SELECT count(*) FROM school.{}").format(sql.Identifier(table))
        ).fetchone()[0]

    def status(self, student: str) -> str:
        return self.admin.execute(
            "SELECT current_status FROM school.enrollment_progress WHERE student_id = %s",
            (self.ids[student],),
        ).fetchone()[0]


@pytest.fixture
def books(school):
    """The small school; after the test, the books must add up (one query, in `school`)."""
    ids: dict[str, int] = {}
    for key, role, password in (
        ("clerk", "Accounting", "school-tui-demo"),
        ("principal", "Principal", None),
        ("teacher", "Teacher", None),
        ("s1", "Student", None),
        ("s2", "Student", None),
        ("s3", "Student", None),
    ):
        ids[key] = school.add_person(role, email=f"{key}@ledger.test", password=password)
    admin = school.admin
    today = admin.execute("SELECT current_date").fetchone()[0]
    past = today - timedelta(days=30)

    ids["year"] = add_school_year(
        school,
        "2030-2031",
        current=True,
        starts_on=today - timedelta(days=60),
        ends_on=today + timedelta(days=300),
    )
    ids["g7"] = add_section(school, ids["year"], "Rizal", "Grade 7", adviser=ids["teacher"])
    ids["g7b"] = add_section(school, ids["year"], "Mabini", "Grade 7", adviser=ids["teacher"])
    for student, section in (("s1", "g7"), ("s2", "g7"), ("s3", "g7b")):
        enroll(school, ids[student], ids["year"], ids[section], status="Verified")
    # Tuition: 4 x 2,500.00, the first one 30 days ago (overdue when unpaid).
    plan = [Installment(past + timedelta(days=60 * n), D("2500.00")) for n in range(4)]
    ids["tuition"] = ledger.save_schedule(
        admin, ids["year"], "Grade 7", "Tuition", D("10000.00"), plan[-1].due_date, plan
    )
    ids["misc"] = ledger.save_schedule(
        admin, ids["year"], "Grade 7", "Miscellaneous", D("1000.00"), today + timedelta(days=10)
    )
    ids["books"] = ledger.save_schedule(
        admin, ids["year"], "Grade 7", "Books", D("500.00"), today + timedelta(days=5)
    )
    made = Books(school, ids, today=today)
    yield made
    for conn in made.conns:
        conn.close()
    # (then the `school` fixture checks that the books add up: conftest.py)


def _assign(books: Books) -> None:
    with books.clerk() as conn:
        assert ledger.assign_fees(conn, books.ids["year"]) == 9


def _open_dues(books: Books, student: str) -> list[tuple]:
    return books.admin.execute(
        "SELECT fee_type, seq, open FROM school.installment_balances "
        "WHERE student_id = %s AND open > 0 ORDER BY due_date, fee_id, seq",
        (books.ids[student],),
    ).fetchall()


# =====================================================================================
# Charging
# =====================================================================================
def test_assigning_twice_charges_once_and_copies_the_plan(books):
    ids = books.ids
    with books.clerk() as conn:
        assert ledger.assign_fees(conn, ids["year"], section_id=ids["g7b"]) == 3  # s3 only
        assert ledger.assign_fees(conn, ids["year"], student_id=ids["s1"]) == 3
        assert ledger.assign_fees(conn, ids["year"], grade_level="Grade 7") == 3  # s2's
        assert ledger.assign_fees(conn, ids["year"]) == 0
        assert ledger.assign_fees(conn, ids["year"], grade_level="Grade 7") == 0
    assert books.count("fees") == 9
    plans = books.admin.execute(
        "SELECT f.fee_type, array_agg(i.amount ORDER BY i.seq), f.due_date::date "
        "FROM school.fees f JOIN school.fee_installments i ON i.fee_id = f.id "
        "WHERE f.student_id = %s GROUP BY f.id ORDER BY f.fee_type",
        (ids["s1"],),
    ).fetchall()
    assert plans == [
        ("Books", [D("500.00")], books.today + timedelta(days=5)),
        ("Miscellaneous", [D("1000.00")], books.today + timedelta(days=10)),
        ("Tuition", [D("2500.00")] * 4, books.past + timedelta(days=180)),
    ]


def test_a_plan_that_does_not_add_up_is_refused(books):
    ids = books.ids
    bad = [Installment(books.today, D("600.00")), Installment(books.today, D("300.00"))]
    with books.clerk() as conn:
        with pytest.raises(LedgerRefused, match="installments: they add up to 900.00"):
            ledger.save_schedule(
                conn, ids["year"], "Grade 8", "Tuition", D("1000.00"), books.today, bad
            )
        assert ledger.schedules(conn, ids["year"])[-1].grade_level == "Grade 7"  # nothing new
        fee = ledger.add_fee(conn, ids["s1"], "Uniform", D("900.00"), ids["year"], books.today, bad)
        with pytest.raises(
            LedgerRefused, match="installments: they add up to 1.00, the fee is 900.00"
        ):
            ledger.set_installment_plan(conn, fee, [Installment(books.today, D("1.00"))])
        # Directly: Accounting writes plans through the functions only.
        with pytest.raises(errors.InsufficientPrivilege):
            with conn.transaction():
                conn.execute(
                    "INSERT INTO school.fee_schedule_installments (schedule_id, seq, due_date, "
                    "amount) VALUES (%s, 1, %s, 1.00)",
                    (ids["misc"], books.today),
                )
    # Even the owner's direct write of a plan that does not add up is refused at commit.
    with pytest.raises(errors.CheckViolation):
        with books.admin.transaction():
            books.admin.execute(
                "INSERT INTO school.fee_schedule_installments (schedule_id, seq, due_date, "
                "amount) VALUES (%s, 1, %s, 1.00)",
                (ids["misc"], books.today),
            )
    # A fee given no plan has one due, for its amount.
    with books.clerk() as conn:
        plain = ledger.add_fee(conn, ids["s2"], "Other", D("75.50"), ids["year"], books.today)
    assert books.admin.execute(
        "SELECT seq, due_date, amount FROM school.fee_installments WHERE fee_id = %s", (plain,)
    ).fetchall() == [(1, books.today, D("75.50"))]


def test_fees_and_ledger_rows_are_append_only_for_everyone(books):
    _assign(books)
    with books.clerk() as conn:
        key = ledger.new_client_key()
        paid = ledger.post_payment(conn, books.ids["s1"], D("100.00"), "Cash", None, key)
        ledger.reverse_payment(conn, paid.payment_id, "typed the wrong student")
        fee = conn.execute(
            "SELECT id FROM school.fees WHERE student_id = %s AND fee_type = 'Books'",
            (books.ids["s1"],),
        ).fetchone()[0]
        ledger.add_adjustment(conn, fee, "Discount", "sibling", books.ids["principal"], D("50"))
        ledger.close_day(conn, books.today, D("0.00"))
        # Accounting holds no UPDATE or DELETE on any of them.
        for table in ("fees", "payments", "allocations", "adjustments", "reversals"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql.SQL("DELETE FROM school.{}").format(sql.Identifier(table)))
    # The superuser holds every privilege: the triggers refuse all the same.
    for table in ("fees", "payments", "allocations", "adjustments", "reversals", "day_closes"):
        for statement in ("UPDATE school.{} SET id = id", "DELETE FROM school.{}"):
            with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
                books.admin.execute(sql.SQL(statement).format(sql.Identifier(table)))
        with pytest.raises(errors.InsufficientPrivilege, match="truncated"):
            books.admin.execute(sql.SQL("TRUNCATE school.{} CASCADE").format(sql.Identifier(table)))


# =====================================================================================
# Posting
# =====================================================================================
def test_a_payment_settles_the_oldest_dues_first_and_gets_the_next_receipt(books):
    _assign(books)
    ids = books.ids
    with books.clerk() as conn:
        acct = ledger.account(conn, ids["s1"])
        assert acct.balance == D("11500.00")
        assert [(d.fee_type, d.seq, d.open, d.status) for d in acct.dues][:4] == [
            ("Tuition", 1, D("2500.00"), "Overdue"),
            ("Books", 1, D("500.00"), "Unpaid"),
            ("Miscellaneous", 1, D("1000.00"), "Unpaid"),
            ("Tuition", 2, D("2500.00"), "Unpaid"),
        ]
        first = ledger.post_payment(conn, ids["s1"], D("2800.00"), "Cash", None, uuid.uuid4())
        second = ledger.post_payment(
            conn, ids["s2"], D("10.00"), "Check", " 0012345 ", uuid.uuid4()
        )
    assert (first.receipt_no, second.receipt_no) == (1, 2)
    assert first.receipt_label == "OR 000001"
    assert [(a.fee_type, a.seq, a.amount) for a in first.allocations] == [
        ("Tuition", 1, D("2500.00")),
        ("Books", 1, D("300.00")),
    ]
    assert first.balance == D("8700.00") and not first.replayed and first.method == "Cash"
    assert second.reference == "0012345"
    assert _open_dues(books, "s1")[:2] == [
        ("Books", 1, D("200.00")),
        ("Miscellaneous", 1, D("1000.00")),
    ]
    statuses = dict(
        books.admin.execute(
            "SELECT fee_type, status FROM school.fee_balances WHERE student_id = %s",
            (ids["s1"],),
        ).fetchall()
    )
    assert statuses == {"Tuition": "Partial", "Books": "Partial", "Miscellaneous": "Unpaid"}


BAD_POSTS = [  # (amount, method, reference, the message's start)
    (D("0"), "Cash", None, "amount: must be more than zero"),
    (D("-5.00"), "Cash", None, "amount: must be more than zero"),
    (D("10.005"), "Cash", None, "amount: at most two decimal places"),
    (D("10000000.00"), "Cash", None, "amount: at most 9,999,999.99"),
    (D("NaN"), "Cash", None, "amount: must be a number"),
    (D("11500.01"), "Cash", None, "amount: 11,500.01 is more than the balance of 11,500.00"),
    (D("10.00"), "Bitcoin", None, "method: must be Cash, Bank Transfer, Check or Card"),
    (D("10.00"), "Bank Transfer", "  ", "reference: a bank transfer needs its reference"),
    (D("10.00"), "Check", "12\x1b[2J", "reference: at most 100 characters, no control"),
]


def test_bad_posts_are_refused_with_the_rule_and_write_nothing(books):
    _assign(books)
    with books.clerk() as conn:
        for amount, method, reference, message in BAD_POSTS:
            with pytest.raises(LedgerRefused) as refused:
                ledger.post_payment(conn, books.ids["s1"], amount, method, reference, uuid.uuid4())
            assert str(refused.value).startswith(message), (amount, method, reference)
    assert books.count("payments") == books.count("allocations") == 0


def test_text_and_absurd_amounts_never_reach_the_books(books):
    _assign(books)
    with books.clerk() as conn:
        for text in ("abc", "1e400", "12,50"):
            with pytest.raises((errors.CheckViolation, errors.DataError)):
                conn.execute(
                    "SELECT school.post_payment(%s, %s::numeric, 'Cash', NULL, %s)",
                    (books.ids["s1"], text, uuid.uuid4()),
                )
        # Nobody pays a student with nothing to pay, nor pays a teacher's "dues".
        with pytest.raises(LedgerRefused, match="student: .* is not a student"):
            ledger.post_payment(conn, books.ids["teacher"], D("1"), "Cash", None, uuid.uuid4())
    # Straight into the tables, as the superuser: the CHECKs refuse.
    fee = books.admin.execute("SELECT min(id) FROM school.fees").fetchone()[0]
    for amount in ("0", "-1", "10000000.00", "0.001"):
        with pytest.raises(errors.CheckViolation):
            books.admin.execute(
                "INSERT INTO school.payments (fee_id, amount_paid, payment_method) "
                "VALUES (%s, %s::numeric, 'Cash')",
                (fee, amount),
            )
    assert books.count("payments") == 0


def test_the_same_key_posts_once(books):
    _assign(books)
    key = uuid.uuid4()
    with books.clerk() as conn:
        first = ledger.post_payment(conn, books.ids["s1"], D("500.00"), "Cash", None, key)
        again = ledger.post_payment(conn, books.ids["s1"], D("500.00"), "Cash", None, key)
        assert again.replayed and not first.replayed
        assert (again.payment_id, again.receipt_no) == (first.payment_id, first.receipt_no)
        # The key belongs to that payment: reused for something else, it is refused.
        with pytest.raises(LedgerRefused, match="client key: already used"):
            ledger.post_payment(conn, books.ids["s1"], D("600.00"), "Cash", None, key)
    assert books.count("payments") == 1


def test_a_commit_whose_reply_was_lost_then_retried_posts_once(books):
    _assign(books)
    key = uuid.uuid4()
    conn = books.clerk(autocommit=False)
    conn.execute(
        "SELECT * FROM school.post_payment(%s, 700.00, 'Cash', NULL, %s)", (books.ids["s1"], key)
    )
    pid = conn.info.backend_pid
    # COMMIT goes out; the client vanishes without reading the reply (the app's view: a
    # timeout). The server commits it anyway.
    conn.pgconn.send_query(b"COMMIT")
    conn.pgconn.flush()
    conn.pgconn.finish()
    wait_until_sql(
        books.admin, "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", pid
    )
    with books.clerk() as retry:
        again = ledger.post_payment(retry, books.ids["s1"], D("700.00"), "Cash", None, key)
    assert again.replayed and again.receipt_no == 1
    assert books.count("payments") == 1


def test_a_post_lost_before_commit_is_posted_by_the_retry(books):
    _assign(books)
    key = uuid.uuid4()
    conn = books.clerk(autocommit=False)
    conn.execute(
        "SELECT * FROM school.post_payment(%s, 700.00, 'Cash', NULL, %s)", (books.ids["s1"], key)
    )
    books.admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    with books.clerk() as retry:
        posted = ledger.post_payment(retry, books.ids["s1"], D("700.00"), "Cash", None, key)
    assert not posted.replayed and posted.receipt_no == 1  # the lost one gave its number back
    assert books.count("payments") == 1


def _post_in_thread(conn, args) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run():
        try:
            result["receipt"] = ledger.post_payment(conn, *args)
        except Exception as exc:  # handed to the test, which asserts on it
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _blocked(books: Books, conn: psycopg.Connection) -> None:
    wait_until_sql(
        books.admin,
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = "
        "'Lock')",
        conn.info.backend_pid,
    )


def test_two_cashiers_paying_the_same_due_at_once_never_over_allocate(books):
    _assign(books)
    ids = books.ids
    first, second = books.clerk(autocommit=False), books.clerk("clerk2")
    first.execute(
        "SELECT * FROM school.post_payment(%s, 11000.00, 'Cash', NULL, %s)",
        (ids["s1"], uuid.uuid4()),
    )
    thread, result = _post_in_thread(second, (ids["s1"], D("1000.00"), "Card", None, uuid.uuid4()))
    _blocked(books, second)  # waits on the first cashier's lock on the dues
    first.commit()
    thread.join(30)
    assert "overpayment is refused" in str(result["error"])  # 500.00 was left, not 1,000.00
    assert isinstance(result["error"], LedgerRefused)
    assert books.admin.execute(
        "SELECT balance FROM school.student_balances WHERE student_id = %s", (ids["s1"],)
    ).fetchone()[0] == D("500.00")


def test_the_same_key_from_two_connections_at_once_posts_once(books):
    _assign(books)
    key = uuid.uuid4()
    first, second = books.clerk(autocommit=False), books.clerk()
    first.execute(
        "SELECT * FROM school.post_payment(%s, 300.00, 'Cash', NULL, %s)", (books.ids["s2"], key)
    )
    thread, result = _post_in_thread(second, (books.ids["s2"], D("300.00"), "Cash", None, key))
    _blocked(books, second)
    first.commit()
    thread.join(30)
    assert result["receipt"].replayed and result["receipt"].receipt_no == 1
    assert books.count("payments") == 1


# =====================================================================================
# Corrections and adjustments
# =====================================================================================
def test_a_reversal_points_at_the_payment_and_reopens_its_dues(books):
    _assign(books)
    ids = books.ids
    with books.clerk() as conn:
        paid = ledger.post_payment(conn, ids["s1"], D("3000.00"), "Cash", None, uuid.uuid4())
        with pytest.raises(LedgerRefused, match="reason: say why"):
            ledger.reverse_payment(conn, paid.payment_id, "  ")
        reversal = ledger.reverse_payment(conn, paid.payment_id, "wrong student")
        with pytest.raises(LedgerRefused, match="already reversed"):
            ledger.reverse_payment(conn, paid.payment_id, "again")
        again = ledger.receipt(conn, paid.payment_id)
    assert again.reversed and again.balance == D("11500.00")
    row = books.admin.execute(
        "SELECT payment_id, student_id, amount, reason, reversed_by FROM school.reversals "
        "WHERE id = %s",
        (reversal,),
    ).fetchone()
    assert row == (paid.payment_id, ids["s1"], D("3000.00"), "wrong student", ids["clerk"])
    assert _open_dues(books, "s1")[0] == ("Tuition", 1, D("2500.00"))
    assert books.count("payments") == 1  # the original stays


def test_adjustments_settle_the_latest_dues_and_never_exceed_what_is_open(books):
    _assign(books)
    ids = books.ids
    tuition = books.admin.execute(
        "SELECT id FROM school.fees WHERE student_id = %s AND fee_type = 'Tuition'", (ids["s1"],)
    ).fetchone()[0]
    with books.clerk() as conn:
        discount = ledger.add_adjustment(
            conn, tuition, "Scholarship", "academic excellence", ids["principal"], percent=D("30")
        )
        assert _open_dues(books, "s1")[-1:] == [("Tuition", 3, D("2000.00"))]
        with pytest.raises(LedgerRefused, match="approved by"):
            ledger.add_adjustment(conn, tuition, "Discount", "x", ids["s2"], amount=D("1"))
        with pytest.raises(LedgerRefused, match="not both"):
            ledger.add_adjustment(conn, tuition, "Discount", "x", ids["principal"], D("1"), D("1"))
        with pytest.raises(LedgerRefused, match="7,000.01 is more than the 7,000.00"):
            ledger.add_adjustment(conn, tuition, "Waiver", "x", ids["principal"], D("7000.01"))
        ledger.post_payment(conn, ids["s1"], D("1500.00"), "Cash", None, uuid.uuid4())
        ledger.reverse_adjustment(conn, discount, "scholarship withdrawn")
    row = books.admin.execute(
        "SELECT kind, percent, amount, reason, approved_by, recorded_by FROM school.adjustments "
        "WHERE id = %s",
        (discount,),
    ).fetchone()
    assert row == ("Scholarship", D("30.00"), D("3000.00"), "academic excellence",
                   ids["principal"], ids["clerk"])  # fmt: skip
    assert books.admin.execute(
        "SELECT balance, status FROM school.fee_balances WHERE fee_id = %s", (tuition,)
    ).fetchone() == (D("8500.00"), "Overdue")  # 1,000.00 of the first due still open


def test_fee_status_is_derived_from_the_ledger(books):
    _assign(books)
    ids = books.ids

    def status(fee_type: str) -> str:
        return books.admin.execute(
            "SELECT status FROM school.fee_balances WHERE student_id = %s AND fee_type = %s",
            (ids["s2"], fee_type),
        ).fetchone()[0]

    assert (status("Tuition"), status("Miscellaneous")) == ("Overdue", "Unpaid")
    with books.clerk() as conn:
        ledger.post_payment(conn, ids["s2"], D("3000.00"), "Cash", None, uuid.uuid4())
        assert (status("Tuition"), status("Books")) == ("Partial", "Paid")
        ledger.post_payment(conn, ids["s2"], D("1000.00"), "Cash", None, uuid.uuid4())
    assert (status("Tuition"), status("Miscellaneous")) == ("Partial", "Paid")
    with pytest.raises(errors.UndefinedColumn):  # no stored copy that could drift
        books.admin.execute("SELECT status FROM school.fees")


def test_a_payment_recorded_the_seed_way_is_allocated_to_its_fee(books):
    _assign(books)
    fee = books.admin.execute(
        "SELECT id FROM school.fees WHERE student_id = %s AND fee_type = 'Tuition'",
        (books.ids["s3"],),
    ).fetchone()[0]
    books.admin.execute(
        "INSERT INTO school.payments (fee_id, amount_paid, payment_method) "
        "VALUES (%s, 3000.00, 'Cash')",
        (fee,),
    )
    assert books.admin.execute(
        "SELECT array_agg(a.amount ORDER BY i.seq) FROM school.allocations a "
        "JOIN school.fee_installments i ON i.id = a.installment_id WHERE i.fee_id = %s",
        (fee,),
    ).fetchone()[0] == [D("2500.00"), D("500.00")]
    with pytest.raises(errors.CheckViolation, match="more than fee"):
        books.admin.execute(
            "INSERT INTO school.payments (fee_id, amount_paid, payment_method) "
            "VALUES (%s, 7000.01, 'Cash')",
            (fee,),
        )


# =====================================================================================
# The registrar's hook, the day close
# =====================================================================================
def test_paying_the_required_fees_completes_the_enrollment(books):
    _assign(books)
    ids = books.ids
    with books.clerk() as conn:
        # Not required, and due last: it stays open.
        ledger.add_fee(
            conn, ids["s1"], "Uniform", D("800.00"), ids["year"], books.today + timedelta(400)
        )
        ledger.post_payment(conn, ids["s1"], D("11000.00"), "Cash", None, uuid.uuid4())
        assert books.status("s1") == "Verified"  # Books came first: 500.00 of Tuition is open
        ledger.post_payment(conn, ids["s1"], D("500.00"), "Bank Transfer", "TRX-1", uuid.uuid4())
    assert _open_dues(books, "s1") == [("Uniform", 1, D("800.00"))]
    assert books.status("s1") == "Payment Complete"
    assert books.status("s2") == "Verified"


def test_a_clerk_closes_the_day_against_the_ledger(books):
    _assign(books)
    ids = books.ids
    with books.clerk() as conn, books.clerk("clerk2") as other:
        ledger.post_payment(conn, ids["s1"], D("1000.00"), "Cash", None, uuid.uuid4())
        wrong = ledger.post_payment(conn, ids["s2"], D("250.50"), "Cash", None, uuid.uuid4())
        ledger.post_payment(conn, ids["s2"], D("400.00"), "Check", "CHK-9", uuid.uuid4())
        ledger.post_payment(other, ids["s3"], D("99.00"), "Cash", None, uuid.uuid4())
        ledger.reverse_payment(conn, wrong.payment_id, "handed back")
        totals = {t.method: t for t in ledger.expected_takings(conn, ids["clerk"], books.today)}
        assert [totals[m].expected for m in ledger.METHODS] == [
            D("1000.00"),
            D("0.00"),
            D("400.00"),
            D("0.00"),
        ]
        assert (totals["Cash"].payments, totals["Cash"].reversals) == (2, 1)
        with pytest.raises(LedgerRefused, match="counted cash"):
            ledger.close_day(conn, books.today, D("-1"))
        ledger.close_day(conn, books.today, D("995.00"), "short by 5")
        with pytest.raises(LedgerRefused, match="closed .* already"):
            ledger.close_day(conn, books.today, D("1000.00"))
        with pytest.raises(LedgerRefused, match="day: you have closed"):
            ledger.post_payment(conn, ids["s1"], D("1.00"), "Cash", None, uuid.uuid4())
        ledger.post_payment(other, ids["s3"], D("1.00"), "Cash", None, uuid.uuid4())  # still open
        closes = ledger.day_closes(conn)
    assert len(closes) == 1
    close = closes[0]
    assert (close.expected_cash, close.counted_cash, close.cash_difference) == (
        D("1000.00"),
        D("995.00"),
        D("-5.00"),
    )
    assert (close.expected_check, close.payments_count, close.reversals_count) == (
        D("400.00"),
        3,
        1,
    )


def test_collections_by_day(books):
    _assign(books)
    with books.clerk() as conn:
        ledger.post_payment(conn, books.ids["s1"], D("100.00"), "Cash", None, uuid.uuid4())
        card = ledger.post_payment(conn, books.ids["s2"], D("40.00"), "Card", None, uuid.uuid4())
        ledger.reverse_payment(conn, card.payment_id, "declined after all")
        rows = ledger.collections_by_day(conn, books.today, books.today)
    assert rows == [
        (books.today, "Card", 1, D("40.00"), D("40.00"), D("0.00")),
        (books.today, "Cash", 1, D("100.00"), D("0.00"), D("100.00")),
    ]


# =====================================================================================
# The invariant query can fail
# =====================================================================================
def test_the_invariant_query_finds_a_ledger_that_does_not_add_up(books):
    _assign(books)
    with books.clerk() as conn:
        paid = ledger.post_payment(conn, books.ids["s1"], D("100.00"), "Cash", None, uuid.uuid4())
    admin = books.admin
    with admin.transaction(force_rollback=True):
        # Replica mode skips the ordinary triggers (not the append-only ones): what a careless
        # bulk load could do.
        admin.execute("SET LOCAL session_replication_role = replica")
        due = admin.execute(
            "SELECT installment_id FROM school.installment_balances WHERE student_id = %s "
            "ORDER BY due_date DESC LIMIT 1",
            (books.ids["s1"],),
        ).fetchone()[0]
        admin.execute(
            "INSERT INTO school.allocations (payment_id, installment_id, amount) "
            "VALUES (%s, %s, 2600.00)",
            (paid.payment_id, due),
        )
        admin.execute(
            "INSERT INTO school.payments (student_id, amount_paid, payment_method, receipt_no) "
            "VALUES (%s, 5.00, 'Cash', 9)",
            (books.ids["s2"],),
        )
        rules = {rule for rule, _, _ in ledger.invariant_violations(admin)}
    assert rules == {
        "payment not allocated in full",
        "due over-allocated",
        "balance differs from the ledger",
        "receipt numbers have gaps",
    }
    assert ledger.invariant_violations(admin) == []


# =====================================================================================
# domain/money.py: what a person types
# =====================================================================================
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "amount: enter an amount, such as 1,250.00"),
        ("  ", "amount: enter an amount"),
        ("abc", "amount: 'abc' is not an amount; write it as 1,250.00"),
        ("1e9", "is not an amount"),
        ("NaN", "is not an amount"),
        ("٣٠٠", "is not an amount"),
        ("0", "amount: must be more than zero"),
        ("0.00", "amount: must be more than zero"),
        ("-5", "amount: must be more than zero"),
        ("10.005", "amount: at most two decimal places"),
        ("10000000", "amount: at most 9,999,999.99"),
        ("99999999999999999999999", "amount: at most 9,999,999.99"),
    ],
)
def test_parse_amount_refuses_with_the_field_and_the_rule(text, message):
    with pytest.raises(ValueError, match=message):
        parse_amount(text)


def test_parse_amount_and_format_money_follow_the_configured_format():
    assert parse_amount("₱1,250.5") == D("1250.50")
    assert parse_amount(" 9999999.99 ") == D("9999999.99")
    assert parse_amount("0.01", field="counted cash") == D("0.01")
    with pytest.raises(ValueError, match="^counted cash: must be more than zero$"):
        parse_amount("0", field="counted cash")
    euro = MoneyFormat(symbol="€", symbol_after=True, thousands=".", decimal=",")
    assert parse_amount("1.250,50 €", fmt=euro) == D("1250.50")
    with pytest.raises(ValueError, match="write it as 1.250,00"):
        parse_amount("12,5,1", fmt=euro)
    assert format_money(D("1234567.5")) == "₱1,234,567.50"
    assert format_money(D("-3")) == "-₱3.00"
    assert format_money(D("1234.5"), euro) == "1.234,50 €"
    assert format_money(D("1234.5"), MoneyFormat(symbol="PHP ")) == "PHP 1,234.50"
    assert format_money(D("7"), symbol=False) == "7.00"


def test_the_cashier_finds_a_student_by_number_or_by_name(books):
    ids = books.ids
    books.admin.execute(
        "INSERT INTO school.student_profiles (user_id, student_number, grade_level) "
        "VALUES (%s, '2030-00042', 'Grade 7')",
        (ids["s2"],),
    )
    # s4: enrolled without a section; the profile's grade level says which schedules apply.
    s4 = books.school.add_person("Student", first_name="Nina", last_name="Dela Cruz", password=None)
    books.admin.execute(
        "INSERT INTO school.student_profiles (user_id, student_number, grade_level) "
        "VALUES (%s, '2030-00043', 'Grade 7')",
        (s4,),
    )
    books.admin.execute(
        "INSERT INTO school.enrollment_progress (student_id, school_year_id) VALUES (%s, %s)",
        (s4, ids["year"]),
    )
    with books.clerk() as conn:
        assert ledger.assign_fees(conn, ids["year"]) == 12
        by_number = ledger.find_students(conn, "2030-00042")
        assert [(m.student_id, m.number, m.section, m.balance) for m in by_number] == [
            (ids["s2"], "2030-00042", "Grade 7 - Rizal", D("11500.00"))
        ]
        assert [m.student_id for m in ledger.find_students(conn, "cruz DELA")] == [s4]
        assert [m.number for m in ledger.find_students(conn, "2030-0004")] == [
            "2030-00043",  # Dela Cruz before Student (the others' last name)
            "2030-00042",
        ]
        assert ledger.find_students(conn, "100%") == []  # a LIKE wildcard is a character
        assert ledger.find_students(conn, "teacher@ledger.test") == []  # students only


# =====================================================================================
# A school whose fees and payments predate the ledger
# =====================================================================================
def test_payments_from_before_the_ledger_are_allocated_numbered_and_carried_forward(pg_server):
    """A school of the first chain of schema files that took payments before the ledger
    (version 6), migrated by that chain to version 13 and carried forward to today's."""
    import secrets

    from school_tui.db import bootstrap, people
    from school_tui.db.connect import RoleNames
    from tests.db import old_chain

    roles = RoleNames(f"m7{secrets.token_hex(3)}")
    dbname = f"{roles.prefix}_db"
    with pg_server.admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        with pg_server.admin(dbname) as conn:
            old_chain.build(conn, roles, upto=6)
            assert bootstrap.schema_version(conn) == 6
            student = people.create_person(
                conn, role="Student", first_name="Old", last_name="Ledger",
                email="old@ledger.test", password=None, must_change=False,
            )  # fmt: skip
            conn.execute(
                "INSERT INTO school.school_years (name, starts_on, ends_on, is_current) "
                "VALUES ('2025-2026', '2025-06-01', '2026-05-31', true)"
            )
            fees = [
                conn.execute(
                    "INSERT INTO school.fees (student_id, fee_type, amount, due_date, status) "
                    "VALUES (%s, %s, %s, %s, 'Unpaid') RETURNING id",
                    (student, fee_type, amount, due),
                ).fetchone()[0]
                for fee_type, amount, due in (
                    ("Tuition", "1000.00", "2025-07-31"),
                    ("Books", "200.00", "2999-01-31"),
                )
            ]
            for fee, amount, when in (
                (fees[0], "600.00", "2025-07-02"),
                (fees[1], "200.00", "2025-07-01"),
                (fees[0], "100.00", "2025-07-03"),
            ):
                conn.execute(
                    "INSERT INTO school.payments (fee_id, amount_paid, payment_method, "
                    "payment_date) VALUES (%s, %s, 'Cash', %s)",
                    (fee, amount, when),
                )
            old_chain.migrate(conn, roles)
            assert bootstrap.upgrade(conn, roles) == bootstrap.latest_version()
            assert conn.execute(
                "SELECT receipt_no, amount_paid, student_id FROM school.payments ORDER BY id"
            ).fetchall() == [(2, D("600.00"), student), (1, D("200.00"), student),
                             (3, D("100.00"), student)]  # fmt: skip
            assert conn.execute(
                "SELECT fee_type, paid, balance, status FROM school.fee_balances ORDER BY fee_id"
            ).fetchall() == [
                ("Tuition", D("700.00"), D("300.00"), "Overdue"),
                ("Books", D("200.00"), D("0.00"), "Paid"),
            ]
            assert conn.execute("SELECT count(*) FROM school.allocations").fetchone()[0] == 3
            assert_ledger_invariants(conn)
    finally:
        with pg_server.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
            for (role,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s "
                "ORDER BY rolname = %s, rolname = %s",
                (roles.prefix + "\\_%", roles.member, roles.owner),
            ).fetchall():
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


# =====================================================================================
# Amounts refused as typed, never rounded (as the accountant's own login)
# =====================================================================================
BAD_AMOUNTS = [  # (amount, the rule)
    (D("0"), "must be more than zero"),
    (D("-1500.00"), "must be more than zero"),
    (D("1500.005"), "at most two decimal places"),  # numeric(10,2) would make it 1500.01
    (D("0.001"), "at most two decimal places"),
    (D("10000000.00"), "at most 9,999,999.99"),
    (D("1e400"), "at most 9,999,999.99"),
]


@pytest.mark.parametrize(("amount", "rule"), BAD_AMOUNTS, ids=lambda v: str(v))
def test_every_money_function_refuses_a_bad_amount_as_typed(books, amount, rule):
    _assign(books)
    ids = books.ids
    tuition = books.admin.execute(
        "SELECT id FROM school.fees WHERE student_id = %s AND fee_type = 'Tuition'", (ids["s1"],)
    ).fetchone()[0]
    before = {t: books.count(t) for t in ("fees", "fee_schedules", "fee_schedule_installments",
                                          "fee_installments", "payments", "adjustments")}  # fmt: skip
    good = D("1500.00")
    with books.clerk() as conn:
        attempts = {
            "amount": [
                lambda: ledger.add_fee(
                    conn, ids["s1"], "Uniform", amount, ids["year"], books.today
                ),
                lambda: ledger.save_schedule(
                    conn, ids["year"], "Grade 8", "Tuition", amount, books.today
                ),
                lambda: ledger.post_payment(conn, ids["s1"], amount, "Cash", None, uuid.uuid4()),
                lambda: ledger.add_adjustment(
                    conn, tuition, "Discount", "sibling", ids["principal"], amount
                ),
            ],
            "installment 2": [
                lambda: ledger.add_fee(
                    conn,
                    ids["s1"],
                    "Uniform",
                    good,
                    ids["year"],
                    books.today,
                    [Installment(books.today, good), Installment(books.today, amount)],
                ),  # fmt: skip
                lambda: ledger.save_schedule(
                    conn,
                    ids["year"],
                    "Grade 8",
                    "Tuition",
                    good,
                    books.today,
                    [Installment(books.today, good), Installment(books.today, amount)],
                ),  # fmt: skip
                lambda: ledger.set_installment_plan(
                    conn,
                    tuition,
                    [Installment(books.today, good), Installment(books.today, amount)],
                ),
            ],
        }
        for field_name, calls in attempts.items():
            for n, attempt in enumerate(calls):
                with pytest.raises(LedgerRefused) as refused:
                    attempt()
                assert str(refused.value) == f"{field_name}: {rule}", (field_name, n)
    after = {t: books.count(t) for t in before}
    assert after == before  # nothing written, nothing rounded


@pytest.mark.parametrize("amount", ["1500.005", "0", "-1", "10000000.00"])
def test_accounting_cannot_write_money_columns_directly(books, amount):
    """What psql would do with the accountant's login: no direct INSERT or UPDATE of a money
    column, so no numeric(10,2) gets the chance to round 1500.005 to 1500.01."""
    _assign(books)
    ids = books.ids
    fee = books.admin.execute("SELECT min(id) FROM school.fees").fetchone()[0]
    statements = [
        ("INSERT INTO school.fees (student_id, fee_type, amount, school_year_id) "
         "VALUES (%s, 'Other', %s::numeric, %s)", (ids["s1"], amount, ids["year"])),
        ("INSERT INTO school.fee_schedules (school_year_id, grade_level, fee_type, amount, "
         "due_date) VALUES (%s, 'Grade 9', 'Tuition', %s::numeric, current_date)",
         (ids["year"], amount)),
        ("UPDATE school.fee_schedules SET amount = %s::numeric WHERE id = %s",
         (amount, ids["misc"])),
        ("INSERT INTO school.fee_schedule_installments (schedule_id, seq, due_date, amount) "
         "VALUES (%s, 1, current_date, %s::numeric)", (ids["books"], amount)),
        ("DELETE FROM school.fee_schedule_installments WHERE schedule_id = %s",
         (ids["tuition"],)),
        ("INSERT INTO school.fee_installments (fee_id, seq, due_date, amount) "
         "VALUES (%s, 9, current_date, %s::numeric)", (fee, amount)),
        ("INSERT INTO school.payments (fee_id, amount_paid, payment_method) "
         "VALUES (%s, %s::numeric, 'Cash')", (fee, amount)),
    ]  # fmt: skip
    with books.clerk() as conn:
        for statement, params in statements:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement, params)
    assert books.admin.execute(
        "SELECT amount FROM school.fee_schedules WHERE id = %s", (ids["misc"],)
    ).fetchone()[0] == D("1000.00")
    assert books.count("payments") == 0 and books.count("fees") == 9


def test_good_amounts_go_in_through_the_functions_as_typed(books):
    ids = books.ids
    with books.clerk() as conn:
        fee = ledger.add_fee(
            conn, ids["s1"], "Uniform", D("1500.01"), ids["year"], books.today,
            [Installment(books.today, D("0.01")), Installment(books.today + timedelta(30), D("1500.00"))],
        )  # fmt: skip
        big = ledger.add_fee(conn, ids["s2"], "Other", D("9999999.99"), ids["year"], books.today)
        sched = ledger.save_schedule(
            conn, ids["year"], "Grade 8", "Tuition", D("0.01"), books.today
        )
    assert books.admin.execute(
        "SELECT array_agg(amount ORDER BY seq) FROM school.fee_installments WHERE fee_id = %s",
        (fee,),
    ).fetchone()[0] == [D("0.01"), D("1500.00")]
    assert books.admin.execute("SELECT amount FROM school.fees WHERE id = %s", (big,)).fetchone()[
        0
    ] == D("9999999.99")
    assert [s.amount for s in ledger.schedules(books.admin, ids["year"]) if s.id == sched] == [
        D("0.01")
    ]


# =====================================================================================
# A new schedule never replaces an existing one; editing names it
# =====================================================================================
def test_a_new_schedule_where_one_exists_is_refused_and_the_old_plan_stays(books):
    ids = books.ids
    with books.clerk() as conn:
        with pytest.raises(LedgerRefused) as refused:
            ledger.save_schedule(conn, ids["year"], "Grade 7", "Tuition", D("9000.00"), books.today)
        assert str(refused.value) == (
            "fee type: Grade 7 already has a Tuition schedule for 2030-2031; edit that one (e)"
        )
        tuition = next(s for s in ledger.schedules(conn, ids["year"]) if s.id == ids["tuition"])
        assert (tuition.amount, len(tuition.plan)) == (D("10000.00"), 4)
        # Editing it (by id): the due date moves, the plan is what the edit says.
        plan = [Installment(books.today + timedelta(days=n), D("5000.00")) for n in (1, 2)]
        assert (
            ledger.save_schedule(
                conn,
                ids["year"],
                "Grade 7",
                "Tuition",
                D("10000.00"),
                plan[-1].due_date,
                plan,
                schedule_id=ids["tuition"],
            )  # fmt: skip
            == ids["tuition"]
        )
        with pytest.raises(LedgerRefused, match="^fee type: a schedule's school year"):
            ledger.save_schedule(
                conn,
                ids["year"],
                "Grade 8",
                "Tuition",
                D("1.00"),
                books.today,
                schedule_id=ids["misc"],
            )
        edited = next(s for s in ledger.schedules(conn, ids["year"]) if s.id == ids["tuition"])
    assert edited.plan == plan and edited.due_date == plan[-1].due_date
    assert books.count("fee_schedules") == 3


# =====================================================================================
# The day close holds against reversals and against a close landing mid-post
# =====================================================================================
def test_a_clerk_who_closed_the_day_reverses_no_payment_on_it(books):
    _assign(books)
    ids = books.ids
    tuition = books.admin.execute(
        "SELECT id FROM school.fees WHERE student_id = %s AND fee_type = 'Tuition'", (ids["s1"],)
    ).fetchone()[0]
    with books.clerk() as conn, books.clerk("clerk2") as other:
        paid = ledger.post_payment(conn, ids["s1"], D("300.00"), "Cash", None, uuid.uuid4())
        discount = ledger.add_adjustment(
            conn, tuition, "Discount", "sibling", ids["principal"], D("100.00")
        )
        ledger.close_day(conn, books.today, D("300.00"))
        with pytest.raises(LedgerRefused, match=f"^day: you have closed {books.today} already"):
            ledger.reverse_payment(conn, paid.payment_id, "wrong student")
        assert books.count("reversals") == 0
        # The close still matches the books.
        close = ledger.day_closes(conn)[0]
        expected = {
            t.method: t.expected for t in ledger.expected_takings(conn, ids["clerk"], books.today)
        }
        assert close.expected_cash == expected["Cash"] == D("300.00")
        # An adjustment moves no money: its reversal is allowed.
        ledger.reverse_adjustment(conn, discount, "withdrawn")
        # A clerk whose day is open hands the money back, from their own drawer.
        ledger.reverse_payment(other, paid.payment_id, "wrong student")
        theirs = {t.method: t for t in ledger.expected_takings(other, ids["clerk2"], books.today)}
    assert (theirs["Cash"].reversals, theirs["Cash"].expected) == (1, D("-300.00"))


def _in_thread(fn, *args) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run():
        try:
            result["value"] = fn(*args)
        except Exception as exc:  # handed to the test, which asserts on it
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_a_close_landing_while_a_post_is_checking_wins_and_the_post_is_refused(books):
    """The close takes the lock first and has not committed; the same clerk's post must wait
    for it before it looks for a close (looking first, then waiting at the receipt number,
    would post on the closed day)."""
    _assign(books)
    closing = books.clerk(autocommit=False)
    posting = books.clerk()
    ledger.close_day(closing, books.today, D("0.00"))  # holds the lock, not committed
    thread, result = _in_thread(
        ledger.post_payment, posting, books.ids["s1"], D("100.00"), "Cash", None, uuid.uuid4()
    )
    _blocked(books, posting)
    closing.commit()
    thread.join(30)
    assert isinstance(result.get("error"), LedgerRefused), result
    assert str(result["error"]).startswith(f"day: you have closed {books.today} already")
    assert books.count("payments") == 0


def test_a_close_landing_while_a_reversal_is_checking_wins_and_the_reversal_is_refused(books):
    _assign(books)
    with books.clerk() as conn:
        paid = ledger.post_payment(conn, books.ids["s1"], D("100.00"), "Cash", None, uuid.uuid4())
    closing = books.clerk(autocommit=False)
    reversing = books.clerk()
    ledger.close_day(closing, books.today, D("100.00"))
    thread, result = _in_thread(ledger.reverse_payment, reversing, paid.payment_id, "typo")
    _blocked(books, reversing)
    closing.commit()
    thread.join(30)
    assert isinstance(result.get("error"), LedgerRefused), result
    assert books.count("reversals") == 0


def test_a_post_in_flight_is_counted_by_the_close_that_waits_for_it(books):
    _assign(books)
    posting = books.clerk(autocommit=False)
    closing = books.clerk()
    posting.execute(
        "SELECT * FROM school.post_payment(%s, 250.00, 'Cash', NULL, %s)",
        (books.ids["s1"], uuid.uuid4()),
    )
    thread, result = _in_thread(ledger.close_day, closing, books.today, D("250.00"))
    _blocked(books, closing)
    posting.commit()
    thread.join(30)
    assert "error" not in result, result
    close = ledger.day_closes(books.admin)[0]
    assert (close.payments_count, close.expected_cash, close.cash_difference) == (
        1,
        D("250.00"),
        D("0.00"),
    )


# =====================================================================================
# Concurrency: two cashiers, one student; many cashiers, many students
# =====================================================================================
def test_two_cashiers_paying_one_students_dues_at_once_both_post(books):
    _assign(books)
    ids = books.ids
    first, second = books.clerk(autocommit=False), books.clerk("clerk2")
    first.execute(
        "SELECT * FROM school.post_payment(%s, 2600.00, 'Cash', NULL, %s)",
        (ids["s1"], uuid.uuid4()),
    )  # the first due (2,500.00) and 100.00 of the next
    thread, result = _post_in_thread(second, (ids["s1"], D("2000.00"), "Card", None, uuid.uuid4()))
    _blocked(books, second)  # on the first cashier's lock on the dues
    first.commit()
    thread.join(30)
    assert "error" not in result, result
    second_receipt = result["receipt"]
    assert second_receipt.receipt_no == 2
    # The second saw what the first allocated: it starts where the first stopped.
    assert [(a.fee_type, a.seq, a.amount) for a in second_receipt.allocations] == [
        ("Books", 1, D("400.00")),
        ("Miscellaneous", 1, D("1000.00")),
        ("Tuition", 2, D("600.00")),
    ]
    over = books.admin.execute(
        "SELECT count(*) FROM school.installment_balances WHERE student_id = %s "
        "AND (paid > amount OR open < 0)",
        (ids["s1"],),
    ).fetchone()[0]
    assert over == 0
    assert second_receipt.balance == D("6900.00")


def test_concurrent_posts_for_different_students_get_gapless_unique_receipts(books):
    _assign(books)
    ids = books.ids
    students = [ids["s1"], ids["s2"], ids["s3"]]
    per_thread = 6
    barrier = threading.Barrier(len(students) + 1)
    conns = [books.clerk(which) for which in ("clerk", "clerk2", "clerk")]
    loser = books.clerk(autocommit=False)
    errors_seen: list[Exception] = []
    numbers: list[int] = []
    lock = threading.Lock()

    def cashier(conn, student):
        barrier.wait()
        try:
            for _ in range(per_thread):
                r = ledger.post_payment(conn, student, D("10.00"), "Cash", None, uuid.uuid4())
                with lock:
                    numbers.append(r.receipt_no)
        except Exception as exc:  # reported below
            errors_seen.append(exc)

    def rolls_back():
        barrier.wait()
        try:
            for _ in range(per_thread):  # takes a number, then gives it back
                loser.execute(
                    "SELECT * FROM school.post_payment(%s, 10.00, 'Card', NULL, %s)",
                    (ids["s2"], uuid.uuid4()),
                )
                loser.rollback()
        except Exception as exc:  # reported below
            errors_seen.append(exc)

    threads = [
        threading.Thread(target=cashier, args=(c, s)) for c, s in zip(conns, students, strict=True)
    ]
    threads.append(threading.Thread(target=rolls_back))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors_seen == []
    total = per_thread * len(students)
    assert sorted(numbers) == list(range(1, total + 1))
    assert books.admin.execute(
        "SELECT count(*), count(DISTINCT receipt_no), min(receipt_no), max(receipt_no) "
        "FROM school.payments"
    ).fetchone() == (total, total, 1, total)


# =====================================================================================
# A receipt's balance after it agrees with the statement, back-dated payments too
# =====================================================================================
def test_a_receipts_balance_after_is_the_statements_for_back_dated_payments(books):
    from school_tui.db import accounting_reports as ar

    ids = books.ids
    now = books.admin.execute("SELECT now()").fetchone()[0]
    fee = books.admin.execute(
        "INSERT INTO school.fees (student_id, fee_type, amount, school_year_id, created_at) "
        "VALUES (%s, 'Other', 1000.00, %s, %s) RETURNING id",
        (ids["s1"], ids["year"], now - timedelta(days=30)),
    ).fetchone()[0]
    with books.clerk() as conn:
        today = ledger.post_payment(conn, ids["s1"], D("100.00"), "Cash", None, uuid.uuid4())
    # Recorded afterwards (receipt 2), dated ten days ago: as the demo loader does.
    earlier = books.admin.execute(
        "SELECT payment_id FROM school.record_payment(%s, 200.00, 'Cash', NULL, %s, %s, %s)",
        (ids["s1"], uuid.uuid4(), ids["clerk"], now - timedelta(days=10)),
    ).fetchone()[0]
    with books.clerk() as conn:
        statement = ar.statement(conn, ids["s1"])
        after = {pid: ar.receipt(conn, pid).balance_after for pid in (today.payment_id, earlier)}
    on_statement = {line.payment_id: line.balance for line in statement.lines if line.payment_id}
    assert on_statement == {earlier: D("800.00"), today.payment_id: D("700.00")}
    assert after == on_statement
    assert fee


# =====================================================================================
# Paid before being verified: verifying completes the payment step
# =====================================================================================
def test_verifying_a_student_who_has_paid_everything_completes_payment(books):
    from school_tui.db import enrollment

    _assign(books)
    ids = books.ids
    admin = books.admin
    admin.execute(
        "UPDATE school.enrollment_progress SET current_status = 'Pending' "
        "WHERE student_id IN (%s, %s)",
        (ids["s1"], ids["s2"]),
    )
    with books.clerk() as conn:
        ledger.post_payment(conn, ids["s1"], D("11500.00"), "Cash", None, uuid.uuid4())
        ledger.post_payment(conn, ids["s2"], D("11000.00"), "Cash", None, uuid.uuid4())
    assert books.status("s1") == "Pending"  # the hook leaves Pending alone
    registrar = books.school.add_person("Registrar", email="registrar@ledger.test")
    enrollments = dict(
        admin.execute(
            "SELECT student_id, id FROM school.enrollment_progress WHERE student_id IN (%s, %s)",
            (ids["s1"], ids["s2"]),
        ).fetchall()
    )
    with books.school.connect_as(registrar, autocommit=True) as conn:
        enrollment.set_status(conn, [enrollments[ids["s1"]], enrollments[ids["s2"]]], "Verified")
        assert books.status("s1") == "Payment Complete"
        assert books.status("s2") == "Verified"  # 500.00 of Tuition still open
        # Back a step on purpose: it stays where the registrar put it.
        enrollment.set_status(conn, [enrollments[ids["s1"]]], "Verified", "recheck documents")
    assert books.status("s1") == "Verified"
    history = admin.execute(
        "SELECT from_status, to_status, remark, changed_by FROM school.enrollment_history "
        "WHERE enrollment_id = %s ORDER BY id",
        (enrollments[ids["s1"]],),
    ).fetchall()
    assert history[-3:] == [
        ("Pending", "Verified", None, registrar),
        ("Verified", "Payment Complete", "Required fees paid", registrar),
        ("Payment Complete", "Verified", "recheck documents", registrar),
    ]


def test_only_a_superusers_session_sets_the_time_a_charge_is_recorded_at(books):
    """school.ledger_clock is how the demo dates its history; a clerk who sets it still
    charges and discounts at now()."""
    ids = books.ids
    with books.clerk() as conn:
        conn.execute("SELECT set_config('school.ledger_clock', '2001-01-01 00:00+00', false)")
        _assign_fees_with(conn, ids["year"])
        tuition = conn.execute(
            "SELECT id FROM school.fees WHERE student_id = %s AND fee_type = 'Tuition'",
            (ids["s1"],),
        ).fetchone()[0]
        ledger.add_adjustment(conn, tuition, "Discount", "sibling", ids["principal"], D("1.00"))
    admin = books.admin
    assert admin.execute(
        "SELECT bool_and(created_at > now() - interval '1 hour') FROM school.fees"
    ).fetchone()[0]
    assert admin.execute(
        "SELECT bool_and(recorded_at > now() - interval '1 hour') FROM school.adjustments"
    ).fetchone()[0]
    admin.execute("SELECT set_config('school.ledger_clock', '2001-01-01 00:00+00', false)")
    fee = ledger.add_fee(admin, ids["s2"], "Other", D("5.00"), ids["year"], books.today)
    admin.execute("SELECT set_config('school.ledger_clock', '', false)")
    assert admin.execute(
        "SELECT created_at::date FROM school.fees WHERE id = %s", (fee,)
    ).fetchone()[0] == date(2001, 1, 1)


def _assign_fees_with(conn, year: int) -> None:
    assert ledger.assign_fees(conn, year) == 9
