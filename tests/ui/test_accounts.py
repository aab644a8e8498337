"""Account administration, end to end and in the database.

The app tests drive the real screens by keyboard (Pilot) on a server that checks passwords:
the Admin creates a person and sees the temporary password once, the person logs in with it
and must choose their own (the policy refuses a short one), then the Admin changes their role,
deactivates, reactivates and resets them, each time checked in the database and by logging
in. The database tests prove the rules without the app: a person with a temporary password
is nobody to row-level security, a deactivated login that got in anyway can do nothing, the
last Admin stays, a role change moves the login between groups all or nothing.
"""

from __future__ import annotations

import asyncio
import secrets

import psycopg
import pytest
from psycopg import errors, sql
from textual.widgets import DataTable, Input, OptionList, Select

from school_tui.app import SchoolApp
from school_tui.auth import login as auth
from school_tui.db import people
from school_tui.db.errors import NotAllowed
from school_tui.domain.fields import FieldError
from school_tui.screens.admin.people import (
    ROLES,
    PeopleScreen,
    PersonForm,
    RolePicker,
    TemporaryPasswordModal,
    validate_person,
)
from school_tui.screens.auth.change_password import ChangePasswordScreen
from school_tui.widgets.confirm import ConfirmModal
from tests.builders import add_fee, add_school_year, enroll
from tests.harness import home_loaded, log_in, login_status, submit_login, wait_until
from tests.pages import FormPage, PasswordPage, PeoplePage, listening

SIZE = (80, 24)
INES = "ines.aguilar@demo.school"
INES_PASSWORD = "lanterns over the quiet harbour at dusk"


def scalar(school, query: str, params=()):
    return school.admin.execute(query, params).fetchone()[0]


def groups_of(school, user_id: int) -> set[str]:
    """The roles the person's login is directly a member of, as group keys."""
    login = school.login_role(user_id)
    names = {
        row[0]
        for row in school.admin.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles l ON l.oid = m.member WHERE l.rolname = %s",
            (login,),
        )
    }
    prefix = school.roles.prefix + "_"
    return {name.removeprefix(prefix) for name in names}


def status_text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render()).strip()


# -- driving the Admin's People screen -------------------------------------------------------


async def open_people(pilot) -> PeopleScreen:
    """`p` on the Admin's home: People, its search box focused, its first rows shown."""
    people = PeoplePage(pilot.app)
    await pilot.press("p")
    await wait_until(
        pilot, lambda: people.settled() and people.search_focused(), "the People screen"
    )
    return people.screen


async def to_the_list(pilot) -> None:
    """From the search box down to the list, where the keys act on the highlighted person."""
    people = PeoplePage(pilot.app)
    await pilot.press("down")
    await wait_until(pilot, people.table_focused, "the list")


async def select_person(pilot, screen: PeopleScreen, text: str, email: str) -> None:
    """Search as a person would (/ unless in the search box, type, Enter) until `email` is
    the one row."""
    people = PeoplePage(pilot.app)
    if not people.search_focused():
        await pilot.press("slash")
        await wait_until(pilot, people.search_focused, "search focus")
    await pilot.press(*text)
    await wait_until(
        pilot, lambda: people.settled() and people.emails() == [email], f"{email} found"
    )
    await pilot.press("enter")
    assert people.selected().email == email


async def fill_person_form(pilot, first: str, last: str, email: str, role: str) -> None:
    form = FormPage(pilot.app)
    assert form.is_open(PersonForm)
    await pilot.press(*first, "enter", *last, "enter", *email, "enter")
    select = form.field("role")
    await wait_until(pilot, lambda: form.focused("role"), "the role field")
    await pilot.press("enter")  # opens the list
    overlay = select.query_one(OptionList)
    for _ in range(len(ROLES) + 2):
        highlighted = overlay.highlighted
        if highlighted is not None and str(overlay.get_option_at_index(highlighted).prompt) == role:
            break
        await pilot.press("down")
    await pilot.press("enter")
    await wait_until(pilot, lambda: select.value == role, f"role {role}")


async def confirm(pilot) -> None:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal), "the question")
    await pilot.press("y")


