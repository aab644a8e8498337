"""The registrar's screens through the UI, against the demo school: the live enrollment board
(another session's change appears without a key; a bulk change moves all or none), the CSV
export of a column, and the student import (preview, confirm, a bad file)."""

from __future__ import annotations

import csv
from datetime import date

from textual.widgets import Button, Input, OptionList, Select

from school_tui.app import SchoolApp
from school_tui.db import enrollment
from school_tui.screens.registrar.board import EnrollmentBoardScreen, TransitionModal
from school_tui.screens.registrar.student_import import ImportScreen
from school_tui.widgets.confirm import ConfirmModal
from school_tui.widgets.error import ErrorModal
from school_tui.widgets.export import ExportModal
from tests import builders
from tests.builders import add_school_year, current_year, section_with_most_pending
from tests.harness import log_in, wait_until
from tests.pages import (
    BoardPage,
    ExportPage,
    FormPage,
    HomePage,
    ImportPage,
    RosterPage,
    SectionsPage,
    StudentsPage,
    dialog_note,
    error_detail,
    notes,
)

SIZE = (80, 24)


def _pending_ids(conn) -> list[int]:
    return [row[0] for row in enrollment.board_list(conn, "Pending", limit=1000)]


async def _wait_for_form(pilot, modal, focused) -> None:
    """Until the form is up and its first field has focus (keys typed before go nowhere)."""
    app = pilot.app
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, modal) and isinstance(app.focused, focused),
        f"the {modal.__name__}",
    )


async def _open_board(pilot) -> EnrollmentBoardScreen:
    await log_in(pilot, "registrar@demo.school")
    board = BoardPage(pilot.app)
    await pilot.press("b")
    await wait_until(pilot, board.loaded, "the board")
    await wait_until(pilot, board.table_focused, "the table's focus")
    return board.screen


async def _open_sections(pilot):

    await log_in(pilot, "registrar@demo.school")
    await pilot.press("r")
    await wait_until(pilot, SectionsPage(pilot.app).table_focused, "the sections")
    return pilot.app.screen


