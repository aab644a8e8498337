"""Import students from a CSV file (Registrar): path, preview, confirm, progress, summary.

1. Type the file's path and press Enter. A worker reads and parses the file
   (school_tui.domain.student_csv) and asks the database what each row would do
   (db.student_import.preview): nothing is written.
2. The preview: totals on top (add, update, reject), then each line with its action and, for a
   rejected one, the reason; for an update, the fields it changes (a column the file lacks,
   or an empty cell, leaves a field as it is). A file that cannot be read or parsed says why and shows nothing.
3. `Ctrl+O` (import) asks once more, then the import runs in a worker, in one transaction,
   with a progress bar while the rows are sent, then "Writing" (the bar pulses) while the
   database checks and writes them: the lines the preview showed as add or update, the rejected ones
   left out (db.student_import.commit with the preview shown); the summary says what was
   added and updated. When the database
   refuses (a rule broken, a section full), nothing is imported and the reason shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, ProgressBar, Static

from school_tui.runtime.messages import ConnectionRestored
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolScreen
from school_tui.widgets.confirm import ConfirmModal
from school_tui.widgets.safe import clean, safe_join, safe_text
from school_tui.widgets.title import TitleBar

if TYPE_CHECKING:
    from school_tui.db.student_import import ImportSummary, PreviewRow
    from school_tui.domain.student_csv import ParsedFile

MAX_FILE_BYTES = 20 * 1024 * 1024  # a school's whole roll is far smaller
# Widths for 80 columns (cell padding and the scrollbar included); the highlighted row's
# whole reason shows in the line under the table.
COLUMNS = (
    ("line", "Line", 5),
    ("action", "Action", 6),
    ("number", "Student no.", 11),
    ("name", "Name", 18),
    ("reason", "Reason", 24),
)


class ImportScreen(SchoolScreen):
    DEFAULT_CSS = """
    ImportScreen #import-path {
        border: round $border-blurred; border-title-color: $text-muted; height: 3;
    }
    ImportScreen #import-path:focus { border: round $border; border-title-color: $text; }
    ImportScreen #import-totals { height: 1; padding: 0 1; text-style: bold; }
    ImportScreen #import-status { height: auto; max-height: 3; color: $text-muted; padding: 0 1; }
    ImportScreen #import-status.error { color: $error; text-style: bold; }
    ImportScreen #import-status.done { color: $success; text-style: bold; }
    ImportScreen #import-status.warning { color: $warning; }
    ImportScreen ProgressBar { display: none; height: 1; padding: 0 1; }
    ImportScreen ProgressBar.-running { display: block; }
    ImportScreen DataTable { height: 1fr; }
    ImportScreen #import-detail { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="import.back"),
        Binding("ctrl+o", "commit", "Import", id="import.commit"),
        Binding("ctrl+f", "focus_path", "File", id="import.file"),
    ]

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.parsed: ParsedFile | None = None  # what the preview showed: what the import writes
        self.preview: list = []
        self.path: str | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        yield TitleBar(safe_join("Import students from CSV", "·", self.session.person.full_name))
        yield ConnectionBanner()
        field = Input(placeholder="path/to/students.csv, then Enter", id="import-path")
        field.border_title = "CSV file"
        yield field
        yield Static("", id="import-totals")
        yield Static(
            "Columns: student_number, first_name, last_name, email, grade_level, section, "
            "birth_date, guardian_name, guardian_phone, address. Nothing is written until you "
            "confirm.",
            id="import-status",
        )
        yield ProgressBar(id="import-progress", show_eta=False)
        yield DataTable(id="import-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="import-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Import students"
        table = self.query_one("#import-table", DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self.query_one("#import-path", Input).focus()

    # -- status ------------------------------------------------------------------------------

    def _set_status(self, text: str, kind: str = "") -> None:
        status = self.query_one("#import-status", Static)
        status.update(safe_text(text, multiline=True))
        status.set_class(kind == "error", "error")
        status.set_class(kind == "done", "done")
        status.set_class(kind == "warning", "warning")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "commit":
            return self.parsed is not None and not self.running
        return True

    # -- 1. the file -------------------------------------------------------------------------

    @on(Input.Submitted, "#import-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        if self.running:
            return
        text = event.value.strip()
        if not text:
            self._set_status("CSV file: type the file's path first.", "error")
            return
        self._clear_preview()
        self._set_status(f"Reading {text}…")
        self._read(text)

    def _clear_preview(self) -> None:
        self.parsed = None
        self.preview = []
        self.query_one("#import-detail", Static).update("")
        self.query_one("#import-table", DataTable).clear()
        self.query_one("#import-totals", Static).update("")
        self.refresh_bindings()

    @db_work(name="import preview", group="import-read", exclusive=True)
    def _read(self, text: str) -> None:
        from school_tui.db import student_import as db_import
        from school_tui.domain import student_csv as student_import

        path = Path(text).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        try:
            if not path.is_file():
                raise OSError(f"no file {clean(path)}")
            if path.stat().st_size > MAX_FILE_BYTES:
                raise OSError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
            data = path.read_bytes()
        except OSError as exc:
            reason = exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
            deliver(self._file_refused, str(path), f"cannot be read: {reason}")
            return
        try:
            parsed = student_import.read_csv(data)
        except ValueError as exc:  # the parser's refusal says which line and why
            deliver(self._file_refused, str(path), str(exc))
            return
        rows = self.session.run(lambda conn: db_import.preview(conn, parsed))
        deliver(self._previewed, str(path), parsed, rows)

    def _file_refused(self, path: str, reason: str) -> None:
        self._set_status(f"{path}: {reason}. Nothing was imported.", "error")

    # -- 2. the preview ----------------------------------------------------------------------

    def _previewed(self, path: str, parsed: ParsedFile, rows: list[PreviewRow]) -> None:
        self.parsed = parsed
        self.preview = rows
        self.path = path
        counts = {"add": 0, "update": 0, "reject": 0}
        table = self.query_one("#import-table", DataTable)
        with self.app.batch_update():
            table.clear()
            for row in rows:
                counts[row.action] = counts.get(row.action, 0) + 1
                table.add_row(
                    safe_text(row.line),
                    safe_text(row.action),
                    safe_text(row.student_number or "", max_length=COLUMNS[2][2]),
                    safe_text(row.name or "", max_length=COLUMNS[3][2]),
                    safe_text(row.note, max_length=COLUMNS[4][2]),
                    key=str(row.line),
                )
        total = len(rows)
        self.query_one("#import-totals", Static).update(
            safe_text(
                f"{total} rows: {counts['add']} to add, {counts['update']} to update, "
                f"{counts['reject']} rejected"
            )
        )
        if not total or counts["reject"] == total:
            self.parsed = None
            self._set_status(
                "No row can be imported: fix the file (each line says why) and press Enter "
                "in the file field again. Nothing was imported."
                if total
                else "The file has no student rows. Nothing to import.",
                "error",
            )
        elif counts["reject"]:
            self._set_status(
                f"Preview only: nothing is written yet. {counts['reject']} rejected rows (the "
                "reason is on each line) would be left out. Ctrl+O imports the others.",
                "warning",
            )
        else:
            self._set_status("Preview only: nothing is written yet. Ctrl+O imports.")
        if total:
            table.focus()
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#import-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = next((r for r in self.preview if str(r.line) == event.row_key.value), None)
        detail = ""
        if row is not None and row.note:
            detail = f"Line {row.line}: {row.note}"
        self.query_one("#import-detail", Static).update(safe_text(detail))

    # -- 3. the import -----------------------------------------------------------------------

    def action_commit(self) -> None:
        if self.parsed is None or self.running:
            return
        adds = sum(r.action == "add" for r in self.preview)
        updates = sum(r.action == "update" for r in self.preview)
        rejects = sum(r.action == "reject" for r in self.preview)
        left_out = f"\n{rejects} rejected rows will be left out." if rejects else ""
        text = (
            f"Import {self.path}?\n{adds} students will be added and {updates} updated, in "
            f"one transaction: all or nothing.{left_out}"
        )
        parsed = self.parsed

        def answered(yes: bool | None) -> None:
            if yes and parsed is self.parsed:
                self._start(parsed)

        self.app.push_screen(
            ConfirmModal("Import students", text, yes="Import", no="Cancel", default_yes=True),
            answered,
        )

    def _start(self, parsed) -> None:
        self.running = True
        self.refresh_bindings()
        bar = self.query_one("#import-progress", ProgressBar)
        bar.update(total=max(len(self.preview), 1), progress=0)
        bar.add_class("-running")
        self._set_status("Importing…")
        self._commit(parsed, list(self.preview))

    @db_work(name="import commit", group="import-commit", exclusive=True)
    def _commit(self, parsed, shown: list) -> None:
        from school_tui.db import student_import as db_import
        from school_tui.db.errors import NotAllowed, Refused, connection_lost

        def progress(done: int, total: int) -> None:
            deliver(self._progress, done, total)

        def run(conn):
            # Exactly what the preview showed: its add and update lines are written, its
            # rejected ones left out, as the confirmation said. The database checks every
            # row again; one that breaks a rule now (an email taken meanwhile) refuses the lot.
            skip = any(row.action == "reject" for row in shown)
            return db_import.commit(
                conn,
                parsed,
                progress,
                skip_rejected=skip,
                checked=shown,
                writing=lambda total: deliver(self._writing, total),
            )

        try:
            summary = self.session.run(run)
        except (Refused, NotAllowed) as exc:
            deliver(self._refused, clean(exc.message))
            return
        except db_import.ImportRejected as exc:
            deliver(self._refused, str(exc))
            return
        except Exception as exc:
            # The app's handler shows the banner or the error modal; the screen is usable.
            if connection_lost(exc):
                reason = "the connection was lost; nothing was imported"
            else:
                reason = "see the message"
            deliver(self._refused, reason)
            raise
        deliver(self._finished, summary)

    def _progress(self, done: int, total: int) -> None:
        bar = self.query_one("#import-progress", ProgressBar)
        bar.update(total=max(total, 1), progress=done)

    def _writing(self, total: int) -> None:
        # Every row is sent; the database's one statement has no progress to show: the bar
        # pulses (no total) under a line that says what is happening.
        self.query_one("#import-progress", ProgressBar).update(total=None)
        students = "1 row" if total == 1 else f"{total} rows"
        self._set_status(
            f"Writing: the database checks {students} again and writes them, all or nothing…"
        )

    def _finished(self, summary: ImportSummary) -> None:
        self.running = False
        self.parsed = None
        s = summary
        bar = self.query_one("#import-progress", ProgressBar)
        bar.update(total=max(s.added + s.updated, 1), progress=max(s.added + s.updated, 1))
        left_out = f", {s.rejected} rejected rows left out" if s.rejected else ""
        text = f"Imported: {s.added} students added, {s.updated} updated{left_out}."
        self._set_status(text, "done")
        self.app.notify(text, title="Import finished", markup=False)
        self.refresh_bindings()

    def _refused(self, reason: str) -> None:
        self.running = False
        self.query_one("#import-progress", ProgressBar).remove_class("-running")
        self._set_status(f"Nothing was imported: {reason}", "error")
        self.refresh_bindings()

    # -- elsewhere ---------------------------------------------------------------------------

    def action_focus_path(self) -> None:
        self.query_one("#import-path", Input).focus()

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        pass  # nothing shown here comes from a live query; the preview is read again on Enter

    def action_back(self) -> None:
        if self.running:
            self._set_status("The import is running: wait for it to finish.", "error")
            return
        self.dismiss(None)

    def palette_commands(self):
        return [
            ("Import the previewed file", self.action_commit, "All or nothing, after a yes"),
            ("Choose another file", self.action_focus_path, "Type its path"),
            ("Back", self.action_back, "Close the import"),
        ]
