"""Logging in through the real login form (Textual Pilot) as every demo user, refused logins,
logging out, and the demo template's shared logins surviving what a test does to them."""

from __future__ import annotations

import statistics
import time

import pytest

from school_tui.app import SchoolApp
from school_tui.auth import login as auth
from school_tui.db import people
from school_tui.screens.auth.login import LoginScreen
from school_tui.screens.homes.base import RoleHome
from school_tui.server import demo
from tests.harness import (
    DEMO_PASSWORD,
    burst,
    home_loaded,
    log_in,
    login_status,
    submit_login,
    wait_until,
)
from tests.pages import CashierPage, HomePage, LoginPage, notes

SIZE = (80, 24)


def money(value) -> str:
    return f"{value:,.2f}"


def scalar(school, query: str, params=()):
    return school.admin.execute(query, params).fetchone()[0]


# -- what each role's home must show, checked against SQL run as the superuser ------------------


def check_admin(app, school):
    roles = {row[0]: row for row in HomePage(app).rows("roles")}
    students = scalar(
        school,
        "SELECT count(*) FROM school.users u JOIN school.roles r "
        "ON r.id = u.role_id WHERE r.name = 'Student' AND u.is_active",
    )
    assert students == demo.STUDENTS
    assert roles["Student"] == ["Student", str(students), "0"]
    assert len(HomePage(app).rows("people")) == scalar(school, "SELECT count(*) FROM school.users")
    assert ["Reyes, Ada", "admin@demo.school", "Admin", "active"] == HomePage(app).rows("people")[
        0
    ][:4]


def _pipeline(school) -> dict[str, str]:
    rows = school.admin.execute(
        "SELECT current_status, count(*) FROM school.enrollment_progress GROUP BY 1"
    ).fetchall()
    return {status: str(count) for status, count in rows}


def check_principal(app, school):
    shown = dict(tuple(row) for row in HomePage(app).rows("enrollment"))
    assert shown == _pipeline(school)
    finances = dict(tuple(row) for row in HomePage(app).rows("finances"))
    assert finances["Billed"] == money(scalar(school, "SELECT sum(amount) FROM school.fees"))


def check_coordinator(app, school):
    subjects = HomePage(app).rows("subjects")
    assert len(subjects) == scalar(school, "SELECT count(*) FROM school.subjects")
    assert {row[2] for row in subjects} == set(demo.SUBJECTS)


def check_teacher(app, school):
    tasks = HomePage(app).rows("tasks")
    assert len(tasks) == scalar(
        school,
        "SELECT count(*) FROM school.tasks t JOIN school.users u ON u.id = t.teacher_id "
        "WHERE u.email = 'teacher@demo.school'",
    )
    assert len(tasks) == 9
    assert {row[4] for row in tasks} == {"Garcia, Tomas"}  # row-level security: only theirs
    assert {row[2] for row in tasks} == {
        "Quadratic equations",
        "Lab report: pendulum",
        "First quarter exam",
    }


def check_student(app, school):
    summary = HomePage(app).summary()
    assert "2026-2027 · Grade 10 - Rizal · Status: Enrolled" in summary
    history = HomePage(app).rows("enrollment")
    assert history and history[0][2].endswith("Enrolled")  # newest change first
    fees = HomePage(app).rows("fees")
    expected = scalar(
        school,
        "SELECT count(*) FROM school.fees f JOIN school.users u ON u.id = f.student_id "
        "WHERE u.email = 'student@demo.school'",
    )
    assert len(fees) == expected + 1 and fees[-1][0] == "Total"  # the student's own, a total


def check_guidance(app, school):
    reports = HomePage(app).rows("reports")
    assert len(reports) == scalar(school, "SELECT count(*) FROM school.guidance_reports") == 5
    assert all(row[2] == "Ramos, Gloria" for row in reports)


def check_registrar(app, school):
    shown = dict(tuple(row) for row in HomePage(app).rows("pipeline"))
    expected = _pipeline(school)
    assert {k: v for k, v in shown.items() if v != "0"} == expected
    assert len(HomePage(app).rows("sections")) == 18


