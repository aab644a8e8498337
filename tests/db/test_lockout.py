"""Per-account lockout: three wrong passwords in a row and the account refuses every
password, the right one too, for a cooldown that grows; a success ends the streak; the Admin
sees and ends a lockout. Enforced by the server (VALID UNTIL), fed by the login watcher
following the server's real JSON log, and tried with clients that skip the app.

Each wrong password costs auth_delay (1 s) on the server: they are made at once.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from school_tui.auth import login as auth
from school_tui.db import lockout


def _wait_for(condition, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def watched(password_school):
    """The school, with the login watcher following its server's log."""
    school = password_school
    if school.server.embedded is None:
        pytest.skip("the watcher reads the log of a server that writes JSON logs")
    stop = threading.Event()
    conninfo = make_conninfo(school.server.admin_conninfo, dbname=school.dbname)
    errors: list[BaseException] = []

    def run():
        try:
            lockout.watch(conninfo, school.dbname, stop)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="login-watcher", daemon=True)
    thread.start()
    yield school
    stop.set()
    thread.join(10)
    assert not errors, errors


def _wrong_passwords(school, email: str, count: int) -> None:
    def guess(n: int):
        with pytest.raises(auth.LoginFailed) as refused:
            auth.login(school.target, email, f"wrong guess number {n}")
        return str(refused.value)

    with ThreadPoolExecutor(count) as pool:
        messages = set(pool.map(guess, range(count)))
    assert messages == {auth.LOGIN_FAILED}


def _state(school, user_id: int):
    return school.admin.execute(
        "SELECT failures, lockouts, locked_until FROM school.login_lockouts WHERE user_id = %s",
        (user_id,),
    ).fetchone()


def _locked(school, user_id: int) -> bool:
    return user_id in lockout.locked_logins(school.admin)


def test_three_failures_lock_the_account_for_every_client(watched):
    school = watched
    email = "rio.santos@test.school"
    user_id = school.add_person("Teacher", email=email)
    _wrong_passwords(school, email, 3)
    _wait_for(lambda: _locked(school, user_id), "the lockout")

    # The right password is refused too, in the app's words for any failure...
    with pytest.raises(auth.LoginFailed) as refused:
        auth.login(school.target, email, school.passwords[email])
    assert str(refused.value) == auth.LOGIN_FAILED
    # ...the same words as an unknown email's...
    with pytest.raises(auth.LoginFailed) as unknown:
        auth.login(school.target, "nobody.here@test.school", "any password at all")
    assert str(unknown.value) == str(refused.value)
    # ...and by a client that skips the app (psql with the derived password).
    with pytest.raises(psycopg.OperationalError):
        school.connect_as(user_id).close()

    # The Admin unlocks: the right password works again.
    lockout.unlock_login(school.admin, user_id)
    assert not _locked(school, user_id)
    auth.login(school.target, email, school.passwords[email]).close()


def test_the_cooldown_ends_and_grows_and_a_success_resets(watched):
    school = watched
    email = "ines.moreau@test.school"
    user_id = school.add_person("Registrar", email=email)
    _wrong_passwords(school, email, 3)
    _wait_for(lambda: _locked(school, user_id), "the first lockout")
    failures, lockouts, until = _state(school, user_id)
    first = school.admin.execute("SELECT %s::timestamptz - now()", (until,)).fetchone()[0]
    assert lockouts == 1 and 14 * 60 <= first.total_seconds() <= 15 * 60

    # The cooldown is over (moved into the past rather than waited for): the watcher ends it.
    school.admin.execute(
        "UPDATE school.login_lockouts SET locked_until = now() - interval '1 second' "
        "WHERE user_id = %s",
        (user_id,),
    )
    _wait_for(lambda: not _locked(school, user_id), "the end of the cooldown")
    _wrong_passwords(school, email, 3)
    _wait_for(lambda: _locked(school, user_id), "the second lockout")
    _, lockouts, until = _state(school, user_id)
    second = school.admin.execute("SELECT %s::timestamptz - now()", (until,)).fetchone()[0]
    assert lockouts == 2 and 29 * 60 <= second.total_seconds() <= 30 * 60

    # After it, a success ends the streak and the growth: two failures then lock nothing.
    school.admin.execute(
        "UPDATE school.login_lockouts SET locked_until = now() - interval '1 second' "
        "WHERE user_id = %s",
        (user_id,),
    )
    _wait_for(lambda: not _locked(school, user_id), "the end of the second cooldown")
    _wrong_passwords(school, email, 2)
    _wait_for(lambda: _state(school, user_id)[0] == 2, "two failures counted")
    auth.login(school.target, email, school.passwords[email]).close()
    _wait_for(lambda: _state(school, user_id)[:2] == (0, 0), "the success counted")
    _wrong_passwords(school, email, 2)
    _wait_for(lambda: _state(school, user_id)[0] == 2, "two failures counted again")
    assert not _locked(school, user_id)


