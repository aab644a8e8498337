"""The enrollment board (Registrar): how many students are at each status, and who.

One line of counts (Pending, Verified, Payment Complete, Enrolled, Withdrawn; `1`-`5` pick
the column shown), filters for grade level and section, and the students of that column.
It follows every status change live: the listener hands over enrollment ids
(live/records.py), a worker reads those rows and the counts, and the table changes row by
row (keyed by enrollment id) inside one batch_update. After a reconnect the whole board is
read again (live/records.py's resync comes once LISTEN is back in place).

Bulk change: `space` marks rows (`a` marks or clears every row shown), `t` asks for the
target status and a remark, and the database moves all of them or none
(school.set_enrollment_status); a refusal says which student and why. `Ctrl+S` exports the
column with its filters to CSV: all of it, read again (the table shows the first LIST_LIMIT).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Select, Static

from school_tui.domain.fields import FieldError
from school_tui.domain.school import ENROLLMENT_STATUSES, GRADE_LEVELS, PAYMENT_COMPLETE_REMARK
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.forms import Field, FormModal, FormSpec
from school_tui.widgets.lists import Column, Export, ListLoaded, ListScreen, ListSpec, Page
from school_tui.widgets.safe import safe_join, safe_text
from school_tui.widgets.title import TitleBar

if TYPE_CHECKING:
    from datetime import datetime

STATUSES = ENROLLMENT_STATUSES
LIST_LIMIT = 1000  # rows a column shows; the status line says when there are more
MARK = "*"
# Widths for 80 columns: the cells' padding (2 each) and the scrollbar (2) included.
COLUMNS = (
    Column(" ", 1, key="mark"),
    Column("Student no.", 11, key="number"),
    Column("Name", 17, key="name"),
    Column("Grade", 8, key="grade"),
    Column("Section", 8, key="section"),
    Column("Updated", 10, key="updated"),
)  # and Presence (widgets/presence.py), last
# The counts line abbreviates where the terminal is too narrow for the full names.
SHORT = {"Payment Complete": "Paid", "Withdrawn": "Withdr."}
CSV_HEADER = (
    "student_number",
    "name",
    "grade_level",
    "section",
    "status",
    "updated",
    "remark",
)


@dataclass(frozen=True)
class BoardRow:
    """One student on the board: what the table shows and the CSV holds."""

    id: int  # enrollment_progress id: the row key
    number: str | None
    name: str
    grade: str | None
    section: str | None
    status: str
    updated: datetime
    remark: str | None
    student_id: int = 0
    presence: str = "offline"  # as read; the table's cell follows it live


@dataclass
class SectionChoice:
    id: int
    grade: str
    name: str


# -- the target-status form -------------------------------------------------------------------


class TransitionModal(FormModal):
    """Where the marked students go, on the app's form: the allowed targets as a list
    (Up/Down), a remark, and a line that names how many and from/to. Enter moves them from
    the list or the remark (one Enter, as the line under them says), Tab goes to the remark,
    Esc cancels. The database moves all or none; its refusal shows under the field it names
    (the status, the remark) and nothing moves. Dismisses with (target, how many changed),
    None when cancelled."""

    def __init__(self, session, ids: list[int], source: str, targets: list[str]) -> None:
        super().__init__(session, transition_form(list(ids), source, targets))


def transition_form(ids: list[int], source: str, targets: list[str]) -> FormSpec:
    students = "1 student" if len(ids) == 1 else f"{len(ids)} students"

    def summary(values: dict) -> str:
        target = values.get("move-target") or targets[0]
        line = f"Move {students} from {source} to {target}? All or none."
        return line + ("\n" + PAYMENT_COMPLETE_REMARK if target == "Payment Complete" else "")

    def save(conn, checked: tuple[str, str]) -> tuple[str, int]:
        from school_tui.db import enrollment

        target, remark = checked
        return target, enrollment.set_status(conn, ids, target, remark or None)

    def refused(exc: BaseException) -> FieldError | None:
        from school_tui.db.errors import field_refusal

        refusal = field_refusal(exc, {"status": "move-target", "remark": "move-remark"})
        if refusal is None:
            return None
        return FieldError(refusal.field, f"Nothing moved. {refusal.message}")

    return FormSpec(
        title="Change status",
        fields=[
            Field(
                "move-target",
                "To status",
                targets[0],
                options=[(t, t) for t in targets],
                listed=True,
            ),
            Field(
                "move-remark",
                "Remark",
                placeholder="optional; kept in the history",
                max_length=2000,
            ),
        ],
        check=lambda values: (
            values["move-target"] or targets[0],
            (values["move-remark"] or "").strip(),
        ),
        save=save,
        refused=refused,
        live=summary,
        saving=f"Moving {students}…",
        enter_saves=True,
        hint="Up/Down: status, Tab: remark, Enter: confirm. Escape: cancel.",
        label_width=11,
    )


# -- the screen -------------------------------------------------------------------------------


class EnrollmentBoardScreen(ListScreen):
    AUTO_FOCUS = None  # the table, once its rows are there (not the grade filter)
    DEFAULT_CSS = """
    EnrollmentBoardScreen #board-filters { height: 3; }
    EnrollmentBoardScreen #board-grade { width: 24; }
    EnrollmentBoardScreen #board-section { width: 1fr; }
    EnrollmentBoardScreen #board-counts { height: 1; }
    EnrollmentBoardScreen #board-status { height: 1; color: $text-muted; padding: 0 1; }
    EnrollmentBoardScreen #board-status.error { color: $error; text-style: bold; }
    EnrollmentBoardScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="board.back"),
        Binding("space", "toggle_mark", "Mark", id="board.mark"),
        Binding("a", "mark_all", "Mark all", show=False, id="board.mark_all"),
        Binding("t", "move", "Status", id="board.move"),
        Binding("f", "filters", "Filter", id="board.filter"),
        Binding("ctrl+s", "export", "CSV", id="board.export"),
        *(
            Binding(str(i), f"show_status({i - 1})", status, show=False, id=f"board.status.{i}")
            for i, status in enumerate(STATUSES, start=1)
        ),
    ]
    LIST = ListSpec(
        table="board-table",
        columns=COLUMNS,
        key=lambda row: row.id,
        presence=lambda row: (row.student_id, row.presence),
    )

    def __init__(self, session, status: str = "Pending") -> None:
        super().__init__(session)
        self.status = status
        self.grade: str | None = None
        self.section_id: int | None = None
        self.counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self.marked: set[int] = set()
        self.sections: list[SectionChoice] = []
        self.transitions: dict[str, list[str]] = {}  # the database's rules, read at mount
        # Ordering of reads that finish in any order (thread workers): a load bumps the
        # generation (what an older load or re-read posts is dropped); ids notified while a
        # load is in flight wait for it (its rows may have been read before their change),
        # then are read again; re-reads are numbered, and a row or the counts never go back
        # to what an older re-read saw.
        self._loaded = False
        self._load_in_flight = False
        self._waiting_ids: dict[int, None] = {}
        self._reread_seq = 0
        self._row_seq: dict[int, int] = {}
        self._counts_seq = 0
        self._more = False  # the column has more than LIST_LIMIT rows

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TitleBar(safe_join("Enrollment board", "·", self.session.person.full_name))
        yield ConnectionBanner()
        with Horizontal(id="board-filters"):
            yield Select(
                [(g, g) for g in GRADE_LEVELS],
                prompt="All grades",
                id="board-grade",
            )
            yield Select([], prompt="All sections", id="board-section")
        yield Static("", id="board-counts")
        yield Static("Loading…", id="board-status")
        yield DataTable(id="board-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def list_mounted(self) -> None:
        self.title = "Enrollment board"
        live = self.app.live
        if live is not None:
            live.enrollment.subscribe(self, self._enrollment_changed)
            live.records.resync.subscribe(self, lambda _reconnected: self.reload())
        self._load_sections()

    # -- loading -----------------------------------------------------------------------------

    def reload(self, **how) -> None:
        """Read the counts and the column again (filters changed, a reconnect, a refresh)."""
        self._load_in_flight = True
        super().reload(**how)

    def list_query(self) -> tuple[str, str | None, int | None]:
        return self.status, self.grade, self.section_id

    def list_fetch(self, conn, query, after) -> Page:
        from school_tui.db import enrollment

        status, grade, section = query
        counts = enrollment.board_counts(conn, grade_level=grade, section_id=section)
        rows = enrollment.board_list(
            conn, status, grade_level=grade, section_id=section, limit=LIST_LIMIT + 1
        )
        found = [_board_row(r) for r in rows]
        return Page(found[:LIST_LIMIT], more=len(found) > LIST_LIMIT, extra=_counts(counts))

    def list_filled(self, loaded: ListLoaded) -> None:
        self._loaded = True
        self._load_in_flight = False
        self._row_seq.clear()
        self._counts_seq = self._reread_seq
        self.counts = loaded.page.extra
        self.marked &= {row.id for row in self.rows.values()}
        self._more = loaded.page.more
        self._show_counts()
        self._show_status()
        if self._waiting_ids:
            ids, self._waiting_ids = list(self._waiting_ids), {}
            self._start_reread(ids)

    def _start_reread(self, ids: list[int]) -> None:
        self._reread_seq += 1
        self._reread(
            self._generation, self._reread_seq, ids, self.status, self.grade, self.section_id
        )

    @db_work(name="board rows", group="board-rows")
    def _reread(self, generation: int, seq: int, ids: list[int], status, grade, section):
        from school_tui.db import enrollment, records

        def fetch(conn):
            # Which of the ids belong to the column now: the database applies the same
            # filters as board_list (status, current year, grade, section).
            found = records.board_rows(conn, ids, status, grade_level=grade, section_id=section)
            counts = enrollment.board_counts(conn, grade_level=grade, section_id=section)
            return _counts(counts), [_board_row(r) for r in found]

        since = self.presence.since() if self.presence is not None else 0
        counts, found = self.session.run(fetch)
        deliver(self._rows_changed, generation, seq, counts, ids, found, since)

    def _enrollment_changed(self, ids: list[int]) -> None:
        if self._load_in_flight:
            self._waiting_ids.update(dict.fromkeys(ids))
        else:
            self._start_reread(ids)

    def _rows_changed(
        self,
        generation: int,
        seq: int,
        counts: dict[str, int],
        ids: list[int],
        rows: list[BoardRow],
        since: int,
    ) -> None:
        """A re-read numbered `seq` (in the order they started) of the notified `ids`: `rows`,
        those of them that belong to the column shown now; `since`: LivePresence.since()
        when it began."""
        if generation != self._generation:
            return  # a reload since reads them
        table = self.table
        belong = {row.id: row for row in rows}
        added = False
        with self.app.batch_update():
            for enrollment_id in ids:
                if self._row_seq.get(enrollment_id, 0) > seq:
                    continue  # a newer re-read has shown this row already
                self._row_seq[enrollment_id] = seq
                key = str(enrollment_id)
                row = belong.get(enrollment_id)
                shown = key in self.rows
                if row is not None:
                    if shown:
                        self.update_row(row)
                    elif len(self.rows) < LIST_LIMIT:
                        self.add_row(row, since)
                        added = True
                    else:
                        self._more = True
                elif shown:
                    self.marked.discard(enrollment_id)
                    self.remove_row(key)
            if added:
                # board_list's order: by name (last, first), then id
                cursor_key = self.selected_key()
                table.sort(key=lambda cells: cells[2].plain)
                self.move_to(cursor_key)
        if seq > self._counts_seq:
            self._counts_seq = seq
            self.counts = counts
        self._show_counts()
        self._show_status()

    # -- drawing -----------------------------------------------------------------------------

    def list_cells(self, row: BoardRow) -> tuple[object, ...]:
        return (
            Text(MARK if row.id in self.marked else " "),
            row.number,
            row.name,
            row.grade or "—",
            row.section or "—",
            safe_text(_day(row.updated)),
        )

    def _counts_line(self, short: bool) -> Text:
        line = Text()
        for i, status in enumerate(STATUSES, start=1):
            if i > 1:
                line.append("│", style="dim")
            name = SHORT.get(status, status) if short else status
            label = f"{i} {name} {self.counts.get(status, 0)}"
            line.append(label, style="bold reverse" if status == self.status else "")
        return line

    def _show_counts(self) -> None:
        counts = self.query_one("#board-counts", Static)
        line = self._counts_line(short=False)
        if line.cell_len > (counts.size.width or self.app.size.width):
            line = self._counts_line(short=True)
        counts.update(line)

    def on_resize(self) -> None:
        self._show_counts()

    def _show_status(self, text: str | None = None, error: bool = False) -> None:
        status = self.query_one("#board-status", Static)
        if text is None:
            shown = len(self.rows)
            where = self._filter_words()
            more = f" (the first {LIST_LIMIT})" if self._more else ""
            marked = f" · {len(self.marked)} marked" if self.marked else ""
            if shown:
                hint = "" if self.marked else " · space marks, a all, t moves"
                text = f"{self.status}{where}: {shown} shown{more}{marked}{hint}"
            else:
                text = f"No {self.status} students{where}."
        status.update(safe_text(text))
        status.set_class(error, "error")

    def _filter_words(self) -> str:
        parts = []
        if self.grade:
            parts.append(self.grade)
        if self.section_id is not None:
            section = next((s for s in self.sections if s.id == self.section_id), None)
            parts.append(f"section {section.name}" if section else "a section")
        return f" in {', '.join(parts)}" if parts else ""

    # -- filters -----------------------------------------------------------------------------

    @db_work(name="board sections", group="board-sections")
    def _load_sections(self) -> None:
        from school_tui.db import enrollment, sections

        def fetch(conn):
            choices = [_section_choice(s) for s in sections.list_sections(conn)]
            return choices, enrollment.transitions(conn)

        deliver(self._sections_loaded, *self.session.run(fetch))

    def _sections_loaded(
        self, choices: list[SectionChoice], transitions: dict[str, list[str]]
    ) -> None:
        """`transitions`: status -> where it may go, the usual step first."""
        self.sections = choices
        self.transitions = transitions
        self._fill_section_select()

    def _fill_section_select(self) -> None:
        select = self.query_one("#board-section", Select)
        shown = [s for s in self.sections if self.grade is None or s.grade == self.grade]
        with self.prevent(Select.Changed):
            select.set_options(
                [(f"{s.grade} · {s.name}" if self.grade is None else s.name, s.id) for s in shown]
            )
            if self.section_id is not None and any(s.id == self.section_id for s in shown):
                select.value = self.section_id
        if self.section_id is not None and not any(s.id == self.section_id for s in shown):
            self.section_id = None

    @on(Select.Changed, "#board-grade")
    def _grade_changed(self, event: Select.Changed) -> None:
        grade = None if event.value is Select.NULL else str(event.value)
        if grade == self.grade:
            return
        self.grade = grade
        self._fill_section_select()
        self.marked.clear()
        self.reload()

    @on(Select.Changed, "#board-section")
    def _section_changed(self, event: Select.Changed) -> None:
        section = event.value if isinstance(event.value, int) else None  # a section's id
        if section == self.section_id:
            return
        self.section_id = section
        self.marked.clear()
        self.reload()

    def action_filters(self) -> None:
        self.query_one("#board-grade", Select).focus()

    # -- actions -----------------------------------------------------------------------------

    def action_show_status(self, index: int) -> None:
        if 0 <= index < len(STATUSES) and STATUSES[index] != self.status:
            self.status = STATUSES[index]
            self.marked.clear()
            self._show_counts()
            self.reload()
        self.table.focus()

    def _redraw_mark(self, enrollment_id: int) -> None:
        self.table.update_cell(
            str(enrollment_id), "mark", Text(MARK if enrollment_id in self.marked else " ")
        )

    def action_toggle_mark(self) -> None:
        key = self.selected_key()
        if key is None:
            return
        enrollment_id = int(key)
        self.marked.symmetric_difference_update({enrollment_id})
        self._redraw_mark(enrollment_id)
        self.table.action_cursor_down()  # like a file manager: mark and move on
        self._show_status()

    def action_mark_all(self) -> None:
        everything = {row.id for row in self.rows.values()}
        self.marked = set() if self.marked >= everything else everything
        with self.app.batch_update():
            for enrollment_id in everything:
                self._redraw_mark(enrollment_id)
        self._show_status()

    def _chosen(self) -> list[int]:
        """The marked rows, else the row under the cursor."""
        if self.marked:
            return sorted(self.marked)
        key = self.selected_key()
        return [int(key)] if key is not None else []

    def action_move(self) -> None:
        ids = self._chosen()
        if not ids:
            self._show_status(f"No {self.status} students to move.", error=True)
            return
        if not self.transitions:
            self._show_status("The pipeline's rules are still loading: a moment.", error=True)
            return
        targets = self.transitions.get(self.status, [])
        if not targets:
            self._show_status(f"{self.status} is final: no status comes after it.", error=True)
            return
        source = self.status

        def done(answer: tuple[str, int] | None) -> None:
            if answer is not None:
                self._moved(ids, source, answer[0])

        self.app.push_screen(TransitionModal(self.session, ids, source, targets), done)

    def _moved(self, ids: list[int], source: str, target: str) -> None:
        count = len(ids)
        students = "1 student" if count == 1 else f"{count} students"
        text = f"Moved {students} from {source} to {target}."
        self.marked -= set(ids)
        self.app.notify(text, title="Status changed", markup=False)
        self._show_status(text)
        # The notification brings the same ids; reading them now too keeps the board right
        # when the listener is reconnecting.
        self._enrollment_changed(ids)

    def list_export(self) -> Export:
        """The whole column with the filters shown, read again in the worker: the table
        holds at most LIST_LIMIT rows."""
        from school_tui.db import enrollment

        status, grade, section = self.status, self.grade, self.section_id

        def fetch(conn):
            for row in enrollment.board_list(
                conn, status, grade_level=grade, section_id=section, limit=None
            ):
                r = _board_row(row)
                yield (r.number, r.name, r.grade, r.section, r.status, r.updated, r.remark)

        return Export(
            what=f"{status} students{self._filter_words()}",
            stem=f"enrollment-{status}",
            header=CSV_HEADER,
            fetch=fetch,
            count=self.counts.get(status),
        )

    def action_back(self) -> None:
        self.dismiss(None)

    def palette_commands(self) -> list[tuple[str, Callable[[], None], str]]:
        commands: list[tuple[str, Callable[[], None], str]] = [
            (
                f"Show {status}",
                functools.partial(self.action_show_status, i),
                f"The {status} column",
            )
            for i, status in enumerate(STATUSES)
        ]
        commands += [
            ("Change status of marked students", self.action_move, "All or none"),
            ("Export this list to CSV", self.action_export, "Every student of the column"),
            ("Back", self.action_back, "Close the board"),
        ]
        return commands


# -- adapting db rows -------------------------------------------------------------------------


def _board_row(row: tuple) -> BoardRow:
    """A row of db.enrollment.board_list (or db.records.board_rows): id first, then
    BOARD_COLUMNS (number, name, grade, section, status, updated, remark)."""
    return BoardRow(*row)


def _section_choice(row) -> SectionChoice:
    return SectionChoice(row.id, row.grade_level, row.name)


def _counts(counts: list[tuple[str, int]]) -> dict[str, int]:
    found = dict(counts)
    return {status: int(found.get(status, 0)) for status in STATUSES}


def _day(moment) -> str:
    if moment is None:
        return ""
    try:
        return moment.astimezone().strftime("%Y-%m-%d")
    except AttributeError:
        return str(moment)
