"""The login screen: email and password, nothing else. Enter moves on, then logs in."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from school_tui.runtime.workers import db_work, deliver
from school_tui.textual_internals import typeahead
from school_tui.widgets.base import SchoolScreen
from school_tui.widgets.safe import safe_text

if TYPE_CHECKING:
    from school_tui.runtime.session import Session


class LoginScreen(SchoolScreen):
    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen #login-box {
        width: 60; max-width: 100%; height: auto; border: round $primary; padding: 0 2;
    }
    LoginScreen #login-title { text-style: bold; width: 100%; content-align: center middle; }
    LoginScreen #login-subtitle { color: $text-muted; width: 100%; content-align: center middle; margin-bottom: 1; }
    LoginScreen #login-status { height: auto; min-height: 1; max-height: 3; color: $text-muted; }
    LoginScreen #login-status.error { color: $error; text-style: bold; }
    LoginScreen #login-button { width: 100%; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._busy = False

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="login-box"):
            yield Static("school-tui", id="login-title")
            yield Static("Log in with your school email", id="login-subtitle")
            yield Label("Email")
            yield Input(placeholder="name@school.example", id="email")
            yield Label("Password")
            yield Input(placeholder="password", password=True, id="password")
            yield Static("", id="login-status")
            yield Button("Log in", variant="primary", id="login-button")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#email", Input).focus()
        if not self.app.server_ready:
            self.set_status("Starting the database…")

    def set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#login-status", Static)
        status.update(safe_text(text, multiline=True))
        status.set_class(error, "error")

    def server_became_ready(self) -> None:
        if not self._busy:
            self.set_status("")

    @on(Input.Submitted, "#email")
    def _email_done(self) -> None:
        # Applied a few message hops later; keys typed after the Enter in the same burst wait
        # for it at the App (school_tui/textual_internals/typeahead.py), so they reach the password.
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#login-button")
    def _submit(self) -> None:
        if self._busy:
            return
        email = self.query_one("#email", Input).value
        password = self.query_one("#password", Input).value
        if not email.strip():
            self.set_status("Email: required.", error=True)
            self.query_one("#email", Input).focus()
            return
        if not password:
            self.set_status("Password: required.", error=True)
            self.query_one("#password", Input).focus()
            return
        self._busy = True
        self.set_status("Logging in…")
        # Keys typed from now on are for the home (a command key, say): they wait for it.
        typeahead.hold(self, "login")
        self._login(email, password)

    @db_work(name="login", group="login", exclusive=True)
    def _login(self, email: str, password: str) -> None:
        from school_tui.auth.login import LoginFailed, ServerUnavailable, login

        # What the home needs is imported on the side, while the login waits on the server
        # and argon2; the role's own home while the session's listener and pool connect.
        threading.Thread(target=self.app.preload_session, name="preload", daemon=True).start()
        self.app.wait_for_server()
        try:
            session = login(self.app.target, email, password)
        except (LoginFailed, ServerUnavailable) as exc:
            deliver(self._login_refused, str(exc))
            return
        # Not waited for here: start_session starts the listener first, then takes the
        # home's class (waiting for this import if it is not over by then).
        threading.Thread(
            target=self.app.preload_session,
            args=(session.person.role,),
            name="preload home",
            daemon=True,
        ).start()
        deliver(self._login_succeeded, session)

    def _login_refused(self, message: str) -> None:
        self._busy = False
        typeahead.release(self, "login", drop=True)  # not for a refused login's form
        self.set_status(message, error=True)
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()

    def _login_succeeded(self, session: Session) -> None:
        self._busy = False
        self.query_one("#password", Input).value = ""
        self.app.start_session(session)
        typeahead.release(self, "login")  # they go on once the home is mounted