async def test_board_follows_another_session_and_moves_all_or_none(demo_school, tmp_path):
    registrar = demo_school.user_id("registrar@demo.school")
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        board = await _open_board(pilot)
        page = BoardPage(app)
        table = page.table
        with demo_school.connect_as(registrar, autocommit=True) as other:
            pending = _pending_ids(other)
            assert len(pending) == table.row_count == page.counts()["Pending"]
            verified = page.counts()["Verified"]

            # Another registrar's session moves one student: the row goes, the counts follow.
            first = pending[0]
            assert enrollment.set_status(other, [first], "Verified", "documents seen") == 1
            await wait_until(pilot, lambda: str(first) not in table.rows, "the row to go")
            await wait_until(
                pilot, lambda: page.counts()["Verified"] == verified + 1, "the new counts"
            )
            assert f"2 Verified {verified + 1}" in page.counts_line()

            # Mark two rows and ask to move them; before confirming, the other session
            # withdraws one of them: the database refuses the lot and says who and why.
            table.move_cursor(row=0)
            await pilot.press("space", "space")
            marked = sorted(page.marked())
            assert len(marked) == 2 and "2 marked" in page.status()
            await pilot.press("t")
            await _wait_for_form(pilot, TransitionModal, OptionList)
            form = FormPage(app)
            assert "Move 2 students from Pending to Verified" in form.live()
            enrollment.set_status(other, [marked[1]], "Withdrawn", "moved away")
            await pilot.press("tab", *"checked", "enter")
            await wait_until(pilot, lambda: form.error("move-target"), "the refusal")
            assert form.error("move-target").startswith("Nothing moved.")
            assert "Withdrawn, which cannot go to Verified" in form.error("move-target")
            assert form.focused("move-target")
            still = other.execute(
                "SELECT current_status FROM school.enrollment_progress WHERE id = %s",
                (marked[0],),
            ).fetchone()[0]
            assert still == "Pending"  # all or none: the other one did not move either
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is board, "back to the board")
            await wait_until(pilot, lambda: str(marked[1]) not in table.rows, "the withdrawn")

            # The one left marked moves alone, with its remark in the history.
            assert page.marked() == {marked[0]}
            await pilot.press("t")
            await _wait_for_form(pilot, TransitionModal, OptionList)
            await pilot.press("tab", *"all good", "enter")
            await wait_until(pilot, lambda: str(marked[0]) not in table.rows, "the move")
            last = enrollment.history(other, marked[0])[-1]
            assert last[1:4] == ("Pending", "Verified", "all good")

        # Ctrl+S exports the column as shown, formulas defused. (A rename alone notifies
        # nothing: the remark changed with it brings the row again.)
        demo_school.admin.execute(
            "UPDATE school.users SET last_name = %s WHERE id = "
            "(SELECT student_id FROM school.enrollment_progress WHERE id = %s)",
            ("=HYPER(1)[b]\x1b", pending[-1]),
        )
        demo_school.admin.execute(
            "UPDATE school.enrollment_progress SET remarks = 'renamed' WHERE id = %s",
            (pending[-1],),
        )
        await wait_until(
            pilot, lambda: "=HYPER(1)" in str(table.get_row(str(pending[-1]))[2]), "the rename"
        )
        # shown literally: no markup, the escape character made visible (short enough for
        # the Name column)
        assert str(table.get_row(str(pending[-1]))[2]).startswith("=HYPER(1)[b]\u241b")
        await pilot.press("ctrl+s")
        await _wait_for_form(pilot, ExportModal, Input)
        ExportPage(app).set_path(tmp_path / "pending.csv")
        await pilot.press("enter")
        path = tmp_path / "pending.csv"
        await wait_until(pilot, lambda: app.screen is board, "back to the board")
        await wait_until(pilot, lambda: _exported(app, path), "the export")
        header, *cells = _csv(path)
        assert len(cells) == table.row_count
        rows = [dict(zip(header, row, strict=True)) for row in cells]
        assert {r["status"] for r in rows} == {"Pending"}
        assert any(r["name"].startswith("'=HYPER(1)") for r in rows)

        # The grade filter: the column and the counts are those of the grade; then all again.
        everyone = table.row_count
        page.grade_filter.value = "Grade 7"
        await wait_until(
            pilot,
            lambda: (
                0 < table.row_count < everyone
                and all(str(table.get_row_at(i)[3]) == "Grade 7" for i in range(table.row_count))
            ),
            "the Grade 7 students",
        )
        assert page.counts()["Pending"] == table.row_count
        assert "Pending in Grade 7" in page.status()
        page.grade_filter.clear()
        await wait_until(pilot, lambda: table.row_count == everyone, "every grade again")


async def test_board_reads_again_what_changed_while_its_listener_was_down(demo_school):
    """LISTEN -> backfill -> follow: a change committed while the registrar's listener is
    gone (no notification reaches it) shows once it LISTENs again."""
    registrar = demo_school.user_id("registrar@demo.school")
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _open_board(pilot)
        page = BoardPage(app)
        table = page.table
        listener = app.session.listener
        await wait_until(pilot, lambda: listener.backend_pid is not None, "the listener")
        with demo_school.connect_as(registrar, autocommit=True) as other:
            first = _pending_ids(other)[0]
            with other.transaction():  # killed and changed in one go: before it LISTENs again
                other.execute("SELECT pg_terminate_backend(%s)", (listener.backend_pid,))
                enrollment.set_status(other, [first], "Withdrawn", "while nobody listened")
        await wait_until(pilot, lambda: str(first) not in table.rows, "the row to go")
        assert (
            page.counts()["Withdrawn"]
            == dict(enrollment.board_counts(demo_school.admin))["Withdrawn"]
        )


