"""The readable error modal: the one place errors become something a person reads."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from school_tui.widgets.safe import safe_text


class ErrorModal(ModalScreen[None]):
    DEFAULT_CSS = """
    ErrorModal { align: center middle; }
    ErrorModal > Vertical {
        width: 70; max-width: 95%; height: auto; max-height: 90%;
        border: thick $error; background: $surface; padding: 1 2;
    }
    ErrorModal #error-title { text-style: bold; margin-bottom: 1; }
    ErrorModal #error-detail { height: auto; max-height: 12; overflow-y: auto; }
    ErrorModal Button { margin-top: 1; }
    """
    BINDINGS = [Binding("escape,enter", "dismiss_modal", "Close", id="error.close")]

    def __init__(self, title: str, detail: str):
        super().__init__()
        self._title = title
        self._detail = detail

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self._title), id="error-title")
            yield Static(safe_text(self._detail, multiline=True), id="error-detail")
            yield Button("Close", variant="error", id="error-close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_dismiss_modal(self) -> None:
        self.dismiss(None)


def describe(exc: BaseException) -> tuple[str, str]:
    """A title and a detail a person can act on, for any exception a worker raised."""
    from school_tui.db.errors import explain

    kind, words = explain(exc)
    if kind == "not allowed":
        return "Not allowed", words or "The database refused: you may not do this."
    if kind == "refused":
        return "Not saved", words or "The database refused this change."
    if kind == "connection":
        return "Database connection problem", words or "The database could not be reached."
    if kind == "database":
        return "Database error", words or type(exc).__name__
    return "Something went wrong", f"{type(exc).__name__}: {exc}"