async def shown_temporary_password(pilot) -> str:
    app = pilot.app
    await wait_until(
        pilot, lambda: isinstance(app.screen, TemporaryPasswordModal), "the temporary password"
    )
    shown = status_text(app, "#temp-password")
    assert "only once" in status_text(app, ".modal-note")
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, PeopleScreen), "the People screen")
    return shown


async def admin_app(school, action) -> None:
    """Run `action(pilot, people_screen)` as the demo Admin, on the People screen."""
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin@demo.school")
        screen = await open_people(pilot)
        await action(pilot, screen)


async def change_password_through_the_app(
    school, email: str, temporary: str, role: str, refused_first: str | None = None
) -> None:
    """Log in with a temporary password: the password form comes first, refuses a short
    password and the temporary one again, takes a good one, then the home opens.
    `refused_first`: a password the login form must refuse before."""
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        if refused_first is not None:
            await submit_login(pilot, email, refused_first)
            await wait_until(
                pilot, lambda: login_status(app) not in ("", "Logging in…"), "the refusal"
            )
            assert login_status(app) == auth.LOGIN_FAILED
            # the form keeps the email and waits in the password field
            field = app.screen.query_one("#password", Input)
            await wait_until(pilot, lambda: app.focused is field, "focus on the password")
            field.value = temporary
            await pilot.press("enter")
        else:
            await submit_login(pilot, email, temporary)
        await wait_until(
            pilot, lambda: isinstance(app.screen, ChangePasswordScreen), "the password form"
        )
        assert app.session.person.must_change_password
        screen = app.screen
        form = PasswordPage(app)
        for typed, expected in (
            ("too-short", "New password: at least 15 characters (you typed 9)."),
            (temporary, "New password: must differ from your temporary password."),
        ):
            await enter_password_twice(pilot, typed)
            await wait_until(
                pilot,
                lambda: not form.checking() and form.status(),
                "the refusal",
            )
            assert form.status() == expected
            assert app.screen is screen  # nothing else opened
            assert scalar(
                school, "SELECT must_change_password FROM school.users WHERE email = %s", (email,)
            )
        await enter_password_twice(pilot, INES_PASSWORD)
        await wait_until(pilot, lambda: home_loaded(app), "the home after the change")
        assert app.screen.ROLE == role
        assert not app.session.person.must_change_password
        # the app's new session connects with the new password
        assert (
            app.session.run(lambda conn: conn.execute("SELECT school.my_role()").fetchone()[0])
            == role
        )
    assert not scalar(
        school, "SELECT must_change_password FROM school.users WHERE email = %s", (email,)
    )


async def enter_password_twice(pilot, password: str) -> None:
    """Into both fields, each at once (as pasted), Enter after each."""
    app = pilot.app
    for field_id in ("new-password", "repeat-password"):
        field = app.screen.query_one(f"#{field_id}", Input)
        await wait_until(pilot, lambda field=field: app.focused is field, f"focus on {field_id}")
        field.value = password
        field.cursor_position = len(password)
        await pilot.press("enter")


def login(school, email: str, password: str):
    return auth.login(school.target, email, password)


# -- the whole life cycle --------------------------------------------------------------------


