"""Accounting's reports: collections by day (with a chart), by method and by clerk, and
outstanding balances by grade level and section with aging. Ctrl+S exports the tab's table
to CSV. Every query runs in a worker (db/accounting_reports.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane

from school_tui.db import accounting_reports as ar
from school_tui.domain.fee_rules import required_date
from school_tui.domain.fields import FieldError
from school_tui.domain.money import MoneyFormat, format_money
from school_tui.runtime.messages import ConnectionRestored
from school_tui.runtime.workers import db_work, deliver
from school_tui.screens.accounting.chart import CollectionsChart
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolScreen
from school_tui.widgets.export import ExportModal
from school_tui.widgets.safe import clean, money_cell, safe_join, safe_text

DEFAULT_DAYS = 30

# tab id -> (title, columns)
TABLES = {
    "days": ("By day", ("Day", "Payments", "Collected")),
    "methods": ("By method", ("Method", "Payments", "Collected")),
    "clerks": ("By clerk", ("Clerk", "Method", "Payments", "Collected")),
    "aging": ("Outstanding", ar.AGING_COLUMNS),
}


# The outstanding table at 80 columns: amounts without the symbol (the totals line has it),
# one space between columns instead of DataTable's two, and "Not due" moved last, the one
# column that may scroll off, so the aging buckets and the total are always in view. The CSV
# keeps the database's order (ar.AGING_COLUMNS).
AGING_SHOWN = ("Grade", "Section", "Stud.", "0-30", "31-60", "61-90", "90+", "Total", "Not due")


def _aging_cells(row: tuple, fmt: MoneyFormat | None) -> list[Text]:
    grade, section, students, not_due, *buckets, total = row
    names = [safe_text(f" {clean(v)}", max_length=16) for v in (grade, section)]
    count = safe_text(f" {students}")
    count.justify = "right"
    return [*names, count, *(money_cell(a, fmt, lead=" ") for a in (*buckets, total, not_due))]


def _cells(tab: str, row: tuple, fmt: MoneyFormat | None) -> tuple:
    """What the table shows: money through format_money, counts as numbers."""
    *keys, count, total = row
    return (
        *(k.isoformat() if isinstance(k, date) else k for k in keys),
        count,
        format_money(total, fmt),
    )


class ReportsScreen(SchoolScreen):
    DEFAULT_CSS = """
    ReportsScreen #title-bar { height: 1; background: $primary; color: $text; padding: 0 1; }
    ReportsScreen #report-filters { height: 3; }
    ReportsScreen #report-filters Input {
        width: 18; border: round $border-blurred; height: 3; padding: 0 1;
    }
    ReportsScreen #report-filters Input:focus { border: round $border; }
    ReportsScreen #report-totals { width: 1fr; padding: 1 1 0 1; }
    ReportsScreen TabbedContent { height: 1fr; }
    ReportsScreen #chart { height: 1fr; }
    ReportsScreen #table-days { height: 8; }
    ReportsScreen DataTable { height: 1fr; }
    ReportsScreen #report-status { height: 1; color: $text-muted; padding: 0 1; }
    ReportsScreen #report-status.error { color: $error; text-style: bold; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="reports.back"),
        Binding("ctrl+s", "export", "Export CSV", id="reports.export"),
        Binding("ctrl+r", "reload", "Reload", id="reports.reload"),
        Binding("1", "tab('days')", "Tab 1", show=False, id="reports.tab1"),
        Binding("2", "tab('methods')", "Tab 2", show=False, id="reports.tab2"),
        Binding("3", "tab('clerks')", "Tab 3", show=False, id="reports.tab3"),
        Binding("4", "tab('aging')", "Tab 4", show=False, id="reports.tab4"),
    ]

    def __init__(self, session, today: date | None = None) -> None:
        super().__init__()
        self.session = session
        # Aging counts days overdue as of the database's today (None: read by each load), the
        # day the ledger itself calls overdue by; the default range is only a starting filter.
        self.today = today
        self.end = today or date.today()
        self.start = self.end - timedelta(days=DEFAULT_DAYS - 1)
        self.data: dict[str, list] = {}
        self._generation = 0
        self._focus_table = True  # the first load puts the cursor in the table, not a date

    def compose(self) -> ComposeResult:
        yield Static(
            safe_join("Reports", "·", "collections and outstanding balances"), id="title-bar"
        )
        yield ConnectionBanner()
        with Horizontal(id="report-filters"):
            for field_id, title, value in (
                ("r-from", "From", self.start),
                ("r-to", "To", self.end),
            ):
                field = Input(value.isoformat(), placeholder="YYYY-MM-DD", id=field_id)
                field.border_title = title
                yield field
            yield Static("", id="report-totals")
        with TabbedContent(id="report-tabs"):
            for index, (tab, (title, _)) in enumerate(TABLES.items(), start=1):
                with TabPane(f"{index} {title}", id=f"tab-{tab}"):
                    if tab == "days":
                        yield CollectionsChart(id="chart")
                    table: DataTable = DataTable(
                        id=f"table-{tab}",
                        cursor_type="row",
                        zebra_stripes=True,
                        cell_padding=0 if tab == "aging" else 1,
                    )
                    table.loading = True
                    yield table
        yield Static("", id="report-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Reports"
        for tab, (_, columns) in TABLES.items():
            shown = [f" {c}" for c in AGING_SHOWN] if tab == "aging" else columns
            self.query_one(f"#table-{tab}", DataTable).add_columns(*shown)
        self._reload()

    def _set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#report-status", Static)
        status.update(safe_text(text))
        status.set_class(error, "error")

    # -- loading -------------------------------------------------------------------------

    @on(Input.Submitted)
    def _apply(self, event: Input.Submitted) -> None:
        try:
            start = required_date(self.query_one("#r-from", Input).value, "r-from", "From")
            end = required_date(self.query_one("#r-to", Input).value, "r-to", "To")
            if end < start:
                raise FieldError("r-to", "To: must not be before From")
            if (end - start).days > 3660:
                raise FieldError("r-from", "From: at most ten years before To")
        except FieldError as exc:
            self._set_status(exc.message, error=True)
            self.query_one(f"#{exc.field}", Input).focus()
            return
        self.start, self.end = start, end
        self._focus_table = True
        self._reload()

    def _reload(self) -> None:
        self._generation += 1
        self._set_status("Loading…")
        self._load(self._generation, self.start, self.end, self.today)

    @db_work(name="accounting reports", group="acct-reports", exclusive=True)
    def _load(self, generation: int, start: date, end: date, today: date | None) -> None:
        def fetch(conn) -> dict:
            return {
                "days": ar.collections_by_day(conn, start, end),
                "methods": ar.collections_by_method(conn, start, end),
                "clerks": ar.collections_by_clerk(conn, start, end),
                "aging": ar.outstanding_aging(conn, today),
            }

        deliver(self._loaded, generation, self.session.run(fetch))

    def _loaded(self, generation: int, data: dict) -> None:
        if generation != self._generation:
            return
        self.data = data
        fmt = self.app.money_format
        with self.app.batch_update():
            for tab in TABLES:
                table = self.query_one(f"#table-{tab}", DataTable)
                table.clear()
                for row in data[tab]:
                    if tab == "aging":
                        table.add_row(*_aging_cells(row, fmt))
                    else:
                        table.add_row(*(safe_text(c, max_length=40) for c in _cells(tab, row, fmt)))
                table.loading = False
            days = ar.fill_days(data["days"], self.start, self.end)
            self.query_one(CollectionsChart).show(
                [(d, total) for d, _, total in days], "Collected per day"
            )
        if self._focus_table:  # a loading table takes no focus: now it can
            self._focus_table = False
            self.query_one(f"#table-{self._active_tab()}", DataTable).focus()
        collected = sum((row[-1] for row in data["methods"]), 0)
        count = sum(row[-2] for row in data["methods"])
        outstanding = sum((row[-1] for row in data["aging"]), 0)
        self.query_one("#report-totals", Static).update(
            safe_text(f"Collected {format_money(collected, fmt)} in {count} payments")
        )
        self._set_status(
            f"{self.start} to {self.end} · outstanding today {format_money(outstanding, fmt)} · "
            "Enter in a date applies"
        )

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self._reload()

    # -- actions -------------------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"
        self.query_one(f"#table-{tab}", DataTable).focus()

    def action_reload(self) -> None:
        self._reload()

    def _active_tab(self) -> str:
        return self.query_one(TabbedContent).active.removeprefix("tab-")

    def action_export(self) -> None:
        tab = self._active_tab()
        if tab not in self.data:
            self._set_status("Nothing loaded yet to export.", error=True)
            return
        title = f"Export {TABLES[tab][0].lower()} ({self.start} to {self.end}) to CSV"
        self.app.push_screen(
            ExportModal(title, f"collections-{tab}" if tab != "aging" else "outstanding", [".csv"]),
            lambda path: self._export_to(tab, path),
        )

    def _export_to(self, tab: str, path: Path | None) -> None:
        if path is not None:
            self._export(tab, path, list(self.data[tab]))

    @db_work(name="export report", group="acct-export")
    def _export(self, tab: str, path: Path, rows: list) -> None:
        from school_tui.output.documents import write_csv

        header = [c.lower().replace(" ", "_") for c in TABLES[tab][1]]
        count = write_csv(path, header, rows)
        deliver(self._exported, str(path), count)

    def _exported(self, path: str, count: int) -> None:
        text = f"Exported {count} rows to {clean(path)}"
        self._set_status(text)
        self.notify(text, title="Report exported", markup=False, timeout=8)

    def action_back(self) -> None:
        self.app.pop_screen()

    def palette_commands(self):
        return [
            ("Export this report to CSV", self.action_export, "The table of the tab shown"),
            *(
                (f"Report: {title}", lambda t=tab: self.action_tab(t), f"Show {title.lower()}")
                for tab, (title, _) in TABLES.items()
            ),
            ("Back", self.action_back, "Close the reports"),
        ]
