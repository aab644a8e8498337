"""The Student's home: their own enrollment, tasks, modules, fees and payments, nobody
else's (row-level security on their own login). Enter on a payment shows its receipt; `s`
opens their statement of account. Read-only: the ledger's functions refuse a student."""

from decimal import Decimal

from textual.binding import Binding

from school_tui.db import academics, accounting_reports, enrollment
from school_tui.screens.home import ANNOUNCEMENTS, Pane, RoleHome
from school_tui.workers import db_work


def _in_money(query):
    """The pane's rows with every amount through money.format_money (the school's currency)."""

    def run(conn) -> list[tuple]:
        from school_tui.money import format_money

        return [
            tuple(format_money(c) if isinstance(c, Decimal) else c for c in row)
            for row in query(conn)
        ]

    return run


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
            _in_money(accounting_reports.my_fees),
            "You have no fees.",
        ),
        Pane(
            "payments",
            "Payments",
            ("Date", "Receipt", "Amount", "Method", ""),
            _in_money(accounting_reports.my_payments),
            "No payments yet.",
            on_select="open_receipt",
        ),
        ANNOUNCEMENTS,
    )

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
