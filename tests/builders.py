"""Named builders for the tests' setup: find a kind of student in the demo school, or add
the rows a test needs to an empty one, in one call that says what it is for.

Finders read the demo school (school_tui.server.demo) through `school.admin`, the
superuser connection; builders insert through it too, so they bypass the app's
functions and policies on purpose: they set the scene, the test then acts as a person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from school_tui.db import accounting_reports as ar
from school_tui.db import ledger

D = Decimal


# -- finders, on the demo school --------------------------------------------------------------


@dataclass(frozen=True)
class Student:
    """A student as the tests meet them: who, and this school year's enrollment."""

    id: int
    name: str  # "First Last"
    number: str  # student number
    enrollment_id: int
    status: str
    section_id: int | None


@dataclass(frozen=True)
class Payer(Student):
    """A student with fees: what they owe, and the first open due."""

    balance: Decimal
    next_due: Decimal | None


# Who a student is, and this school year's enrollment: the columns of `Student`, in order.
_STUDENTS = """
    SELECT u.id, u.first_name || ' ' || u.last_name, p.student_number,
           e.id, e.current_status, e.section_id
      FROM school.users u
      JOIN school.student_profiles p ON p.user_id = u.id
      JOIN school.enrollment_progress e ON e.student_id = u.id
      JOIN school.school_years y ON y.id = e.school_year_id AND y.is_current
"""


def current_year(school) -> int:
    query = "SELECT id FROM school.school_years WHERE is_current"
    return school.admin.execute(query).fetchone()[0]


def student(school, student_id: int) -> Student:
    """This student, with this year's enrollment."""
    row = school.admin.execute(_STUDENTS + " WHERE u.id = %s", (student_id,)).fetchone()
    return Student(*row)


def verified_student(school) -> Payer:
    """The first Verified student (by id) whose name no one else has, so that a search by
    name finds only them; the demo school gave each such student fees and a payment."""
    row = school.admin.execute(
        _STUDENTS  # noqa: S608 (constants only)
        + " WHERE e.current_status = 'Verified' "
        "AND (SELECT count(*) FROM school.users x "
        "     WHERE x.first_name = u.first_name AND x.last_name = u.last_name) = 1 "
        "ORDER BY u.id LIMIT 1"
    ).fetchone()
    balance, next_due = school.admin.execute(
        "SELECT b.balance, (SELECT open FROM school.installment_balances "
        "  WHERE student_id = b.student_id AND open > 0 ORDER BY due_date, fee_id, seq LIMIT 1) "
        "FROM school.student_balances b WHERE b.student_id = %s",
        (row[0],),
    ).fetchone()
    return Payer(*row, balance=balance, next_due=next_due)


def pending_student_in_a_section(school) -> Student:
    """The Pending student with the lowest student number who is placed in a section."""
    row = school.admin.execute(
        _STUDENTS + " WHERE e.current_status = 'Pending' AND e.section_id IS NOT NULL "
        "ORDER BY p.student_number LIMIT 1"
    ).fetchone()
    return Student(*row)


def student_with_most_payments(school) -> int:
    return school.admin.execute(
        "SELECT student_id FROM school.payments GROUP BY student_id "
        "ORDER BY count(*) DESC, student_id LIMIT 1"
    ).fetchone()[0]


