"""Accounting's home: collections at a glance, recent payments, who still owes; `p` opens the
cashier (the queue at the window)."""

from textual.binding import Binding

from school_tui.db import accounting
from school_tui.screens.home import ANNOUNCEMENTS, Pane, RoleHome


class AccountingHome(RoleHome):
    ROLE = "Accounting"
    BINDINGS = [Binding("p", "cashier", "Cashier", id="accounting.cashier")]
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
            ("Student", "Email", "Billed", "Paid", "Balance", "Oldest due"),
            accounting.balances,
            "Nobody owes anything.",
        ),
        ANNOUNCEMENTS,
    )

    def action_cashier(self) -> None:
        from school_tui.screens.cashier import CashierScreen

        # Back from the window, the home shows the new payments.
        self.app.push_screen(CashierScreen(self.session), lambda _: self.load_all())

    def palette_commands(self):
        return [
            *super().palette_commands(),
            ("Cashier", self.action_cashier, "Take payments at the window, print receipts"),
        ]
