"""What receipts, statements and reports share when they leave the screen: text cut to a
number of terminal/printer columns, PDF through fpdf2 with a shipped Unicode font, and CSV
cells that a spreadsheet will not run as formulas.

Pure functions: no database, no Textual. Text from the database or a person goes through
`printable()` first, so no control character (an ESC would be a printer command) reaches a
printer, a PDF or a terminal.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from rich.cells import cell_len, chop_cells

FONT_DIR = Path(__file__).parent / "fonts"
FONT = "DejaVuSansMono"


def printable(value: object) -> str:
    """`value` on one line with every control character (C0, DEL, C1, bidi controls, line
    and paragraph separators) turned into a space, and runs of spaces squeezed."""
    if value is None:
        return ""
    text = str(value)
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        # Cc: controls; Cf: format (bidi overrides, zero-width joiners are kept: they are
        # part of emoji); Zl/Zp: line and paragraph separators.
        if category in ("Cc", "Zl", "Zp") or (category == "Cf" and ch not in "\u200d"):
            out.append(" ")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def ascii_fold(text: str) -> str:
    """`text` for a printer without Unicode: accents dropped (Peña -> Pena), anything else
    that is not ASCII becomes '?'. Every character then takes one column."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return kept.encode("ascii", "replace").decode("ascii")


def cut(text: str, width: int) -> str:
    """`text` cut to at most `width` columns (wide characters count two), with '…'."""
    if cell_len(text) <= width:
        return text
    return chop_cells(text, width - 1)[0] + "…"


def wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` columns, broken at spaces where it can be and
    inside a word that alone is too long."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if cell_len(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        pieces = chop_cells(word, width) if cell_len(word) > width else [word]
        lines.extend(pieces[:-1])
        line = pieces[-1]
    lines.append(line)
    return lines


def pad_right(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_len(text))


def pad_left(text: str, width: int) -> str:
    return " " * max(0, width - cell_len(text)) + text


def center(text: str, width: int) -> str:
    gap = max(0, width - cell_len(text))
    return " " * (gap // 2) + text


def label_value(label: str, value: str, width: int) -> list[str]:
    """'Label        value' on one line when both fit, else the label and the value wrapped
    under it, right-aligned (long names, references)."""
    if cell_len(label) + 1 + cell_len(value) <= width:
        return [label + pad_left(value, width - cell_len(label))]
    return [label, *(pad_left(part, width) for part in wrap(value, width))]


# -- PDF ------------------------------------------------------------------------------------


def new_pdf(page_width_mm: float | None = None, page_height_mm: float | None = None):
    """An fpdf2 document with DejaVu Sans Mono (regular and bold) as font "mono": Unicode
    names (Peña, Łukasz, Ğ, Ж, ά) print as typed; what the font lacks (CJK) prints as a
    box, never an error."""
    from fpdf import FPDF

    if page_width_mm and page_height_mm:
        pdf = FPDF(unit="mm", format=(page_width_mm, page_height_mm))
    else:
        pdf = FPDF(unit="mm", format="A4")
    pdf.add_font("mono", "", str(FONT_DIR / f"{FONT}.ttf"))
    pdf.add_font("mono", "B", str(FONT_DIR / f"{FONT}-Bold.ttf"))
    pdf.set_creator("school-tui")
    return pdf


def pdf_bytes(pdf) -> bytes:
    return bytes(pdf.output())


def text_pdf(
    lines: Sequence[str], *, columns: int, bold: Iterable[int] = (), title: str = ""
) -> bytes:
    """A monospace PDF of `lines` (each at most `columns` wide), on a page as wide as the
    text: a receipt is an 80 mm roll, a statement an A4 page; long documents run on."""
    font_size = 8.5 if columns <= 48 else 8.0
    char_mm = font_size * 0.6 * 25.4 / 72  # DejaVu Sans Mono advances 0.6 em
    line_mm = font_size * 1.25 * 25.4 / 72
    margin = 4.0
    width = columns * char_mm + 2 * margin
    if columns <= 48:  # a receipt: one strip of paper, as long as it needs
        height = max(60.0, len(lines) * line_mm + 2 * margin)
        pdf = new_pdf(width, height)
    else:
        pdf = new_pdf()
        margin = (210 - columns * char_mm) / 2
    pdf.set_title(printable(title))
    pdf.set_margins(margin, margin, margin)
    pdf.set_auto_page_break(True, margin)
    pdf.add_page()
    bold = set(bold)
    for index, line in enumerate(lines):
        pdf.set_font("mono", "B" if index in bold else "", font_size)
        pdf.cell(0, line_mm, line or " ", new_x="LMARGIN", new_y="NEXT")
    return pdf_bytes(pdf)


# -- CSV ------------------------------------------------------------------------------------


def csv_cell(value: object) -> object:
    """A CSV cell with control characters made visible and formulas defused (csv_files)."""
    from school_tui.output.csv_files import cell

    if isinstance(value, str):
        value = printable(value) if value else value
    return cell(value)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a new CSV file (never overwrites; a failed write removes its partial file) with
    the shared exporter; returns the number of rows."""
    from school_tui.output import csv_files as csv_export

    cleaned = ([printable(v) if isinstance(v, str) and v else v for v in row] for row in rows)
    return csv_export.write_csv(path, header, cleaned)
