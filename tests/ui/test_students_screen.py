"""The registrar's students screen, driven by keys as at the office counter (Pilot, 80x24):
find a student and advance their enrollment in a few keys; create one through the form,
whose refusals name the field; edit one (`e`); the student's page."""

from __future__ import annotations

from school_tui.app import SchoolApp
from school_tui.screens.registrar.students import (
    AdvanceModal,
    StudentForm,
    StudentsScreen,
)
from tests.builders import pending_student_in_a_section, verified_student
from tests.harness import burst, log_in, wait_until
from tests.pages import FormPage, StudentPagePage, StudentsPage

SIZE = (80, 24)


def scalar(school, query: str, params=()):
    return school.admin.execute(query, params).fetchone()[0]


async def open_students(pilot) -> StudentsScreen:
    await pilot.press("s")
    await wait_until(
        pilot, StudentsPage(pilot.app).search_focused, "the students screen, search focused"
    )
    return pilot.app.screen


async def test_find_a_student_and_advance_them_in_a_few_keys(demo_school):
    school = demo_school
    verified = verified_student(school)
    student_id, number, enrollment_id = verified.id, verified.number, verified.enrollment_id
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        counted: list[str] = []

        async def press(*keys: str) -> None:
            counted.extend(keys)
            await pilot.press(*keys)

        screen = None
        counted.append("s")
        screen = await open_students(pilot)
        await pilot.press(*number)  # the search text (not counted)
        students = StudentsPage(app)
        await wait_until(pilot, lambda: students.ids() == [student_id], "the one match")
        await press("enter")  # to the list, the match highlighted
        await press("a")  # advance
        await wait_until(pilot, lambda: isinstance(app.screen, AdvanceModal), "the question")
        assert "Verified  →  Payment Complete" in FormPage(app).note()
        # The student owes required fees: Payment Complete by hand says why (not counted,
        # like the search text).
        await pilot.press(*"pays in June")
        await press("enter")  # do it
        await wait_until(
            pilot,
            lambda: app.screen is screen and students.cells()[0][3] == "Payment Complete",
            "the new status in the list",
        )
        assert len(counted) - 1 <= 6, counted  # after the key that opened the screen
        assert len(counted) == 4
    assert (
        scalar(
            school,
            "SELECT current_status FROM school.enrollment_progress WHERE id = %s",
            (enrollment_id,),
        )
        == "Payment Complete"
    )
    last = school.admin.execute(
        "SELECT h.from_status, h.to_status, u.email FROM school.enrollment_history h "
        "JOIN school.users u ON u.id = h.changed_by WHERE h.enrollment_id = %s "
        "ORDER BY h.id DESC LIMIT 1",
        (enrollment_id,),
    ).fetchone()
    assert last == ("Verified", "Payment Complete", "registrar@demo.school")


async def test_search_enter_a_enter_typed_as_one_burst_advances_the_first_match(demo_school):
    """The counter path typed in one go (a fast registrar, a slow SSH link): `a` waits for
    the search's results, and the last Enter for the question (school_tui/textual_internals/typeahead.py)."""
    school = demo_school
    verified = verified_student(school)
    number, enrollment_id = verified.number, verified.enrollment_id
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        screen = await open_students(pilot)
        students = StudentsPage(app)
        # (the student owes required fees: Payment Complete by hand takes a remark)
        await burst(pilot, *number, "enter", "a", *"pays in June", "enter")
        await wait_until(
            pilot,
            lambda: (
                app.screen is screen
                and students.cells()
                and students.cells()[0][3] == "Payment Complete"
            ),
            "the new status in the list",
        )
        assert [row[0] for row in students.cells()] == [number]
        assert students.search_field.value == number  # no stray "a"
        assert students.table_focused()
        assert app.typeahead.waiting == 0
    assert (
        scalar(
            school,
            "SELECT current_status FROM school.enrollment_progress WHERE id = %s",
            (enrollment_id,),
        )
        == "Payment Complete"
    )
    history = school.admin.execute(
        "SELECT from_status, to_status FROM school.enrollment_history "
        "WHERE enrollment_id = %s ORDER BY id DESC LIMIT 1",
        (enrollment_id,),
    ).fetchone()
    assert history == ("Verified", "Payment Complete")  # advanced once


