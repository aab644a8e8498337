"""The idle lock: a session left without input is covered until the password is
given again; the screens underneath stay mounted and keep their data coming.

The apps here lock after IDLE seconds instead of config's minutes. The checks of a password use
the password fixtures: a server that trusts local connections would accept any password.
"""

from __future__ import annotations

import time

import pytest
from textual.command import CommandPalette
from textual.widgets import TabbedContent

from school_tui.app import SchoolApp
from school_tui.runtime.messages import ConnectionRestored
from school_tui.screens.auth.lock import WRONG_PASSWORD, LockScreen
from school_tui.screens.auth.login import LoginScreen
from school_tui.screens.homes.base import RoleHome
from school_tui.server.config import Config
from tests.harness import DEMO_PASSWORD, home_loaded, submit_login, wait_until
from tests.pages import LockPage

SIZE = (80, 24)
IDLE = 1.0  # seconds


def locked(app) -> bool:
    return isinstance(app.screen, LockScreen)


def lock_shown(app) -> bool:
    """The lock as the person sees it: on top and composed. (Pushed, it is on top at once;
    Textual composes it, and first paints it, a few message hops later.)"""
    return locked(app) and app.screen.is_mounted


def home_of(app) -> RoleHome:
    """The role's home, wherever it is in the stack (under the lock, say)."""
    return next(screen for screen in app.screen_stack if isinstance(screen, RoleHome))


def lock_status(app) -> str:
    return LockPage(app).status()


async def type_password(pilot, password: str) -> None:
    """Fill the lock's field at once (one key per character is slow under Pilot), press Enter."""
    field = LockPage(pilot.app).password_field
    field.value = password
    field.cursor_position = len(password)
    await pilot.press("enter")


async def log_in_and_note_the_time(pilot, email: str) -> float:
    """Log in; return a time before the last key (Enter) was pressed. The lock may already be
    up when the home has loaded, so this waits on the home wherever it is."""
    before = time.monotonic()
    await submit_login(pilot, email, DEMO_PASSWORD)
    app = pilot.app

    def loaded() -> bool:
        homes = [s for s in app.screen_stack if isinstance(s, RoleHome)]
        return bool(homes) and not any(t.loading for t in homes[0].query("DataTable"))

    await wait_until(pilot, loaded, f"the home of {email}")
    return before


async def test_the_lock_covers_the_screen_after_the_idle_time(demo_school):
    app = SchoolApp(demo_school.target, prepare_server=False, idle_lock_seconds=IDLE)
    async with app.run_test(size=SIZE) as pilot:
        before_last_key = await log_in_and_note_the_time(pilot, "teacher@demo.school")
        home = home_of(app)
        await wait_until(pilot, lambda: lock_shown(app), "the idle lock")
        assert time.monotonic() - before_last_key >= IDLE
        lock = app.screen
        # over the home, which stays mounted; opaque, so nothing of it shows through
        assert app.screen_stack[-2] is home and home.is_mounted
        assert lock.styles.background.a == 1
        page = LockPage(app)
        assert page.who() == "Tomas Garcia · teacher@demo.school"
        await wait_until(pilot, page.password_focused, "the cursor in the password")
        # the palette would run the home's commands underneath: not while locked
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert not CommandPalette.is_open(app)
        assert locked(app)


async def test_keys_keep_the_lock_away_and_it_comes_once_they_stop(demo_school):
    # Not locked before the home is up, however slow the machine: the short idle time
    # starts once it is.
    app = SchoolApp(demo_school.target, prepare_server=False, idle_lock_seconds=600)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_note_the_time(pilot, "student@demo.school")
        app.idle_lock.start(IDLE)
        assert not locked(app)
        started = time.monotonic()
        while time.monotonic() - started < 2.5 * IDLE:
            before_last_key = time.monotonic()
            await pilot.press("down")
            assert not locked(app)
            await pilot.pause(IDLE / 5)
        assert not locked(app)
        await wait_until(pilot, lambda: lock_shown(app), "the idle lock after the last key")
        assert time.monotonic() - before_last_key >= IDLE


@pytest.mark.needs_passwords
async def test_a_wrong_password_stays_locked_and_the_right_one_unlocks_the_same_screen(
    password_demo_school,
):
    app = SchoolApp(password_demo_school.target, prepare_server=False, idle_lock_seconds=IDLE)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_note_the_time(pilot, "registrar@demo.school")
        home = home_of(app)
        await wait_until(pilot, lambda: lock_shown(app), "the idle lock")
        # the lock may have come before this key reached the home: choose the tab directly
        home.action_show_pane(1)
        tab = home.query_one(TabbedContent).active
        assert tab == f"pane-{home.PANES[1].id}"

        await type_password(pilot, "not-my-password")
        await wait_until(pilot, lambda: lock_status(app) == WRONG_PASSWORD, "the refusal")
        assert locked(app)
        assert LockPage(app).password_field.value == ""
        assert LockPage(app).refused()

        # Once unlocked, a loaded machine could let IDLE pass before the check below looks:
        # the next lock is pushed further off, so what is checked is this unlock.
        app.idle_lock.seconds = 600
        await type_password(pilot, DEMO_PASSWORD)
        await wait_until(pilot, lambda: not locked(app), "the unlock")
        assert app.screen is home
        assert home.query_one(TabbedContent).active == tab
        assert app.session is not None and app.session.person.email == "registrar@demo.school"


async def test_log_out_from_the_lock(demo_school):
    app = SchoolApp(demo_school.target, prepare_server=False, idle_lock_seconds=IDLE)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_note_the_time(pilot, "guidance@demo.school")
        session = app.session
        await wait_until(pilot, lambda: lock_shown(app), "the idle lock")
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, LoginScreen), "the login form")
        assert app.session is None
        assert not any(isinstance(s, (RoleHome, LockScreen)) for s in app.screen_stack)
        await wait_until(pilot, lambda: session.pool.closed, "the pool to close")
        assert app.use_command_palette  # given back when the lock went
        # Nobody is logged in: the lock does not come back over the login form.
        await pilot.pause(IDLE * 1.5)
        assert isinstance(app.screen, LoginScreen)


async def test_data_keeps_arriving_under_the_lock(demo_school):
    app = SchoolApp(demo_school.target, prepare_server=False, idle_lock_seconds=IDLE)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_note_the_time(pilot, "admin@demo.school")
        home = home_of(app)
        await wait_until(pilot, lambda: lock_shown(app), "the idle lock")
        demo_school.admin.execute(
            "INSERT INTO school.announcements (title, content, posted_by) "
            "SELECT 'Posted while locked', 'Shown underneath', id FROM school.users "
            "WHERE email = 'admin@demo.school'"
        )
        # What the app does after a reconnect: the home reloads, and its tables update.
        home.post_message(ConnectionRestored())

        def titles() -> list[str]:
            table = home.query_one("#table-announcements")
            return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]

        await wait_until(pilot, lambda: "Posted while locked" in titles(), "the new row")
        assert locked(app)
        assert home_loaded(app) is False  # the lock is what shows


def test_the_cli_gives_the_app_the_configured_idle_time(monkeypatch):
    from school_tui import cli

    made = {}

    class FakeApp:
        return_code = 0

        def __init__(self, target, **kwargs):
            made.update(kwargs)

        def run(self):
            pass

    monkeypatch.setattr(
        "school_tui.server.config.load",
        lambda **_: Config(dsn="host=/nonexistent", idle_lock_minutes=7, source="test"),
    )
    monkeypatch.setattr("school_tui.app.SchoolApp", FakeApp)
    assert cli.main([]) == 0
    assert made["idle_lock_seconds"] == 7 * 60