async def test_import_previews_then_writes_only_after_confirming(demo_school, tmp_path):
    good = tmp_path / "students.csv"
    good.write_text(
        "student_number,first_name,last_name,email,grade_level\n"
        "2026-90001,Ana,Reyes,ana.reyes@import.test,Grade 7\n"
        "2026-90002,Ben,Santos,ben.santos@import.test,8\n"
        "2026-90003,Cy,Bad,not-an-email,Grade 7\n",
        encoding="utf-8",
    )
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(
        "student_number,first_name,last_name,email\nX1,José,Ñ,j@x.test\n".encode("latin-1")
    )

    def imported() -> int:
        return demo_school.admin.execute(
            "SELECT count(*) FROM school.users WHERE email LIKE '%%@import.test'"
        ).fetchone()[0]

    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        # Any home tab exports too: Ctrl+S on the Pipeline writes its rows.
        home = app.screen
        await pilot.press("ctrl+s")
        await _wait_for_form(pilot, ExportModal, Input)
        ExportPage(app).set_path(tmp_path / "pipeline.csv")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is home, "back home")
        expected = [
            ["Status", "Students"],
            *([status, str(n)] for status, n in enrollment.status_counts(demo_school.admin)),
        ]
        await wait_until(pilot, lambda: _exported(app, tmp_path / "pipeline.csv"), "the export")
        assert _csv(tmp_path / "pipeline.csv") == expected

        await pilot.press("i")
        await _wait_for_form(pilot, ImportScreen, Input)
        page = ImportPage(app)

        # A file that is not UTF-8: says why, nothing written, nothing to confirm.
        page.set_path(bad)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "UTF-8" in page.status(), "the refusal")
        assert "Nothing was imported" in page.status()
        assert not page.previewed() and imported() == 0

        # The preview: totals on top, each line's action and reason; nothing written yet.
        page.set_path(good)
        await pilot.press("enter")
        await wait_until(pilot, page.previewed, "the preview")
        assert page.totals() == "3 rows: 2 to add, 0 to update, 1 rejected"
        rows = {r[0]: r for r in page.rows()}
        assert rows["2"][1] == "add" and rows["4"][1] == "reject" and "email" in rows["4"][4]
        assert imported() == 0

        await pilot.press("ctrl+o")
        await _wait_for_form(pilot, ConfirmModal, Button)
        assert "2 students will be added" in dialog_note(app)
        assert "1 rejected rows will be left out" in dialog_note(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: "Imported" in page.status(), "the import")
        assert page.status().startswith("Imported: 2 students added, 0 updated")
        assert imported() == 2


async def test_import_says_it_is_writing_while_the_database_works(demo_school, tmp_path):
    """Once every row is sent, the database's one statement has no progress: the screen says
    it is writing (the bar pulses) until it is done. Another session holds the section's row
    meanwhile, so the import waits in that step for as long as the test needs."""

    path = tmp_path / "students.csv"
    path.write_text(
        "student_number,first_name,last_name,email,grade_level,section\n"
        "2026-90001,Ana,Reyes,ana.reyes@import.test,Grade 7,Rizal\n",
        encoding="utf-8",
    )
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        await pilot.press("i")
        await _wait_for_form(pilot, ImportScreen, Input)
        page = ImportPage(app)
        page.set_path(path)
        await pilot.press("enter")
        await wait_until(pilot, page.previewed, "the preview")
        bar = page.progress
        with demo_school.server.admin(demo_school.dbname, autocommit=False) as holder:
            holder.execute(
                "SELECT 1 FROM school.sections WHERE grade_level = 'Grade 7' AND name = 'Rizal' "
                "FOR UPDATE"
            )
            await pilot.press("ctrl+o")
            await _wait_for_form(pilot, ConfirmModal, Button)
            await pilot.press("y")
            await wait_until(pilot, lambda: page.status().startswith("Writing"), "writing")
            assert "checks 1 row again and writes them" in page.status()
            assert bar.total is None  # pulsing: no progress to show
            holder.rollback()
        await wait_until(pilot, lambda: "Imported" in page.status(), "the import")
        assert page.status().startswith("Imported: 1 students added")
        assert bar.total == bar.progress == 1


