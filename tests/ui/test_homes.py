"""80x24 snapshots of the login screen and of every role's home on the demo school.

The demo data and its dates are fixed and conftest pins TZ=UTC, so a home renders the same
on every machine and on both servers. The one moving value is the Admin's own "Last login"
(now(), stamped by the login itself): it is set to the demo's clock before the snapshot.
Update with `pytest tests/ui/test_homes.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

import re

import pytest
from textual.widgets import Input

from school_tui.app import SchoolApp
from school_tui.screens.auth.login import LoginScreen
from school_tui.server import demo
from tests.harness import log_in, table_rows, wait_until

SIZE = (80, 24)
DEMO_CLOCK = demo.NOW.strftime("%Y-%m-%d %H:%M")  # TZ=UTC, as conftest sets


async def _steady_cursor(pilot) -> None:
    """A blinking cursor is on or off depending on when the screenshot is taken."""
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, LoginScreen), "login screen")
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


def test_login_screen(school, snap_compare):
    async def run_before(pilot) -> None:
        await _steady_cursor(pilot)

    app = SchoolApp(school.target, prepare_server=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("email", list(demo.DEMO_LOGINS))
def test_role_home(demo_school, snap_compare, email):
    async def run_before(pilot) -> None:
        await log_in(pilot, email)
        app = pilot.app
        demo_school.admin.execute(
            "UPDATE school.users SET last_login = %s WHERE last_login IS NOT NULL", (demo.NOW,)
        )
        if app.screen.ROLE == "Student":
            # The demo's enrollment history is stamped when the demo is loaded: put it at the
            # demo's clock (history is append-only, so its trigger is set aside in this clone).
            for statement in (
                "ALTER TABLE school.enrollment_history "
                "DISABLE TRIGGER enrollment_history_append_only",
                "UPDATE school.enrollment_history SET changed_at = %s",
                "ALTER TABLE school.enrollment_history "
                "ENABLE ALWAYS TRIGGER enrollment_history_append_only",
            ):
                demo_school.admin.execute(statement, (demo.NOW,) if "%s" in statement else ())
            app.screen.reload_enrollment()
            await wait_until(
                pilot,
                lambda: table_rows(app, "table-enrollment")[0][0] == DEMO_CLOCK,
                "the reloaded enrollment history",
            )
        if app.screen.ROLE == "Admin":  # the only home that shows last logins (the day)
            app.screen.load_all()
            await wait_until(
                pilot,
                lambda: table_rows(app, "table-people")[0][4] == DEMO_CLOCK[:10],
                "the reloaded people table",
            )

    app = SchoolApp(demo_school.target, prepare_server=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


_FILL = re.compile(r"fill(?::\s*|=\")(#[0-9a-fA-F]{6})")
# Rich's SVG frame, whatever the app does: the window's three buttons and its default text.
_FRAME = {"#ff5f57", "#febc2e", "#28c840", "#c5c8c6"}


def _colours(svg: str) -> set[str]:
    """The colours of the screenshot that are not a grey."""
    found = {colour.lower() for colour in _FILL.findall(svg)} - _FRAME
    return {c for c in found if not c[1:3] == c[3:5] == c[5:7]}


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR=1"])
async def test_no_color_is_honoured(demo_school, monkeypatch, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = SchoolApp(demo_school.target, prepare_server=False)
    assert app.no_color is no_color
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "student@demo.school")
        svg = app.export_screenshot()
    if no_color:
        assert _colours(svg) == set()  # only greys
    else:
        assert _colours(svg)  # the test would catch colour: the theme has some
