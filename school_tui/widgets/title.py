"""The one-line title bar every logged-in screen shows: what the screen is, who is logged in,
and the person's unread message total (live)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from school_tui.screens.chat.widgets import UnreadBadge


class TitleBar(Horizontal):
    DEFAULT_CSS = """
    TitleBar { height: 1; background: $primary; color: $text; padding: 0 1; }
    TitleBar > #title-bar { width: 1fr; height: 1; }
    """

    def __init__(self, text: Text) -> None:
        super().__init__(id="title-row")
        self._text = text

    def compose(self) -> ComposeResult:
        yield Static(self._text, id="title-bar")
        yield UnreadBadge(id="unread")