@pytest.mark.needs_passwords
async def test_admin_account_lifecycle(password_demo_school):
    school = password_demo_school
    temporary: dict[str, str] = {}

    # 1. The Admin creates Ines, a Student; the temporary password is shown once.
    async def create(pilot, screen):
        await to_the_list(pilot)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, PersonForm), "the form")
        await fill_person_form(pilot, "Ines", "Aguilar", INES, "Student")
        await pilot.press("ctrl+s")
        temporary["first"] = await shown_temporary_password(pilot)

    await admin_app(school, create)
    ines = school.user_id(INES)
    assert (
        scalar(
            school,
            "SELECT (r.name, u.is_active, u.must_change_password)::text FROM school.users u "
            "JOIN school.roles r ON r.id = u.role_id WHERE u.id = %s",
            (ines,),
        )
        == "(Student,t,t)"
    )
    assert groups_of(school, ines) == {"member"}  # a temporary password: no group yet
    assert len(temporary["first"]) >= 15

    # 2. Ines logs in with it and must choose her own password before anything else.
    await change_password_through_the_app(school, INES, temporary["first"], "Student")
    assert groups_of(school, ines) == {"student"}

    # 3.-6. The Admin changes her role, deactivates, reactivates and resets her; each time
    # her own connections and logins show it.
    async def administer(pilot, screen):
        # 3. A Teacher now: her open connection's access changes at once.
        with school.connect_as(ines, INES_PASSWORD, autocommit=True) as conn:
            assert conn.execute("SELECT school.my_role()").fetchone()[0] == "Student"
            conn.execute("SELECT count(*) FROM school.fees")  # a student reads her fees
            await select_person(pilot, screen, "ines", INES)
            await pilot.press("r")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, RolePicker), "roles")
            for _ in range(ROLES.index("Student") - ROLES.index("Teacher")):
                await pilot.press("up")
            await pilot.press("enter")
            await wait_until(
                pilot,
                lambda: [p.role for p in PeoplePage(pilot.app).rows()] == ["Teacher"],
                "the list to show Teacher",
            )
            assert groups_of(school, ines) == {"teacher"}
            assert conn.execute("SELECT school.my_role()").fetchone()[0] == "Teacher"
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("SELECT count(*) FROM school.fees")

        # 4. Deactivated: her open session ends; her login fails like a wrong password.
        session = await asyncio.to_thread(login, school, INES, INES_PASSWORD)
        open_conn = psycopg.connect(session.conninfo, autocommit=True)
        try:
            assert open_conn.execute("SELECT school.me()").fetchone()[0] == ines
            await pilot.press("d")
            await confirm(pilot)
            await wait_until(
                pilot,
                lambda: [p.account for p in PeoplePage(pilot.app).rows()] == ["deactivated"],
                "the list to show her deactivated",
            )
            with pytest.raises(psycopg.OperationalError):
                open_conn.execute("SELECT school.me()")
        finally:
            open_conn.close()
            await asyncio.to_thread(session.close)
        assert groups_of(school, ines) == set()
        with pytest.raises(auth.LoginFailed, match=auth.LOGIN_FAILED):
            await asyncio.to_thread(login, school, INES, INES_PASSWORD)

        # 5. Reactivated: she logs in with the password she had, as a Teacher.
        await pilot.press("d")
        await confirm(pilot)
        await wait_until(
            pilot,
            lambda: [p.account for p in PeoplePage(pilot.app).rows()] == ["active"],
            "the list to show her active",
        )
        session = await asyncio.to_thread(login, school, INES, INES_PASSWORD)
        try:
            assert (session.person.role, session.person.must_change_password) == (
                "Teacher",
                False,
            )
        finally:
            await asyncio.to_thread(session.close)

        # 6. A reset: a new temporary password, shown once.
        await pilot.press("p")
        await confirm(pilot)
        temporary["reset"] = await shown_temporary_password(pilot)
        assert [p.account for p in PeoplePage(pilot.app).rows()] == ["must change password"]

    await admin_app(school, administer)
    assert temporary["reset"] != temporary["first"]
    assert groups_of(school, ines) == {"member"}
    # The old password fails at the login form; the temporary one works and must be changed.
    await change_password_through_the_app(
        school, INES, temporary["reset"], "Teacher", refused_first=INES_PASSWORD
    )
    assert groups_of(school, ines) == {"teacher"}


# -- forms: each field's rule, nothing written on failure, database refusals readable --------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (("", "Reyes", "a@b.example", "Admin"), "first-name", "First name: required."),
        (("   ", "Reyes", "a@b.example", "Admin"), "first-name", "First name: required."),
        (
            ("A" * 101, "Reyes", "a@b.example", "Admin"),
            "first-name",
            "First name: at most 100 characters (you typed 101).",
        ),
        (("Ada", "", "a@b.example", "Admin"), "last-name", "Last name: required."),
        (
            ("Ada", "Re\x1b[2Jyes", "a@b.example", "Admin"),
            "last-name",
            "Last name: no control characters (tabs, escapes, …).",
        ),
        (("Ada", "Reyes", "", "Admin"), "email", "Email: required."),
        (
            ("Ada", "Reyes", "ada@school", "Admin"),
            "email",
            "Email: must look like name@school.example (one @, no spaces, a dot after @).",
        ),
        (
            ("Ada", "Reyes", "ada reyes@school.example", "Admin"),
            "email",
            "Email: must look like name@school.example (one @, no spaces, a dot after @).",
        ),
        (
            ("Ada", "Reyes", "a" * 250 + "@b.example", "Admin"),
            "email",
            "Email: at most 254 characters (you typed 260).",
        ),
        (
            ("Ada", "Reyes", "a@b.example", Select.BLANK),
            "role",
            "Role: choose one of the school's roles.",
        ),
    ],
)
def test_person_form_rules(fields, field, message):
    assert validate_person(*fields, need_role=True) == FieldError(field, message)