def check_accounting(app, school):
    summary = dict(tuple(row) for row in HomePage(app).rows("summary"))
    billed = scalar(school, "SELECT sum(amount) FROM school.fees")
    adjusted = scalar(
        school,
        "SELECT coalesce(sum(a.amount), 0) FROM school.adjustments a WHERE NOT EXISTS "
        "(SELECT 1 FROM school.reversals r WHERE r.adjustment_id = a.id)",
    )
    collected = scalar(
        school,
        "SELECT coalesce(sum(p.amount_paid), 0) FROM school.payments p WHERE NOT EXISTS "
        "(SELECT 1 FROM school.reversals r WHERE r.payment_id = p.id)",
    )
    assert summary["Billed"] == money(billed)
    assert summary["Collected"] == money(collected)
    assert summary["Outstanding"] == money(billed - adjusted - collected)


CHECKS = {
    "Admin": check_admin,
    "Principal": check_principal,
    "Academic Coordinator": check_coordinator,
    "Teacher": check_teacher,
    "Student": check_student,
    "Guidance": check_guidance,
    "Registrar": check_registrar,
    "Accounting": check_accounting,
}


@pytest.mark.parametrize("email", list(demo.DEMO_LOGINS))
async def test_demo_login_reaches_the_roles_home(demo_school, email):
    role, first, last = demo.DEMO_LOGINS[email]
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, email)
        screen = app.screen
        assert isinstance(screen, RoleHome)
        assert screen.ROLE == role
        assert app.session.person.email == email
        title = HomePage(app).title()
        assert title == f"{role} home · {first} {last} · {email}"
        CHECKS[role](app, demo_school)
    last_login = scalar(
        demo_school, "SELECT last_login FROM school.users WHERE email = %s", (email,)
    )
    assert last_login is not None


@pytest.mark.needs_passwords
@pytest.mark.parametrize(
    "email",
    ["student@demo.school", "nobody@demo.school"],
    ids=["wrong-password", "unknown-email"],
)
async def test_refused_login_stays_on_the_login_screen(password_demo_school, email):
    app = SchoolApp(password_demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await submit_login(pilot, email, "not-the-password", typed=True)
        await wait_until(
            pilot, lambda: login_status(app) == auth.LOGIN_FAILED, "the refusal message"
        )
        form = LoginPage(app)
        assert form.is_open()
        assert app.session is None
        assert form.refused()
        assert form.password_field.value == ""
        assert form.password_focused()
        assert form.email_field.value == email
        # And the right password still works from there.
        await pilot.press(*DEMO_PASSWORD, "enter")
        if email in demo.DEMO_LOGINS:
            await wait_until(pilot, lambda: home_loaded(app), "the home after a retry")
        else:
            await wait_until(
                pilot, lambda: login_status(app) == auth.LOGIN_FAILED, "a second refusal"
            )


async def test_empty_fields_are_refused_before_any_database_work(demo_school):
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await submit_login(pilot, "", "")
        form = LoginPage(app)
        assert form.status() == "Email: required."
        assert form.email_focused()
        await submit_login(pilot, "student@demo.school", "")
        assert form.status() == "Password: required."
        assert form.password_focused()
        assert isinstance(app.screen, LoginScreen)
        assert app.session is None


async def test_logout_returns_to_login_and_closes_the_pool(demo_school):
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "teacher@demo.school")
        session = app.session
        login_role = demo_school.login_role(session.person.id)
        assert not session.pool.closed
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, LoginScreen), "login screen")
        assert app.session is None
        await wait_until(pilot, lambda: session.pool.closed, "the pool to close")
        await wait_until(
            pilot,
            lambda: (
                scalar(
                    demo_school,
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = %s",
                    (login_role,),
                )
                == 0
            ),
            "the person's connections to end",
        )
        # The fresh login form works again, for somebody else.
        await log_in(pilot, "student@demo.school")
        assert app.screen.ROLE == "Student"


@pytest.mark.needs_passwords
def test_wrong_password_and_unknown_email_take_similar_time(password_demo_school):
    """A sanity check that the decoy path does the same work (not a benchmark)."""
    target = password_demo_school.target
    tries = {"wrong password": [], "unknown email": []}
    emails = {"wrong password": "registrar@demo.school", "unknown email": "ghost@demo.school"}
    for _ in range(3):  # each refusal waits auth_delay (1 s); benchmarks/auth.py measures
        for kind, email in emails.items():  # interleaved, so drift hits both alike
            started = time.perf_counter()
            with pytest.raises(auth.LoginFailed) as refused:
                auth.login(target, email, "wrong-password")
            tries[kind].append(time.perf_counter() - started)
            assert str(refused.value) == auth.LOGIN_FAILED
    ratio = statistics.median(tries["unknown email"]) / statistics.median(tries["wrong password"])
    assert 0.7 <= ratio <= 1.4, tries


