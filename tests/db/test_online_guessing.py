"""Online guessing: the server slows every wrong password (auth_delay), and the Admin
sees repeated failures per person (the server's log), where the server allows it.

Each wrong password costs auth_delay (1 s) on the server: this module keeps them few and
makes them at once where it can.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from school_tui.app import SchoolApp
from school_tui.auth import login as auth
from school_tui.db import security
from school_tui.screens.homes.base import RoleHome
from school_tui.server.embedded import AUTH_DELAY_MS, MANAGED_CONF, EmbeddedServer
from tests.harness import log_in, table_rows
from tests.server.test_embedded import _new_data_dir, _shut_down

SIZE = (80, 24)


def _wait_for(condition, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def _setting(server: EmbeddedServer, name: str) -> str:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        return conn.execute("SELECT setting FROM pg_settings WHERE name = %s", (name,)).fetchone()[
            0
        ]


def test_the_embedded_server_delays_failures_and_logs_them_as_json(embedded_server):
    with embedded_server.admin() as conn:
        assert conn.execute("SHOW shared_preload_libraries").fetchone()[0] == "auth_delay"
        delay = conn.execute(
            "SELECT setting FROM pg_settings WHERE name = 'auth_delay.milliseconds'"
        ).fetchone()[0]
        assert delay == str(AUTH_DELAY_MS)
        assert conn.execute("SHOW logging_collector").fetchone()[0] == "on"
        current = conn.execute("SELECT pg_current_logfile('jsonlog')").fetchone()[0]
    assert current is not None and current.endswith(".json")


def test_a_cluster_made_by_an_older_version_gets_the_settings(fresh_guessing_dir):
    server = EmbeddedServer(fresh_guessing_dir)
    server.ensure_running()
    server.stop()
    # What an older school-tui left: its settings appended by initdb, no managed include.
    conf = server.pgdata / "postgresql.conf"
    lines = [line for line in conf.read_text().splitlines() if MANAGED_CONF not in line]
    conf.write_text(
        "\n".join(lines)
        + "\nshared_preload_libraries = 'auth_delay'\nauth_delay.milliseconds = 500\n"
        + "log_min_messages = warning\n"
    )
    (server.pgdata / MANAGED_CONF).unlink()
    server._start()  # as the older version would have started it
    assert _setting(server, "auth_delay.milliseconds") == "500"
    assert _setting(server, "logging_collector") == "off"

    # A newer app finds it running: what a reload can change applies now...
    server.ensure_running()
    _wait_for(
        lambda: _setting(server, "auth_delay.milliseconds") == str(AUTH_DELAY_MS),
        "the reloaded auth_delay",
    )
    assert _setting(server, "logging_collector") == "off"
    # ...the rest at the next start, and starting again changes nothing more.
    server.stop()
    server.ensure_running()
    assert _setting(server, "logging_collector") == "on"
    conf_text = conf.read_text()
    server.ensure_running()
    assert conf.read_text() == conf_text
    assert conf_text.count(MANAGED_CONF) == 1


@pytest.fixture
def fresh_guessing_dir():
    directory = _new_data_dir()
    yield directory
    _shut_down(EmbeddedServer(directory))


@pytest.mark.needs_passwords
async def test_the_admin_sees_wrong_passwords_per_person(password_school):
    school = password_school
    if school.server.embedded is None:
        pytest.skip("the server under test checks passwords but its log is not ours to read")
    security.allow_reading_the_log(school.admin, school.roles)
    admin_email = "ada.admin@test.school"
    school.add_person("Admin", email=admin_email, first_name="Ada", last_name="Admin")
    victim_email = "tom.target@test.school"
    school.add_person("Teacher", email=victim_email, first_name="Tom", last_name="Target")
    school.add_person("Student", email="sam.spared@test.school")

    def wrong(email: str) -> float:
        started = time.perf_counter()
        with pytest.raises(auth.LoginFailed):
            auth.login(school.target, email, "a-guess")
        return time.perf_counter() - started

    # Three guesses at the teacher and one at an unknown email, all at once.
    emails = [victim_email] * 3 + ["nobody.here@test.school"]
    with ThreadPoolExecutor(len(emails)) as pool:
        took = list(pool.map(wrong, emails))
    assert min(took) >= AUTH_DELAY_MS / 1000, took  # the server waited before refusing

    admin_id = school.user_id(admin_email)
    with school.connect_as(admin_id, autocommit=True) as conn:
        assert security.failed_login_log_available(conn)

        def counted():  # the server's log collector writes a moment after the refusal
            rows = security.failed_logins(conn)
            return rows if any(r[3] == victim_email and r[5] >= 3 for r in rows) else None

        rows = _wait_for(counted, "three failures in the log")
    by_email = {row[3]: row for row in rows}
    assert set(by_email) == {victim_email}  # the spared student and the decoy are not there
    victim_id, presence, name, email, role, failures, last_failure = by_email[victim_email]
    assert (victim_id, presence) == (school.user_id(victim_email), "offline")
    assert (name, role, failures) == ("Tom Target", "Teacher", 3)
    assert abs(time.time() - last_failure.timestamp()) < 120

    # And the Admin's home shows it, in its own tab.
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, admin_email)
        await pilot.press("5")
        shown = table_rows(app, "table-failed-logins")
        # (the email cut to its column, with the person's presence last)
        assert [row[:4] + row[5:] for row in shown] == [
            ["Tom Target", "tom.target@t…", "Teacher", "3", "○ offline"]
        ]


async def test_without_the_log_the_admin_is_told_it_is_not_available(school):
    admin_email = "ada.admin@test.school"
    admin_id = school.add_person("Admin", email=admin_email)
    teacher_id = school.add_person("Teacher")
    with school.connect_as(admin_id, autocommit=True) as conn:
        assert not security.failed_login_log_available(conn)
        rows = security.failed_logins(conn)
        assert rows == [] and rows.empty_note == security.NOT_AVAILABLE
    with school.connect_as(teacher_id, autocommit=True) as conn:
        for query in (
            "SELECT school.failed_login_log_available()",
            "SELECT * FROM school.failed_logins(24)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(query)

    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, admin_email)
        await pilot.press("5")
        screen = app.screen
        assert isinstance(screen, RoleHome)
        assert table_rows(app, "table-failed-logins") == []
        note = str(screen.query_one("#empty-failed-logins").render())
        assert note == security.NOT_AVAILABLE
