"""A student's statement of account, their receipts, and (for Accounting) the corrections
made from it: a discount or scholarship on a charge, the reversal of a payment.

Accounting opens any student's (widgets/pickers.py, `s` on the Accounting home); a student opens
their own from their home, read-only: the database's row-level security decides which rows
come back, the screen only hides the keys. Ctrl+S exports the statement as text, PDF or CSV;
`r` on a payment shows its receipt, which exports as 40-column text or PDF.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Static

from school_tui.db import accounting_reports as ar
from school_tui.domain.money import MoneyFormat, format_money
from school_tui.runtime.messages import ConnectionRestored
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolModal, SchoolScreen
from school_tui.widgets.export import ExportModal
from school_tui.widgets.modal import MODAL_CSS
from school_tui.widgets.safe import clean, money_cell, safe_join, safe_text

if TYPE_CHECKING:
    from school_tui.domain.account import Receipt


def write_document(path: Path, text: str | None, pdf: bytes | None, csv_rows=None) -> int:
    """Write one export to a new file by its extension; returns the lines/rows written."""
    from school_tui.output.documents import write_csv

    suffix = path.suffix.lower()
    if suffix == ".csv":
        header, rows = csv_rows
        return write_csv(path, header, rows)
    if suffix == ".pdf":
        assert pdf is not None  # the caller makes the one its suffix asks for
        with path.open("xb") as out:
            out.write(pdf)
        return 1
    assert text is not None  # the caller makes the one its suffix asks for
    with path.open("x", encoding="utf-8") as out:
        out.write(text)
    return text.count("\n")


# -- receipts -------------------------------------------------------------------------------


def money_in(fmt: MoneyFormat | None):
    """The formatter the documents take (output/receipts.py, output/statements.py): amounts
    in the school's money format `fmt`, read on the UI thread (app.money_format)."""
    return lambda amount: format_money(amount, fmt)


def save_receipt(path: Path, receipt, fmt: MoneyFormat | None) -> None:
    """Write a receipt (receipts.Receipt) to a new file: 40-column text, or .pdf (80 mm).
    Worker threads: `fmt` is the school's money format, read on the UI thread."""
    from school_tui.output.receipts import receipt_pdf, receipt_text

    is_pdf = path.suffix.lower() == ".pdf"
    money = money_in(fmt)
    write_document(
        path,
        None if is_pdf else receipt_text(receipt, money),
        receipt_pdf(receipt, money) if is_pdf else None,
    )


