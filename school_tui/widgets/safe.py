"""The one way text from the database or a person reaches the screen.

`safe_text()` returns a `rich.text.Text`, which Rich and Textual never parse as markup, so
`[bold]`, `[@click=app.quit]` or an unbalanced `[/]` show exactly as typed. Control characters
(C0, DEL, C1) and the bidi override/isolate controls are replaced by visible stand-ins, so no
ESC/CSI/OSC sequence reaches the terminal and no text can reorder what is drawn around it.
Every widget that shows such text goes through here (see ARCHITECTURE.md).
"""

from __future__ import annotations

from rich.text import Text

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"
_BIDI_CONTROLS = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}


def _build_table(keep_newlines: bool) -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x20):
        # U+2400..U+241F are the visible "control pictures" (␛ for ESC).
        table[code] = chr(0x2400 + code)
    table[0x7F] = "\N{SYMBOL FOR DELETE}"
    for code in range(0x80, 0xA0):
        table[code] = REPLACEMENT
    for code in _BIDI_CONTROLS:
        table[code] = REPLACEMENT
    if keep_newlines:
        del table[0x0A]
        table[0x09] = "    "
    return table


_ONE_LINE = _build_table(keep_newlines=False)
_MULTI_LINE = _build_table(keep_newlines=True)


def clean(value: object, *, multiline: bool = False) -> str:
    """`value` as a string with every control character made visible and harmless."""
    if value is None:
        return ""
    return str(value).translate(_MULTI_LINE if multiline else _ONE_LINE)


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
