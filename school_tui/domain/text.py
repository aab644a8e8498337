"""Text from the database or a person made harmless: every control character (C0, DEL, C1)
and the bidi override/isolate controls replaced by a visible stand-in, so no ESC/CSI/OSC
sequence reaches a terminal or a file and no text can reorder what is shown around it.
widgets/safe.py shows such text on screen; output/ writes it to files."""

from __future__ import annotations

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


# A paste: tab, line feed and carriage return kept (a multi-line paste stays multi-line),
# NUL dropped, every other control character shown as clean() shows it.
_PASTED: dict[int, str | None] = {**_ONE_LINE, 0x00: None}
for _kept in (0x09, 0x0A, 0x0D):
    del _PASTED[_kept]


def pasted(text: str) -> str:
    """Pasted text with its control characters made visible, its line breaks kept."""
    return text.translate(_PASTED)
