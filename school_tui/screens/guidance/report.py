"""Opening a guidance report: its text in a modal, read through the functions that record the
read in the audit trail first (db.guidance.read_report). Guidance and the Principal use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Static

from school_tui.db import guidance
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.base import SchoolModal, ScreenMixin
from school_tui.widgets.safe import safe_join, safe_text

if TYPE_CHECKING:
    from school_tui.runtime.session import Session

# The guidance pane's columns; its rows start with the report id (Pane.on_select).
REPORT_COLUMNS = ("Date", "Student", "Counselor")


class GuidanceReportModal(SchoolModal[None]):
    DEFAULT_CSS = """
    GuidanceReportModal { align: center middle; }
    GuidanceReportModal > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    GuidanceReportModal #report-title { text-style: bold; }
    GuidanceReportModal #report-meta { color: $text-muted; }
    GuidanceReportModal #report-scroll { height: auto; max-height: 16; margin-top: 1; }
    GuidanceReportModal #report-note { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("escape,enter", "close", "Close", id="report.close")]

    def __init__(self, report_id: int, text: str, cells: list) -> None:
        super().__init__()
        self.report_id = report_id
        self.text = text
        self.cells = list(cells) + [""] * (3 - len(cells))

    def compose(self) -> ComposeResult:
        date, student, counselor = self.cells[:3]
        with Vertical():
            yield Static(safe_join("Guidance report about", student), id="report-title")
            yield Static(safe_join(date, "·", "counselor", counselor), id="report-meta")
            with VerticalScroll(id="report-scroll"):
                yield Static(safe_text(self.text, multiline=True), id="report-text")
            yield Static(
                "Confidential. This reading is recorded in the audit log.", id="report-note"
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#report-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class OpensGuidanceReports(ScreenMixin):
    """Mixin for a RoleHome whose guidance pane says `on_select="open_guidance_report"`."""

    session: Session  # the screen's

    def open_guidance_report(self, key: str, cells: list) -> None:
        self._read_guidance_report(int(key), cells)

    @db_work(name="read guidance report", group="guidance-report")
    def _read_guidance_report(self, report_id: int, cells: list) -> None:
        text = self.session.run(lambda conn: guidance.read_report(conn, report_id))
        deliver(self._guidance_report_read, report_id, text, cells)

    def _guidance_report_read(self, report_id: int, text: str, cells: list) -> None:
        """A report's text, read through the logging functions (db.guidance.read_report);
        `cells`: the list row it was opened from (date, student, counselor)."""
        self.app.push_screen(GuidanceReportModal(report_id, text, cells))
