"""The one way text from the database or a person reaches the screen.

`safe_text()` returns a `rich.text.Text`, which Rich and Textual never parse as markup, so
`[bold]`, `[@click=app.quit]` or an unbalanced `[/]` show exactly as typed. Control characters
(C0, DEL, C1) and the bidi override/isolate controls are replaced by visible stand-ins
(`clean`, domain/text.py), so no ESC/CSI/OSC sequence reaches the terminal and no text can
reorder what is drawn around it.
Every widget that shows such text goes through here (see ARCHITECTURE.md).
"""

from __future__ import annotations

from rich.text import Text

from school_tui.domain.text import clean

__all__ = ["clean", "format_cell", "money_cell", "safe_cells", "safe_join", "safe_text"]


def safe_text(
    value: object, *, multiline: bool = False, style: str = "", max_length: int | None = None
) -> Text:
    """A Text that shows `value` literally: never markup, never a terminal control.

    `max_length` cuts long values with an ellipsis (table cells: a 10,000-character value
    must not make a column 10,000 cells wide; detail views show the whole text)."""
    text = clean(value, multiline=multiline)
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1] + "\N{HORIZONTAL ELLIPSIS}"
    return Text(text, style=style, no_wrap=not multiline)


def safe_join(*parts: object, sep: str = " ") -> Text:
    return safe_text(sep.join(clean(p) for p in parts if p is not None and p != ""))


def safe_cells(values, widths) -> list[Text]:
    """A table row's cells: each value literal, cut to its column's width."""
    return [safe_text(v, max_length=w) for v, w in zip(values, widths, strict=True)]


def money_cell(amount, fmt, lead: str = "") -> Text:
    """A table cell of money in the school's format `fmt` (domain.money.MoneyFormat, None:
    the default): right-aligned, without the symbol (the column is money, and the symbol
    costs a column's worth of width at 80 columns). `lead`: a gap of its own, for a table
    without cell padding."""
    from school_tui.domain.money import format_money

    cell = safe_text(lead + format_money(amount, fmt, symbol=False))
    cell.justify = "right"
    return cell


def format_cell(cell: object, fmt) -> object:
    """A table cell's value as shown: dates as dates, money in the school's format `fmt`
    (config.toml's separators; no symbol: a column of amounts), None as a dash; everything
    else as it is."""
    from datetime import date, datetime
    from decimal import Decimal

    from school_tui.domain.money import format_money

    if isinstance(cell, datetime):
        return cell.astimezone().strftime("%Y-%m-%d %H:%M")
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, Decimal):
        return format_money(cell, fmt, symbol=False)
    if cell is None:
        return "—"
    return cell
