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
from textual.widgets import DataTable, Input, Select, Static

from school_tui.app import SchoolApp
from school_tui.auth.login import login
from school_tui.domain.money import MoneyFormat
from tests.builders import assert_books_add_up, enroll, make_books
from tests.harness import DEMO_PASSWORD, table_rows, wait_until
from tests.pages import ExportPage

SIZE = (80, 24)


@pytest.fixture
def books(school):
    ids = make_books(school)
    yield school, ids
    assert_books_add_up(school.admin)


def _text(app, selector: str) -> str:
    """The text of a Static on the current screen ('' while another screen is up)."""
    found = app.screen.query(selector)
    return str(found.first(Static).render()) if found else ""


async def _start(pilot_app, school, email):
    session = await asyncio.to_thread(login, school.target, email, DEMO_PASSWORD)
    pilot_app.start_session(session)


async def _clerk_home(pilot, school) -> None:
    """The clerk logged in, on the Accounting home."""
    app = pilot.app
    await _start(app, school, "clerk@reports.test")
    await wait_until(pilot, lambda: getattr(app.screen, "ROLE", "") == "Accounting", "home")


def _rows(app, table_id: str) -> list[list[str]]:
    """The rows of a table on the current screen; none while another screen (a modal) is up."""
    return table_rows(app, table_id) if app.screen.query(f"#{table_id}") else []


def _loaded(app, table_id: str) -> bool:
    tables = app.screen.query(f"#{table_id}")
    return bool(tables) and not tables.first(DataTable).loading


async def _save_expecting(pilot, message: str, field: str) -> None:
    app = pilot.app
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: message in _text(app, "#form-status"), message)
    assert app.focused.id == field