def test_only_the_watcher_and_the_admin_touch_lockouts(watched):
    school = watched
    email = "kai.lund@test.school"
    user_id = school.add_person("Teacher", email=email)
    with school.connect_as(user_id, autocommit=True) as conn:
        login = school.login_role(user_id)
        for statement, args in (
            ("SELECT school.login_succeeded(%s)", (login,)),
            ("SELECT school.end_lockouts()", ()),
            ("SELECT school.unlock_login(%s)", (user_id,)),
            ("SELECT * FROM school.login_lockouts", ()),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, args)


async def test_the_admin_sees_a_locked_account_and_unlocks_it(school):
    from textual.widgets import DataTable

    from school_tui.app import SchoolApp
    from school_tui.widgets.confirm import ConfirmModal
    from tests.harness import log_in, wait_until
    from tests.ui.test_accounts import SIZE, open_people

    school.add_person("Admin", email="a@lockout.test", first_name="Ada")
    teacher = school.add_person("Teacher", email="t@lockout.test", first_name="Kim")
    login = school.login_role(teacher)
    for _ in range(3):  # what the watcher calls for three wrong passwords in the log
        school.admin.execute("SELECT school.login_failed(%s, now())", (login,))
    assert _locked(school, teacher)

    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "a@lockout.test")
        screen = await open_people(pilot)
        table = screen.query_one(DataTable)
        assert str(table.get_cell(str(teacher), "account")) == "locked"
        table.focus()
        table.move_cursor(row=table.get_row_index(str(teacher)))
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: (
                app.screen is screen and str(table.get_cell(str(teacher), "account")) == "active"
            ),
            "the account unlocked",
        )
    assert not _locked(school, teacher)
    valid_until = school.admin.execute(
        "SELECT rolvaliduntil::text FROM pg_roles WHERE rolname = %s", (login,)
    ).fetchone()[0]
    assert valid_until == "infinity"