def test_person_form_trims_what_it_accepts():
    checked = validate_person("  Ada ", "Reyes  ", " ada@school.example ", "Admin", need_role=True)
    assert (checked.first_name, checked.last_name, checked.email, checked.role) == (
        "Ada",
        "Reyes",
        "ada@school.example",
        "Admin",
    )


async def test_form_writes_nothing_until_valid_and_shows_database_refusals(demo_school):
    school = demo_school
    before = scalar(school, "SELECT count(*) FROM school.users")

    async def action(pilot, screen):
        app = pilot.app
        await to_the_list(pilot)
        await pilot.press("n")
        form = FormPage(app)
        await wait_until(pilot, lambda: form.is_open(PersonForm), "the form")
        await fill_person_form(pilot, "Bea", "Cruz", "bea-at-school", "Registrar")
        await pilot.press("ctrl+s")
        assert form.status().startswith("Email: must look like")
        assert form.focused("email")
        assert scalar(school, "SELECT count(*) FROM school.users") == before
        # A taken email: the database refuses, under the email field; the form stays.
        form.set("email", "ADMIN@demo.school")
        await pilot.press("ctrl+s")
        taken = "Email: ADMIN@demo.school is already used by another person"
        await wait_until(pilot, lambda: taken in form.error("email"), "the refusal")
        assert form.status().startswith("Not saved.")
        assert form.is_open(PersonForm) and form.focused("email")
        assert form.field("email").value == "ADMIN@demo.school"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the People screen")

    await admin_app(school, action)
    assert scalar(school, "SELECT count(*) FROM school.users") == before


async def test_edit_person_and_search_by_role(demo_school):
    school = demo_school

    async def action(pilot, screen):
        app = pilot.app
        people = PeoplePage(app)
        role = people.role_filter
        role.focus()
        await pilot.press("enter")
        overlay = role.query_one(OptionList)
        while str(overlay.get_option_at_index(overlay.highlighted or 0).prompt) != "Guidance":
            await pilot.press("down")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: people.settled() and {p.role for p in people.rows()} == {"Guidance"},
            "only Guidance",
        )
        assert people.table_focused()  # on to the list
        await pilot.press("e")
        form = FormPage(app)
        await wait_until(pilot, lambda: form.is_open(PersonForm), "the form")
        assert form.field("first-name").value == "Gloria"
        form.set("first-name", "Glory")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: [p.first_name for p in people.rows()] == ["Glory"], "saved")

    await admin_app(school, action)
    assert (
        scalar(school, "SELECT first_name FROM school.users WHERE email = 'guidance@demo.school'")
        == "Glory"
    )


async def test_people_list_shows_presence_live_and_fits_80_columns(school):
    """Someone coming online, going away and offline changes their Presence cell (a symbol and
    a word) on the open People screen with no key pressed, in place: the list is not
    reloaded and the cursor stays. All the columns fit the 80-column terminal."""
    school.add_person("Admin", email="a@presence.test", first_name="Ada")
    teacher = school.add_person("Teacher", email="t@presence.test", first_name="Kim")
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "a@presence.test")
        await wait_until(
            pilot,
            lambda: listening(app),
            "the listener",
        )
        screen = await open_people(pilot)
        table = screen.query_one(DataTable)
        columns = list(table.columns.values())
        assert [str(c.label) for c in columns][-1] == "Presence"
        assert (
            sum(c.get_render_width(table) for c in columns) <= table.scrollable_content_region.width
        )

        def cell() -> str:
            return str(table.get_cell(str(teacher), "presence"))

        assert cell() == "○ offline"
        admin_row = table.get_row_index(str(school.user_id("a@presence.test")))
        table.move_cursor(row=admin_row)
        generation = screen.generation
        # The teacher's app would do this from its listener connection (the sweep leaves a
        # connection with the listener's application_name alone).
        with school.connect_as(
            teacher, autocommit=True, application_name="school-tui listener"
        ) as conn:
            for status, shown in (("online", "● online"), ("away", "◐ away")):
                conn.execute("SELECT school.set_my_presence(%s)", (status,))
                await wait_until(pilot, lambda shown=shown: cell() == shown, f"{status} shown")
            conn.execute("SELECT school.set_my_presence('offline')")
            await wait_until(pilot, lambda: cell() == "○ offline", "offline shown")
        assert screen.generation == generation  # no reload: the one cell changed
        assert table.cursor_row == admin_row
        assert str(table.get_cell(str(teacher), "name")) == "Teacher, Kim"