async def test_exports_hold_every_match_not_only_the_rows_shown(demo_school, tmp_path):
    """The board's column shows its first LIST_LIMIT students and the students screen a page
    of a search: Ctrl+S writes all of them, read again from the database."""
    from school_tui.db import student_import
    from school_tui.domain.student_csv import read_csv
    from school_tui.screens.registrar.board import LIST_LIMIT

    registrar = demo_school.user_id("registrar@demo.school")
    lines = [f"2026-8{n:04d},Kid{n:04d},Bulkload,kid{n}@bulk.test\n" for n in range(1005)]
    with demo_school.connect_as(registrar, autocommit=True) as conn:
        parsed = read_csv(("student_number,first_name,last_name,email\n" + "".join(lines)).encode())
        assert student_import.commit(conn, parsed).added == 1005
        pending = [r[1] for r in enrollment.board_list(conn, "Pending", limit=None)]
    assert len(pending) > LIST_LIMIT

    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _open_board(pilot)
        board = BoardPage(app)
        table = board.table
        assert table.row_count == LIST_LIMIT and board.counts()["Pending"] == len(pending)
        assert f"(the first {LIST_LIMIT})" in board.status()
        path = tmp_path / "pending.csv"
        await pilot.press("ctrl+s")
        await _wait_for_form(pilot, ExportModal, Input)
        export = ExportPage(app)
        assert f"Export Pending students: {len(pending)} rows" in export.summary()
        export.set_path(path)
        await pilot.press("enter")
        await wait_until(pilot, lambda: _exported(app, path), "the board's export")
        header, *cells = _csv(path)
        assert header[0] == "student_number"
        assert [row[0] for row in cells] == pending  # all of them, in the board's order
        await pilot.press("escape")

        await pilot.press("s")
        students = StudentsPage(app)
        await wait_until(pilot, students.search_focused, "students")
        await pilot.press(*"bulkload")
        await wait_until(pilot, lambda: len(students.rows()) == 25, "a page of matches")
        path = tmp_path / "students.csv"
        await pilot.press("ctrl+s")
        await _wait_for_form(pilot, ExportModal, Input)
        assert "every student matching 'bulkload'" in export.summary()
        export.set_path(path)
        await pilot.press("enter")
        await wait_until(pilot, lambda: _exported(app, path), "the students' export")
        header, *cells = _csv(path)
        rows = [dict(zip(header, row, strict=True)) for row in cells]
        assert len(rows) == 1005
        assert {r["last_name"] for r in rows} == {"Bulkload"}
        assert [r["first_name"] for r in rows] == [f"Kid{n:04d}" for n in range(1005)]
        assert {r["status"] for r in rows} == {"Pending"}


def _exported(app, path) -> bool:
    """The export's toast says the file is written (before it, the file may be partial)."""
    return any(note.startswith("Exported ") and note.endswith(f" to {path}") for note in notes(app))


def _csv(path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


async def test_student_home_follows_the_registrar_live(demo_school):
    """The student's Enrollment tab changes when the registrar changes their status (the
    registrar's own login, as psql would), with no key pressed."""
    registrar = demo_school.user_id("registrar@demo.school")
    student = demo_school.user_id("student@demo.school")
    now = builders.student(demo_school, student)
    enrollment_id, status = now.enrollment_id, now.status
    assert status == "Enrolled"
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "student@demo.school")
        home = HomePage(app)
        await wait_until(pilot, lambda: "Status: Enrolled" in home.summary(), "the tab")
        with demo_school.connect_as(registrar, autocommit=True) as other:
            enrollment.set_status(other, [enrollment_id], "Withdrawn", "moved to Cebu")
            await wait_until(pilot, lambda: "Status: Withdrawn" in home.summary(), "live")
            assert "To enroll again, talk to the registrar" in home.summary()
            newest = home.rows("enrollment")[0]
            assert newest[2:] == ["Enrolled → Withdrawn", "moved to Cebu"]

            enrollment.set_status(other, [enrollment_id], "Pending", "readmitted")
            await wait_until(
                pilot,
                lambda: "Next: the registrar checks your documents" in home.summary(),
                "the next step",
            )


