"""The one-line title bar every logged-in screen shows: what the screen is, who is logged in,
and the person's unread message total (live)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

if TYPE_CHECKING:
    from textual import getters

    from school_tui.app import SchoolApp


class UnreadBadge(Static):
    """The person's unread total, live from app.live.unread (on every screen's title bar)."""

    DEFAULT_CSS = """
    UnreadBadge { width: auto; height: 1; padding: 0 0 0 1; }
    UnreadBadge.-some { text-style: bold; }
    """
    if TYPE_CHECKING:
        app = getters.app(SchoolApp)

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.count: int | None = None

    def on_mount(self) -> None:
        live = self.app.live
        if live is None:
            return
        live.unread.subscribe(self, self.show_count)
        self.show_count(live.unread_total)

    def show_count(self, total: int | None) -> None:
        text = "✉ … unread" if total is None else f"✉ {total} unread"
        if total == self.count and str(self.content) == text:
            return  # nothing to redraw
        self.count = total
        self.set_class(bool(total), "-some")
        # A new width re-lays out the title bar; the same width only redraws the badge.
        self.update(text, layout=len(text) != len(str(self.content)))


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
