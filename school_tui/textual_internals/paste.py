"""A bracketed paste reaches the app as one piece of text, in order, its controls shown.

Textual 8.2's terminal parser (`textual._xterm_parser.XTermParser.parse`) keeps reading
escape sequences inside a bracketed paste: an ESC in the pasted text starts a "sequence"
that it then sends on as separate key presses (ESC as `^`) *before* the paste it was part
of, so pasting `AAA <ESC>[31mBBB` types `^[31mBBB` and then pastes `AAA `. A key typed
that way also acts (a binding on `[`, an Enter in the text).

Here the stock parser runs as before, wrapped: once it has read the paste's start marker,
this reads every character itself up to the end marker, with nothing inside taken as a
sequence, makes the text's control characters visible (the pictures widgets/safe.py uses:
ESC as ␛; tabs and line ends stay, NUL is dropped as Textual drops it) and hands the stock
parser that text and the end marker, so it emits its one `Paste` event as usual, with the
text in order. The parser's own state stays its own: it never sees an ESC mid-paste.

`install()` patches the class's `parse` once (every driver builds its parser from that
class); the start-up check (this package's `__init__`) installs it only on the Textual it
was written for. On any other, pastes are parsed as stock Textual parses them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from school_tui.domain.text import pasted

_installed = False


def shown(text: str) -> str:
    """Pasted text with its control characters made visible (NUL dropped)."""
    return pasted(text)


def install() -> None:
    """Wrap XTermParser.parse (once)."""
    global _installed
    if _installed:
        return
    from textual._xterm_parser import XTermParser

    XTermParser.parse = _wrap(XTermParser.parse)  # type: ignore[method-assign]
    _installed = True


def _wrap(stock_parse: Callable[..., Generator[Any, str, None]]) -> Callable[..., Any]:
    from textual._parser import Peek1
    from textual._xterm_parser import BRACKETED_PASTE_END, BRACKETED_PASTE_START

    start_length = len(BRACKETED_PASTE_START)
    end_length = len(BRACKETED_PASTE_END)
    end_last = BRACKETED_PASTE_END[-1]

    def parse(self: Any, token_callback: Any) -> Generator[Any, str, None]:
        stock = stock_parse(self, token_callback)
        request = next(stock)
        recent = ""  # the last characters the stock parser read, to see the start marker
        while True:
            try:
                character = yield request
            except Exception as exc:  # ParseTimeout, ParseEOF: the stock parser's to handle
                try:
                    request = stock.throw(exc)
                except StopIteration:
                    return
                continue
            peeked = isinstance(request, Peek1)
            try:
                request = stock.send(character)
            except StopIteration:
                return
            if peeked:
                continue  # read again next: counted then
            recent = (recent + character)[-start_length:]
            if recent != BRACKETED_PASTE_START:
                continue
            recent = ""
            # The stock parser is now in its paste and waits for a character: the paste's
            # text is read here, whole, up to the end marker.
            pasted: list[str] = []
            try:
                while True:
                    character = yield self.read1()
                    pasted.append(character)
                    if (
                        character == end_last
                        and "".join(pasted[-end_length:]) == BRACKETED_PASTE_END
                    ):
                        break
            except Exception as exc:  # the input ended mid-paste: as the stock parser does
                try:
                    request = stock.throw(exc)
                except StopIteration:
                    return
                continue
            text = shown("".join(pasted[:-end_length]))
            try:
                for character in text + BRACKETED_PASTE_END:
                    request = stock.send(character)
            except StopIteration:
                return

    return parse
