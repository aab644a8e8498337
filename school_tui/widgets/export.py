"""Export a list to CSV, from any screen: the modal that asks where, and the worker that writes.

`ExportModal` asks for the file (a new file; relative paths are in the current folder, whose
path the form shows) and returns a Path, or None on Escape; every export of the app asks
with it (a statement's or a receipt's too, where the name's ending picks the format). `export_rows` is what a screen
calls: the modal, then the rows written in a thread worker (a long list must not stall the
UI), then a toast saying how many rows went where. The rows are what the screen holds (the
visible list), read on the UI thread before the worker starts, so the file matches the
screen at the moment of the export. Where a screen shows only the first rows of a longer
list (a page of search results, a board column cut at its limit), `export_query` reads the
whole list again in the worker, through the person's own connection, and writes all of it.
Cells go through output/csv_files.py (formulas defused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from school_tui.output.csv_files import (
    FORMATS,
    ExportPathError,
    check_export_path,
    default_file_name,
    write_csv,
)
from school_tui.widgets.safe import clean, safe_text


class ExportModal(ModalScreen[Path | None]):
    """Where to write an export: a new file, relative to the current folder (the form shows
    which). `formats`: the endings that pick the format (".pdf", ".txt", ".csv"), the first
    one the default name's; None: a CSV, whatever the name. Enter exports, Escape cancels."""

    DEFAULT_CSS = """
    ExportModal { align: center middle; }
    ExportModal > Vertical {
        width: 72; max-width: 100%; height: auto;
        border: thick $primary; background: $surface; padding: 0 2;
    }
    ExportModal #export-summary { text-style: bold; height: auto; }
    ExportModal #export-status { color: $text-muted; height: auto; }
    ExportModal #export-status.error { color: $error; text-style: bold; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    def __init__(
        self, summary: Text | str, stem: str = "export", formats: Sequence[str] | None = None
    ) -> None:
        super().__init__()
        self.summary = summary if isinstance(summary, Text) else safe_text(summary)
        self.stem = stem
        self.formats = list(formats) if formats is not None else None

    def compose(self) -> ComposeResult:
        if self.formats is None:
            what, ext = "CSV", ".csv"
        else:
            what = "the ending picks the format: " + ", ".join(
                f"{ext} {FORMATS[ext]}" for ext in self.formats
            )
            ext = self.formats[0]
        with Vertical():
            yield Static(self.summary, id="export-summary")
            yield Label(safe_text(f"File ({what}; a new file; relative to {Path.cwd()})"))
            yield Input(value=default_file_name(self.stem, ext), id="export-path")
            yield Static("Enter exports, Escape cancels.", id="export-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Submitted, "#export-path")
    def _submit(self, event: Input.Submitted) -> None:
        try:
            path = check_export_path(event.value, self.formats)
        except ExportPathError as exc:
            status = self.query_one("#export-status", Static)
            status.update(safe_text(exc.message))
            status.add_class("error")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)


def export_rows(
    node,
    *,
    what: str,
    stem: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    done: Callable[[Path, int], None] | None = None,
) -> None:
    """Ask for a file, then write `header` and `rows` to it in a worker and say so.

    `what` names the list in the modal and the toast ("Pending students, grade 7");
    `done(path, count)` runs on the UI thread after the file is written (screens that keep a
    status line update it)."""
    rows = [tuple(row) for row in rows]  # a snapshot: the screen may change while writing
    summary = safe_text(f"Export {what}: {len(rows)} rows")
    _ask_and_write(node, summary, stem, lambda path: write_csv(path, header, rows), done)


def export_query(
    node,
    *,
    session,
    what: str,
    stem: str,
    header: Sequence[str],
    fetch: Callable[[object], Iterable[Sequence[object]]],
    count: int | None = None,
) -> None:
    """Ask for a file, then write `header` and every row `fetch(conn)` returns to it, read in
    the worker on the person's own connection (not what the screen holds: all of the list,
    however many the screen shows), and say so. `count`, when known, goes in the modal."""
    rows = f": {count} rows" if count is not None else ""
    summary = safe_text(f"Export {what}{rows}")

    def produce(path: Path) -> int:
        return session.run(lambda conn: write_csv(path, header, fetch(conn)))

    _ask_and_write(node, summary, stem, produce)


def _ask_and_write(
    node,
    summary,
    stem: str,
    produce: Callable[[Path], int],
    done: Callable[[Path, int], None] | None = None,
) -> None:
    """The ExportModal, then `produce(path)` (returns the rows written) in a worker; a toast
    says where the file went. An error (the connection, a full disk, a folder removed
    meanwhile) goes to the app's one handler: the banner or the error modal."""
    app = node.app

    def written(path: Path, count: int) -> None:
        text = f"Exported {count} rows to {clean(path)}"
        app.notify(text, title="Exported", markup=False, timeout=8)
        if done is not None:
            done(path, count)

    def write(path: Path) -> None:
        try:
            count = produce(path)
        except Exception as exc:
            app.call_from_thread(app.handle_error, exc)
            return
        app.call_from_thread(written, path, count)

    def chosen(path: Path | None) -> None:
        if path is not None:
            node.run_worker(
                lambda: write(path),
                thread=True,
                name="csv export",
                group="csv-export",
                exit_on_error=False,
            )

    app.push_screen(ExportModal(summary, stem), chosen)