async def test_a_name_in_a_toast_is_shown_literally(school):
    """A name that looks like markup shows as typed in the note after an account change."""
    school.add_person("Admin", email="a@literal.test", first_name="Ada")
    school.add_person("Teacher", email="t@literal.test", first_name="[b]x[/b]", last_name="Quill")
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot, "a@literal.test")
        screen = await open_people(pilot)
        await select_person(pilot, screen, "quill", "t@literal.test")
        await pilot.press("d")
        await confirm(pilot)

        def toasts_shown() -> list[str]:
            return [str(toast.render()) for toast in app.screen.query("Toast")]

        await wait_until(
            pilot,
            lambda: "[b]x[/b] Quill is deactivated." in toasts_shown(),
            "the note, the name as typed",
        )


# -- the database: temporary passwords ---------------------------------------------------------


def _with_temporary_password(school, role: str) -> tuple[int, str]:
    user_id = school.add_person(role, password=None)
    password = people.reset_password(school.admin, user_id)
    return user_id, password


def _school_tables(school) -> list[str]:
    return [
        row[0]
        for row in school.admin.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'school'::regnamespace "
            "AND relkind IN ('r', 'p', 'v', 'm') ORDER BY relname"
        )
    ]


def _rows_or_refused(conn, table: str) -> int | str:
    try:
        with conn.transaction(force_rollback=True):
            return conn.execute(
                sql.SQL("SELECT count(*) FROM school.{}").format(sql.Identifier(table))
            ).fetchone()[0]
    except errors.InsufficientPrivilege:
        return "refused"


