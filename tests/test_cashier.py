"""Cashier mode through the real app (Pilot, 80x24) on the demo school: the keys a clerk
presses, what the screen shows, what the database then holds. The posting rules themselves
are proved in test_ledger.py; these check that the screen drives them as promised."""

from __future__ import annotations

from decimal import Decimal

from textual.widgets import Input, OptionList, Static

from school_tui.app import SchoolApp
from school_tui.screens.cashier import CashierScreen
from tests.harness import log_in, wait_until

SIZE = (80, 24)


def _status(app) -> str:
    return str(app.screen.query_one("#status", Static).render())


def _receipt(app) -> str:
    return str(app.screen.query_one("#receipt", Static).render())


def _verified_student(school) -> tuple[int, str, Decimal, Decimal, str]:
    """A demo student who paid a first 10,000.00: (id, "first last", balance, next due,
    student number)."""
    return school.admin.execute(
        """
        SELECT u.id, u.first_name || ' ' || u.last_name, b.balance,
               (SELECT ib.open FROM school.installment_balances ib
                 WHERE ib.student_id = u.id AND ib.open > 0
                 ORDER BY ib.due_date, ib.fee_id, ib.seq LIMIT 1),
               (SELECT p.student_number FROM school.student_profiles p WHERE p.user_id = u.id)
          FROM school.users u
          JOIN school.enrollment_progress e ON e.student_id = u.id
          JOIN school.student_balances b ON b.student_id = u.id
         WHERE e.current_status = 'Verified'
           AND (SELECT count(*) FROM school.users x
                 WHERE x.first_name = u.first_name AND x.last_name = u.last_name) = 1
         ORDER BY u.id LIMIT 1
        """
    ).fetchone()


def _payments(school, student_id: int) -> list[tuple]:
    return school.admin.execute(
        "SELECT amount_paid, payment_method, reference FROM school.payments "
        "WHERE student_id = %s AND payment_date > now() - interval '1 hour' ORDER BY id",
        (student_id,),
    ).fetchall()


async def _find(pilot, name: str) -> None:
    app = pilot.app
    await pilot.press(*name, "enter")
    await wait_until(
        pilot,
        lambda: app.focused is app.screen.query_one("#amount", Input),
        "the amount field, with the student's dues",
    )


async def test_a_cash_payment_takes_three_keys_and_a_double_enter_posts_once(demo_school):
    student, name, balance, next_due, number = _verified_student(demo_school)
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "accounting@demo.school")
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, CashierScreen), "the cashier")
        await _find(pilot, name)
        assert f"balance ₱{balance:,.2f}" in str(app.screen.query_one("#who", Static).render())
        # Enter: the next due; Enter on Cash posts; the extra Enter lands on the method list
        # again before the reply or on the empty student field after it: nothing more posts.
        await pilot.press("enter", "enter", "enter")
        await wait_until(pilot, lambda: "OR 000" in _receipt(app), "the receipt")
        assert f"₱{next_due:,.2f}" in _receipt(app)
        assert "Next student" in _status(app)
        assert app.focused is app.screen.query_one("#student", Input)
        assert _payments(demo_school, student) == [(next_due, "Cash", None)]

        # By the student number this time. Overpayment is refused on screen, before anything
        # is sent.
        await _find(pilot, number.lower())
        await pilot.press(*str(balance + 1), "enter")
        assert "overpayment is refused" in _status(app)
        # A check needs its number; then Enter posts.
        await pilot.press("ctrl+a", "ctrl+k", *"1.50", "enter", "down", "down", "enter")
        assert app.focused is app.screen.query_one("#reference", Input)
        await pilot.press("enter")
        assert "Reference: a check needs its reference number" in _status(app)
        await pilot.press(*"CHK-77", "enter")
        await wait_until(pilot, lambda: "ref CHK-77" in _receipt(app), "the check's receipt")
        # Esc on an empty form: back to the home.
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CashierScreen), "the home")
    assert _payments(demo_school, student) == [
        (next_due, "Cash", None),
        (Decimal("1.50"), "Check", "CHK-77"),
    ]


async def test_paying_the_balance_completes_the_enrollment_and_the_form_says_so(demo_school):
    student, name, balance, _, _ = _verified_student(demo_school)
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "accounting@demo.school")
        app.screen.action_cashier()
        await wait_until(pilot, lambda: isinstance(app.screen, CashierScreen), "the cashier")
        await pilot.press(*"nobody-like-this", "enter")
        await wait_until(pilot, lambda: "nobody matches" in _status(app), "no match")
        await pilot.press("escape")
        await _find(pilot, name)
        await pilot.press(*f"{balance:,.2f}", "enter")
        methods = app.screen.query_one("#methods", OptionList)
        assert app.focused is methods
        await pilot.press("down", "down", "down", "enter")  # Card
        await wait_until(pilot, lambda: "Balance now ₱0.00" in _receipt(app), "the receipt")
    status = demo_school.admin.execute(
        "SELECT current_status FROM school.enrollment_progress WHERE student_id = %s", (student,)
    ).fetchone()[0]
    assert status == "Payment Complete"