def student_with_most_open_dues(school) -> tuple[str, Decimal, int]:
    """(student number, total still open, how many dues are open)."""
    return school.admin.execute(
        "SELECT sp.student_number, sum(ib.open), count(*) FROM school.installment_balances ib "
        "JOIN school.student_profiles sp ON sp.user_id = ib.student_id WHERE ib.open > 0 "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()


def section_with_most_pending(school) -> tuple[int, str, str]:
    """(id, grade level, name) of the section with the most Pending students."""
    return school.admin.execute(
        "SELECT s.id, s.grade_level, s.name FROM school.sections s "
        "JOIN school.enrollment_progress e ON e.section_id = s.id "
        "WHERE e.current_status = 'Pending' GROUP BY s.id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()


# -- builders, on any school ------------------------------------------------------------------


def add_school_year(
    school,
    name: str = "2025-2026",
    current: bool = False,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> int:
    """A school year; by default June 1 of its first year to May 31 of its second."""
    first, second = (int(part) for part in name.split("-"))
    return school.admin.execute(
        "INSERT INTO school.school_years (name, starts_on, ends_on, is_current) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        (name, starts_on or date(first, 6, 1), ends_on or date(second, 5, 31), current),
    ).fetchone()[0]


def add_section(
    school,
    year: int,
    name: str = "Rizal",
    grade: str = "Grade 7",
    adviser: int | None = None,
    capacity: int | None = None,
) -> int:
    """A section; without a capacity it has no limit of seats."""
    return school.admin.execute(
        "INSERT INTO school.sections (name, grade_level, school_year_id, adviser_id, capacity) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (name, grade, year, adviser, capacity),
    ).fetchone()[0]


def enroll(
    school, student: int, year: int, section: int | None = None, status: str | None = None
) -> int:
    """An enrollment record; without a status it takes the table's default (Pending)."""
    return school.admin.execute(
        "INSERT INTO school.enrollment_progress (student_id, school_year_id, section_id, "
        "current_status) VALUES (%s, %s, %s, coalesce(%s, 'Pending')) RETURNING id",
        (student, year, section, status),
    ).fetchone()[0]


def add_fee(school, student: int, amount: str = "500.00", fee_type: str = "Tuition") -> int:
    """A fee with no schedule and no due date, as a hand-made charge."""
    return school.admin.execute(
        "INSERT INTO school.fees (student_id, fee_type, amount) VALUES (%s, %s, %s) RETURNING id",
        (student, fee_type, Decimal(amount)),
    ).fetchone()[0]


# -- a small known ledger, for the accounting tests -------------------------------------------


def assert_books_add_up(conn) -> None:
    """The ledger's invariant query finds nothing wrong (`conn` sees every ledger row)."""
    assert ledger.invariant_violations(conn) == []


def make_books(school) -> dict:
    """Grade 7 (Rizal: s1, s2) and Grade 8 (Luna: s3). Tuition for Grade 7 is 1,000.00 in four
    dues of 250.00, 100, 45 and 10 days overdue and one due in 20 days; Miscellaneous for
    Grade 8 is 600.00, 70 days overdue (all counted from ids["today"], the database's today).
    Payments, by the clerk, on known days:
      s1  300.00 Cash      5 days ago   (settles due 1, 50.00 of due 2)
      s1  100.00 Check     today        (reversed today: bounced)
      s2  250.00 Card      5 days ago
      s3  200.00 Cash      today
    """
    ids = {
        key: school.add_person(role, email=f"{key}@reports.test", password=password)
        for key, role, password in (
            ("clerk", "Accounting", "school-tui-demo"),
            ("principal", "Principal", None),
            ("s1", "Student", "school-tui-demo"),
            ("s2", "Student", None),
            ("s3", "Student", None),
        )
    }
    admin = school.admin

    def one(query, *params):
        return admin.execute(query, params).fetchone()[0]

    # The database's today, not this process's: the ledger dates payments by the server's
    # clock, and a suite that runs past midnight would otherwise compare two different days.
    as_of = one("SELECT current_date")

    year = add_school_year(
        school,
        "2030-2031",
        current=True,
        starts_on=as_of - timedelta(days=200),
        ends_on=as_of + timedelta(days=200),
    )
    sections = {
        "Grade 7": add_section(school, year, "Rizal", "Grade 7"),
        "Grade 8": add_section(school, year, "Luna", "Grade 8"),
    }
    for key, grade in (("s1", "Grade 7"), ("s2", "Grade 7"), ("s3", "Grade 8")):
        enroll(school, ids[key], year, sections[grade], status="Verified")
    plan = [(as_of - timedelta(days=d), D("250.00")) for d in (100, 45, 10, -20)]
    ids["tuition"] = ar.save_schedule(
        admin, year, "Grade 7", "Tuition", D("1000.00"), plan[-1][0], plan
    )
    ids["misc"] = ar.save_schedule(
        admin, year, "Grade 8", "Miscellaneous", D("600.00"), as_of - timedelta(days=70)
    )
    ids["year"], ids["g7"], ids["g8"] = year, sections["Grade 7"], sections["Grade 8"]
    ids["today"] = as_of
    with school.connect_as(ids["clerk"], autocommit=True) as clerk:
        assert ar.assign_fees(clerk, year, "Grade 7", None) == 2
        assert ar.assign_fees(clerk, year, "Grade 8", sections["Grade 8"]) == 1
    five_ago = datetime.combine(as_of - timedelta(days=5), datetime.min.time()).astimezone()
    five_ago += timedelta(hours=10)
    for key, payer, amount, method, ref, when in (
        ("p1", "s1", "300.00", "Cash", None, five_ago),
        ("p2", "s1", "100.00", "Check", "CHK-1", None),
        ("p3", "s2", "250.00", "Card", None, five_ago),
        ("p4", "s3", "200.00", "Cash", None, None),
    ):
        ids[key] = one(
            "SELECT payment_id FROM school.record_payment(%s, %s, %s, %s, %s, %s, "
            "coalesce(%s, now()))",
            ids[payer], D(amount), method, ref, uuid.uuid4(), ids["clerk"], when,
        )  # fmt: skip
    admin.execute(
        "SELECT school.record_reversal(%s, NULL, 'bounced', %s)", (ids["p2"], ids["clerk"])
    )
    return ids
