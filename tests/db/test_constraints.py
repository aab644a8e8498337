"""Bad rows are refused by the database itself (CHECK, NOT NULL, FK, UNIQUE, triggers), whoever
writes them: these run as the superuser, who bypasses every grant and policy but no constraint.

Each case is one statement against a small fresh school (the `base` fixture's rows), with the
error class PostgreSQL must raise. GOOD_ROWS are the near misses that must still be accepted,
so the constraints are proved no stricter than the design.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors, sql

from school_tui.db import people


@pytest.fixture
def base(school) -> dict[str, int]:
    """One of each row the cases refer to; people without passwords (no argon2)."""
    ids: dict[str, int] = {}
    for key, role in (
        ("student", "Student"),
        ("student2", "Student"),
        ("teacher", "Teacher"),
        ("counselor", "Guidance"),
        ("accountant", "Accounting"),
    ):
        ids[key] = school.add_person(role, email=f"{key}@constraints.test", password=None)
    admin = school.admin

    def add(query: str, **params) -> int:
        return admin.execute(query, {**ids, **params}).fetchone()[0]

    ids["year"] = add(
        "INSERT INTO school.school_years (name, starts_on, ends_on, is_current) "
        "VALUES ('2025-2026', '2025-06-01', '2026-05-31', true) RETURNING id"
    )
    ids["old_year"] = add(
        "INSERT INTO school.school_years (name, starts_on, ends_on) "
        "VALUES ('2024-2025', '2024-06-01', '2025-05-31') RETURNING id"
    )
    ids["section"] = add(
        "INSERT INTO school.sections (name, grade_level, school_year_id, adviser_id) "
        "VALUES ('Rizal', 'Grade 7', %(year)s, %(teacher)s) RETURNING id"
    )
    ids["enrollment"] = add(
        "INSERT INTO school.enrollment_progress (student_id, school_year_id, section_id) "
        "VALUES (%(student)s, %(year)s, %(section)s) RETURNING id"
    )
    ids["fee"] = add(
        "INSERT INTO school.fees (student_id, fee_type, amount) "
        "VALUES (%(student)s, 'Tuition', 1000) RETURNING id"
    )
    ids["payment"] = add(
        "INSERT INTO school.payments (fee_id, amount_paid, payment_method, recorded_by) "
        "VALUES (%(fee)s, 250, 'Cash', %(accountant)s) RETURNING id"
    )
    ids["missing"] = 2_000_000_000
    return ids


def _fee(amount: str) -> str:
    return (
        "INSERT INTO school.fees (student_id, fee_type, amount) "  # noqa: S608 - test constants
        f"VALUES (%(student)s, 'Tuition', {amount})"
    )


def _payment(amount: str, method: str = "'Cash'") -> str:
    return (
        "INSERT INTO school.payments (fee_id, amount_paid, payment_method) "  # noqa: S608 - test constants
        f"VALUES (%(fee)s, {amount}, {method})"
    )


def _message(text: str, receiver: str = "%(teacher)s") -> str:
    return (
        "INSERT INTO school.messages (sender_id, receiver_id, message) "  # noqa: S608 - test constants
        f"VALUES (%(student)s, {receiver}, {text})"
    )


def _task(extra_columns: str = "", extra_values: str = "", task_type: str = "'Quiz'") -> str:
    return (
        f"INSERT INTO school.tasks (teacher_id, section_id, title, task_type{extra_columns}) "  # noqa: S608 - test constants
        f"VALUES (%(teacher)s, %(section)s, 'Quiz 1', {task_type}{extra_values})"
    )


ENROLL = "INSERT INTO school.enrollment_progress (student_id, school_year_id, current_status) "
YEAR = "INSERT INTO school.school_years (name, starts_on, ends_on, is_current) "
SECTION = "INSERT INTO school.sections (name, grade_level, school_year_id, adviser_id, capacity) "
MODULE = "INSERT INTO school.modules (teacher_id, section_id, title, file_url) "
MEETING = "INSERT INTO school.meetings (host_id, section_id, title, meeting_link, scheduled_at) "
GUIDANCE = "INSERT INTO school.guidance_reports (student_id, counselor_id, report) "
EVENT = "INSERT INTO school.events (title, start_date, end_date) "

BAD_ROWS = {
    # Closed vocabularies.
    "enrollment_unknown_status": (
        ENROLL + "VALUES (%(student)s, %(old_year)s, 'Graduated')",
        errors.CheckViolation,
    ),
    "task_unknown_type": (_task(task_type="'Essay'"), errors.CheckViolation),
    "fee_unknown_type": (
        "INSERT INTO school.fees (student_id, fee_type, amount) VALUES (%(student)s, 'Bribe', 10)",
        errors.ForeignKeyViolation,  # fee_types is the list
    ),
    "payment_unknown_method": (_payment("10", "'Bitcoin'"), errors.CheckViolation),
    "section_unknown_grade": (
        SECTION + "VALUES ('X', 'Grade 13', %(year)s, NULL, 30)",
        errors.CheckViolation,
    ),
    "role_unknown_name": (
        "INSERT INTO school.roles (name) VALUES ('Janitor')",
        errors.CheckViolation,
    ),
    # Money: numeric(10,2), strictly positive. 0.001 and 0.004 round to 0.00 before the CHECK.
    "fee_amount_zero": (_fee("0"), errors.CheckViolation),
    "fee_amount_negative": (_fee("-1.00"), errors.CheckViolation),
    "fee_amount_rounds_to_zero": (_fee("0.001"), errors.CheckViolation),
    "fee_amount_0_004_rounds_to_zero": (_fee("0.004"), errors.CheckViolation),
    "fee_amount_null": (_fee("NULL"), errors.NotNullViolation),
    "fee_amount_too_large": (_fee("100000000.00"), errors.NumericValueOutOfRange),
    "fee_amount_absurd": (_fee("10000000.00"), errors.CheckViolation),
    "payment_amount_absurd": (_payment("10000000.00"), errors.CheckViolation),
    "payment_amount_zero": (_payment("0"), errors.CheckViolation),
    "payment_amount_negative": (_payment("-5"), errors.CheckViolation),
    "payment_amount_rounds_to_zero": (_payment("0.001"), errors.CheckViolation),
    "payment_method_null": (_payment("10", "NULL"), errors.NotNullViolation),
    "payment_unknown_fee": (
        "INSERT INTO school.payments (fee_id, amount_paid, payment_method) "
        "VALUES (%(missing)s, 10, 'Cash')",
        errors.ForeignKeyViolation,
    ),
    # Dates.
    "event_ends_before_start": (
        EVENT + "VALUES ('Fair', '2026-01-02 10:00+00', '2026-01-02 09:59+00')",
        errors.CheckViolation,
    ),
    "school_year_ends_before_start": (
        YEAR + "VALUES ('2030-2031', '2031-05-31', '2030-06-01', false)",
        errors.CheckViolation,
    ),
    "school_year_ends_on_start": (
        YEAR + "VALUES ('2030-2031', '2030-06-01', '2030-06-01', false)",
        errors.CheckViolation,
    ),
    "school_year_bad_name": (
        YEAR + "VALUES ('2030/2031', '2030-06-01', '2031-05-31', false)",
        errors.CheckViolation,
    ),
    "school_year_second_current": (
        YEAR + "VALUES ('2030-2031', '2030-06-01', '2031-05-31', true)",
        errors.UniqueViolation,
    ),
    "task_due_before_created": (
        _task(", created_at, due_date", ", '2026-01-02', '2026-01-01'"),
        errors.CheckViolation,
    ),
    "task_timer_zero": (_task(", timer_minutes", ", 0"), errors.CheckViolation),
    "task_title_null": (
        "INSERT INTO school.tasks (teacher_id, section_id, title, task_type) "
        "VALUES (%(teacher)s, %(section)s, NULL, 'Quiz')",
        errors.NotNullViolation,
    ),
    # Blank or oversized text.
    "section_blank_name": (
        SECTION + "VALUES ('   ', 'Grade 7', %(year)s, NULL, 30)",
        errors.CheckViolation,
    ),
    "section_capacity_zero": (
        SECTION + "VALUES ('Mabini', 'Grade 7', %(year)s, NULL, 0)",
        errors.CheckViolation,
    ),
    "subject_blank_name": (
        "INSERT INTO school.subjects (section_id, name) VALUES (%(section)s, '')",
        errors.CheckViolation,
    ),
    "subject_unknown_section": (
        "INSERT INTO school.subjects (section_id, name) VALUES (%(missing)s, 'Math')",
        errors.ForeignKeyViolation,
    ),
    "task_blank_title": (
        "INSERT INTO school.tasks (teacher_id, section_id, title, task_type) "
        "VALUES (%(teacher)s, %(section)s, '  ', 'Quiz')",
        errors.CheckViolation,
    ),
    "module_blank_file_url": (
        MODULE + "VALUES (%(teacher)s, %(section)s, 'Fractions', ' ')",
        errors.CheckViolation,
    ),
    "announcement_blank_content": (
        "INSERT INTO school.announcements (title, content) VALUES ('Hi', '')",
        errors.CheckViolation,
    ),
    "guidance_blank_report": (
        GUIDANCE + "VALUES (%(student)s, %(counselor)s, '  ')",
        errors.CheckViolation,
    ),
    "meeting_link_not_http": (
        MEETING + "VALUES (%(teacher)s, %(section)s, 'Class', 'javascript:alert(1)', now())",
        errors.CheckViolation,
    ),
    "message_empty": (_message("''"), errors.CheckViolation),
    "message_blank": (_message("'   '"), errors.CheckViolation),
    "message_too_long": (_message("repeat('x', 4001)"), errors.CheckViolation),
    "message_null": (_message("NULL"), errors.NotNullViolation),
    "message_to_self": (_message("'hi'", receiver="%(student)s"), errors.CheckViolation),
    "message_to_nobody": (_message("'hi'", receiver="%(missing)s"), errors.ForeignKeyViolation),
    "credentials_short_salt": (
        "UPDATE school.credentials SET salt = '\\x0001'::bytea WHERE user_id = %(student2)s",
        errors.CheckViolation,
    ),
    # A column that names a student must name a Student (and so on): triggers.
    "enrollment_of_a_teacher": (
        ENROLL + "VALUES (%(teacher)s, %(year)s, 'Pending')",
        errors.CheckViolation,
    ),
    # The foreign key refuses it first: the role check of an INSERT runs once per statement,
    # after the row triggers, a FOR EACH ROW check of an UPDATE before the change.
    "enrollment_of_nobody": (
        ENROLL + "VALUES (%(missing)s, %(year)s, 'Pending')",
        errors.ForeignKeyViolation,
    ),
    # One statement, one bad row among good ones: the whole statement is refused.
    "enrollments_one_of_a_teacher": (
        ENROLL + "VALUES (%(student2)s, %(year)s, 'Pending'), (%(teacher)s, %(year)s, 'Pending')",
        errors.CheckViolation,
    ),
    "profile_of_a_teacher": (
        "INSERT INTO school.student_profiles (user_id, student_number) VALUES (%(teacher)s, 'T-1')",
        errors.CheckViolation,
    ),
    "enrollment_moved_to_a_teacher": (
        "UPDATE school.enrollment_progress SET student_id = %(teacher)s WHERE id = %(enrollment)s",
        errors.CheckViolation,
    ),
    "enrollment_unknown_section": (
        "INSERT INTO school.enrollment_progress (student_id, school_year_id, section_id) "
        "VALUES (%(student2)s, %(year)s, %(missing)s)",
        errors.ForeignKeyViolation,
    ),
    "enrollment_twice_in_a_year": (
        ENROLL + "VALUES (%(student)s, %(year)s, 'Pending')",
        errors.UniqueViolation,
    ),
    "fee_of_a_teacher": (
        "INSERT INTO school.fees (student_id, fee_type, amount) "
        "VALUES (%(teacher)s, 'Tuition', 10)",
        errors.CheckViolation,
    ),
    "guidance_about_a_teacher": (
        GUIDANCE + "VALUES (%(teacher)s, %(counselor)s, 'note')",
        errors.CheckViolation,
    ),
    "guidance_by_a_teacher": (
        GUIDANCE + "VALUES (%(student)s, %(teacher)s, 'note')",
        errors.CheckViolation,
    ),
    "module_by_a_student": (
        MODULE + "VALUES (%(student)s, %(section)s, 'Fractions', 'https://f.example/a.pdf')",
        errors.CheckViolation,
    ),
    "task_by_a_student": (
        "INSERT INTO school.tasks (teacher_id, section_id, title, task_type) "
        "VALUES (%(student)s, %(section)s, 'Quiz', 'Quiz')",
        errors.CheckViolation,
    ),
    "section_advised_by_a_student": (
        SECTION + "VALUES ('Mabini', 'Grade 7', %(year)s, %(student)s, 30)",
        errors.CheckViolation,
    ),
    # Payments are append-only, for the superuser too (a trigger, not a grant).
    "payment_update": (
        "UPDATE school.payments SET amount_paid = 1 WHERE id = %(payment)s",
        errors.InsufficientPrivilege,
    ),
    "payment_delete": (
        "DELETE FROM school.payments WHERE id = %(payment)s",
        errors.InsufficientPrivilege,
    ),
    "payment_deleted_with_its_fee": (
        "DELETE FROM school.fees WHERE id = %(fee)s",
        errors.InsufficientPrivilege,
    ),
    "payment_deleted_with_its_student": (
        "DELETE FROM school.users WHERE id = %(student)s",
        errors.InsufficientPrivilege,
    ),
}


@pytest.mark.parametrize("case", BAD_ROWS)
def test_bad_row_refused(school, base, case):
    query, error = BAD_ROWS[case]
    before = _fingerprint(school.admin)
    with pytest.raises(error):
        school.admin.execute(query, base)
    assert _fingerprint(school.admin) == before


def _fingerprint(conn: psycopg.Connection) -> tuple:
    """Row counts and the payment ledger: a refused statement changed neither."""
    return conn.execute(
        """
        SELECT (SELECT count(*) FROM school.users), (SELECT count(*) FROM school.enrollment_progress),
               (SELECT count(*) FROM school.fees), (SELECT count(*) FROM school.tasks),
               (SELECT count(*) FROM school.messages), (SELECT count(*) FROM school.school_years),
               (SELECT string_agg(id || ':' || fee_id || ':' || amount_paid, ',' ORDER BY id)
                FROM school.payments),
               (SELECT string_agg(encode(salt, 'hex'), ',' ORDER BY user_id)
                FROM school.credentials)
        """
    ).fetchone()


def test_payments_append_only_for_the_owner_too(school, base):
    """The schema's owner holds every privilege on payments; the trigger still refuses."""
    admin = school.admin
    with admin.transaction(force_rollback=True):
        admin.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(school.roles.owner)))
        assert admin.execute("SELECT current_user").fetchone()[0] == school.roles.owner
        with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
            with admin.transaction():
                admin.execute(
                    "UPDATE school.payments SET amount_paid = 1 WHERE id = %s", (base["payment"],)
                )
        with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
            with admin.transaction():
                admin.execute("DELETE FROM school.payments WHERE id = %s", (base["payment"],))
        # Appending is what the ledger is for: a correcting entry is accepted.
        admin.execute(
            "INSERT INTO school.payments (fee_id, amount_paid, payment_method) "
            "VALUES (%s, 0.01, 'Cash')",
            (base["fee"],),
        )