async def test_create_a_student_the_form_names_the_bad_field_then_the_page(demo_school):
    school = demo_school
    before = scalar(school, "SELECT count(*) FROM school.users")
    taken = scalar(school, "SELECT min(student_number) FROM school.student_profiles")
    section = scalar(
        school,
        "SELECT id FROM school.sections WHERE grade_level = 'Grade 8' AND name = 'Mabini'",
    )
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        screen = await open_students(pilot)
        await pilot.press("down")  # to the list: `n` would be text in the search box
        await pilot.press("n")
        form = FormPage(app)
        await wait_until(pilot, lambda: form.is_open(StudentForm), "the form")
        await wait_until(pilot, lambda: form.choices("section") > 1, "the sections")
        for field, value in (
            ("first-name", "Bea"),
            ("last-name", "Quintos"),
            ("email", "bea.quintos@demo.school"),
            ("student-number", taken),
            ("birth-date", "31/05/2013"),
            ("guardian-phone", "+63 917 555 0101"),
        ):
            form.set(field, value)
        form.set("section", section)
        await pilot.press("ctrl+s")
        assert form.status() == "Birth date: must be a date like 2012-05-31"
        assert form.focused("birth-date")
        form.set("birth-date", "2013-05-31")
        await pilot.press("ctrl+s")  # the database refuses the taken student number
        await wait_until(pilot, lambda: form.status().startswith("Not saved."), "the refusal")
        taken_rule = f"Student number: {taken} already belongs to another student"
        assert taken_rule in form.status() and taken_rule in form.error("student-number")
        assert form.focused("student-number")
        assert scalar(school, "SELECT count(*) FROM school.users") == before
        form.set("student-number", "2026-09999")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen, "back on the list")
        await pilot.press("slash", *"quintos")
        students = StudentsPage(app)
        await wait_until(
            pilot,
            lambda: [h.student_number for h in students.rows()] == ["2026-09999"],
            "found",
        )
        await pilot.press("enter", "enter")  # to the list, open the page
        page = StudentPagePage(app)
        await wait_until(pilot, page.loaded, "the student's page")
        details = page.details()
        assert "Grade 8 - Mabini (2026-2027)" in details
        assert "Pending" in details
        assert "0.00 billed" in details
        assert page.history()[0][2:4] == ["—", "Pending"]
    assert scalar(school, "SELECT count(*) FROM school.users") == before + 1


async def test_edit_a_student_through_the_screen_clearing_the_section(demo_school):
    """`e` on the list opens the student's details; a changed guardian and "— (none)" for the
    section are saved (the section really emptied); the page shows a remark added without a
    change of status as a note in the history."""
    school = demo_school
    registrar = school.user_id("registrar@demo.school")
    pending = pending_student_in_a_section(school)
    student_id, number, enrollment_id = pending.id, pending.number, pending.enrollment_id
    status = pending.status
    with school.connect_as(registrar, autocommit=True) as conn:
        conn.execute(
            "UPDATE school.enrollment_progress SET remarks = 'birth certificate promised' "
            "WHERE id = %s",
            (enrollment_id,),
        )
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        screen = await open_students(pilot)
        await pilot.press(*number)
        students = StudentsPage(app)
        await wait_until(pilot, lambda: students.ids() == [student_id], "the match")
        await pilot.press("enter", "e")
        form = FormPage(app)
        await wait_until(pilot, lambda: form.is_open(StudentForm), "the form")
        section = form.field("section")
        await wait_until(pilot, lambda: not section.is_blank(), "the student's section")
        assert form.field("student-number").value == number
        form.set("guardian-name", "Lorna Edited")
        section.clear()  # "— (none)"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen, "back on the list")
        await wait_until(
            pilot,
            lambda: " - " not in students.cells()[0][2],  # grade, no section
            "the list without the section",
        )
        await pilot.press("enter")
        page = StudentPagePage(app)
        await wait_until(pilot, page.loaded, "the student's page")
        details = page.details()
        assert "not assigned" in details and "Lorna Edited" in details
        newest = page.history()[0]
        assert newest[2:4] == [status, "(note)"]
        assert newest[5] == "birth certificate promised"
    saved = school.admin.execute(
        "SELECT p.guardian_name, e.section_id FROM school.student_profiles p "
        "JOIN school.enrollment_progress e ON e.student_id = p.user_id WHERE e.id = %s",
        (enrollment_id,),
    ).fetchone()
    assert saved == ("Lorna Edited", None)


async def test_payment_complete_by_hand_without_a_remark_is_refused_under_the_remark(demo_school):
    """The student owes required fees: the form says a remark is needed, the database refuses
    the advance without one (under the remark, the form stays), and takes it with one."""
    school = demo_school
    verified = verified_student(school)
    app = SchoolApp(school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "registrar@demo.school")
        screen = await open_students(pilot)
        await pilot.press(*verified.number)
        await wait_until(pilot, lambda: len(StudentsPage(app).rows()) == 1, "the one match")
        await pilot.press("enter", "a")
        form = FormPage(app)
        await wait_until(pilot, lambda: form.ready(AdvanceModal), "the question")
        assert "a remark saying why is needed for Payment Complete" in form.note()
        await pilot.press("enter")
        await wait_until(pilot, lambda: form.error("advance-remark"), "the refusal")
        assert "required fees unpaid" in form.error("advance-remark")
        assert form.status().startswith("Not saved.")
        assert form.focused("advance-remark")
        await pilot.press(*"pays in June", "enter")
        await wait_until(pilot, lambda: app.screen is screen, "the form closed")
    status = scalar(
        school,
        "SELECT current_status FROM school.enrollment_progress WHERE id = %s",
        (verified.enrollment_id,),
    )
    assert status == "Payment Complete"
