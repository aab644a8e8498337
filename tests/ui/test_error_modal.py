"""A failed query becomes a readable modal, never a traceback, and the app keeps going."""

from __future__ import annotations

import asyncio

from psycopg import sql

from school_tui.app import SchoolApp
from school_tui.auth.login import login
from school_tui.screens.homes.student import StudentHome
from school_tui.widgets.error import ErrorModal
from tests.harness import DEMO_PASSWORD, wait_until


async def test_refused_query_shows_modal(school):
    school.add_person("Student", email="ray@test.school")
    # Take away a grant the student's home needs: its load now fails in the database.
    school.admin.execute(
        sql.SQL("REVOKE SELECT ON school.announcements FROM {}, {}").format(
            sql.Identifier(school.roles.member), sql.Identifier(school.roles.group("student"))
        )
    )
    session = await asyncio.to_thread(login, school.target, "ray@test.school", DEMO_PASSWORD)
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.start_session(session)
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal), "the error modal")
        modal = app.screen
        title = str(modal.query_one("#error-title").render())
        detail = str(modal.query_one("#error-detail").render())
        assert title == "Not allowed"
        assert "permission denied for table announcements" in detail
        assert "Traceback" not in detail
        await pilot.press("escape")
        await wait_until(
            pilot, lambda: isinstance(app.screen, StudentHome), "the home screen again"
        )