# Text of only tabs or newlines is blank too: refused like text of only spaces.
BLANK_BUT_NOT_SPACES = {
    "task_title_tab": _task().replace("'Quiz 1'", "E'\\t'"),
    "message_newlines": _message("E'\\n\\n'"),
    "announcement_title_tab_newline": (
        "INSERT INTO school.announcements (title, content) VALUES (E'\\t\\n', 'Body')"
    ),
}


@pytest.mark.parametrize("case", BLANK_BUT_NOT_SPACES)
def test_blank_text_of_tabs_or_newlines_refused(school, base, case):
    try:
        school.admin.execute(BLANK_BUT_NOT_SPACES[case], base)
    except errors.CheckViolation:
        return
    raise AssertionError(f"{case}: a blank value was stored")


# Near misses that must be accepted: (query, check query, expected value).
GOOD_ROWS = {
    "fee_amount_rounds_up_to_a_cent": (
        _fee("0.005") + " RETURNING amount",
        "0.01",
    ),
    "fee_amount_rounds_half_up": (_fee("10.005") + " RETURNING amount", "10.01"),
    "fee_amount_largest": (_fee("9999999.99") + " RETURNING amount", "9999999.99"),
    "payment_amount_one_cent": (_payment("0.01") + " RETURNING amount_paid", "0.01"),
    "message_4000_characters": (
        _message("repeat('x', 4000)") + " RETURNING length(message)",
        4000,
    ),
    "event_ends_when_it_starts": (
        EVENT + "VALUES ('Bell', '2026-01-02 10:00+00', '2026-01-02 10:00+00') RETURNING 1",
        1,
    ),
    "event_without_end": (EVENT + "VALUES ('Open', now(), NULL) RETURNING 1", 1),
    "enrollment_another_year": (
        ENROLL + "VALUES (%(student)s, %(old_year)s, 'Withdrawn') RETURNING current_status",
        "Withdrawn",
    ),
    "meeting_https": (
        MEETING + "VALUES (%(teacher)s, %(section)s, 'Class', 'https://meet.example/a', now()) "
        "RETURNING 1",
        1,
    ),
}


