"""The Student's home: their own enrollment, tasks, modules, fees and payments, nobody else's
(row-level security on their own login). Enter on a payment shows its receipt; `s` opens
their statement of account (read-only: the ledger's functions refuse a student).

The Enrollment tab says where the student stands (status, school year, section), what comes
next in plain words, and every status change so far. It follows the registrar live: a
status change notifies the student's own channel ('e:<id>', live/records.py) and the tab is
read again, with no key pressed; after a reconnect it is read again too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from school_tui.db import academics, accounting_reports, records
from school_tui.runtime.workers import db_work, deliver
from school_tui.screens.homes.base import ANNOUNCEMENTS, Pane, RoleHome
from school_tui.widgets.safe import clean

if TYPE_CHECKING:
    from school_tui.db.connect import Connection
    from school_tui.domain.account import Receipt

# What the student waits for at each status, in their words.
NEXT_STEP = {
    "Pending": "Next: the registrar checks your documents.",
    "Verified": "Next: payment of required fees.",
    "Payment Complete": "Next: the registrar confirms your enrollment and section.",
    "Enrolled": "You are enrolled. Nothing more to do.",
    "Withdrawn": "Withdrawn. To enroll again, talk to the registrar.",
}
SUMMARY_KEY = "enrollment-summary"  # fetch()'s key of the summary above the history


def history_rows(conn: Connection) -> list[tuple]:
    """The student's status changes, newest first, as the tab shows them."""
    return [
        (when, year, step_text(old, new, remark), remark)
        for when, year, old, new, remark in records.my_history(conn)
    ]


def step_text(old: str | None, new: str, remark: str | None) -> str:
    """A history row's change: "Pending → Verified", the first status alone, or for a remark
    added or cleared with no change of status "Pending · note" / "Pending · note cleared"."""
    if old is None:
        return new
    if old == new:
        return f"{new} · note" if remark else f"{new} · note cleared"
    return f"{old} → {new}"


def describe_enrollment(now: records.MyEnrollment | None) -> Text:
    if now is None:
        return Text("You are not enrolled in a school year yet. Talk to the registrar.")
    text = Text()
    text.append(clean(f"{now.school_year} · {now.section or 'no section yet'} · Status: "))
    text.append(clean(now.status), style="bold")
    text.append("\n" + NEXT_STEP.get(now.status, ""))
    return text


class StudentHome(RoleHome):
    ROLE = "Student"
    BINDINGS = [Binding("s", "statement", "Statement", id="student.statement")]
    DEFAULT_CSS = """
    StudentHome #enrollment-summary { height: 2; padding: 0 1; }
    """
    PANES = (
        Pane(
            "enrollment",
            "Enrollment",
            ("When", "School year", "Status", "Remark"),
            history_rows,
            "No status changes yet.",
            header=SUMMARY_KEY,
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

    # Textual calls the on_mount of every class in the MRO (RoleHome's too, after this one):
    # no super() call there.

    def on_mount(self) -> None:
        live = self.app.live
        if live is not None:
            live.enrollment.subscribe(self, lambda _ids: self.reload_enrollment())
            live.records.resync.subscribe(self, lambda _again: self.reload_enrollment())

    @classmethod
    def fetch(cls, conn: Connection, only: set[str] | None = None) -> dict:
        data = super().fetch(conn, only)
        if only is None or "enrollment" in only:
            data[SUMMARY_KEY] = records.my_enrollment_now(conn)
        return data

    @db_work(name="student enrollment", group="student-enrollment")
    def reload_enrollment(self) -> None:
        deliver(self.show_loaded, self.session.run(lambda c: self.fetch(c, {"enrollment"})), 0)

    def show_loaded(self, data: dict, since: int) -> None:
        """Amounts of the fee and payment panes in the school's money format (on the UI
        thread, before RoleHome fills the tables), and the enrollment summary."""
        from school_tui.domain.money import format_money

        fmt = self.app.money_format
        for pane in ("fees", "payments"):
            rows = data.get(pane)
            if rows:
                rows[:] = [
                    tuple(format_money(c, fmt) if isinstance(c, Decimal) else c for c in r)
                    for r in rows
                ]
        if SUMMARY_KEY in data:
            summary = self.query_one("#enrollment-summary", Static)
            summary.update(describe_enrollment(data[SUMMARY_KEY]))
        super().show_loaded(data, since)

    def open_receipt(self, payment_id: str, cells: list[str]) -> None:
        self._load_receipt(int(payment_id))

    @db_work(name="receipt", group="student-receipt")
    def _load_receipt(self, payment_id: int) -> None:
        receipt = self.session.run(lambda c: accounting_reports.receipt(c, payment_id))
        deliver(self._receipt_loaded, receipt)

    def _receipt_loaded(self, receipt: Receipt | None) -> None:
        from school_tui.screens.accounting.statement import ReceiptModal

        if receipt is not None:
            self.app.push_screen(ReceiptModal(receipt))

    def action_statement(self) -> None:
        from school_tui.screens.accounting.statement import StatementScreen

        self.app.push_screen(StatementScreen(self.session))

    def palette_commands(self):
        return [
            *super().palette_commands(),
            ("Statement of account", self.action_statement, "Your charges, payments, balance"),
        ]
