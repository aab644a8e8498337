"""Choosing one's own password: shown right after a login with a temporary password, before
anything else (the database agrees: until then the person is nobody to row-level security).

The new password is checked against the policy (school_tui.auth.policy) in a worker,
then set by school.change_own_password with a salt and verifier made here. The database also
takes the current password and refuses a wrong one: after a login with a temporary password
that is the one just typed (the session holds it, derived); otherwise the screen asks for it
in "Current password". The session's pool
was opened with the old derived password, so after the change the app logs in again with the
new one behind the scenes and opens the person's home with that session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from school_tui.auth.policy import RULES
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.base import SchoolScreen
from school_tui.widgets.safe import safe_join, safe_text

if TYPE_CHECKING:
    from school_tui.runtime.session import Session


class ChangePasswordScreen(SchoolScreen):
    DEFAULT_CSS = """
    ChangePasswordScreen { align: center middle; }
    ChangePasswordScreen #title-bar { dock: top; height: 1; background: $primary; color: $text; padding: 0 1; }
    ChangePasswordScreen #password-box {
        width: 72; max-width: 100%; height: auto; border: round $primary; padding: 0 2;
    }
    ChangePasswordScreen #password-intro { margin-bottom: 1; height: auto; }
    ChangePasswordScreen #password-status { height: auto; min-height: 1; color: $text-muted; }
    ChangePasswordScreen #password-status.error { color: $error; text-style: bold; }
    ChangePasswordScreen #save-password { width: 100%; }
    """

    BINDINGS = [
        Binding("ctrl+t", "toggle_reveal", "Show/hide password", id="password.reveal"),
        Binding("ctrl+l", "app.logout", "Log out", id="logout"),
    ]

    def __init__(self, session, *, temporary: bool = True) -> None:
        super().__init__()
        self.session = session
        self.temporary = temporary
        self._busy = False

    def compose(self) -> ComposeResult:
        person = self.session.person
        yield Static(
            safe_join("Choose your password", "·", person.full_name, "·", person.email),
            id="title-bar",
        )
        with Center(), Vertical(id="password-box"):
            intro = (
                "Your password is temporary: choose your own before you go on. "
                if self.temporary
                else ""
            )
            yield Static(safe_text(intro + RULES, multiline=True), id="password-intro")
            if not self.temporary:
                yield Label("Current password")
                yield Input(password=True, id="current-password")
            yield Label("New password")
            yield Input(password=True, id="new-password")
            yield Label("Repeat the new password")
            yield Input(password=True, id="repeat-password")
            yield Static("", id="password-status")
            yield Button("Save password", variant="primary", id="save-password")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Choose your password"
        first = "#new-password" if self.temporary else "#current-password"
        self.query_one(first, Input).focus()

    def set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#password-status", Static)
        status.update(safe_text(text, multiline=True))
        status.set_class(error, "error")

    def action_toggle_reveal(self) -> None:
        for field in self.query(Input):
            field.password = not field.password

    @on(Input.Submitted, "#current-password")
    def _current_done(self) -> None:
        self.query_one("#new-password", Input).focus()

    @on(Input.Submitted, "#new-password")
    def _new_done(self) -> None:
        self.query_one("#repeat-password", Input).focus()

    @on(Input.Submitted, "#repeat-password")
    @on(Button.Pressed, "#save-password")
    def _submit(self) -> None:
        if self._busy:
            return
        new = self.query_one("#new-password", Input).value
        repeat = self.query_one("#repeat-password", Input).value
        current: str | None = None
        if not self.temporary:
            current = self.query_one("#current-password", Input).value
            if not current:
                self._refused("Current password: required.", "current-password")
                return
        if not new:
            self._refused("New password: required.", "new-password")
            return
        self._busy = True
        self.set_status("Checking the password…")
        self._change(current, new, repeat)

    @db_work(name="change password", group="password", exclusive=True)
    def _change(self, current: str | None, new: str, repeat: str) -> None:
        from school_tui.auth import login as auth
        from school_tui.auth.policy import check_password
        from school_tui.db import people
        from school_tui.db.errors import Refused

        person = self.session.person
        problem = check_password(
            new, first_name=person.first_name, last_name=person.last_name, email=person.email
        )
        if problem:
            deliver(self._refused, problem, "new-password")
            return
        if repeat != new:
            deliver(
                self._refused,
                "Repeat the new password: it does not match the new password.",
                "repeat-password",
            )
            return
        try:
            if auth.is_current_password(self.session, new):
                which = "temporary" if self.temporary else "current"
                deliver(
                    self._refused,
                    f"New password: must differ from your {which} password.",
                    "new-password",
                )
                return
            current_db = (
                auth.session_db_password(self.session)
                if current is None
                else auth.derive_for(self.session, current)
            )
            self.session.run(lambda conn: people.change_own_password(conn, current_db, new))
        except Refused as exc:
            if exc.field == "current password":
                field = "" if self.temporary else "current-password"
                deliver(self._refused, "Current password: it is not right.", field)
                return
            deliver(self._refused, "", "")
            raise
        except BaseException:
            deliver(self._refused, "", "")  # not busy any more; the error is shown
            raise
        old = self.session
        try:
            session = auth.login(old.target, person.email, new)
        except (auth.LoginFailed, auth.ServerUnavailable) as exc:
            old.close()
            deliver(self._changed, None, f"Your password was changed. Log in with it. ({exc})")
            return
        old.close()
        deliver(self._changed, session)

    def _refused(self, message: str, field: str) -> None:
        """The new password breaks a rule; `field` is the input to go back to."""
        self._busy = False
        self.set_status(message, error=bool(message))
        if field:
            widget = self.query_one(f"#{field}", Input)
            widget.value = ""
            if field == "new-password":
                self.query_one("#repeat-password", Input).value = ""
            if field == "current-password":
                self.query_one("#new-password", Input).value = ""
                self.query_one("#repeat-password", Input).value = ""
            widget.focus()

    def _changed(self, session: Session | None, note: str = "") -> None:
        """Changed; `session` is the new session (None: log in again by hand)."""
        self._busy = False
        for field in self.query(Input):
            field.value = ""
        app = self.app
        if session is None:
            app.session = None
            from school_tui.screens.auth.login import LoginScreen

            login = LoginScreen()
            app.switch_screen(login)
            login.call_after_refresh(login.set_status, note)
            return
        app.start_session(session)
