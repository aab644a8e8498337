"""A lost connection shows a banner and comes back by itself, reloading the screen."""

from __future__ import annotations

import asyncio

from school_tui.app import SchoolApp
from school_tui.auth.login import login
from school_tui.widgets.banner import ConnectionBanner
from tests.harness import DEMO_PASSWORD, wait_until


def _kill_backends(school, login_role: str) -> int:
    return school.admin.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = %s",
        (login_role,),
    ).fetchone()[0]


async def test_banner_while_the_database_is_unreachable(school):
    from psycopg import sql

    student = school.add_person("Student", email="kim@test.school")
    login_role = school.login_role(student)
    session = await asyncio.to_thread(login, school.target, "kim@test.school", DEMO_PASSWORD)
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.start_session(session)
        await wait_until(pilot, lambda: app.screen.query(ConnectionBanner), "the home screen")
        banner = app.screen.query_one(ConnectionBanner)
        assert not banner.has_class("-lost")

        # The person can't get back in for now (as if the server were gone), and every
        # connection they had is cut. (Not by NOLOGIN: a login refused is a session ended,
        # see test_accounts.py, and the app goes back to the login form.)
        database = sql.Identifier(school.dbname)
        with school.server.admin() as conn:  # from another database: not this one's own
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(database))
        assert _kill_backends(school, login_role) >= 1
        await wait_until(pilot, lambda: banner.has_class("-lost"), "the banner")
        assert banner.display
        assert "Connection to the database lost" in str(banner.render())

        with school.server.admin() as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(database))
        await wait_until(pilot, lambda: not banner.has_class("-lost"), "the banner to go")
        assert app.connected
