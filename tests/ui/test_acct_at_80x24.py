"""Accounting's screens at 80x24 (a clerk over SSH): what the clerk reads is drawn whole, not
cut at the right edge or below the box. Each test reads the drawn screen (screen_lines)."""

from __future__ import annotations

from school_tui.app import SchoolApp
from school_tui.db import accounting_reports as ar
from school_tui.domain.money import format_money
from school_tui.domain.money import format_money as money
from school_tui.output.receipts import receipt_text
from school_tui.screens.accounting.cashier import CashierScreen
from school_tui.screens.accounting.statement import ReceiptModal, StatementScreen
from tests.builders import student_with_most_open_dues, student_with_most_payments
from tests.harness import log_in, screen_lines, wait_until

SIZE = (80, 24)


async def _settled(pilot) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: all(w.is_finished for w in app.workers), "the loads")
    await pilot.pause()


def _drawn(app) -> str:
    return "\n".join(screen_lines(app))


async def test_a_statement_shows_every_amount_and_balance_whole(demo_school):
    student = student_with_most_payments(demo_school)
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "accounting@demo.school")
        app.push_screen(StatementScreen(app.session, student, manage=True))
        await wait_until(pilot, lambda: app.screen.statement is not None, "the statement")
        await _settled(pilot)
        lines = screen_lines(app)
        statement = app.screen.statement
        assert 3 <= len(statement.lines) <= 18  # all on one screen
        rows = [row for row in lines[2:] if row[1:5].isdigit()]  # the table's, in order
        assert len(rows) == len(statement.lines)
        for line, row in zip(statement.lines, rows, strict=True):
            assert row.startswith(f" {line.on.isoformat()}"), row
            amount = line.charge or line.credit
            cells = row.split()
            assert format_money(amount, symbol=False) in cells, row
            assert cells[-1] == format_money(line.balance, symbol=False), row


async def test_the_receipt_window_shows_all_40_columns(demo_school):
    student = student_with_most_payments(demo_school)
    payment = demo_school.admin.execute(
        "SELECT max(id) FROM school.payments WHERE student_id = %s", (student,)
    ).fetchone()[0]
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "accounting@demo.school")
        receipt = app.session.run(lambda conn: ar.receipt(conn, payment))
        app.push_screen(ReceiptModal(receipt))
        await _settled(pilot)
        drawn = _drawn(app)
        shown = [line for line in receipt_text(receipt, money).splitlines() if line.strip()]
        for line in shown[:14]:  # what the window holds before scrolling
            assert line.strip() in drawn, line


async def test_the_outstanding_report_shows_the_aging_buckets_and_total(demo_school):
    from school_tui.screens.accounting.reports import ReportsScreen

    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "accounting@demo.school")
        app.push_screen(ReportsScreen(app.session))
        await _settled(pilot)
        await pilot.press("4")
        await _settled(pilot)
        lines = screen_lines(app)
        header = next(line for line in lines if "0-30" in line)
        for label in ("Grade", "Section", "0-30", "31-60", "61-90", "90+", "Total"):
            assert label in header
        rows = app.screen.data["aging"]
        first = next(line for line in lines if line.startswith(f" {rows[0][0]} "))
        ninety, total = rows[0][7], rows[0][8]  # (grade, section, n, not due, 4 buckets, total)
        assert format_money(ninety, symbol=False) in first.split()
        assert format_money(total, symbol=False) in first.split()


async def test_the_cashiers_receipt_keeps_the_balance_in_view_when_many_dues_are_settled(
    demo_school,
):
    number, owed, dues = student_with_most_open_dues(demo_school)
    assert dues >= 4  # more than the box's five lines can list with the header
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "accounting@demo.school")
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, CashierScreen), "the cashier")
        await pilot.press(*number, "enter")
        await wait_until(pilot, lambda: app.focused.id == "amount", "the amount")
        await pilot.press(*f"{owed}", "enter", "enter")
        await wait_until(pilot, lambda: "Balance now" in _drawn(app), "the receipt")
        drawn = _drawn(app)
        assert "Balance now ₱0.00" in drawn
        assert "more dues (Ctrl+S saves the whole receipt)" in drawn
