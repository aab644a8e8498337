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

from school_tui.domain.fields import FieldError
from school_tui.output.csv_files import (
    FORMATS,
    ExportPathError,
    check_export_path,
    default_file_name,
    write_csv,
)
from school_tui.runtime.workers import db_task, deliver
from school_tui.widgets.forms import Field, FormModal, FormSpec
from school_tui.widgets.safe import clean, safe_text


class ExportModal(FormModal):
    """Where to write an export, on the app's form: a new file, relative to the current
    folder (the form shows which). `formats`: the endings that pick the format (".pdf",
    ".txt", ".csv"), the first one the default name's; None: a CSV, whatever the name.
    Enter exports, Escape cancels; a name that will not do says why under the field.
    Dismisses with the Path, or None."""

    def __init__(
        self, summary: Text | str, stem: str = "export", formats: Sequence[str] | None = None
    ) -> None:
        super().__init__(None, export_form(str(summary), stem, formats))


def export_form(summary: str, stem: str, formats: Sequence[str] | None) -> FormSpec:
    endings = list(formats) if formats is not None else None
    if endings is None:
        what, ext = "CSV", ".csv"
    else:
        what = "the ending picks the format: " + ", ".join(f"{e} {FORMATS[e]}" for e in endings)
        ext = endings[0]

    def check(values: dict) -> Path:
        try:
            return check_export_path(values["export-path"] or "", endings)
        except ExportPathError as exc:
            raise FieldError(exc.field, exc.message) from None

    return FormSpec(
        title=summary,
        note=f"File ({what}; a new file; relative to {Path.cwd()})",
        fields=[Field("export-path", "File", default_file_name(stem, ext))],
        check=check,
        save=None,
        enter_saves=True,
        hint="Enter exports, Escape cancels.",
        label_width=6,
    )


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
        if done is not None and node.is_attached:
            done(path, count)

    def write(path: Path) -> None:
        deliver(written, path, produce(path))

    def chosen(path: Path | None) -> None:
        if path is not None:
            # For the app: the toast comes even when the screen has closed meanwhile.
            db_task(app, lambda: write(path), name="csv export", group="csv-export")

    app.push_screen(ExportModal(summary, stem), chosen)