@pytest.mark.parametrize("case", GOOD_ROWS)
def test_near_miss_accepted(school, base, case):
    query, expected = GOOD_ROWS[case]
    value = school.admin.execute(query, base).fetchone()[0]
    assert str(value) == str(expected)


# People go in through create_person (the only way in): its users row carries the checks.
BAD_PEOPLE = {
    "blank_first_name": {"first_name": "   "},
    "empty_last_name": {"last_name": ""},
    "long_first_name": {"first_name": "x" * 101},
    "email_without_at": {"email": "ada.example.com"},
    "email_without_dot_in_domain": {"email": "ada@example"},
    "email_with_space": {"email": "ada lovelace@example.com"},
    "email_with_two_ats": {"email": "ada@@example.com"},
    "email_empty": {"email": ""},
    "email_too_long": {"email": "a" * 250 + "@x.io"},
    "email_with_escape_sequence": {"email": "ada\x1b]0;pwned\x07@example.com"},
}


@pytest.mark.parametrize("case", BAD_PEOPLE)
def test_bad_person_refused(school, case):
    fields = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
    fields.update(BAD_PEOPLE[case])
    logins_before = _login_roles(school)
    with pytest.raises(errors.CheckViolation):
        people.create_person(school.admin, role="Teacher", password=None, **fields)
    assert school.admin.execute("SELECT count(*) FROM school.users").fetchone()[0] == 0
    # Nothing half-made: no login role was left behind either.
    assert _login_roles(school) == logins_before


def _login_roles(school) -> int:
    return school.admin.execute(
        "SELECT count(*) FROM pg_roles WHERE rolname LIKE %s",
        (school.roles.prefix + "\\_u\\_%",),
    ).fetchone()[0]


def test_unknown_role_refused(school):
    with pytest.raises(errors.CheckViolation):
        people.create_person(
            school.admin,
            role="Janitor",
            first_name="Ada",
            last_name="Lovelace",
            email="ada@example.com",
            password=None,
        )


@pytest.mark.parametrize("second", ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.Com"])
def test_duplicate_email_refused_whatever_its_case(school, second):
    school.add_person("Teacher", email="Ada@Example.com", password=None)
    with pytest.raises(errors.UniqueViolation):
        school.add_person("Student", email=second, password=None)
    assert school.admin.execute("SELECT count(*) FROM school.users").fetchone()[0] == 1