async def test_sections_form_errors_assign_and_a_full_section(demo_school):
    """A section made through the form (its errors under the field: the app's rule, then the
    database's unique name), two students assigned through the roster: the second one finds
    the section full and the database's refusal is shown as it says it."""
    from school_tui.db import students
    from school_tui.screens.registrar.sections import SectionForm, StudentPicker

    registrar = demo_school.user_id("registrar@demo.school")
    with demo_school.connect_as(registrar, autocommit=True) as conn:
        for number, first in (("2026-70001", "Lara"), ("2026-70002", "Mika")):
            students.create(
                conn, students.StudentFields(first, "Seatfinder", f"{first}@seat.test", number)
            )
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        sections_screen = await _open_sections(pilot)
        await pilot.press("n")
        await _wait_for_form(pilot, SectionForm, Input)
        form = FormPage(app)
        await wait_until(pilot, lambda: form.field("sec-year").value != Select.NULL, "years")
        form.set("sec-grade", "Grade 7")
        form.set("sec-name", "Rizal")  # the demo has a Grade 7 Rizal
        form.set("sec-capacity", "500")
        await pilot.press("ctrl+s")
        assert "Capacity: a whole number from 1 to 200" in form.error("sec-capacity")
        form.set("sec-capacity", "1")
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: "section of that name" in form.error("sec-name"), "the refusal"
        )
        form.set("sec-name", "Luna")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is sections_screen, "the saved section")
        sections_page = SectionsPage(app)
        await wait_until(
            pilot,
            lambda: any("Luna" in str(c) for c in sections_page.selected_cells()),
            "the new row under the cursor",
        )

        await pilot.press("enter")
        roster_page = RosterPage(app)
        await wait_until(pilot, roster_page.loaded, "the roster")
        roster = app.screen
        for name in ("Lara", "Mika"):
            await pilot.press("a")
            await _wait_for_form(pilot, StudentPicker, Input)
            await pilot.press(*f"seatfinder {name}", "enter")  # the one match: picked
            await wait_until(pilot, lambda: not isinstance(app.screen, StudentPicker), "picked")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal), "the refusal")
        assert "Grade 7 - Luna is full (1 of 1 seats taken)" in error_detail(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is roster, "back to the roster")
        names = [r[2] for r in roster_page.rows()]
        assert names == ["Seatfinder, Lara"]