@pytest.mark.parametrize("role", ROLES)
def test_a_temporary_password_opens_nothing_but_changing_it(school, role):
    school.add_person("Student", email="someone@fresh.test", password=None)
    user_id, password = _with_temporary_password(school, role)
    with school.connect_as(user_id, password, autocommit=True) as conn:
        assert conn.execute("SELECT school.me(), school.my_role()").fetchone() == (None, None)
        assert conn.execute("SELECT id, must_change_password FROM school.whoami()").fetchall() == [
            (user_id, True)
        ]
        seen = {table: _rows_or_refused(conn, table) for table in _school_tables(school)}
        # The list of role names is no school data (and users_read needs it); nothing else.
        assert {t: n for t, n in seen.items() if n not in ("refused", 0)} == {"roles": 8}
        for call in (
            "SELECT school.create_person('Admin', 'M', 'A', 'm@a.test', "
            "'\\x00112233445566778899aabbccddeeff', 'SCRAM-SHA-256$x', sha256('x'))",
            "SELECT school.set_person_active(1, false)",
            "SELECT school.change_person_role(1, 'Admin')",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                with conn.transaction():
                    conn.execute(call)
        people.change_own_password(conn, conn.info.password, "a brand new passphrase of mine")
    assert groups_of(school, user_id) == {_key(role)}
    with school.connect_as(user_id, "a brand new passphrase of mine") as conn:
        assert conn.execute("SELECT school.my_role()").fetchone()[0] == role
        assert conn.execute("SELECT count(*) FROM school.users").fetchone()[0] >= 1


def _key(role: str) -> str:
    from school_tui.db.connect import APP_ROLE_GROUP

    return APP_ROLE_GROUP[role]


def test_row_level_security_alone_denies_a_temporary_password(school):
    """Even if a DBA gave a temporary-password login its group by hand, every policy asks
    for me(), which is NULL for it: row-level security shows and lets it change nothing."""
    world = {role: school.add_person(role, password=None) for role in ROLES}
    year = add_school_year(school, "2025-2026")
    other_year = add_school_year(school, "2026-2027")
    enroll(school, world["Student"], year)
    fee = add_fee(school, world["Student"], "10")
    school.admin.execute(
        "INSERT INTO school.payments (fee_id, amount_paid, payment_method) VALUES (%s, 1, 'Cash')",
        (fee,),
    )
    rls_tables = [
        row[0]
        for row in school.admin.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'school'::regnamespace "
            "AND relrowsecurity ORDER BY relname"
        )
    ]
    assert {"users", "enrollment_progress", "fees", "payments", "messages"} <= set(rls_tables)
    for role in ("Registrar", "Accounting", "Principal", "Student"):
        user_id, password = _with_temporary_password(school, role)
        login = school.login_role(user_id)
        school.admin.execute(
            sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(school.roles.group(_key(role))), sql.Identifier(login)
            )
        )
        with school.connect_as(user_id, password, autocommit=True) as conn:
            for table in rls_tables:
                assert _rows_or_refused(conn, table) in (0, "refused"), (role, table)
            if role == "Registrar":
                with pytest.raises(errors.InsufficientPrivilege):  # WITH CHECK refuses
                    conn.execute(
                        "INSERT INTO school.enrollment_progress (student_id, school_year_id) "
                        "VALUES (%s, %s)",
                        (world["Student"], other_year),
                    )
            if role == "Accounting":
                # Fees are append-only: refused for everyone, temporary password or not.
                with pytest.raises(errors.InsufficientPrivilege):
                    conn.execute("UPDATE school.fees SET amount = 1")


# -- the database: deactivation, roles, the last Admin ---------------------------------------


def test_a_login_that_slipped_in_before_deactivation_can_do_nothing(school):
    """The race: a login made after the sessions were ended but before NOLOGIN committed.
    Played here by deactivating without ending sessions (a plain UPDATE, as a DBA would):
    the membership goes with the row, so the open connection can read and call nothing."""
    sid = school.add_person("Registrar")
    conn = school.connect_as(sid, autocommit=True)
    try:
        assert conn.execute("SELECT count(*) FROM school.sections").fetchone()[0] == 0
        school.admin.execute("UPDATE school.users SET is_active = false WHERE id = %s", (sid,))
        assert groups_of(school, sid) == set()
        for table in _school_tables(school):
            assert _rows_or_refused(conn, table) == "refused", table
        for call in ("SELECT school.me()", "SELECT * FROM school.whoami()"):
            with pytest.raises(errors.InsufficientPrivilege):
                with conn.transaction():
                    conn.execute(call)
        with pytest.raises(NotAllowed):  # the database's insufficient_privilege
            with conn.transaction():
                people.change_own_password(conn, conn.info.password, "let me back in please, now")
    finally:
        conn.close()
    assert not scalar(
        school, "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (school.login_role(sid),)
    )


def test_role_change_moves_the_login_all_or_nothing(school):
    admin = school.add_person("Admin")
    student = school.add_person("Student")
    year = add_school_year(school, "2025-2026")
    with school.connect_as(admin, autocommit=True) as conn:
        people.change_role(conn, student, "Registrar")
        assert groups_of(school, student) == {"registrar"}
        people.change_role(conn, student, "Student")
        assert groups_of(school, student) == {"student"}
        enroll(school, student, year)
        # Rows that need a Student: refused, and nothing moved.
        with pytest.raises(errors.CheckViolation, match="1 enrollment record"):
            people.change_role(conn, student, "Teacher")
        with pytest.raises(errors.CheckViolation, match="not one of the school's roles"):
            people.change_role(conn, student, "Janitor")
    assert groups_of(school, student) == {"student"}
    assert (
        scalar(
            school,
            "SELECT r.name FROM school.users u JOIN school.roles r ON r.id = u.role_id "
            "WHERE u.id = %s",
            (student,),
        )
        == "Student"
    )


