"""The Textual application: screens, the session's lifetime, and the one error handler.

Nothing here touches the database on the UI thread: the server is prepared by a worker
while the login form is already usable, and every query runs in a db_work thread worker.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from typing import TYPE_CHECKING

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from school_tui import textual_internals
from school_tui.runtime.commands import RoleCommands
from school_tui.runtime.heap import freeze_heap
from school_tui.runtime.idle import DEFAULT_IDLE_LOCK_SECONDS, IdleLock
from school_tui.runtime.messages import ConnectionRestored, ServerFailed, ServerReady
from school_tui.runtime.workers import db_work
from school_tui.textual_internals.typeahead import TypeAhead

if TYPE_CHECKING:
    from school_tui.live.chat import LiveChat
    from school_tui.runtime.session import Session
    from school_tui.screens.chat.alerts import ChatAlerts, IdleAway


class SchoolApp(App):
    TITLE = "school-tui"
    COMMANDS = App.COMMANDS | {RoleCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
        # Shown once a message has arrived while its conversation was not on screen.
        Binding("ctrl+j", "goto_last_message", "Last message", id="chat.last"),
    ]

    def __init__(
        self,
        target,
        *,
        demo_if_empty: bool = False,
        prepare_server: bool = True,
        idle_lock_seconds: float = DEFAULT_IDLE_LOCK_SECONDS,
        away_after: float = 300.0,
        money_format=None,  # school_tui.domain.money.MoneyFormat from config.toml; None: the default
    ):
        # Textual's internals are used only if this Textual is the one they were written for.
        self.textual_fence = textual_internals.start()
        super().__init__()
        self.money_format = money_format
        # config.idle_lock_minutes * 60 from the CLI; tests pass seconds
        self.idle_lock = IdleLock(self, self.lock_when_idle, idle_lock_seconds)
        # Keys go on one at a time, each once the last one's effects are in (textual_internals/typeahead.py)
        self.typeahead = TypeAhead(self, enabled=self.textual_fence.ok)
        self.target = target
        self.session: Session | None = None
        self.live: LiveChat | None = None  # while someone is logged in
        self.alerts: ChatAlerts | None = None  # while someone is logged in
        self.idle: IdleAway | None = None  # no input for `away_after` seconds: away
        self.away_after = away_after
        self.demo_if_empty = demo_if_empty
        self._prepare = prepare_server
        self._server_ready = threading.Event()
        self._server_error: str | None = None
        self.connected = True
        self.connection_signal: Signal[bool] = Signal(self, "connection")

    # -- start-up ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        from school_tui.screens.auth.login import LoginScreen

        self.push_screen(LoginScreen())
        textual_internals.tell(self, self.textual_fence)  # when off: logged, and said once
        self.idle_lock.start()
        if self._prepare:
            # Once the form is on the screen: the worker's imports (psycopg) and server checks
            # would otherwise hold the interpreter while the form is drawn the first time.
            self.call_after_refresh(self.prepare_server)
        else:
            self._server_ready.set()

    @property
    def server_ready(self) -> bool:
        return self._server_ready.is_set()

    def wait_for_server(self, timeout: float = 120) -> None:
        """Block a worker thread until the database can take logins."""
        from school_tui.auth.login import ServerUnavailable

        if not self._server_ready.wait(timeout):
            raise ServerUnavailable("The database is still starting; try again in a moment.")
        if self._server_error:
            raise ServerUnavailable(self._server_error)

    @db_work(name="prepare database", group="server")
    def prepare_server(self) -> None:
        from school_tui.server.provision import prepare

        try:
            prepare(self.target, demo_if_empty=self.demo_if_empty, progress=self._progress)
        except Exception as exc:  # shown on the login form, never as a traceback
            self._server_error = f"The database could not be prepared: {exc}"
            self.post_message(ServerFailed(self._server_error))
        else:
            self.post_message(ServerReady())
        finally:
            self._server_ready.set()
        _preload_login()

    def _progress(self, text: str) -> None:
        self.call_from_thread(self._show_login_status, text)

    def _show_login_status(self, text: str, error: bool = False) -> None:
        from school_tui.screens.auth.login import LoginScreen

        for screen in self.screen_stack:
            if isinstance(screen, LoginScreen):
                screen.set_status(text, error=error)

    def on_server_ready(self, message: ServerReady) -> None:
        from school_tui.screens.auth.login import LoginScreen

        for screen in self.screen_stack:
            if isinstance(screen, LoginScreen):
                screen.server_became_ready()

    def on_server_failed(self, message: ServerFailed) -> None:
        self._show_login_status(message.error, error=True)

    # -- the session -------------------------------------------------------------------------

    def preload_session(self, role: str | None = None) -> None:
        """Import what start_session and every home need, or with `role` that role's home
        (screens/homes/for_role.py `preload`). Any thread: the login calls it on the side."""
        from school_tui.screens.homes.for_role import preload

        if role is None:
            # A login has begun: from now on several threads (this one's imports, the login's
            # connections, then the pool's and the listener's) want the interpreter in turn;
            # each gets it within 1 ms rather than Python's default 5 ms switch interval.
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        preload(role)
        if role is None and threading.current_thread() is not threading.main_thread():
            # The UI thread waits for the login meanwhile: it parses the homes' CSS now.
            # Only a head start: whatever stops it (the app closed meanwhile), the home's
            # mount parses what it needs as usual.
            with contextlib.suppress(Exception):
                self.call_from_thread(self._warm_home_styles)

    def _warm_home_styles(self) -> None:
        from school_tui.screens.homes.base import FIRST_FRAME_WIDGETS
        from school_tui.textual_internals.styles import warm

        warm(self, FIRST_FRAME_WIDGETS)

    def start_session(self, session) -> None:
        from school_tui.live.chat import LiveChat
        from school_tui.live.listener import Listener
        from school_tui.screens.chat.alerts import ChatAlerts, IdleAway
        from school_tui.screens.homes.for_role import home_screen_class

        self.session = session
        if session.person.must_change_password:
            # A temporary password: choosing their own comes before anything else (the
            # database agrees: until then me() is NULL). The screen starts a new session.
            from school_tui.screens.auth.change_password import ChangePasswordScreen

            self.switch_screen(ChangePasswordScreen(session))
            return
        self.live = LiveChat(self, session)
        session.listener = Listener(
            session.conninfo,
            on_connected=self._listener_connected,
            on_lost=lambda: self.call_from_thread(self._connection_lost),
            on_events=self.live.events,
            on_checkpoint=self.live.checkpoint,
        )
        # The listener thread wakes for a notification while the UI thread may be drawing:
        # it gets the interpreter within 1 ms, not Python's default 5 ms switch interval.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        session.listener.start()
        home = home_screen_class(session.person.role)
        # The home's rows are read (once LISTEN is in place) while the home is composed and
        # mounted, rather than after: the first frame of the home has them (RoleHome.on_mount).
        session.prefetch(home.fetch)
        self.alerts = ChatAlerts(self, self.live, session)
        self.idle = IdleAway(self, session.listener, self.away_after)
        screen = home(session)
        self.switch_screen(screen)
        # The listener's first connection counts the unread total too; this count, once the
        # home's rows are drawn, is the one the badge would otherwise wait for if that
        # connection is slow. The heap is frozen then too: its full collection (up to a tenth
        # of a second on a loaded machine) is not in the way of the rows' first frame.
        screen.when_rows_drawn(functools.partial(self._count_unread, self.live))
        screen.when_rows_drawn(freeze_heap)

    def _count_unread(self, live: LiveChat) -> None:
        if self.live is live:  # not logged out meanwhile
            live.refresh_unread()

    def action_logout(self) -> None:

        from school_tui.screens.auth.login import LoginScreen

        session, self.session = self.session, None
        self.live = None
        self.alerts = None
        if self.idle is not None:
            self.idle.stop()
            self.idle = None
        if session is not None:
            self._close_session(session)
        while len(self.screen_stack) > 2:  # the home, under chat or a modal
            self.pop_screen()
        self.switch_screen(LoginScreen())

    # -- chat, app-wide ----------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if self.typeahead.take(event):
            # A key from the terminal: queued, and routed (back through here) once the keys
            # before it have done what they do, so it reaches what they focused.
            self._input_seen()
            return
        if isinstance(event, events.MouseEvent) or (
            not self.typeahead.enabled and isinstance(event, (events.Key, events.Paste))
        ):
            self._input_seen()  # (type-ahead off: keys are routed as they come)
        await super().on_event(event)

    def _input_seen(self) -> None:
        self.idle_lock.touch()  # input: the idle lock's time starts again (see runtime/idle.py)
        if self.idle is not None:
            self.idle.input_seen()  # and the person is not away (screens/chat/alerts.py, IdleAway)

    def lock_when_idle(self) -> None:
        """The idle time is up (runtime/idle.py): the lock screen goes over whatever is on
        screen, unless no one is logged in or it is there already."""
        from school_tui.screens.auth.lock import LockScreen

        if self.session is not None and not any(
            isinstance(screen, LockScreen) for screen in self.screen_stack
        ):
            self.push_screen(LockScreen(self.session))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "goto_last_message":
            return self.alerts is not None and self.alerts.last_partner is not None
        return super().check_action(action, parameters)

    def action_goto_last_message(self) -> None:
        from school_tui.screens.chat.screen import ChatScreen

        if self.alerts is None or self.alerts.last_partner is None or self.session is None:
            return
        partner = self.alerts.last_partner
        chat_screen = next((s for s in self.screen_stack if isinstance(s, ChatScreen)), None)
        if chat_screen is None:
            self.push_screen(ChatScreen(self.session, partner))
            return
        while self.screen is not chat_screen:  # a modal over the chat: close it
            self.pop_screen()
        chat_screen.open_conversation(partner)

    @db_work(name="close session", group="session")
    def _close_session(self, session) -> None:
        session.close()

    # -- errors and the connection banner: the one place they are handled --------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR or event.worker.error is None:
            return
        self.handle_error(event.worker.error)

    def handle_error(self, exc: BaseException) -> None:
        from school_tui.db.errors import connection_lost

        # Keys typed ahead were meant for what the failed work would have shown: not for
        # the error modal (Enter would close it unread) nor the form under it.
        self.typeahead.drop()
        if self.session is not None and connection_lost(exc):
            self._connection_lost()
            return
        from school_tui.widgets.error import ErrorModal, describe

        title, detail = describe(exc)
        self.push_screen(ErrorModal(title, detail))

    def _connection_lost(self) -> None:
        if not self.connected:
            return
        self.connected = False
        self.connection_signal.publish(False)
        self._reconnect(self.session)

    @db_work(name="reconnect", group="reconnect", exclusive=True)
    def _reconnect(self, session: Session) -> None:
        import time

        # The connection is back once a new one works, and then the session gets a new pool
        # (Session.renew: none of the old pool's back-off, no connection from before the
        # outage). Retried after RETRY_FIRST_S, doubling up to RETRY_MAX_S: a restarted
        # server is back within about a second, and a refused attempt costs next to nothing.
        delay = RETRY_FIRST_S
        while session is self.session:
            if _login_refused(session):
                # Deactivated, or a new password since: this session is over.
                self.call_from_thread(self._session_ended, session)
                return
            if session.renew():
                self.call_from_thread(self._connection_back)
                return
            time.sleep(delay)  # backoff between reconnect attempts, not a test wait
            delay = min(delay * 2, RETRY_MAX_S)

    def _session_ended(self, session) -> None:
        if session is not self.session:
            return
        self.connected = True
        self.connection_signal.publish(True)
        self.action_logout()
        self.call_after_refresh(
            self._show_login_status, "Your session was ended by the school. Log in again.", True
        )

    def _listener_connected(self, reconnected: bool) -> None:
        """Listener thread: LISTEN is in place; backfill, and lift the banner if it was up."""
        live = self.live
        if live is not None:  # None: logged out meanwhile
            live.connected(reconnected)
        if reconnected:
            self.call_from_thread(self._connection_back)

    def _connection_back(self) -> None:
        if self.connected:
            return
        self.connected = True
        self.connection_signal.publish(True)
        self.screen.post_message(ConnectionRestored())

    def on_unmount(self) -> None:
        self.typeahead.stop()
        # Clearing self.session first ends the reconnect loop, which runs while it is set.
        session, self.session = self.session, None
        if session is not None:
            session.close()


def _preload_login() -> None:
    """Import the login and its key derivation (argon2, a C extension) while the person types,
    so that pressing Enter does not wait for them."""
    try:
        import argon2.low_level  # noqa: F401

        import school_tui.auth.login  # noqa: F401
    except ImportError:
        pass  # the login imports them itself, and says what is missing


def _login_refused(session) -> bool:
    """Whether the server now refuses the session's own login (not merely unreachable)."""
    from school_tui.auth.login import login_refused

    return login_refused(session.conninfo)


SWITCH_INTERVAL_S = 0.001  # see start_session
RETRY_FIRST_S = 0.05  # the reconnect's first wait after a failed attempt (see _reconnect)
RETRY_MAX_S = 1.0