async def test_the_people_screen_follows_locks_live(school):
    """People open: the watcher's lock, a cooldown's end and another Admin's unlock each
    redraw the Account cell without a key, a reload or a cursor move; forged notices on the
    lockout channel change nothing and the listener keeps its connection."""
    from textual.widgets import DataTable

    from school_tui.app import SchoolApp
    from school_tui.live import payloads as notified
    from tests.harness import log_in, wait_until
    from tests.ui.test_accounts import SIZE, open_people

    admin = school.add_person("Admin", email="a@livelock.test", first_name="Ada")
    other_admin = school.add_person("Admin", email="b@livelock.test", first_name="Bo")
    teacher = school.add_person("Teacher", email="t@livelock.test", first_name="Kim")
    forger = school.add_person("Student", email="eve@livelock.test", first_name="Eve")
    login = school.login_role(teacher)

    def lock() -> None:  # what the watcher calls for three wrong passwords in the log
        for _ in range(3):
            school.admin.execute("SELECT school.login_failed(%s, now())", (login,))

    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "a@livelock.test")
        listener = app.session.listener
        await wait_until(pilot, listener.listening.is_set, "the listener")
        screen = await open_people(pilot)
        table = screen.query_one(DataTable)

        def account() -> str:
            return str(table.get_cell(str(teacher), "account"))

        assert account() == "active"
        table.move_cursor(row=table.get_row_index(str(admin)))
        generation, pid = screen._generation, listener.backend_pid

        lock()
        await wait_until(pilot, lambda: account() == "locked", "the lock shown")
        # A cooldown that is over, ended by the watcher's end_lockouts.
        school.admin.execute(
            "UPDATE school.login_lockouts SET locked_until = now() - interval '1 second' "
            "WHERE user_id = %s",
            (teacher,),
        )
        assert school.admin.execute("SELECT school.end_lockouts()").fetchone()[0] == 1
        await wait_until(pilot, lambda: account() == "active", "the cooldown's end shown")

        lock()
        await wait_until(pilot, lambda: account() == "locked", "the second lock shown")
        dropped = notified.dropped.total
        with school.connect_as(forger, autocommit=True) as eve:
            for payload in ("x²", "l:²", "l:007", f"l:{teacher}", f"l:{forger}"):
                eve.execute("SELECT pg_notify('school_lockouts', %s)", (payload,))
        # Another Admin unlocks: once that shows, the forgeries before it were handled.
        with school.connect_as(other_admin, autocommit=True) as bo:
            lockout.unlock_login(bo, teacher)
        await wait_until(pilot, lambda: account() == "active", "the unlock shown")
        await wait_until(
            pilot, lambda: notified.dropped.total >= dropped + 3, "the forgeries dropped"
        )
        assert str(table.get_cell(str(forger), "account")) == "active"
        assert listener.backend_pid == pid, "the listener lost its connection"
        assert screen._generation == generation, "the list was reloaded"
        assert table.cursor_row == table.get_row_index(str(admin)), "the cursor moved"
        assert app.screen is screen


async def test_a_lock_while_the_listener_was_down_shows_after_it_reconnects(school):
    """Nobody listened when the account was locked (the listener held before LISTEN on
    its reconnect): the re-read after LISTEN shows it. Only the Admin LISTENs for locks."""
    import threading

    from textual.widgets import DataTable

    from school_tui.app import SchoolApp
    from school_tui.db import chat
    from tests.harness import log_in, wait_until
    from tests.ui.test_accounts import SIZE, open_people

    admin = school.add_person("Admin", email="a@downlock.test", first_name="Ada")
    teacher = school.add_person("Teacher", email="t@downlock.test", first_name="Kim")
    with school.connect_as(teacher, autocommit=True) as conn:
        assert lockout.LOCKOUT_CHANNEL not in chat.channels(conn)
    with school.connect_as(admin, autocommit=True) as conn:
        assert lockout.LOCKOUT_CHANNEL in chat.channels(conn)
    login = school.login_role(teacher)

    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "a@downlock.test")
        listener = app.session.listener
        await wait_until(pilot, listener.listening.is_set, "the listener")
        screen = await open_people(pilot)
        table = screen.query_one(DataTable)
        assert str(table.get_cell(str(teacher), "account")) == "active"

        held, release = threading.Event(), threading.Event()

        def hold(step: str) -> None:  # on the listener's thread
            if step == "connected":
                held.set()
                release.wait(30)

        listener.on_step = hold
        old = listener.backend_pid
        school.admin.execute("SELECT pg_terminate_backend(%s, 10000)", (old,))
        await wait_until(pilot, held.is_set, "the listener reconnected, not listening yet")
        for _ in range(3):  # locked while nobody listens: its notice goes to nobody
            school.admin.execute("SELECT school.login_failed(%s, now())", (login,))
        listener.on_step = None
        release.set()
        await wait_until(
            pilot,
            lambda: str(table.get_cell(str(teacher), "account")) == "locked",
            "the lock shown after the reconnect",
        )
        assert listener.backend_pid not in (None, old)
