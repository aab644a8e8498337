"""Accounting's home: collections at a glance, recent payments, who still owes; the keys open
the cashier (p: the queue at the window), fee schedules (f), a student's statement (s), the
day close (d) and the reports (r)."""

from textual.binding import Binding

from school_tui.db import accounting
from school_tui.screens.homes.base import ANNOUNCEMENTS, Pane, RoleHome


class AccountingHome(RoleHome):
    ROLE = "Accounting"
    BINDINGS = [
        Binding("p", "cashier", "Cashier", id="accounting.cashier"),
        Binding("f", "fees", "Fees", id="acct.fees"),
        Binding("s", "statement", "Acct", id="acct.statement"),
        Binding("d", "day_close", "Close", id="acct.close"),
        Binding("r", "reports", "Reports", id="acct.reports"),
    ]
    PANES = (
        Pane("summary", "Summary", ("Measure", "Value"), accounting.summary),
        Pane(
            "payments",
            "Payments",
            ("Date", "Receipt", "Student", "For", "Amount", "Method", "Clerk"),
            accounting.recent_payments,
            "No payments yet.",
        ),
        Pane(
            "balances",
            "Balances",
            ("Student", "Billed", "Paid", "Balance", "Oldest due"),
            accounting.balances,
            "Nobody owes anything.",
            presence=True,
            widths=(15, 10, 10, 10, 10),
        ),
        ANNOUNCEMENTS,
    )

    def action_cashier(self) -> None:
        from school_tui.screens.accounting.cashier import CashierScreen

        # Back from the window, the home shows the new payments.
        self.app.push_screen(CashierScreen(self.session), lambda _: self.load_all())

    def action_fees(self) -> None:
        from school_tui.screens.accounting.fees import FeesScreen

        self.app.push_screen(FeesScreen(self.session), lambda _: self.load_all())

    def action_statement(self) -> None:
        from school_tui.screens.accounting.statement import StatementScreen
        from school_tui.widgets.pickers import StudentPicker

        def picked(student_id: int | None) -> None:
            if student_id is not None:
                self.app.push_screen(
                    StatementScreen(self.session, student_id, manage=True),
                    lambda _: self.load_all(),
                )

        self.app.push_screen(StudentPicker(self.session), picked)

    def action_day_close(self) -> None:
        from school_tui.screens.accounting.day_close import DayCloseScreen

        self.app.push_screen(DayCloseScreen(self.session))

    def action_reports(self) -> None:
        from school_tui.screens.accounting.reports import ReportsScreen

        self.app.push_screen(ReportsScreen(self.session))

    def palette_commands(self):
        return [
            *super().palette_commands(),
            ("Cashier", self.action_cashier, "Take payments at the window, print receipts"),
            ("Fee schedules", self.action_fees, "Fees per grade level, assign, installments"),
            ("Statement of account", self.action_statement, "Any student's; discounts, reversals"),
            ("Close the day", self.action_day_close, "Expected by method against counted cash"),
            ("Reports", self.action_reports, "Collections, outstanding balances with aging"),
        ]