class ReceiptModal(SchoolModal[None]):
    """A receipt as the printer prints it (40 columns); Ctrl+S saves it as .txt or .pdf."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="ReceiptModal")
        + """
    /* 40 columns of receipt + the scrollbar (2) + padding (4) + border (2), and slack */
    ReceiptModal > Vertical { width: 50; }
    ReceiptModal #receipt-scroll { height: auto; max-height: 18; }
    ReceiptModal #receipt-text { width: 40; }
    """
    )
    BINDINGS = [
        Binding("escape", "close", "Close", id="receipt.close"),
        Binding("ctrl+s", "export", "Save .txt/.pdf", id="receipt.export"),
    ]

    def __init__(self, receipt) -> None:
        super().__init__()
        self.receipt = receipt

    def compose(self) -> ComposeResult:
        from school_tui.output.receipts import receipt_text

        with Vertical():
            with VerticalScroll(id="receipt-scroll"):
                text = receipt_text(self.receipt, money_in(self.app.money_format))
                yield Static(safe_text(text, multiline=True), id="receipt-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#receipt-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_export(self) -> None:
        title = f"Save receipt {clean(self.receipt.receipt_no)}"
        self.app.push_screen(
            ExportModal(title, f"receipt-{self.receipt.receipt_no}", [".txt", ".pdf"]),
            self._export_to,
        )

    def _export_to(self, path: Path | None) -> None:
        if path is not None:
            self._export(path, self.app.money_format)

    @db_work(name="save receipt", group="acct-export")
    def _export(self, path: Path, fmt) -> None:
        save_receipt(path, self.receipt, fmt)
        deliver(self._saved_to, str(path))

    def _saved_to(self, path: str) -> None:
        self.notify(f"Saved {clean(path)}", title="Receipt", markup=False, timeout=8)


# -- the statement --------------------------------------------------------------------------


class StatementScreen(SchoolScreen):
    DEFAULT_CSS = """
    StatementScreen #title-bar { height: 1; background: $primary; color: $text; padding: 0 1; }
    StatementScreen #statement-summary { height: 1; padding: 0 1; text-style: bold; }
    StatementScreen DataTable { height: 1fr; }
    StatementScreen #statement-status { height: 1; color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="statement.back"),
        Binding("r", "receipt", "Receipt", id="statement.receipt"),
        Binding("a", "adjust", "Discount", id="statement.adjust"),
        Binding("v", "reverse", "Reverse", id="statement.reverse"),
        Binding("ctrl+s", "export", "Export", id="statement.export"),
    ]
    COLUMNS = ("Date", "Kind", "Description", "Charge", "Credit", "Balance")

    def __init__(self, session, student_id: int | None = None, *, manage: bool = False) -> None:
        """`student_id` None: the person's own statement. `manage`: Accounting's keys."""
        super().__init__()
        self.session = session
        self.student_id = student_id
        self.manage = manage
        self.statement = None

    def compose(self) -> ComposeResult:
        yield Static("Statement of account", id="title-bar")
        yield ConnectionBanner()
        yield Static("", id="statement-summary")
        table: DataTable = DataTable(id="statement-table", cursor_type="row", zebra_stripes=True)
        table.loading = True
        yield table
        yield Static("", id="statement-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Statement of account"
        self.query_one(DataTable).add_columns(*self.COLUMNS)
        self.query_one(DataTable).focus()
        self.reload()

    def reload(self) -> None:
        self._load(self.student_id)

    @db_work(name="statement", group="acct-statement", exclusive=True)
    def _load(self, student_id: int | None) -> None:
        statement = self.session.run(lambda conn: ar.statement(conn, student_id))
        deliver(self._show, statement)

    def _show(self, s) -> None:
        self.statement = s
        table = self.query_one(DataTable)
        if s is None:
            table.loading = False
            self.query_one("#statement-summary", Static).update("That student is not there.")
            return
        self.query_one("#title-bar", Static).update(
            safe_join(
                "Statement", "·", s.student_name, f"({s.student_number})", "·", s.grade_section
            )
        )
        fmt = self.app.money_format
        money = money_in(fmt)
        self.query_one("#statement-summary", Static).update(
            safe_text(
                f"Charges {money(s.total_charges)} · payments and adjustments "
                f"{money(s.total_credits)} · balance {money(s.balance)}"
            )
        )
        row = table.cursor_row
        with self.app.batch_update():
            table.clear()
            for index, line in enumerate(s.lines):
                table.add_row(
                    safe_text(line.on.isoformat()),
                    safe_text(line.kind),
                    # 18: the six columns fit 80 (the summary above has the currency; the
                    # exported statement has every description whole)
                    safe_text(
                        f"{line.description} ({line.reference})"
                        if line.reference
                        else line.description,
                        max_length=18,
                    ),
                    money_cell(line.charge, fmt) if line.charge else "",
                    money_cell(line.credit, fmt) if line.credit else "",
                    money_cell(line.balance, fmt),
                    key=str(index),
                )
            table.loading = False
        if s.lines:
            table.move_cursor(row=min(row, len(s.lines) - 1))
        keys = (
            "r receipt · a discount/scholarship · v reverse · " if self.manage else "r receipt · "
        )
        self.query_one("#statement-status", Static).update(
            safe_text(f"{len(s.lines)} lines · {keys}Ctrl+S .txt .pdf .csv")
        )

    def _current_line(self):
        table = self.query_one(DataTable)
        if self.statement is None or not table.row_count:
            return None
        return self.statement.lines[table.cursor_row]

    def check_action(self, action: str, parameters) -> bool | None:
        if action in ("adjust", "reverse"):
            return self.manage
        return True

    # -- actions -------------------------------------------------------------------------

    def action_receipt(self) -> None:
        line = self._current_line()
        if line is None or line.payment_id is None:
            self.notify("Choose a payment line for its receipt.", markup=False)
            return
        self._load_receipt(line.payment_id)

    @db_work(name="receipt", group="acct-receipt")
    def _load_receipt(self, payment_id: int) -> None:
        deliver(self._receipt_loaded, self.session.run(lambda c: ar.receipt(c, payment_id)))

    def _receipt_loaded(self, receipt: Receipt | None) -> None:
        if receipt is None:
            self.notify("No receipt for that line.", severity="warning", markup=False)
        else:
            self.app.push_screen(ReceiptModal(receipt))

    def action_adjust(self) -> None:
        line = self._current_line()
        if line is None or line.fee_id is None or line.kind != "Charge":
            self.notify("Choose a charge line to discount.", markup=False)
            return
        self._load_approvers(line)

    @db_work(name="approvers", group="acct-approvers")
    def _load_approvers(self, line) -> None:
        deliver(self._approvers_loaded, line, self.session.run(ar.approvers))

    def _approvers_loaded(self, line, approvers: list) -> None:
        from school_tui.screens.accounting.fees import adjustment_form

        self._open_form(adjustment_form(line, approvers, fmt=self.app.money_format))

    def action_reverse(self) -> None:
        from school_tui.screens.accounting.fees import reversal_form

        line = self._current_line()
        if line is None or line.kind not in ("Payment", "Adjustment"):
            self.notify("Choose a payment or adjustment line to reverse.", markup=False)
            return
        self._open_form(reversal_form(line, fmt=self.app.money_format))

    def _open_form(self, spec) -> None:
        from school_tui.widgets.forms import FormModal

        def done(result) -> None:
            if result is not None:
                self.notify(safe_text(result).plain, title="Saved", markup=False)
                self.reload()

        self.app.push_screen(FormModal(self.session, spec), done)

    def action_export(self) -> None:
        s = self.statement
        if s is None:
            return
        self.app.push_screen(
            ExportModal(
                f"Export the statement of {clean(s.student_name)}",
                f"statement-{s.student_number}",
                [".pdf", ".txt", ".csv"],
            ),
            self._export_to,
        )

    def _export_to(self, path: Path | None) -> None:
        if path is not None:
            self._export(path, self.statement, self.app.money_format)

    @db_work(name="export statement", group="acct-export")
    def _export(self, path: Path, s, fmt) -> None:
        from school_tui.output import statements

        suffix = path.suffix.lower()
        money = money_in(fmt)
        write_document(
            path,
            statements.statement_text(s, money) if suffix == ".txt" else None,
            statements.statement_pdf(s, money) if suffix == ".pdf" else None,
            (statements.CSV_HEADER, statements.csv_rows(s)) if suffix == ".csv" else None,
        )
        deliver(self._saved_to, str(path))

    def _saved_to(self, path: str) -> None:
        self.notify(f"Saved {clean(path)}", title="Statement", markup=False, timeout=8)

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def palette_commands(self):
        commands = [
            ("Export statement", self.action_export, "As text, PDF or CSV"),
            ("Show receipt", self.action_receipt, "The receipt of the payment line"),
        ]
        if self.manage:
            commands += [
                ("Discount or scholarship", self.action_adjust, "On the charge line"),
                ("Reverse payment", self.action_reverse, "The payment line, with a reason"),
            ]
        return [*commands, ("Back", self.action_back, "Close the statement")]
