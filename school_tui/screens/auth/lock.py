"""The idle lock's screen: covers everything (opaque) and asks for the password again.

The password is checked for real in a worker (auth.verify_password: KDF, then a connection as
the person's own login), never on the UI thread. The screens underneath stay mounted and keep
updating; the lock only hides them. Ctrl+L logs out from here, Ctrl+Q quits.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.widgets import Footer, Input, Label, Static

from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.base import SchoolModal
from school_tui.widgets.safe import safe_join, safe_text

WRONG_PASSWORD = "Wrong password."


class LockScreen(SchoolModal[None]):
    DEFAULT_CSS = """
    LockScreen { align: center middle; background: $background; }
    LockScreen #lock-box {
        width: 60; max-width: 100%; height: auto; border: round $warning; padding: 0 2;
    }
    LockScreen #lock-title { text-style: bold; width: 100%; content-align: center middle; }
    LockScreen #lock-who { width: 100%; content-align: center middle; }
    LockScreen #lock-help { color: $text-muted; margin-bottom: 1; }
    LockScreen #lock-status { height: auto; min-height: 1; color: $text-muted; }
    LockScreen #lock-status.error { color: $error; text-style: bold; }
    """

    # ctrl+q is the app's (priority) binding; listed again so the footer shows it here too
    BINDINGS = [
        Binding("ctrl+l", "logout", "Log out", id="lock.logout"),
        Binding("ctrl+q", "app.quit", "Quit", id="lock.quit"),
    ]

    def __init__(self, session) -> None:
        super().__init__(id="idle-lock")
        self.session = session
        self._busy = False
        self._palette_was = True

    def compose(self) -> ComposeResult:
        person = self.session.person
        with Center(), Vertical(id="lock-box"):
            yield Static("Locked", id="lock-title")
            yield Static(safe_join(person.full_name, "·", person.email), id="lock-who")
            yield Static(
                "This terminal was idle. Type your password and press Enter to go on, "
                "or Ctrl+L to log out.",
                id="lock-help",
            )
            yield Label("Password")
            yield Input(placeholder="password", password=True, id="lock-password")
            yield Static("", id="lock-status")
        yield Footer()

    def on_mount(self) -> None:
        # The palette would run the role's commands on the screen underneath: not while locked.
        self._palette_was = self.app.use_command_palette
        self.app.use_command_palette = False
        self.query_one("#lock-password", Input).focus()

    def on_unmount(self) -> None:
        self.app.use_command_palette = self._palette_was

    def set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#lock-status", Static)
        status.update(safe_text(text, multiline=True))
        status.set_class(error, "error")

    @on(Input.Submitted, "#lock-password")
    def _submit(self) -> None:
        if self._busy:
            return
        password = self.query_one("#lock-password", Input).value
        if not password:
            self.set_status("Password: required.", error=True)
            return
        self._busy = True
        self.set_status("Checking…")
        self._check(password)

    @db_work(name="unlock", group="unlock", exclusive=True)
    def _check(self, password: str) -> None:
        from school_tui.auth.login import ServerUnavailable, verify_password

        try:
            ok = verify_password(self.session, password)
        except ServerUnavailable as exc:
            deliver(self._checked, False, str(exc))
            return
        except Exception as exc:  # stays locked, and says so; never a traceback
            deliver(self._checked, False, f"Could not check the password: {exc}")
            return
        deliver(self._checked, ok)

    def _checked(self, ok: bool, error: str | None = None) -> None:
        """The password check finished: `ok`, or `error` when the server could not say."""
        self._busy = False
        if ok:
            self.dismiss()
            return
        self.set_status(error or WRONG_PASSWORD, error=True)
        field = self.query_one("#lock-password", Input)
        field.value = ""
        field.focus()

    def action_logout(self) -> None:
        self.app.action_logout()
