"""The one yes/no question of the app: `ConfirmModal(title, detail)` dismisses with True for
yes and False for no.

`y` answers yes and `n` or Escape no, from wherever focus is; the two buttons say so, so the
way out is always on screen. Enter presses the focused button: No unless the caller passes
`default_yes=True` (a question the person has just asked for, such as the import they
started with Ctrl+O)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from school_tui.widgets.modal import MODAL_CSS
from school_tui.widgets.safe import safe_text


class ConfirmModal(ModalScreen[bool]):
    DEFAULT_CSS = MODAL_CSS.format(name="ConfirmModal")
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(
        self,
        title: str,
        detail: str,
        *,
        yes: str = "Yes",
        no: str = "No",
        default_yes: bool = False,
    ) -> None:
        super().__init__()
        self._title = title
        self._detail = detail
        self._yes = yes
        self._no = no
        self._default_yes = default_yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self._title), classes="modal-title")
            yield Static(safe_text(self._detail, multiline=True), classes="modal-note")
            with Horizontal():
                yield Button(
                    safe_text(f"{self._yes} (y)"), variant="warning", compact=True, id="confirm-yes"
                )
                yield Button(safe_text(f"{self._no} (n, Esc)"), compact=True, id="confirm-no")
        yield Footer()

    def on_mount(self) -> None:
        button = "#confirm-yes" if self._default_yes else "#confirm-no"
        self.query_one(button, Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
