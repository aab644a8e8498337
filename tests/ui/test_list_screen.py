"""The shared list screen (widgets/lists.py), through the screens built on it, by Pilot on the
real database: an older search that answers last never replaces a newer one's rows; the next
page loads at the last row, each row once, in order; a list comes back by itself after the
connection to the database is lost and restored, with what changed meanwhile."""

from __future__ import annotations

import threading

from psycopg import sql

from school_tui.app import SchoolApp
from school_tui.screens.registrar.students import StudentsScreen
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.lists import ListLoaded
from tests.harness import log_in, wait_until
from tests.pages import PeoplePage, StudentsPage

SIZE = (80, 24)


class GatedStudents(StudentsScreen):
    """The Students search, whose search for `slow` waits (in its worker, before it reads)
    until the test opens the gate: an older search that answers after a newer one."""

    def __init__(self, session, slow: str) -> None:
        super().__init__(session)
        self.slow = slow
        self.waiting = threading.Event()
        self.gate = threading.Event()
        self.answers: list[tuple[int, int]] = []  # (generation, rows) of each answer heard

    def list_fetch(self, conn, query, after):
        if query == self.slow:
            self.waiting.set()
            assert self.gate.wait(30), "the test never opened the gate"
        return super().list_fetch(conn, query, after)

    def list_loaded(self, message: ListLoaded) -> None:
        self.answers.append((message.generation, len(message.page.rows)))
        super().list_loaded(message)


async def test_a_slow_older_search_never_overwrites_a_newer_one(demo_school):
    school = demo_school
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        screen = GatedStudents(app.session, slow="C")
        app.push_screen(screen)
        students = StudentsPage(app)
        await wait_until(pilot, students.search_focused, "the search box focused")
        search = students.search_field
        await pilot.press("C")
        await wait_until(pilot, screen.waiting.is_set, "the search for C, held")
        await pilot.press("r", "u", "z")
        await wait_until(
            pilot,
            lambda: (
                search.value == "Cruz"
                and screen.current
                and screen.answers[-1][0] == screen.generation
            ),
            "the search for Cruz shown",
        )
        shown = students.cells()
        status = students.status()
        assert shown and all("Cruz" in " ".join(row) for row in shown)
        heard = len(screen.answers)

        screen.gate.set()  # the search for C answers now, last
        await wait_until(pilot, lambda: len(screen.answers) > heard, "the late answer")
        late_generation, late_rows = screen.answers[-1]
        # It was older, and drawn it would have changed the list.
        assert late_generation < screen.generation and late_rows > len(shown)
        await pilot.pause()
        assert students.cells() == shown  # still the rows for Cruz
        assert students.status() == status


async def test_people_pages_load_at_the_last_row_each_person_once(demo_school):
    school = demo_school
    everyone = [
        row[0]
        for row in school.admin.execute(
            "SELECT id FROM school.users ORDER BY last_name, first_name, id"
        )
    ]
    assert len(everyone) > 2 * 100  # three pages at least
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin@demo.school")
        people = PeoplePage(app)
        await pilot.press("p")
        await wait_until(pilot, lambda: people.is_open() and people.rows(), "the People screen")
        table = people.table
        assert table.row_count == 100
        assert "more load as you scroll down" in people.status()
        await pilot.press("down")  # from the search box to the list
        await wait_until(pilot, people.table_focused, "the list")
        while table.row_count < len(everyone):
            count = table.row_count
            await pilot.press("ctrl+end")  # the last row: the next page comes
            await wait_until(pilot, lambda c=count: table.row_count > c, f"rows after {count}")
        assert [int(key.value) for key in table.rows] == everyone
        assert people.status() == f"{len(everyone)} shown."


async def test_a_list_reloads_by_itself_when_the_connection_comes_back(school):
    admin = school.add_person("Admin", email="ada@lists.test", first_name="Ada")
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "ada@lists.test")
        people = PeoplePage(app)
        await pilot.press("p")
        await wait_until(pilot, lambda: people.is_open() and people.rows(), "People")
        screen = people.screen
        banner = screen.query_one(ConnectionBanner)
        await pilot.press(*"Zed")  # the People screen opens on its search box
        await wait_until(
            pilot,
            lambda: people.settled() and "Nobody matches" in people.status(),
            "nobody called Zed",
        )

        # The connection is lost (the server refuses new ones, the person's are cut) ...
        database = sql.Identifier(school.dbname)
        with school.server.admin() as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(database))
        school.admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
            (school.login_role(admin),),
        )
        await pilot.press("backspace", "d")  # a search that fails: the banner comes
        await wait_until(pilot, lambda: banner.has_class("-lost"), "the banner")
        # Every search typed so far has failed (one waiting for a connection gives up after
        # the pool's timeout): only a reload after the reconnect can find what comes next.
        await wait_until(
            pilot,
            lambda: all(w.is_finished for w in app.workers if w.group == "list-load"),
            "the searches to fail",
        )
        # ... someone called Zed is added meanwhile, and the connection comes back.
        zed = school.add_person("Teacher", email="zed@lists.test", first_name="Zed")
        assert not people.rows()
        with school.server.admin() as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(database))
        await wait_until(pilot, lambda: not banner.has_class("-lost"), "the banner to go")
        # No key pressed: the list was read again.
        await wait_until(pilot, lambda: [p.id for p in people.rows()] == [zed], "Zed, found again")
        assert "Zed" in people.cells()[0][0]
