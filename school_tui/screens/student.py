"""The Student's home: their own enrollment, tasks, modules, fees and payments, nobody
else's (row-level security on their own login). Enter on a payment shows its receipt; `s`
opens their statement of account. Read-only: the ledger's functions refuse a student."""

from decimal import Decimal

from textual.binding import Binding

from school_tui.db import academics, accounting_reports, enrollment
from school_tui.screens.home import ANNOUNCEMENTS, Pane, RoleHome
from school_tui.workers import db_work


class StudentHome(RoleHome):
    ROLE = "Student"
    BINDINGS = [Binding("s", "statement", "Statement", id="student.statement")]
    PANES = (
        Pane(
            "enrollment",
            "Enrollment",
            ("School year", "Section", "Status", "Updated", "Remarks"),
            enrollment.my_enrollment,
            "You are not enrolled in a school year yet.",
        ),
        Pane(
            "tasks",
            "Tasks",
            ("Due", "Type", "Title", "Section", "Teacher"),
            academics.tasks,
            "No tasks for your section.",
        ),
        Pane(
            "modules",
            "Modules",
            ("Uploaded", "Title", "Section", "Teacher", "File"),
            academics.modules,
            "No modules for your section.",
        ),
        Pane(
            "fees",
            "Fees",
            ("Fee", "Amount", "Discounts", "Paid", "Balance", "Next due", "Status"),
            accounting_reports.my_fees,
            "You have no fees.",
        ),
        Pane(
            "payments",
            "Payments",
            ("Date", "Receipt", "Amount", "Method", ""),
            accounting_reports.my_payments,
            "No payments yet.",
            on_select="open_receipt",
        ),
        ANNOUNCEMENTS,
    )

    def on_home_loaded(self, message) -> None:
        """Amounts of the fee and payment panes in the school's money format (on the UI
        thread, before RoleHome's handler fills the tables)."""
        from school_tui.screens.acct_forms import money

        for pane in ("fees", "payments"):
            rows = message.data.get(pane)
            if rows:
                rows[:] = [
                    tuple(money(c) if isinstance(c, Decimal) else c for c in r) for r in rows
                ]

    def open_receipt(self, payment_id: str, cells: list[str]) -> None:
        self._load_receipt(int(payment_id))

    @db_work(name="receipt", group="student-receipt")
    def _load_receipt(self, payment_id: int) -> None:
        from school_tui.screens.acct_forms import Loaded

        receipt = self.session.run(lambda c: accounting_reports.receipt(c, payment_id))
        self.post_message(Loaded("receipt", receipt))

    def on_loaded(self, message) -> None:
        from school_tui.screens.statement import ReceiptModal

        if message.what == "receipt" and message.data is not None:
            self.app.push_screen(ReceiptModal(message.data))

    def action_statement(self) -> None:
        from school_tui.screens.statement import StatementScreen

        self.app.push_screen(StatementScreen(self.session))

    def palette_commands(self):
        return [
            *super().palette_commands(),
            ("Statement of account", self.action_statement, "Your charges, payments, balance"),
        ]
