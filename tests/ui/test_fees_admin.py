"""Accounting's screens driven by keyboard (Pilot) on a small known ledger: a fee schedule
made through its form (bad amounts refused with the field and the rule), bulk assignment
twice (the second adds nothing and says so), an installment plan refused until it adds up,
a scholarship and a reversal from a statement, the day close. And the student's side: their
own fees, payments and receipts, nobody else's. The books add up after each."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from psycopg import sql

from school_tui.app import SchoolApp
from school_tui.auth.login import login
from school_tui.domain.money import MoneyFormat
from school_tui.screens.accounting.fees import AssignModal, InstallmentModal
from tests.builders import assert_books_add_up, enroll, make_books
from tests.harness import DEMO_PASSWORD, wait_until
from tests.pages import (
    ConfirmPage,
    DayClosePage,
    ExportPage,
    FeesPage,
    FormPage,
    HomePage,
    PickerPage,
    ReceiptPage,
    ReportsPage,
    StatementPage,
)

SIZE = (80, 24)


@pytest.fixture
def books(school):
    ids = make_books(school)
    yield school, ids
    assert_books_add_up(school.admin)


async def _start(pilot_app, school, email):
    session = await asyncio.to_thread(login, school.target, email, DEMO_PASSWORD)
    pilot_app.start_session(session)


async def _clerk_home(pilot, school) -> None:
    """The clerk logged in, on the Accounting home."""
    app = pilot.app
    await _start(app, school, "clerk@reports.test")
    await wait_until(pilot, lambda: HomePage(app).is_open("Accounting"), "home")


async def _save_expecting(pilot, message: str, field: str) -> None:
    """Ctrl+S on a form: refused, the rule under `field` and the cursor there."""
    form = FormPage(pilot.app)
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: message in form.status(), message)
    assert message.split(": ", 1)[-1] in form.error(field)
    assert form.focused(field)


async def test_fee_admin_by_keyboard(books):
    school, ids = books
    admin = school.admin
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _clerk_home(pilot, school)
        fees, form, home = FeesPage(app), FormPage(app), HomePage(app)

        # -- a new schedule through its form ---------------------------------------------
        await pilot.press("f")
        await wait_until(pilot, fees.loaded, "fee schedules")
        assert len(fees.rows()) == 2
        await pilot.press("n")
        await wait_until(pilot, form.ready, "the form")
        form.set("sched-year", ids["year"])
        form.set("sched-grade", "Grade 7")
        form.set("sched-type", "Library")
        amount = form.field("sched-amount")
        due = form.field("sched-due")
        due.value = ids["today"].replace(day=1).isoformat()
        for typed, message in (
            ("0", "Amount: must be more than zero"),
            ("-5", "Amount: must be more than zero"),
            ("12.345", "Amount: at most two decimal places"),
            ("twelve", "Amount: 'twelve' is not an amount"),
            ("99999999999", "Amount: at most 9,999,999.99"),
        ):
            amount.value = typed
            await _save_expecting(pilot, message, "sched-amount")
        amount.value = "1,500.00"
        due.value = "2031-02-30"
        await _save_expecting(pilot, "Due date: use YYYY-MM-DD, a real date", "sched-due")
        assert admin.execute("SELECT count(*) FROM school.fee_schedules").fetchone()[0] == 2
        due.value = (ids["today"].replace(day=1)).isoformat()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(fees.rows()) == 3, "the new schedule listed")
        library = [r for r in fees.rows() if r[2] == "Library"][0]
        assert library[3] == "₱1,500.00"

        # -- bulk assignment, twice ------------------------------------------------------
        fees.highlight("Library")
        await pilot.press("b")
        await wait_until(pilot, lambda: form.ready(AssignModal), "assign modal")
        assert "Enter on a choice counts the fees" in form.status()
        form.set("assign-scope", ("Grade 7", None, None))
        await wait_until(pilot, ConfirmPage(app).is_open, "the confirmation")
        question = ConfirmPage(app).question()
        assert "Charge 2 fees to the 2 students of Grade 7: every section" in question
        assert "2 fees they already have are left alone" in question
        await pilot.press("y")
        await wait_until(pilot, lambda: "Charged 2 fees." in fees.status(), "done")
        await pilot.press("b")
        await wait_until(pilot, lambda: form.ready(AssignModal), "assign modal again")
        form.set("assign-scope", ("Grade 7", None, None))
        await wait_until(pilot, lambda: "Nothing to add" in form.status(), "nothing to add")
        assert "already have every fee of 2030-2031 (4 fees)" in form.status()
        await pilot.press("escape")
        library_fees = "SELECT count(*) FROM school.fees WHERE fee_type = 'Library'"
        assert admin.execute(library_fees).fetchone()[0] == 2

        # -- an installment plan that must add up ----------------------------------------
        await pilot.press("i")
        await wait_until(pilot, lambda: form.ready(InstallmentModal), "plan editor")
        assert form.focused("due-1")
        form.set("due-1", ids["today"].replace(day=1).isoformat())
        form.set("amount-1", "1000")
        form.set("due-2", "2031-03-01")
        form.set("amount-2", "400")
        await wait_until(pilot, lambda: "Left to assign: ₱100.00" in form.live(), "live sum")
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: "must add up to the fee exactly" in form.status(), "refusal"
        )
        assert "they are 100.00 short" in form.error("amount-10")
        assert form.focused("amount-10")
        plans = "SELECT count(*) FROM school.fee_schedule_installments"
        assert admin.execute(plans).fetchone()[0] == 4  # the Tuition plan only
        form.set("due-3", "2031-04-01")
        await pilot.press("ctrl+e")  # the fee split over the three dates
        await wait_until(pilot, lambda: form.field("amount-3").value == "500.00", "split")
        assert [form.field(f"amount-{n}").value for n in (1, 2)] == ["500.00", "500.00"]
        form.set("due-3", "")
        form.set("amount-3", "")
        form.set("amount-1", "1000")
        await wait_until(pilot, lambda: "exactly" in form.live(), "adds up")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "2 installments saved" in fees.status(), "saved")
        assert admin.execute(plans).fetchone()[0] == 6
        await pilot.press("escape")

        # -- a scholarship and a reversal from s1's statement ----------------------------
        await wait_until(pilot, lambda: home.is_open("Accounting"), "home")
        await pilot.press("s")
        picker = PickerPage(app)
        await wait_until(pilot, picker.is_open, "student picker")
        await pilot.press(*"s1@reports")
        await wait_until(pilot, lambda: len(picker.rows()) == 1, "one match")
        await pilot.press("enter")
        statement = StatementPage(app)
        await wait_until(pilot, statement.loaded, "the statement")
        statement.highlight("Charge")
        await pilot.press("a")
        await wait_until(pilot, form.ready, "adjustment form")
        form.set("adj-kind", "Scholarship")
        form.set("adj-mode", "percent")
        form.set("adj-value", "150")
        await _save_expecting(pilot, "Value: more than 0 and at most 100 percent", "adj-value")
        form.set("adj-value", "10")
        await _save_expecting(pilot, "Reason: required; say why", "adj-reason")
        form.set("adj-reason", "honours")
        await _save_expecting(pilot, "Approved by: choose who approved it", "adj-approved")
        form.set("adj-approved", ids["principal"])
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: "Adjustment" in statement.kinds(), "the scholarship on the statement"
        )
        adjustments = admin.execute(
            "SELECT kind, percent, amount FROM school.adjustments"
        ).fetchall()
        assert adjustments == [("Scholarship", Decimal("10.00"), Decimal("100.00"))]
        # charges: Tuition 1,000 + Library 1,500 (assigned above) + the reversed check 100;
        # credits: payments 400, the scholarship 100
        assert "balance ₱2,100.00" in statement.summary()

        statement.highlight("Payment")
        await pilot.press("v")
        await wait_until(pilot, form.ready, "reversal form")
        await pilot.press("enter")  # no reason yet
        await wait_until(pilot, lambda: "Reason: required" in form.status(), "why")
        await pilot.press(*"wrong student", "enter")
        await wait_until(pilot, ConfirmPage(app).is_open, "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: "balance ₱2,400.00" in statement.summary(), "reversed")
        assert admin.execute("SELECT count(*) FROM school.reversals").fetchone()[0] == 2
        await pilot.press("escape")

        # -- the day close ---------------------------------------------------------------
        await wait_until(pilot, lambda: home.is_open("Accounting"), "home")
        await pilot.press("d")
        close = DayClosePage(app)
        await wait_until(pilot, close.loaded, "expected takings")
        expected = close.expected()
        # today: 200.00 cash taken and the 300.00 cash payment reversed above handed back; the
        # check (100.00) taken and reversed today nets to zero
        assert expected["Cash"] == "-₱100.00" and expected["Check"] == "₱0.00"
        await pilot.press(*"abc")
        await wait_until(pilot, lambda: "not a number" in close.live(), "not yet")
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: "Counted cash: 'abc' is not an amount" in close.status(), "refused"
        )
        await pilot.press("backspace", "backspace", "backspace", "0")
        await wait_until(pilot, lambda: "₱100.00 over" in close.live(), "over")
        await pilot.press("enter", *"coin jar", "enter")
        await wait_until(pilot, ConfirmPage(app).is_open, "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: len(close.closes()) == 1, "the close listed")
        closed = admin.execute(
            "SELECT expected_cash, counted_cash, cash_difference, note FROM school.day_closes"
        ).fetchone()
        assert closed == (Decimal("-100.00"), Decimal("0.00"), Decimal("100.00"), "coin jar")


async def _pick_one_student(pilot, typed: str) -> None:
    """On the fees screen: b, One student, find them in the picker, Enter."""
    app = pilot.app
    form, picker = FormPage(app), PickerPage(app)
    await pilot.press("b")
    await wait_until(pilot, lambda: form.ready(AssignModal), "assign modal")
    form.set("assign-scope", "one student")
    await wait_until(pilot, picker.is_open, "the student picker")
    await pilot.press(*typed)
    await wait_until(pilot, lambda: len(picker.rows()) == 1, "one match")
    await pilot.press("enter")


async def test_a_late_enrollee_gets_the_years_fees_and_a_new_fee_type(books):
    school, ids = books
    admin = school.admin
    late = school.add_person("Student", email="late@reports.test", password=None)
    enroll(school, late, ids["year"], ids["g7"], status="Verified")
    fees = "SELECT fee_type, amount FROM school.fees WHERE student_id = %s ORDER BY id"
    count = "SELECT count(*) FROM school.fees"
    fees_before = admin.execute(count).fetchone()[0]
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _clerk_home(pilot, school)
        schedules, form = FeesPage(app), FormPage(app)
        await pilot.press("f")
        await wait_until(pilot, schedules.loaded, "fee schedules")

        # -- one student: the Grade 7 tuition, with its four dues, and nobody else's ------
        await _pick_one_student(pilot, "late@reports")
        await wait_until(pilot, ConfirmPage(app).is_open, "the confirmation")
        assert "Charge 1 fees to Student, Test (2030-2031)?" in ConfirmPage(app).question()
        await pilot.press("y")
        await wait_until(pilot, lambda: "Charged 1 fees." in schedules.status(), "done")
        assert admin.execute(fees, (late,)).fetchall() == [("Tuition", Decimal("1000.00"))]
        assert admin.execute(count).fetchone()[0] == fees_before + 1
        dues = admin.execute(
            "SELECT count(*) FROM school.fee_installments i JOIN school.fees f "
            "ON f.id = i.fee_id WHERE f.student_id = %s",
            (late,),
        ).fetchone()[0]
        assert dues == 4  # the schedule's plan, copied

        # -- twice: nothing more, and it says so -------------------------------------------
        await _pick_one_student(pilot, "late@reports")
        await wait_until(pilot, lambda: "Nothing to add" in form.status(), "nothing to add")
        assert "Student, Test already has every fee of 2030-2031 (1 fees)" in form.status()
        await pilot.press("escape")
        await wait_until(pilot, schedules.loaded, "back on the schedules")
        assert admin.execute(count).fetchone()[0] == fees_before + 1

        # -- a new fee type: checked, then saved, then offered for a schedule -------------
        await pilot.press("t")
        await wait_until(pilot, form.ready, "the fee type form")
        assert "Tuition" in form.note()
        await _save_expecting(pilot, "Name: required", "type-name")
        form.set("type-name", "x" * 61)
        await _save_expecting(pilot, "Name: at most 60 characters (you typed 61)", "type-name")
        form.set("type-name", "  tuition ")
        await _save_expecting(pilot, "Name: the fee type Tuition exists", "type-name")
        form.set("type-name", "Computer  laboratory")
        await _save_expecting(pilot, "Required: choose yes or no", "type-required")
        types = "SELECT name, required FROM school.fee_types ORDER BY id"
        assert ("Computer laboratory", False) not in admin.execute(types).fetchall()
        form.set("type-required", "no")
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: "Fee type Computer laboratory added (optional)" in schedules.status(),
            "saved",
        )
        assert admin.execute(types).fetchall()[-1] == ("Computer laboratory", False)
        await pilot.press("n")
        await wait_until(pilot, form.ready, "the schedule form")
        form.set("sched-type", "Computer laboratory")  # a value not offered would raise
        assert form.field("sched-type").value == "Computer laboratory"


async def _export(pilot, path) -> None:
    """Ctrl+S, then the file name (its ending picks the format), Enter; wait for the file."""
    await pilot.press("ctrl+s")
    export = ExportPage(pilot.app)
    await wait_until(pilot, export.is_open, "export modal")
    export.set_path(path)
    await pilot.press("enter")
    await wait_until(pilot, lambda: path.exists() and path.stat().st_size > 0, f"{path.name}")


async def test_student_sees_own_fees_payments_and_receipts(books, tmp_path):
    school, ids = books
    # the school's money format from config.toml (1.234,50 €) reaches every amount shown
    euro = MoneyFormat(symbol="€", symbol_after=True, thousands=".", decimal=",")
    app = SchoolApp(school.target, prepare_server=False, money_format=euro)
    async with app.run_test(size=SIZE) as pilot:
        await _start(app, school, "s1@reports.test")
        home = HomePage(app)
        await wait_until(pilot, lambda: home.loaded(), "the student's home")
        fees = home.rows("fees")
        assert fees[0][0] == "Tuition 2030-2031" and fees[-1][0] == "Total"
        assert fees[-1][4] == "700,00 €"
        payments = home.rows("payments")
        assert [p[1] for p in payments] == ["OR 000002", "OR 000001"]  # not s2's OR 000003
        await pilot.press("5")  # the Payments tab (after Enrollment, Tasks, Modules, Fees)
        home.highlight("payments", 1)
        await pilot.press("enter")
        shown = ReceiptPage(app)
        await wait_until(pilot, shown.is_open, "the receipt")
        receipt = shown.text()
        assert "OR 000001" in receipt and "TOTAL PAID" in receipt and "300,00 €" in receipt
        assert max(len(line) for line in receipt.splitlines()) <= 40
        await _export(pilot, tmp_path / "receipt.pdf")
        assert (tmp_path / "receipt.pdf").read_bytes().startswith(b"%PDF-")
        await pilot.press("escape")
        # the statement, read-only: no discount or reversal keys
        await pilot.press("s")
        statement = StatementPage(app)
        await wait_until(pilot, statement.loaded, "own statement")
        assert "balance 700,00 €" in statement.summary()
        keys = statement.keys()
        assert "a" not in keys and "v" not in keys and "r" in keys
        await _export(pilot, tmp_path / "statement.csv")
        lines = (tmp_path / "statement.csv").read_text(encoding="utf-8").splitlines()
        assert lines[0] == "date,kind,description,reference,charge,credit,balance"
        assert lines[-1].endswith(",700.00") and len(lines) == 5


async def test_reports_export_the_tab_shown_to_csv(books, tmp_path):
    school, ids = books
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _clerk_home(pilot, school)
        reports = ReportsPage(app)
        await pilot.press("r")
        await wait_until(pilot, reports.loaded, "the reports")
        for key, path, rows in (
            ("2", tmp_path / "methods.csv", 3),
            ("4", tmp_path / "outstanding.csv", 2),
        ):
            await pilot.press(key, "ctrl+s")
            export = ExportPage(app)
            await wait_until(pilot, export.is_open, "where to export")
            field = export.path_field
            assert field.value.endswith(".csv")
            field.value = str(path)
            await pilot.press("enter")
            await wait_until(
                pilot,
                lambda p=path, n=rows: f"Exported {n} rows to {p}" in reports.status(),
                path.name,
            )
        # Ctrl+S never overwrites: the same name again is refused in the form
        await pilot.press("ctrl+s")
        await wait_until(pilot, export.is_open, "where to export")
        export.set_path(tmp_path / "outstanding.csv")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "already exists" in export.error(), "refused")
        await pilot.press("escape")
    import csv

    def read(name: str) -> list[list[str]]:
        with (tmp_path / name).open(encoding="utf-8", newline="") as f:
            return list(csv.reader(f))

    # the last 30 days by method (the check of today was reversed: nets to zero)
    assert read("methods.csv") == [
        ["method", "payments", "collected"],
        ["Card", "1", "250.00"],
        ["Cash", "2", "500.00"],
        ["Check", "1", "0.00"],
    ]
    outstanding = read("outstanding.csv")
    assert outstanding[0][:3] == ["grade_level", "section", "students"]
    assert [row[:3] + row[-1:] for row in outstanding[1:]] == [
        ["Grade 7", "Rizal", "2", "1450.00"],
        ["Grade 8", "Luna", "1", "400.00"],
    ]


def test_reports_screen_snapshot(demo_school, snap_compare):
    """The reports at 80x24 on the demo school, as of the demo's clock: the chart of the
    last 30 days over the table of days."""
    from school_tui.screens.accounting.reports import ReportsScreen
    from school_tui.server import demo
    from tests.harness import log_in

    async def run_before(pilot) -> None:
        app = pilot.app
        await log_in(pilot, "accounting@demo.school")
        app.push_screen(ReportsScreen(app.session, today=demo.NOW.date()))
        await wait_until(pilot, ReportsPage(app).loaded, "the reports")
        await wait_until(pilot, lambda: not any(not w.is_finished for w in app.workers), "idle")

    app = SchoolApp(demo_school.target, prepare_server=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_day_close_is_the_databases_day_not_this_terminals(books):
    """A server whose day differs from the terminal's (its time zone, here the clerk's login's
    TimeZone): the close screen shows and closes the day the ledger dates payments by, with
    today's takings in it, instead of the terminal's day (empty, and refused by close_day)."""
    from datetime import date

    school, ids = books
    admin = school.admin
    # UTC+14 and UTC-12 are 26 hours apart: at any moment one of them is on another day.
    zone = next(
        z
        for z in ("Pacific/Kiritimati", "Etc/GMT+12")
        if admin.execute("SELECT (now() AT TIME ZONE %s)::date", (z,)).fetchone()[0] != date.today()
    )
    admin.execute(
        sql.SQL("ALTER ROLE {} SET TimeZone = {}").format(
            sql.Identifier(school.login_role(ids["clerk"])), sql.Literal(zone)
        )
    )
    with school.connect_as(ids["clerk"]) as conn:
        server_day = conn.execute("SELECT current_date").fetchone()[0]
    assert server_day != date.today()
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _clerk_home(pilot, school)
        await pilot.press("d")
        close = DayClosePage(app)
        await wait_until(pilot, close.loaded, "expected takings")
        await wait_until(pilot, lambda: server_day.isoformat() in close.title(), "the server's day")
        # make_books' payments were posted just now: the 200.00 cash is on the server's day
        expected = close.expected()
        assert expected["Cash"] == "₱200.00" and expected["Check"] == "₱0.00"
        await pilot.press(*"200.00", "enter", "enter")
        await wait_until(pilot, ConfirmPage(app).is_open, "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: len(close.closes()) == 1, "the close listed")
    assert admin.execute("SELECT business_date FROM school.day_closes").fetchall() == [
        (server_day,)
    ]


async def test_the_accounting_home_shows_amounts_in_the_schools_format(books):
    """The home's tables (Summary, Balances) use config.toml's separators too, not Python's
    1,234.50 (a school writing 1.234,50 would read 2,600.00 as two point six)."""
    school, _ = books
    euro = MoneyFormat(symbol="€", symbol_after=True, thousands=".", decimal=",")
    app = SchoolApp(school.target, prepare_server=False, money_format=euro)
    async with app.run_test(size=SIZE) as pilot:
        await _start(app, school, "clerk@reports.test")
        home = HomePage(app)
        await wait_until(pilot, lambda: home.loaded(), "the home")
        summary = dict((r[0], r[1]) for r in home.rows("summary"))
        assert summary["Billed"] == "2.600,00"  # 2 x 1,000.00 (Grade 7) + 600.00 (Grade 8)
        assert summary["Open fees"] == "3"  # counts are not money: as they are
