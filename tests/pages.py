"""Page objects: what a test reads off a screen, by what a person sees on it.

A test asks `CashierPage(app).receipt()` rather than `app.screen.query_one("#receipt")`;
the widget ids and the screens' private state are named here once, so a screen can change
its widgets while its tests keep saying what they check. Each page reads `app.screen` when
asked, so one page object follows the app from screen to screen.
"""

from __future__ import annotations

from textual.widgets import Input, OptionList, Static


def notes(app) -> list[str]:
    """The messages of the toasts (notifications) the app is showing."""
    return [n.message for n in app._notifications]


def toasts(app) -> list[tuple[str, str]]:
    """The toasts the app is showing, as (title, message)."""
    return [(n.title, n.message) for n in app._notifications]


def listening(app) -> bool:
    """The session's listener is connected and its first backfill is done: from now on
    what others write reaches this app."""
    session = app.session
    return (
        session is not None
        and session.listener.backend_pid is not None
        and app.live._horizon is not None
    )


def _text(widget) -> str:
    return str(widget.render())


class CashierPage:
    """Accounting's cashier: find a student, take an amount and a method, show a receipt."""

    def __init__(self, app) -> None:
        self.app = app

    def _query(self, selector: str, kind):
        return self.app.screen.query_one(selector, kind)

    @property
    def student_field(self) -> Input:
        return self._query("#student", Input)

    @property
    def amount_field(self) -> Input:
        return self._query("#amount", Input)

    @property
    def reference_field(self) -> Input:
        return self._query("#reference", Input)

    @property
    def methods(self) -> OptionList:
        return self._query("#methods", OptionList)

    def focused(self, widget) -> bool:
        return self.app.focused is widget

    def who(self) -> str:
        """The found student's line: name, number, balance."""
        return _text(self._query("#who", Static))

    def status(self) -> str:
        """The line under the form: what to do next, or why a post was refused."""
        return _text(self._query("#status", Static))

    def refused(self) -> bool:
        """The status line shows a refusal (drawn as one)."""
        return self._query("#status", Static).has_class("refused")

    def receipt(self) -> str:
        return _text(self._query("#receipt", Static))


class ChatPage:
    """The chat: the conversation list, the open conversation's pane, the message box."""

    def __init__(self, app) -> None:
        self.app = app

    @property
    def screen(self):
        return self.app.screen

    @property
    def compose_field(self) -> Input:
        return self.screen.query_one("#compose", Input)

    def list_loaded(self) -> bool:
        """The conversation list has been read at least once."""
        return self.screen._list_loaded

    def sending(self) -> bool:
        """A message is on its way to the database."""
        return self.screen._sending

    def error(self) -> str:
        return _text(self.screen.query_one("#chat-error"))

    def header(self) -> str:
        """The open conversation's header: the other person and their presence."""
        return _text(self.screen.query_one("#chat-header"))

    def pane_text(self) -> str:
        """What the message pane draws, line by line (all of its loaded lines)."""
        from school_tui.screens.chat.widgets import MessageView

        view = self.screen.query_one(MessageView)
        top = view.scroll_offset.y
        lines = []
        for y in range(view.virtual_size.height):
            strip = view._line(y)
            lines.append("".join(segment.text for segment in strip).rstrip())
        assert view.scroll_offset.y == top  # reading drew nothing
        return "\n".join(lines)
