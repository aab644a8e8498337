"""Accounting's home: collections at a glance, recent payments, who still owes."""

from school_tui.db import accounting
from school_tui.screens.home import ANNOUNCEMENTS, Pane, RoleHome


class AccountingHome(RoleHome):
    ROLE = "Accounting"
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
