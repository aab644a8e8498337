"""The access matrix: what each role may do to each table and function, as data.

`access_matrix.txt` (beside this file) is the single source: tests/db/test_access.py turns every
cell into a check over a real login of that role, the Admin's Roles screen shows each role's
rights from it, and `python -m school_tui.domain.access` renders docs/access-matrix.md.

Cells: `Y` allowed; `E` refused with a permission error; `0` row-level security hides the
rows (nothing seen or changed). Comment lines (`#`) above a group of rows explain it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MATRIX_FILE = Path(__file__).with_name("access_matrix.txt")
ROLES = (
    "Admin",
    "Principal",
    "Academic Coordinator",
    "Teacher",
    "Student",
    "Guidance",
    "Registrar",
    "Accounting",
)
CELL_MEANING = {"Y": "allowed", "E": "refused", "0": "hidden by row-level security"}


@dataclass(frozen=True)
class Cell:
    table: str
    operation: str
    role: str
    expected: str  # 'Y', 'E' or '0'
    note: str  # the comment block the row stands under


def load(text: str | None = None) -> list[Cell]:
    text = MATRIX_FILE.read_text() if text is None else text
    cells: list[Cell] = []
    note: list[str] = []
    last_was_row = False
    seen: set[tuple[str, str]] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if last_was_row:
                note = []
            comment = line.lstrip("#").strip()
            if not comment.startswith("table "):
                note.append(comment)
            last_was_row = False
            continue
        parts = line.split()
        if len(parts) != 2 + len(ROLES) or any(v not in CELL_MEANING for v in parts[2:]):
            raise ValueError(f"{MATRIX_FILE.name}:{number}: expected table, operation, 8 of Y/E/0")
        table, operation, *values = parts
        if (table, operation) in seen:
            raise ValueError(f"{MATRIX_FILE.name}:{number}: {table} {operation} appears twice")
        seen.add((table, operation))
        for role, value in zip(ROLES, values, strict=True):
            cells.append(Cell(table, operation, role, value, " ".join(note)))
        last_was_row = True
    return cells


def rights_of(role: str, cells: list[Cell] | None = None) -> list[str]:
    """What `role` may do, as short lines for a person: 'fees: read_own, insert'."""
    allowed: dict[str, list[str]] = {}
    for cell in cells if cells is not None else load():
        if cell.role == role and cell.expected == "Y":
            allowed.setdefault(cell.table, []).append(cell.operation)
    return [f"{table}: {', '.join(ops)}" for table, ops in allowed.items()]


def markdown(cells: list[Cell] | None = None) -> str:
    cells = cells if cells is not None else load()
    header = (
        "# Access matrix\n\n"
        "Generated from `school_tui/domain/access_matrix.txt` by `python -m school_tui.domain.access`; "
        "every cell is a test in `tests/db/test_access.py`, run as a real login of that role.\n"
        "Y: allowed. E: refused with a permission error. 0: row-level security hides the "
        "rows.\n\n"
        "| table | operation | " + " | ".join(ROLES) + " |\n"
        "|---|---|" + "---|" * len(ROLES) + "\n"
    )
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for cell in cells:
        rows.setdefault((cell.table, cell.operation), {})[cell.role] = cell.expected
    body = "".join(
        f"| {table} | {operation} | " + " | ".join(values[r] for r in ROLES) + " |\n"
        for (table, operation), values in rows.items()
    )
    return header + body


if __name__ == "__main__":
    print(markdown(), end="")