def test_the_last_active_admin_stays(school):
    first = school.add_person("Admin")
    su = school.admin  # even a superuser (the CLI) cannot leave the school without an Admin
    with pytest.raises(errors.CheckViolation, match="last active Admin"):
        people.set_active(su, first, False)
    with pytest.raises(errors.CheckViolation, match="last active Admin"):
        people.change_role(su, first, "Teacher")

    second = school.add_person("Admin")
    with school.connect_as(first, autocommit=True) as conn:
        # Nobody changes their own role, activity or password through these functions.
        with pytest.raises(errors.CheckViolation, match="yourself"):
            people.set_active(conn, first, False)
        with pytest.raises(errors.CheckViolation, match="your own role"):
            people.change_role(conn, first, "Teacher")
        with pytest.raises(errors.CheckViolation, match="your own password"):
            people.reset_password(conn, first)
        people.set_active(conn, second, False)  # one active Admin is left: allowed
    with school.connect_as(first, autocommit=True) as conn:
        # A deactivated Admin does not count: the first is the last active one again.
        with pytest.raises(errors.CheckViolation, match="last active Admin"):
            people.change_role(su, first, "Teacher")
        people.set_active(conn, second, True)
    with school.connect_as(second, autocommit=True) as conn:
        people.change_role(conn, first, "Principal")
    assert groups_of(school, first) == {"principal"}
    assert groups_of(school, second) == {"admin"}


def test_an_admin_resets_a_password_from_their_own_connection(school):
    """Resetting a password never reads users.login_role, which only superusers may."""
    admin = school.add_person("Admin")
    teacher = school.add_person("Teacher")
    with school.connect_as(admin, autocommit=True) as conn:
        temporary = people.reset_password(conn, teacher)
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT login_role FROM school.users WHERE id = %s", (teacher,))
    assert len(temporary) >= 15
    assert groups_of(school, teacher) == {"member"}
    with school.connect_as(teacher, temporary) as conn:
        assert conn.execute("SELECT school.me()").fetchone()[0] is None


def test_change_own_password_changes_only_ones_own(school):
    me = school.add_person("Teacher")
    other = school.add_person("Teacher")
    verifiers = "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(%s)"
    logins = [school.login_role(me), school.login_role(other)]
    before = dict(school.admin.execute(verifiers, (logins,)).fetchall())
    with school.connect_as(me, autocommit=True) as conn:
        people.change_own_password(conn, conn.info.password, "mine and only mine, thank you")
    after = dict(school.admin.execute(verifiers, (logins,)).fetchall())
    assert after[logins[0]] != before[logins[0]]
    assert after[logins[1]] == before[logins[1]]


def test_update_person_names_the_field(school):
    admin = school.add_person("Admin")
    sid = school.add_person("Student", email="one@fresh.test")
    school.add_person("Student", email="two@fresh.test")
    with school.connect_as(admin, autocommit=True) as conn:
        people.update_person(conn, sid, first_name="Uno", last_name="First", email="uno@fresh.test")
        for fields, error, match in (
            (("", "X", "a@b.test"), errors.CheckViolation, "first name: required"),
            (("X", "Y" * 101, "a@b.test"), errors.CheckViolation, "last name: at most 100"),
            (("X", "Y", "no-at-sign"), errors.CheckViolation, "email: must look like"),
            (("X", "Y", "TWO@fresh.test"), errors.UniqueViolation, "email: TWO@fresh.test is"),
        ):
            first, last, email = fields
            with pytest.raises(error, match=match):
                people.update_person(conn, sid, first_name=first, last_name=last, email=email)
    assert school.admin.execute(
        "SELECT first_name, last_name, email FROM school.users WHERE id = %s", (sid,)
    ).fetchone() == ("Uno", "First", "uno@fresh.test")