async def test_sections_of_another_year_then_move_a_student_and_export_the_roster(
    demo_school, tmp_path
):
    """A section saved for next year shows under that year (the year chooser follows it);
    back on this year, `m` moves a student to another section and Ctrl+S writes the roster
    as the database holds it."""
    from school_tui.db import sections
    from school_tui.screens.registrar.sections import SectionForm, SectionPicker

    admin = demo_school.admin
    current = current_year(demo_school)
    next_year = add_school_year(
        demo_school, "2027-2028", starts_on=date(2027, 6, 14), ends_on=date(2028, 3, 31)
    )
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_sections(pilot)
        sections_page = SectionsPage(app)
        table = sections_page.table
        year = sections_page.year_chooser
        assert year.value == current and "2026-2027 (current)" in sections_page.title()
        this_year = table.row_count
        await pilot.press("n")
        await _wait_for_form(pilot, SectionForm, Input)
        form = FormPage(app)
        await wait_until(pilot, lambda: form.field("sec-year").value == current, "the years")
        form.set("sec-year", next_year)
        form.set("sec-grade", "Grade 7")
        form.set("sec-name", "Aguinaldo")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen, "the saved section")
        await wait_until(pilot, lambda: year.value == next_year, "next year shown")
        assert sections_page.cells() == [["Grade 7", "Aguinaldo", "2027-2028", "—", "0"]]
        assert "2027-2028" in sections_page.title()
        year.value = current  # as the chooser (`y`) sets it
        await wait_until(pilot, lambda: table.row_count == this_year, "this year again")

        # The roster of this year's Grade 7 Rizal: move its first student to Grade 7 Mabini.
        rizal, mabini = (
            admin.execute(
                "SELECT id FROM school.sections WHERE grade_level = 'Grade 7' AND name = %s "
                "AND school_year_id = %s",
                (name, current),
            ).fetchone()[0]
            for name in ("Rizal", "Mabini")
        )
        table.move_cursor(row=table.get_row_index(str(rizal)))
        await pilot.press("enter")
        roster_page = RosterPage(app)
        await wait_until(pilot, roster_page.loaded, "the roster")
        roster = app.screen
        before = [r[0] for r in roster_page.rows()]
        moved, name = next((r[0], r[2]) for r in roster_page.rows())
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, SectionPicker), "the sections")
        picker = app.screen.query_one("#pick-section", OptionList)
        picker.highlighted = picker.get_option_index(str(mabini))
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: app.screen is roster and moved not in [r[0] for r in roster_page.rows()],
            "the student gone from the roster",
        )
        said = f"Moved {name} to Grade 7 - Mabini."
        assert said in notes(app)
        with demo_school.connect_as(demo_school.user_id("registrar@demo.school")) as conn:
            assert moved in [r[0] for r in sections.roster(conn, mabini)]
            held = sections.roster(conn, rizal)
        assert [r[0] for r in held] == [r for r in before if r != moved]

        path = tmp_path / "roster.csv"
        await pilot.press("ctrl+s")
        await _wait_for_form(pilot, ExportModal, Input)
        ExportPage(app).set_path(path)
        await pilot.press("enter")
        await wait_until(pilot, lambda: _exported(app, path), "the roster's export")
        assert _csv(path) == [
            ["student_number", "name", "email", "status"],
            # the roster's columns without Presence (a live cell, not data to export)
            *([str(c) for c in row[1:5]] for row in held),
        ]


