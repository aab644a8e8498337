"""Choosing a student: the one picker every screen asks with (a statement, fees for a late
enrollee, a roster's new student).

Type part of a name, email or student number: the list follows as you type (each search
numbered, so an older answer never replaces a newer one), with each student's live presence.
Down goes to the list; Enter picks the row under the cursor, or from the box the one match
(with several, it goes to the list). An Enter typed before the answer for the last keystroke
is there waits for it. Escape cancels. Dismisses with the student's user id, or None.

What the list shows depends on who asks: `BALANCES` (Accounting: each student's balance,
db/accounting_reports.py) or `SECTIONS` (Registrar: section and enrollment status,
db/students.py); both read through the person's own connection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Static
from textual.widgets.data_table import RowKey

from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.modal import MODAL_CSS
from school_tui.widgets.presence import LivePresence
from school_tui.widgets.safe import safe_cells, safe_text


@dataclass(frozen=True)
class StudentSearch:
    """What a picker lists: its columns ((label, width), Presence comes last), and
    `find(conn, text)` -> [(user id, cells, presence)] in order (a worker thread). A Decimal
    cell is money: shown in the school's format."""

    columns: Sequence[tuple[str, int]]
    find: Callable[[Any, str], list[tuple[int, Sequence[object], str | None]]]


def _by_balance(conn, text: str) -> list:
    from school_tui.db import accounting_reports as ar

    return [
        (student_id, (name, number, where, balance), presence)
        for student_id, name, number, where, balance, presence in ar.find_students(conn, text)
    ]


def _by_section(conn, text: str) -> list:
    from school_tui.db import students

    return [
        (
            hit.id,
            (
                hit.student_number,
                f"{hit.last_name}, {hit.first_name}",
                hit.section or "no section",
                hit.status or "—",
            ),
            hit.presence,
        )
        for hit in students.search(conn, text)
    ]


# With Presence, each fits the picker's 78-column box.
BALANCES = StudentSearch(
    (("Student", 18), ("Number", 10), ("Grade/section", 13), ("Balance", 11)), _by_balance
)
SECTIONS = StudentSearch(
    (("Student no.", 11), ("Name", 18), ("Section", 14), ("Status", 9)), _by_section
)


class StudentPicker(ModalScreen[int | None]):
    DEFAULT_CSS = (
        MODAL_CSS.format(name="StudentPicker")
        + """
    StudentPicker > Vertical { width: 78; height: 20; }
    StudentPicker DataTable { height: 1fr; }
    """
    )
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down", "to_list", "To the list", show=False, id="picker.to-list"),
    ]

    def __init__(
        self,
        session,
        title: str = "Statement of which student?",
        search: StudentSearch = BALANCES,
    ) -> None:
        super().__init__()
        self.session = session
        self._title = title
        self.search = search
        self._generation = 0  # of the last search started
        self._shown = 0  # of the search whose rows are in the table
        self._enter_waits = False  # Enter in the box before its answer came

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self._title), classes="modal-title")
            yield Input(placeholder="name, email or student number", id="picker-query")
            yield DataTable(id="picker-table", cursor_type="row", zebra_stripes=True)
            yield Static(
                "Type to search · Down to the list · Enter picks · Esc cancels",
                classes="form-status",
                id="picker-status",
            )
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in self.search.columns:
            table.add_column(label, width=width)
        self.presence = LivePresence(self)
        self.presence.add_column(table)
        self.query_one(Input).focus()
        self._search("")

    @on(Input.Changed, "#picker-query")
    def _changed(self, event: Input.Changed) -> None:
        self._enter_waits = False
        self._search(event.value)

    @on(Input.Submitted, "#picker-query")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._shown != self._generation:
            self._enter_waits = True  # picks once the answer for what was typed is there
            return
        self._pick_from_box()

    def _pick_from_box(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count == 1:
            self.dismiss(_student_id(table.coordinate_to_cell_key(Coordinate(0, 0)).row_key))
        elif table.row_count:
            table.focus()

    def action_to_list(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.focus()

    def _search(self, text: str) -> None:
        self._generation += 1
        self._find(self._generation, text.strip())

    @db_work(name="find students", group="student-picker", exclusive=True)
    def _find(self, generation: int, text: str) -> None:
        since = self.presence.since()
        rows = self.session.run(lambda conn: self.search.find(conn, text))
        deliver(self._listed, generation, rows, since)

    def _listed(self, generation: int, rows: list, since: int) -> None:
        """`since`: LivePresence.since() when the search began."""
        if generation != self._generation:
            return  # an older search's answer
        self._shown = generation
        fmt = getattr(self.app, "money_format", None)
        table = self.query_one(DataTable)
        widths = [width for _label, width in self.search.columns]
        with self.app.batch_update():
            table.clear()
            self.presence.clear(table)
            for student_id, cells, presence in rows:
                shown = [_money(c, fmt) if isinstance(c, Decimal) else c for c in cells]
                self.presence.add_row(
                    table,
                    safe_cells(shown, widths),
                    key=str(student_id),
                    user_id=student_id,
                    status=presence,
                    since=since,
                )
        status = self.query_one("#picker-status", Static)
        query = self.query_one("#picker-query", Input).value.strip()
        if rows:
            status.update(f"{len(rows)} found · Down to the list · Enter picks")
        else:
            status.update("Nobody matches." if query else "Type a name, email or student number.")
        if self._enter_waits:
            self._enter_waits = False
            self._pick_from_box()

    @on(DataTable.RowSelected, "#picker-table")
    def _picked(self, event: DataTable.RowSelected) -> None:
        self.dismiss(_student_id(event.row_key))

    def action_cancel(self) -> None:
        self.dismiss(None)


def _student_id(key: RowKey) -> int:
    assert key.value is not None  # the picker's rows are keyed by student id
    return int(key.value)


def _money(amount: Decimal, fmt) -> str:
    from school_tui.domain.money import format_money

    return format_money(amount, fmt)
