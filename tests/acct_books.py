"""A small known ledger for the accounting tests (reports, screens, the student's side)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from school_tui.db import accounting_reports as ar
from school_tui.db import ledger

D = Decimal


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

    year = one(
        "INSERT INTO school.school_years (name, starts_on, ends_on, is_current) "
        "VALUES ('2030-2031', %s, %s, true) RETURNING id",
        as_of - timedelta(days=200),
        as_of + timedelta(days=200),
    )
    sections = {}
    for name, grade in (("Rizal", "Grade 7"), ("Luna", "Grade 8")):
        sections[grade] = one(
            "INSERT INTO school.sections (name, grade_level, school_year_id) "
            "VALUES (%s, %s, %s) RETURNING id",
            name,
            grade,
            year,
        )
    for student, grade in (("s1", "Grade 7"), ("s2", "Grade 7"), ("s3", "Grade 8")):
        admin.execute(
            "INSERT INTO school.enrollment_progress (student_id, school_year_id, section_id, "
            "current_status) VALUES (%s, %s, %s, 'Verified')",
            (ids[student], year, sections[grade]),
        )
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
    for key, student, amount, method, ref, when in (
        ("p1", "s1", "300.00", "Cash", None, five_ago),
        ("p2", "s1", "100.00", "Check", "CHK-1", None),
        ("p3", "s2", "250.00", "Card", None, five_ago),
        ("p4", "s3", "200.00", "Cash", None, None),
    ):
        ids[key] = one(
            "SELECT payment_id FROM school.record_payment(%s, %s, %s, %s, %s, %s, "
            "coalesce(%s, now()))",
            ids[student], D(amount), method, ref, uuid.uuid4(), ids["clerk"], when,
        )  # fmt: skip
    admin.execute(
        "SELECT school.record_reversal(%s, NULL, 'bounced', %s)", (ids["p2"], ids["clerk"])
    )
    return ids
