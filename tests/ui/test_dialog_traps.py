"""The dialogs' one rule, where a new user met it broken: a dialog's Enter does what its hint
says from wherever the focus is, Escape always cancels (and the way out is on screen), and
what a screen or dialog leaves behind is where the next keys are meant to go."""

from __future__ import annotations

from school_tui.app import SchoolApp
from school_tui.db import enrollment
from school_tui.screens.admin.people import PersonForm, TemporaryPasswordModal
from school_tui.screens.chat.screen import ChatScreen
from school_tui.screens.chat.widgets import ConversationList
from school_tui.screens.registrar.board import TransitionModal
from school_tui.widgets.confirm import ConfirmModal
from tests.harness import log_in, wait_until
from tests.pages import (
    AuditPage,
    BoardPage,
    ChatPage,
    FormPage,
    ImportPage,
    ListPage,
    PeoplePage,
    RosterPage,
    SectionsPage,
    StudentsPage,
)

SIZE = (80, 24)


# -- a screen whose purpose is a search opens with the search box focused -------------------


async def _opens_on(pilot, page: ListPage, keys: tuple[str, ...]) -> None:
    """`keys` open the page's screen: with a search box, typing goes into it at once;
    without one, the keys go to the table once its rows are there."""
    await pilot.press(*keys)
    if page.SEARCH is not None:
        await wait_until(pilot, page.search_focused, f"{page.SCREEN}, its search focused")
        await pilot.press(*"zq")
        assert page.search_field.value == "zq" and page.is_open()
    else:
        await wait_until(pilot, page.table_focused, f"{page.SCREEN}, its table focused")


async def test_the_admin_s_lists_open_on_their_search(demo_school):
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin@demo.school")
        home = app.screen
        for page, key in ((PeoplePage(app), "p"), (AuditPage(app), "a")):
            await _opens_on(pilot, page, (key,))
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is home, "the home again")


async def test_the_registrar_s_lists_open_where_the_keys_are_meant_to_go(demo_school):
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        home = app.screen
        for page, key in ((StudentsPage(app), "s"), (BoardPage(app), "b")):
            await _opens_on(pilot, page, (key,))
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is home, "the home again")
        sections = SectionsPage(app)
        await _opens_on(pilot, sections, ("r",))
        await wait_until(pilot, lambda: sections.table.row_count > 0, "the sections")
        await _opens_on(pilot, RosterPage(app), ("enter",))


async def test_the_board_moves_with_the_one_enter_its_dialog_asks_for(demo_school):
    """ "Enter: confirm" on the move dialog moves the marked student with that one Enter."""
    registrar = demo_school.user_id("registrar@demo.school")
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        page = BoardPage(app)
        await pilot.press("b")
        await wait_until(pilot, page.table_focused, "the board")
        board = app.screen
        table = page.table
        table.move_cursor(row=0)
        await pilot.press("space")
        (moved,) = page.marked()
        await pilot.press("t")
        form = FormPage(app)
        await wait_until(
            pilot, lambda: form.ready(TransitionModal) and form.focused("move-target"), "the dialog"
        )
        assert "Enter: confirm" in form.status()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is board, "the dialog closed by one Enter")
        await wait_until(pilot, lambda: str(moved) not in table.rows, "the student moved")
    with demo_school.connect_as(registrar, autocommit=True) as conn:
        assert enrollment.history(conn, moved)[-1][1:3] == ("Pending", "Verified")


async def test_the_import_confirmation_shows_its_way_out_and_escape_takes_it(demo_school, tmp_path):
    path = tmp_path / "students.csv"
    path.write_text(
        "student_number,first_name,last_name,email,grade_level\n"
        "2026-90001,Ana,Reyes,ana.reyes@import.test,Grade 7\n",
        encoding="utf-8",
    )
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        await pilot.press("i")
        page = ImportPage(app)
        await wait_until(pilot, page.is_open, "the import")
        screen = app.screen
        page.set_path(path)
        await pilot.press("enter")
        await wait_until(pilot, page.previewed, "the preview")
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        cancel = app.screen.query_one("#confirm-no")
        assert cancel.display and "Cancel" in str(cancel.label) and "Esc" in str(cancel.label)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "back on the preview")
        assert not page.running()
    count = demo_school.admin.execute(
        "SELECT count(*) FROM school.users WHERE email = 'ana.reyes@import.test'"
    ).fetchone()[0]
    assert count == 0


async def test_after_the_temporary_password_a_typed_name_goes_to_the_search(demo_school):
    """The Admin makes a person from the list; once the password dialog is closed, the name
    typed next is a search (no `n` for New person, no `r` for Role)."""
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin@demo.school")
        await pilot.press("p")
        page = PeoplePage(app)
        await wait_until(pilot, lambda: page.search_focused() and page.rows(), "People")
        people = app.screen
        await pilot.press("down", "n")  # to the list, New person
        form = FormPage(app)
        await wait_until(
            pilot, lambda: form.ready(PersonForm) and form.focused("first-name"), "the form"
        )
        await pilot.press(*"Nina", "enter", *"Verano", "enter", *"nina.verano@demo.school")
        form.set("role", "Teacher")
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: isinstance(app.screen, TemporaryPasswordModal), "the password"
        )
        await pilot.press("enter")  # Close
        await wait_until(pilot, lambda: app.screen is people, "back on People")
        await pilot.press(*"verano")
        assert app.screen is people
        assert page.search_field.value == "verano"


async def test_the_chat_opens_on_its_conversations_and_enter_opens_one(school):
    """Enter right after opening the chat opens the highlighted conversation for writing; it
    sends nothing."""
    teacher = school.add_person("Teacher", email="t@traps.test")
    student = school.add_person("Student", email="s@traps.test")
    school.admin.execute(
        "INSERT INTO school.messages (sender_id, receiver_id, message) VALUES (%s, %s, 'hi')",
        (teacher, student),
    )

    def sent() -> int:
        return school.admin.execute(
            "SELECT count(*) FROM school.messages WHERE sender_id = %s", (student,)
        ).fetchone()[0]

    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "s@traps.test")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen), "the chat")
        chat = app.screen
        await wait_until(pilot, lambda: chat.partner_id == teacher, "the newest conversation")
        assert isinstance(app.focused, ConversationList)
        await pilot.press("enter")
        compose = ChatPage(app).compose_field
        await wait_until(pilot, lambda: app.focused is compose, "the message box")
        assert not ChatPage(app).error_shown()
        await pilot.press(*"hello", "enter")
        await wait_until(pilot, lambda: sent() == 1, "one message sent")