def test_search_people_pages_by_key_and_matches_words(demo_school):
    school = demo_school
    conn = school.admin
    everyone, after = [], None
    while True:
        page = people.search_people(conn, "", None, after=after, limit=37)
        everyone += page
        if len(page) < 37:
            break
        after = page[-1].key
    assert len(everyone) == scalar(school, "SELECT count(*) FROM school.users")
    assert len({p.id for p in everyone}) == len(everyone)
    assert [p.key for p in everyone] == sorted(p.key for p in everyone)

    assert [p.email for p in people.search_people(conn, "ada REYES")] == ["admin@demo.school"]
    assert [p.email for p in people.search_people(conn, "demo.school", "Registrar")] == [
        "registrar@demo.school"
    ]
    assert people.search_people(conn, "%") == []  # LIKE's wildcards are plain characters
    assert people.search_people(conn, "_") == []
    students = people.search_people(conn, "", "Student", limit=500)
    assert len(students) == scalar(
        school,
        "SELECT count(*) FROM school.users u JOIN school.roles r ON r.id = u.role_id "
        "WHERE r.name = 'Student'",
    )


def test_the_membership_rule_refuses_what_it_cannot_undo(school):
    """A group membership granted by hand by someone else is not the school's to revoke:
    deactivating then fails loudly instead of leaving the login a group's privileges."""
    sid = school.add_person("Student")
    login = school.login_role(sid)
    other_grantor = f"{school.roles.prefix}_dba_{secrets.token_hex(2)}"
    su = school.admin
    su.execute(sql.SQL("CREATE ROLE {} CREATEROLE").format(sql.Identifier(other_grantor)))
    try:
        su.execute(
            sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(
                sql.Identifier(school.roles.group("teacher")), sql.Identifier(other_grantor)
            )
        )
        su.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(other_grantor)))
        su.execute(
            sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(school.roles.group("teacher")), sql.Identifier(login)
            )
        )
        su.execute("RESET ROLE")
        if su.info.server_version < 160000:
            pytest.skip("before PostgreSQL 16 any CREATEROLE role revokes any membership")
        with pytest.raises(errors.ObjectInUse, match="grant made outside the app"):
            people.set_active(su, sid, False)
        assert scalar(school, "SELECT is_active FROM school.users WHERE id = %s", (sid,))
    finally:
        su.execute("RESET ROLE")
        su.execute(
            sql.SQL("REVOKE {} FROM {} GRANTED BY {}").format(
                sql.Identifier(school.roles.group("teacher")),
                sql.Identifier(login),
                sql.Identifier(other_grantor),
            )
        )
        su.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(other_grantor)))
        su.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(other_grantor)))


@pytest.mark.needs_passwords
@pytest.mark.parametrize("how", ["deactivated", "password reset"])
async def test_the_app_of_a_person_whose_session_was_ended_returns_to_the_login(
    password_school, how
):
    school = password_school
    user_id = school.add_person("Teacher", email="tess@test.school")
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "tess@test.school")
        if how == "deactivated":
            people.set_active(school.admin, user_id, False)
        else:
            people.reset_password(school.admin, user_id)
        await wait_until(
            pilot, lambda: login_status(app).startswith("Your session was ended"), "the login"
        )
        assert app.session is None
        assert app.connected
        assert not app.screen.query("ConnectionBanner.-lost")


async def test_a_connection_limit_reached_is_an_outage_not_the_end_of_the_session(school):
    """'too many connections for role "…"' names the login, but the login was not refused:
    the person stays logged in behind the connection banner, and it lifts once connections
    are allowed again (the reconnect check once took it for a deactivation)."""
    user_id = school.add_person("Teacher", email="tess@limit.test")
    login = sql.Identifier(school.login_role(user_id))
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "tess@limit.test")
        await wait_until(pilot, lambda: app.session.listener.backend_pid is not None, "listener")
        home = app.screen
        school.admin.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT 0").format(login))
        try:
            school.admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (school.login_role(user_id),),
            )
            await wait_until(pilot, lambda: not app.connected, "the banner")
            # Each reconnect attempt is refused for the limit meanwhile: still logged in.
            refused = lambda: school.admin.execute(  # noqa: E731
                "SELECT count(*) FROM pg_stat_activity WHERE usename = %s",
                (school.login_role(user_id),),
            ).fetchone()[0]
            assert refused() == 0
            assert app.session is not None
        finally:
            school.admin.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT -1").format(login))
        await wait_until(pilot, lambda: app.connected, "the banner to lift")
        assert app.session is not None and app.screen is home
        assert not login_status(app).startswith("Your session was ended")