# -- the harness: clones of the demo template share its logins ----------------------------------


@pytest.mark.needs_passwords
def test_demo_logins_outlive_a_clone_that_changed_them(password_school_factory):
    factory = password_school_factory
    first = factory.create(demo=True)
    teacher_id = first.user_id("teacher@demo.school")
    student_id = first.user_id("student@demo.school")
    registrar_id = first.user_id("registrar@demo.school")
    people.set_password(first.admin, student_id, "a-new-password-for-sofia", temporary=False)
    first.admin.execute("SELECT school.set_person_active(%s, false)", (teacher_id,))
    first.admin.execute("SELECT school.change_person_role(%s, 'Principal')", (registrar_id,))
    own = first.add_person("Teacher")
    own_login = first.login_role(own)
    demo_login = first.login_role(teacher_id)
    factory.drop(first)

    second = factory.create(demo=True)
    try:
        with factory.server.admin() as conn:
            roles = {
                row[0]
                for row in conn.execute(
                    "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                    ([own_login, demo_login],),
                )
            }
        assert roles == {demo_login}  # the test's own login went, the shared one stayed
        for email, role in (
            ("teacher@demo.school", "Teacher"),
            ("student@demo.school", "Student"),
            ("registrar@demo.school", "Registrar"),
        ):
            session = auth.login(second.target, email, DEMO_PASSWORD)
            try:  # the login's group is the one of its role here, as loaded
                assert (
                    session.run(lambda conn: conn.execute("SELECT school.my_role()").fetchone()[0])
                    == role
                )
                session.run(lambda conn: conn.execute("SELECT count(*) FROM school.sections"))
            finally:
                session.close()
    finally:
        factory.drop(second)


# -- type-ahead: the keys of a burst land where the person meant them ---------------------------


async def test_email_enter_password_enter_typed_as_one_burst_logs_in(demo_school):
    """A clerk types the login and the first command as one burst (a fast typist, a paste, a
    slow SSH link): the password reaches the password field, not the email's, and the key
    typed after the last Enter waits for the home (school_tui/textual_internals/typeahead.py)."""
    from school_tui.screens.accounting.cashier import CashierScreen

    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        form = LoginPage(app)
        await wait_until(pilot, form.email_focused, "the login form, focus on the email")
        await burst(pilot, *"accounting@demo.school", "enter", *DEMO_PASSWORD, "enter", "p")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, CashierScreen) or "error" in login_status(app),
            "the cashier, opened from the home by the `p` typed ahead",
        )
        assert login_status(app) == ""
        assert isinstance(app.screen, CashierScreen)
        assert app.session.person.email == "accounting@demo.school"
        cashier = CashierPage(app)
        student = cashier.student_field
        # The screen focuses its field once mounted: not necessarily as it is pushed.
        await wait_until(pilot, lambda: cashier.focused(student), "focus on the student field")
        assert student.value == ""


@pytest.mark.needs_passwords
async def test_keys_typed_after_a_refused_login_are_dropped_not_typed_into_the_form(
    password_demo_school,
):
    app = SchoolApp(password_demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        form = LoginPage(app)
        await wait_until(pilot, form.email_focused, "the login form, focus on the email")
        await burst(pilot, *"student@demo.school", "enter", *"wrong-one", "enter", *"abc")
        await wait_until(
            pilot, lambda: login_status(app) == auth.LOGIN_FAILED, "the refusal message"
        )
        # Dropped, and said so: they were typed for the home, not for this form.
        note = "3 keys typed ahead not used: see the message, then type again."
        await wait_until(pilot, lambda: note in notes(app), "the note")
        assert app.typeahead.waiting == 0
        assert form.email_field.value == "student@demo.school"
        assert form.password_field.value == ""  # not "abc"
        assert form.password_focused()
