"""The command palette holds the role's commands, and they work by keyboard alone."""

from __future__ import annotations

import asyncio

from textual.widgets import TabbedContent

from school_tui.app import SchoolApp
from school_tui.auth.login import login
from school_tui.screens.auth.login import LoginScreen
from tests.harness import DEMO_PASSWORD, wait_until


async def test_palette_switches_tabs_and_logs_out(school):
    school.add_person("Student", email="lee@test.school")
    session = await asyncio.to_thread(login, school.target, "lee@test.school", DEMO_PASSWORD)
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.start_session(session)
        await wait_until(pilot, lambda: app.screen.query(TabbedContent), "the home screen")
        tabs = app.screen.query_one(TabbedContent)
        assert tabs.active == "pane-enrollment"

        await pilot.press("ctrl+p")
        await pilot.press(*"go to fees")
        await pilot.press("enter")
        await wait_until(pilot, lambda: tabs.active == "pane-fees", "the Fees tab")

        await pilot.press("ctrl+p")
        await pilot.press(*"log out")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        assert app.session is None