async def test_fee_admin_by_keyboard(books):
    school, ids = books
    admin = school.admin
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _clerk_home(pilot, school)

        # -- a new schedule through its form ---------------------------------------------
        await pilot.press("f")
        await wait_until(pilot, lambda: _loaded(app, "fees-table"), "fee schedules")
        assert len(table_rows(app, "fees-table")) == 2
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen.query("#sched-amount"), "the form")
        form = app.screen
        form.query_one("#sched-year", Select).value = ids["year"]
        form.query_one("#sched-grade", Select).value = "Grade 7"
        form.query_one("#sched-type", Select).value = "Library"
        amount = form.query_one("#sched-amount", Input)
        due = form.query_one("#sched-due", Input)
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
        await wait_until(
            pilot, lambda: len(_rows(app, "fees-table")) == 3, "the new schedule listed"
        )
        library = [r for r in table_rows(app, "fees-table") if r[2] == "Library"][0]
        assert library[3] == "₱1,500.00"

        # -- bulk assignment, twice ------------------------------------------------------
        table = app.screen.query_one("#fees-table", DataTable)
        table.move_cursor(row=[r[2] for r in table_rows(app, "fees-table")].index("Library"))
        await pilot.press("b")
        await wait_until(pilot, lambda: app.screen.query("#assign-scope"), "assign modal")
        app.screen.query_one("#assign-scope", Select).value = ("Grade 7", None, None)
        await wait_until(pilot, lambda: app.screen.query("#confirm-yes"), "the confirmation")
        question = str(app.screen.query(".modal-note").first().render())
        assert "Charge 2 fees to the 2 students of Grade 7: every section" in question
        assert "2 fees they already have are left alone" in question
        await pilot.press("y")
        await wait_until(pilot, lambda: "Charged 2 fees." in _text(app, "#fees-status"), "done")
        await pilot.press("b")
        await wait_until(pilot, lambda: app.screen.query("#assign-scope"), "assign modal again")
        app.screen.query_one("#assign-scope", Select).value = ("Grade 7", None, None)
        await wait_until(
            pilot, lambda: "Nothing to add" in _text(app, "#assign-status"), "nothing to add"
        )
        assert "already have every fee of 2030-2031 (4 fees)" in _text(app, "#assign-status")
        await pilot.press("escape")
        fees = "SELECT count(*) FROM school.fees WHERE fee_type = 'Library'"
        assert admin.execute(fees).fetchone()[0] == 2

        # -- an installment plan that must add up ----------------------------------------
        await pilot.press("i")
        await wait_until(pilot, lambda: app.screen.query("#plan-live"), "plan editor")
        screen = app.screen
        screen.query_one("#due-1", Input).value = ids["today"].replace(day=1).isoformat()
        screen.query_one("#amount-1", Input).value = "1000"
        screen.query_one("#due-2", Input).value = "2031-03-01"
        screen.query_one("#amount-2", Input).value = "400"
        await wait_until(
            pilot, lambda: "Left to assign: ₱100.00" in _text(app, "#plan-live"), "live sum"
        )
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: "must add up to the fee exactly" in _text(app, "#plan-status"), "refusal"
        )
        plans = "SELECT count(*) FROM school.fee_schedule_installments"
        assert admin.execute(plans).fetchone()[0] == 4  # the Tuition plan only
        screen.query_one("#amount-2", Input).value = "500"
        await wait_until(pilot, lambda: "exactly" in _text(app, "#plan-live"), "adds up")
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: "2 installments saved" in _text(app, "#fees-status"), "saved"
        )
        assert admin.execute(plans).fetchone()[0] == 6
        await pilot.press("escape")

        # -- a scholarship and a reversal from s1's statement ----------------------------
        await wait_until(pilot, lambda: getattr(app.screen, "ROLE", "") == "Accounting", "home")
        await pilot.press("s")
        await wait_until(pilot, lambda: app.screen.query("#picker-query"), "student picker")
        await pilot.press(*"s1@reports")
        await wait_until(pilot, lambda: len(_rows(app, "picker-table")) == 1, "one match")
        await pilot.press("enter")
        await wait_until(pilot, lambda: _loaded(app, "statement-table"), "the statement")
        kinds = [r[1] for r in table_rows(app, "statement-table")]
        statement = app.screen.query_one("#statement-table", DataTable)
        statement.move_cursor(row=kinds.index("Charge"))
        await pilot.press("a")
        await wait_until(pilot, lambda: app.screen.query("#adj-value"), "adjustment form")
        form = app.screen
        form.query_one("#adj-kind", Select).value = "Scholarship"
        form.query_one("#adj-mode", Select).value = "percent"
        form.query_one("#adj-value", Input).value = "150"
        await _save_expecting(pilot, "Value: more than 0 and at most 100 percent", "adj-value")
        form.query_one("#adj-value", Input).value = "10"
        await _save_expecting(pilot, "Reason: required; say why", "adj-reason")
        form.query_one("#adj-reason", Input).value = "honours"
        await _save_expecting(pilot, "Approved by: choose who approved it", "adj-approved")
        form.query_one("#adj-approved", Select).value = ids["principal"]
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: "Adjustment" in [r[1] for r in _rows(app, "statement-table")],
            "the scholarship on the statement",
        )
        adjustments = admin.execute(
            "SELECT kind, percent, amount FROM school.adjustments"
        ).fetchall()
        assert adjustments == [("Scholarship", Decimal("10.00"), Decimal("100.00"))]
        # charges: Tuition 1,000 + Library 1,500 (assigned above) + the reversed check 100;
        # credits: payments 400, the scholarship 100
        assert "balance ₱2,100.00" in _text(app, "#statement-summary")

        rows = table_rows(app, "statement-table")
        statement.move_cursor(row=[r[1] for r in rows].index("Payment"))
        await pilot.press("v")
        await wait_until(pilot, lambda: app.screen.query("#rev-reason"), "reversal form")
        await pilot.press("enter")  # no reason yet
        await wait_until(pilot, lambda: "Reason: required" in _text(app, "#form-status"), "why")
        await pilot.press(*"wrong student", "enter")
        await wait_until(pilot, lambda: app.screen.query("#confirm-yes"), "the confirmation")
        await pilot.press("y")
        await wait_until(
            pilot, lambda: "balance ₱2,400.00" in _text(app, "#statement-summary"), "reversed"
        )
        assert admin.execute("SELECT count(*) FROM school.reversals").fetchone()[0] == 2
        await pilot.press("escape")

        # -- the day close ---------------------------------------------------------------
        await wait_until(pilot, lambda: getattr(app.screen, "ROLE", "") == "Accounting", "home")
        await pilot.press("d")
        await wait_until(pilot, lambda: _loaded(app, "expected"), "expected takings")
        expected = {r[0]: r[2] for r in table_rows(app, "expected")}
        # today: 200.00 cash taken and the 300.00 cash payment reversed above handed back; the
        # check (100.00) taken and reversed today nets to zero
        assert expected["Cash"] == "-₱100.00" and expected["Check"] == "₱0.00"
        await pilot.press(*"abc")
        await wait_until(pilot, lambda: "not a number" in _text(app, "#close-live"), "not yet")
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: "Counted cash: 'abc' is not an amount" in _text(app, "#close-status"),
            "refused",
        )
        await pilot.press("backspace", "backspace", "backspace", "0")
        await wait_until(pilot, lambda: "₱100.00 over" in _text(app, "#close-live"), "over")
        await pilot.press("enter", *"coin jar", "enter")
        await wait_until(pilot, lambda: app.screen.query("#confirm-yes"), "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: len(_rows(app, "history")) == 1, "the close listed")
        closed = admin.execute(
            "SELECT expected_cash, counted_cash, cash_difference, note FROM school.day_closes"
        ).fetchone()
        assert closed == (Decimal("-100.00"), Decimal("0.00"), Decimal("100.00"), "coin jar")


async def _pick_one_student(pilot, typed: str) -> None:
    """On the fees screen: b, One student, find them in the picker, Enter."""
    app = pilot.app
    await pilot.press("b")
    await wait_until(pilot, lambda: app.screen.query("#assign-scope"), "assign modal")
    app.screen.query_one("#assign-scope", Select).value = "one student"
    await wait_until(pilot, lambda: app.screen.query("#picker-query"), "the student picker")
    await pilot.press(*typed)
    await wait_until(pilot, lambda: len(_rows(app, "picker-table")) == 1, "one match")
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
        await pilot.press("f")
        await wait_until(pilot, lambda: _loaded(app, "fees-table"), "fee schedules")

        # -- one student: the Grade 7 tuition, with its four dues, and nobody else's ------
        await _pick_one_student(pilot, "late@reports")
        await wait_until(pilot, lambda: app.screen.query("#confirm-yes"), "the confirmation")
        question = str(app.screen.query(".modal-note").first().render())
        assert "Charge 1 fees to Student, Test (2030-2031)?" in question
        await pilot.press("y")
        await wait_until(pilot, lambda: "Charged 1 fees." in _text(app, "#fees-status"), "done")
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
        await wait_until(
            pilot, lambda: "Nothing to add" in _text(app, "#assign-status"), "nothing to add"
        )
        assert "Student, Test already has every fee of 2030-2031 (1 fees)" in _text(
            app, "#assign-status"
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: _loaded(app, "fees-table"), "back on the schedules")
        assert admin.execute(count).fetchone()[0] == fees_before + 1

        # -- a new fee type: checked, then saved, then offered for a schedule -------------
        await pilot.press("t")
        await wait_until(pilot, lambda: app.screen.query("#type-name"), "the fee type form")
        form = app.screen
        assert "Tuition" in str(form.query(".modal-note").first().render())
        await _save_expecting(pilot, "Name: required", "type-name")
        form.query_one("#type-name", Input).value = "x" * 61
        await _save_expecting(pilot, "Name: at most 60 characters (you typed 61)", "type-name")
        form.query_one("#type-name", Input).value = "  tuition "
        await _save_expecting(pilot, "Name: the fee type Tuition exists", "type-name")
        form.query_one("#type-name", Input).value = "Computer  laboratory"
        await _save_expecting(pilot, "Required: choose yes or no", "type-required")
        types = "SELECT name, required FROM school.fee_types ORDER BY id"
        assert ("Computer laboratory", False) not in admin.execute(types).fetchall()
        form.query_one("#type-required", Select).value = "no"
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: "Fee type Computer laboratory added (optional)" in _text(app, "#fees-status"),
            "saved",
        )
        assert admin.execute(types).fetchall()[-1] == ("Computer laboratory", False)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen.query("#sched-type"), "the schedule form")
        fee_type = app.screen.query_one("#sched-type", Select)
        fee_type.value = "Computer laboratory"  # a value not offered would raise
        assert fee_type.value == "Computer laboratory"


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
        await wait_until(pilot, lambda: _loaded(app, "table-payments"), "the student's home")
        fees = table_rows(app, "table-fees")
        assert fees[0][0] == "Tuition 2030-2031" and fees[-1][0] == "Total"
        assert fees[-1][4] == "700,00 €"
        payments = table_rows(app, "table-payments")
        assert [p[1] for p in payments] == ["OR 000002", "OR 000001"]  # not s2's OR 000003
        await pilot.press("5")  # the Payments tab (after Enrollment, Tasks, Modules, Fees)
        app.screen.query_one("#table-payments", DataTable).move_cursor(row=1)
        app.screen.query_one("#table-payments", DataTable).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.query("#receipt-text"), "the receipt")
        receipt = _text(app, "#receipt-text")
        assert "OR 000001" in receipt and "TOTAL PAID" in receipt and "300,00 €" in receipt
        assert max(len(line) for line in receipt.splitlines()) <= 40
        await _export(pilot, tmp_path / "receipt.pdf")
        assert (tmp_path / "receipt.pdf").read_bytes().startswith(b"%PDF-")
        await pilot.press("escape")
        # the statement, read-only: no discount or reversal keys
        await pilot.press("s")
        await wait_until(pilot, lambda: _loaded(app, "statement-table"), "own statement")
        assert "balance 700,00 €" in _text(app, "#statement-summary")
        keys = {key for key, active in app.screen.active_bindings.items() if active.enabled}
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
        await pilot.press("r")
        await wait_until(pilot, lambda: _loaded(app, "table-aging"), "the reports")
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
                lambda p=path, n=rows: f"Exported {n} rows to {p}" in _text(app, "#report-status"),
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
        await wait_until(pilot, lambda: _loaded(app, "table-aging"), "the reports")
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
        await wait_until(pilot, lambda: _loaded(app, "expected"), "expected takings")
        await wait_until(
            pilot, lambda: server_day.isoformat() in _text(app, "#title-bar"), "the server's day"
        )
        # make_books' payments were posted just now: the 200.00 cash is on the server's day
        expected = {r[0]: r[2] for r in table_rows(app, "expected")}
        assert expected["Cash"] == "₱200.00" and expected["Check"] == "₱0.00"
        await pilot.press(*"200.00", "enter", "enter")
        await wait_until(pilot, lambda: app.screen.query("#confirm-yes"), "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: len(_rows(app, "history")) == 1, "the close listed")
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
        await wait_until(pilot, lambda: _loaded(app, "table-summary"), "the home")
        summary = dict((r[0], r[1]) for r in table_rows(app, "table-summary"))
        assert summary["Billed"] == "2.600,00"  # 2 x 1,000.00 (Grade 7) + 600.00 (Grade 8)
        assert summary["Open fees"] == "3"  # counts are not money: as they are
