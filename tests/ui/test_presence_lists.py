"""Every list of people says who is online, away or offline, live.

A person's status changing in the database (their listener connection setting it, as their
app would) shows in the Presence cell of each list that shows them, with no key pressed and
without reading the list again; and a walk of every role's screens finds a Presence column in
every table that lists people, fitting the 80-column terminal.
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

from school_tui.app import SchoolApp
from school_tui.screens.homes.base import RoleHome
from school_tui.screens.homes.for_role import HOME_SCREENS
from school_tui.server.demo import DEMO_LOGINS
from school_tui.widgets.presence import PRESENCE, PRESENCE_HEADER
from tests import builders
from tests.harness import log_in, wait_until
from tests.pages import listening

SIZE = (80, 24)
STUDENT = "student@demo.school"  # Sofia Cruz


async def _listening(pilot) -> None:
    app = pilot.app
    await wait_until(
        pilot,
        lambda: listening(app),
        "the listener",
    )


def _cells(screen, user_id: int) -> list[str]:
    """What the Presence cells of the rows showing `user_id` say, on the screen's tables."""
    shown = []
    for table, row_key in screen.presence._rows.get(user_id, ()):
        if row_key in table.rows:
            shown.append(str(table.get_cell(row_key, PRESENCE)))
    return shown


async def _shown(pilot, kind, what: str):
    """The screen of `kind` on top, its widgets composed."""
    app = pilot.app
    await wait_until(
        pilot, lambda: isinstance(app.screen, kind) and app.screen.query(DataTable), what
    )
    return app.screen


async def _home_pane(pilot, pane: str):
    screen = pilot.app.screen
    index = next(i for i, p in enumerate(screen.PANES) if p.id == pane)
    screen.action_show_pane(index)
    return screen, screen.query_one(f"#table-{pane}", DataTable)


async def _students_screen(pilot, name: str):
    from school_tui.screens.registrar.students import StudentsScreen

    pilot.app.screen.action_students()
    screen = await _shown(pilot, StudentsScreen, "Students")
    screen.query_one("#student-search", Input).value = name
    return screen, screen.query_one(DataTable)


async def _board(pilot, status: str):
    from school_tui.screens.registrar.board import STATUSES, EnrollmentBoardScreen

    pilot.app.push_screen(EnrollmentBoardScreen(pilot.app.session, STATUSES[0]))
    screen = await _shown(pilot, EnrollmentBoardScreen, "board")
    screen.action_show_status(STATUSES.index(status))
    return screen, screen.query_one(DataTable)


async def _roster(pilot, section_id: int):
    from school_tui.screens.registrar.sections import RosterScreen

    pilot.app.push_screen(RosterScreen(pilot.app.session, section_id))
    screen = await _shown(pilot, RosterScreen, "roster")
    return screen, screen.query_one(DataTable)


async def _statement_picker(pilot, name: str):
    from school_tui.widgets.pickers import StudentPicker

    pilot.app.push_screen(StudentPicker(pilot.app.session))
    screen = await _shown(pilot, StudentPicker, "picker")
    screen.query_one(Input).value = name
    return screen, screen.query_one(DataTable)


LISTS = {
    "admin home: People": ("admin@demo.school", _home_pane, "people"),
    "guidance home: Students": ("guidance@demo.school", _home_pane, "students"),
    "registrar: Students search": ("registrar@demo.school", _students_screen, "Cruz Sofia"),
    "registrar: enrollment board": ("registrar@demo.school", _board, None),
    "registrar: section roster": ("registrar@demo.school", _roster, None),
    "accounting: statement picker": ("accounting@demo.school", _statement_picker, "Cruz Sofia"),
}


@pytest.mark.parametrize("which", list(LISTS))
async def test_a_status_change_shows_live_in_the_list(demo_school, which):
    email, open_list, arg = LISTS[which]
    student = demo_school.user_id(STUDENT)
    now = builders.student(demo_school, student)
    status, section = now.status, now.section_id
    arg = {_board: status, _roster: section}.get(open_list, arg)
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, email)
        await _listening(pilot)
        screen, table = await open_list(pilot, arg)
        await wait_until(pilot, lambda: _cells(screen, student) == ["○ offline"], "the row")
        assert [str(c.label) for c in table.columns.values()][-1] == PRESENCE_HEADER
        keys = [id(key) for key in table.rows]  # a reload would make new row keys
        cursor = table.row_count - 1  # not the student's row, most likely
        table.move_cursor(row=cursor)
        with demo_school.connect_as(
            student, autocommit=True, application_name="school-tui listener"
        ) as conn:
            for status, shown in (("online", "● online"), ("away", "◐ away")):
                conn.execute("SELECT school.set_my_presence(%s)", (status,))
                await wait_until(
                    pilot, lambda shown=shown: _cells(screen, student) == [shown], shown
                )
        assert [id(key) for key in table.rows] == keys, "the list was read again"
        assert table.cursor_row == cursor


# -- every table of people has the column ------------------------------------------------------

# Tables with a person's name in a column whose rows are something else: each is a list of
# events or documents (the person is who they concern), not of people.
NOT_PEOPLE = {
    "table-reports": "guidance reports (Guidance home)",
    "table-guidance": "guidance reports (Principal home)",
    "table-payments": "payments (Accounting home)",
    "table-changes": "enrollment changes (Registrar home)",
    "import-table": "lines of a CSV file, not yet anyone",
}
PERSON_HEADERS = {"Name", "Student"}


def _settled(app) -> bool:
    busy = any(not worker.is_finished for worker in app.workers)
    return not busy and not any(t.loading for t in app.screen.query(DataTable))


def _check_tables(app, where: str, seen: dict) -> None:
    for table in app.screen.query(DataTable):
        headers = [str(c.label) for c in table.columns.values()]
        if not PERSON_HEADERS & set(headers) or table.id in NOT_PEOPLE:
            continue
        seen[f"{where} #{table.id}"] = headers
        assert headers[-1] == PRESENCE_HEADER, f"{where}: #{table.id} {headers} has no presence"
        if table.region.width:  # shown: it fits the terminal
            width = sum(c.get_render_width(table) for c in table.columns.values())
            assert width <= table.scrollable_content_region.width, f"{where}: #{table.id} {width}"


@pytest.mark.parametrize("role", sorted(HOME_SCREENS))
async def test_every_list_of_people_has_a_presence_column(demo_school, role):
    """Walks every command of the role's palette (each tab, each screen it opens), as
    test_hostile_text does: a list of people added later is checked with no edit here."""
    email = next(e for e, (r, _first, _last) in DEMO_LOGINS.items() if r == role)
    app = SchoolApp(demo_school.target, prepare_server=False)
    seen: dict[str, list[str]] = {}
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, email)
        home = app.screen
        assert isinstance(home, RoleHome)
        for name, callback, _help in [c for c in home.palette_commands() if c[0] != "Log out"]:
            callback()
            await pilot.pause()
            await wait_until(pilot, lambda: _settled(app), f"{role}: {name} to settle")
            _check_tables(app, f"{role}: {name}", seen)
            for _ in range(3):
                if app.screen is home:
                    break
                await pilot.press("escape")
                await wait_until(pilot, lambda: _settled(app), f"{role}: back from {name}")
            assert app.screen is home, f"{role}: could not get back from {name}"
    expected = {
        "Admin": 2,  # People, Failed logins (and the People screen)
        "Guidance": 1,
        "Accounting": 2,  # Balances, the statement's student picker
        "Registrar": 2,  # the Students search, the board
    }
    assert len({k.split(" #")[1] for k in seen}) >= expected.get(role, 0), seen