async def test_board_section_filter(demo_school):
    """Choosing a section shows its students only, and the counts are the section's."""
    admin = demo_school.admin
    section, grade, name = section_with_most_pending(demo_school)
    expected = dict(enrollment.board_counts(admin, section_id=section))
    pending = [r[1] for r in enrollment.board_list(admin, "Pending", section_id=section)]
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _open_board(pilot)
        board = BoardPage(app)
        table = board.table
        everyone = table.row_count
        await wait_until(pilot, board.sections_loaded, "the sections")
        board.grade_filter.value = grade
        await wait_until(pilot, lambda: board.grade() == grade and not table.loading, "the grade")
        board.section_filter.value = section
        await wait_until(
            pilot,
            lambda: [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == pending,
            "the section's Pending students",
        )
        assert table.row_count < everyone
        # (the cell may be cut to fit 80 columns: the rows behind it say the section)
        assert {row.section for row in board.rows()} == {name}
        assert board.counts() == expected
        assert f"Pending in {grade}, section {name}" in board.status()


# -- 80x24 snapshots (update with --snapshot-update, then look at the SVGs) --------------------


def test_board_snapshot(demo_school, snap_compare):
    async def run_before(pilot) -> None:
        await _open_board(pilot)
        await pilot.press("space")  # one marked row, the cursor on the next

    app = SchoolApp(demo_school.target, prepare_server=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_import_preview_snapshot(demo_school, snap_compare, tmp_path, monkeypatch):
    (tmp_path / "students.csv").write_text(
        "student_number,first_name,last_name,email,grade_level,section\n"
        "2026-90001,Ana,Reyes,ana.reyes@import.test,Grade 7,Rizal\n"
        "2026-90002,Ben,Santos,ben.santos@import.test,8,\n"
        "2026-90003,Cy,Bad,not-an-email,Grade 7,\n"
        "2026-90004,Dee,Cruz,dee.cruz@import.test,Grade 7,Nowhere\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # the path field shows a relative name, the same every run

    async def run_before(pilot) -> None:
        app = pilot.app
        await log_in(pilot, "registrar@demo.school")
        await pilot.press("i")
        await _wait_for_form(pilot, ImportScreen, Input)
        await pilot.press(*"students.csv", "enter")
        await wait_until(pilot, lambda: app.screen.preview, "the preview")
        await pilot.press("down", "down")  # the rejected row: its reason under the table

    app = SchoolApp(demo_school.target, prepare_server=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_board_payment_complete_by_hand_asks_for_the_remark_it_needs(demo_school):
    """Verified -> Payment Complete for a student with unpaid required fees: the dialog says
    a remark is needed, the database's refusal shows under the remark and nothing moves;
    with a remark, the student moves."""
    registrar = demo_school.user_id("registrar@demo.school")
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await _open_board(pilot)
        board = BoardPage(app)
        await pilot.press("2")  # the Verified column
        await wait_until(
            pilot, lambda: board.status().startswith("Verified") and board.cells(), "Verified"
        )
        await pilot.press("space")
        (marked,) = board.marked()
        await pilot.press("t")
        form = FormPage(app)
        await wait_until(pilot, lambda: form.ready(TransitionModal), "the dialog")
        assert form.field("move-target").highlighted == 0  # the usual next step
        assert "to Payment Complete" in form.live()
        assert "a remark saying why is needed for Payment Complete" in form.live()
        await pilot.press("enter")
        await wait_until(pilot, lambda: form.error("move-remark"), "the refusal")
        assert "required fees unpaid" in form.error("move-remark")
        assert form.focused("move-remark")
        await pilot.press(*"pays in June", "enter")
        await wait_until(
            pilot, lambda: board.is_open() and marked not in board.marked(), "the move"
        )
    with demo_school.connect_as(registrar, autocommit=True) as conn:
        last = enrollment.history(conn, marked)[-1]
    assert last[1:4] == ("Verified", "Payment Complete", "pays in June")


async def test_deleting_a_section_that_holds_work_is_refused_with_what_it_holds(demo_school):
    """`d` on a section asks first (the shared ConfirmModal); the database refuses a section
    with students, subjects, tasks, modules and meetings, and the refusal says how many of
    each; an empty section goes."""
    admin = demo_school.admin
    current = current_year(demo_school)
    teacher = demo_school.user_id("teacher@demo.school")
    busy = admin.execute(
        "SELECT section_id FROM school.tasks WHERE teacher_id = %s ORDER BY id LIMIT 1", (teacher,)
    ).fetchone()[0]
    spare = builders.add_section(demo_school, current, "Spare", "Grade 7")
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_sections(pilot)
        page = SectionsPage(app)
        table = page.table
        await wait_until(pilot, lambda: str(spare) in screen.rows, "the spare section")
        table.move_cursor(row=table.get_row_index(str(busy)))
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal), "the refusal")
        detail = error_detail(app)
        assert "still holds" in detail and "subject(s)" in detail and "task(s)" in detail
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "back to the sections")
        assert "Not deleted" in page.status()
        table.move_cursor(row=table.get_row_index(str(spare)))
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: str(spare) not in screen.rows, "the spare one gone")
    assert (
        admin.execute(
            "SELECT count(*) FROM school.tasks WHERE section_id = %s", (busy,)
        ).fetchone()[0]
        > 0
    )
    assert (
        admin.execute("SELECT count(*) FROM school.sections WHERE id = %s", (spare,)).fetchone()[0]
        == 0
    )
