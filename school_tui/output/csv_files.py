"""Writing a list to a CSV file: the one helper every export uses (audit log, enrollment
board, rosters, any table).

- A cell a spreadsheet would run as a formula (OWASP "CSV injection": names, remarks and
  titles are anyone's text) gets a leading apostrophe, so it shows as typed.
- The file is new: an existing file is never overwritten, and an export that fails removes
  its partial file.
- Where it goes: `check_export_path` turns what a person typed into a path (relative to the
  current folder, `~` expanded) or an ExportPathError naming the rule. The same rules serve
  every export (a statement as .pdf, .txt or .csv): where a name's ending picks the format,
  `allowed` lists the endings.

No Textual here: the database layer (db/audit.py) streams through `write_csv` too.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from school_tui.domain.text import clean

# What a spreadsheet takes for the start of a formula; tab and CR too, which some strip first.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """`value` as a CSV cell: None empty, dates ISO, numbers as they are, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write `header` and `rows` to a new file at `path` (an existing file is an error, never
    overwritten). Returns the number of rows written; a failed export removes its file.
    `rows` may be a generator (a database stream): one row is held at a time."""
    path = Path(path)
    count = 0
    with path.open("x", newline="", encoding="utf-8") as out:
        try:
            writer = csv.writer(out)
            writer.writerow(header)
            for row in rows:
                writer.writerow([cell(v) for v in row])
                count += 1
        except BaseException:
            out.close()
            path.unlink(missing_ok=True)
            raise
    return count


@dataclass
class ExportPathError(ValueError):
    message: str
    field: str = "export-path"  # the Input's id

    def __str__(self) -> str:
        return self.message


# The endings an export may take, and what each one writes.
FORMATS = {".csv": "CSV", ".txt": "text", ".pdf": "PDF"}


def default_file_name(stem: str, ext: str = ".csv") -> str:
    """`<stem>-YYYYmmdd-HHMMSS<ext>`: a new name every second, sorted by time."""
    safe_stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem.lower()).strip("-")
    return f"{safe_stem[:40] or 'export'}-{datetime.now():%Y%m%d-%H%M%S}{ext}"


def check_export_path(text: str, allowed: Sequence[str] | None = None) -> Path:
    """Where the export goes: a new file in an existing folder, relative to the current one.
    `allowed`: the endings that pick a format (".pdf", ".txt"); None: any name (a CSV)."""
    text = text.strip()
    if not text:
        raise ExportPathError("File: required")
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if allowed is not None and path.suffix.lower() not in allowed:
        kinds = ", ".join(f"{ext} ({FORMATS[ext]})" for ext in allowed)
        raise ExportPathError(f"File: end the name with {kinds}")
    if path.exists():
        raise ExportPathError("File: already exists; choose another name")
    if not path.parent.is_dir():
        raise ExportPathError(f"File: the folder {clean(path.parent)} does not exist")
    return path
