"""The deterministic demo school: `school-tui demo`, and `make run` on an empty database.

Same input, same school: names come from a seeded generator and every date is fixed, so
screenshots and snapshot tests see the same rows on every machine and every day.
One login per role, `<role>@demo.school`, password `school-tui-demo`. The other people get
logins nobody can use until an Admin sets them a temporary password (no argon2 per student,
which would make loading take minutes).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg

from school_tui.db import demo_data, people

DEMO_PASSWORD = "school-tui-demo"
DEMO_LOGINS = {
    "admin@demo.school": ("Admin", "Ada", "Reyes"),
    "principal@demo.school": ("Principal", "Paolo", "Santos"),
    "coordinator@demo.school": ("Academic Coordinator", "Carla", "Mendoza"),
    "teacher@demo.school": ("Teacher", "Tomas", "Garcia"),
    "student@demo.school": ("Student", "Sofia", "Cruz"),
    "guidance@demo.school": ("Guidance", "Gloria", "Ramos"),
    "registrar@demo.school": ("Registrar", "Rafael", "Flores"),
    "accounting@demo.school": ("Accounting", "Andrea", "Villanueva"),
}
SEED = 20261125
STUDENTS = 240
UTC = UTC
YEAR_START = date(2026, 6, 15)
NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # the demo's "today" for created_at stamps

FIRST_NAMES = [
    "Juan",
    "Maria",
    "Jose",
    "Ana",
    "Miguel",
    "Isabel",
    "Luis",
    "Carmen",
    "Diego",
    "Lucia",
    "Marco",
    "Elena",
    "Gabriel",
    "Rosa",
    "Daniel",
    "Teresa",
    "Andres",
    "Patricia",
    "Rafael",
    "Beatriz",
    "Carlos",
    "Julia",
    "Emilio",
    "Nora",
    "Felipe",
    "Liza",
    "Ramon",
    "Bianca",
    "Hector",
    "Mika",
]
LAST_NAMES = [
    "Dela Cruz",
    "Bautista",
    "Aquino",
    "Navarro",
    "Castillo",
    "Torres",
    "Rivera",
    "Gonzales",
    "Lopez",
    "Morales",
    "Ocampo",
    "Pascual",
    "Salazar",
    "Tan",
    "Lim",
    "Manalo",
    "Domingo",
    "Villareal",
    "Soriano",
    "Marquez",
    "Perez",
    "Jimenez",
]
GRADES = ["Grade 7", "Grade 8", "Grade 9", "Grade 10", "Grade 11", "Grade 12"]
SECTION_NAMES = ["Rizal", "Bonifacio", "Mabini"]
SUBJECTS = ["Mathematics", "Science", "English", "Filipino", "Araling Panlipunan", "MAPEH"]
STATUS_WEIGHTS = [
    ("Pending", 3),
    ("Verified", 3),
    ("Payment Complete", 3),
    ("Enrolled", 10),
    ("Withdrawn", 1),
]

Progress = Callable[[str], None]


def is_empty(conn: psycopg.Connection) -> bool:
    return demo_data.people_count(conn) == 0


def load(conn: psycopg.Connection, progress: Progress = lambda _: None) -> None:
    """Load the demo school into an empty, initialised database, in one transaction."""
    rng = random.Random(SEED)
    with conn.transaction():
        progress("Loading the demo school: people…")
        staff = {}
        for email, (role, first, last) in DEMO_LOGINS.items():
            staff[role] = people.create_person(
                conn,
                role=role,
                first_name=first,
                last_name=last,
                email=email,
                password=DEMO_PASSWORD,
                must_change=False,
            )
        teachers = [staff["Teacher"]]
        for i in range(5):
            teachers.append(
                people.create_person(
                    conn,
                    role="Teacher",
                    first_name=rng.choice(FIRST_NAMES),
                    last_name=rng.choice(LAST_NAMES),
                    email=f"teacher{i + 2}@demo.school",
                    password=None,
                    must_change=True,
                )
            )

        progress("Loading the demo school: sections and subjects…")
        year_id = demo_data.add_school_year(conn, "2026-2027", YEAR_START, date(2027, 3, 31))
        sections = []
        for g_index, grade in enumerate(GRADES):
            for s_index, name in enumerate(SECTION_NAMES):
                adviser = teachers[(g_index * len(SECTION_NAMES) + s_index) % len(teachers)]
                sections.append(demo_data.add_section(conn, name, grade, year_id, adviser, 45))
        # The demo teacher teaches Mathematics in Grade 10 (sections 9..11; the demo student is
        # in one of them) besides the sections they advise; the other teachers share the rest.
        for s_index, section_id in enumerate(sections):
            for k, subject in enumerate(SUBJECTS):
                if 9 <= s_index <= 11 and subject == "Mathematics":
                    subject_teacher = teachers[0]
                else:
                    subject_teacher = teachers[1 + (s_index + k) % (len(teachers) - 1)]
                subject_id = demo_data.add_subject(
                    conn, section_id, subject, f"{subject} for this section"
                )
                demo_data.set_subject_teacher(conn, subject_id, subject_teacher)

        progress("Loading the demo school: students…")
        students = []
        student_user = staff["Student"]
        students.append((student_user, sections[9], "Enrolled"))
        statuses = [s for s, weight in STATUS_WEIGHTS for _ in range(weight)]
        for i in range(STUDENTS - 1):
            user_id = people.create_person(
                conn,
                role="Student",
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                email=f"student{i + 2:03d}@demo.school",
                password=None,
                must_change=True,
            )
            students.append((user_id, rng.choice(sections), rng.choice(statuses)))
        # Student numbers and details from their own generator, so the draws above (names,
        # sections, statuses) are what they were before profiles existed.
        details = random.Random(SEED + 1)
        grade_of = {
            section_id: GRADES[i // len(SECTION_NAMES)] for i, section_id in enumerate(sections)
        }
        for n, (user_id, section_id, _status) in enumerate(students, start=1):
            grade = grade_of[section_id]
            age = 5 + int(grade.split()[-1])
            demo_data.add_student_profile(
                conn,
                user_id,
                f"2026-{n:05d}",
                grade,
                date(2026 - age - 1, details.randint(1, 12), details.randint(1, 28)),
                f"{details.choice(FIRST_NAMES)} {details.choice(LAST_NAMES)}",
                f"+63 9{details.randint(10, 99)} {details.randint(100, 999)} "
                f"{details.randint(1000, 9999)}",
                f"{details.randint(1, 400)} {details.choice(SECTION_NAMES)} Street, Quezon City",
            )
        for user_id, section_id, status in students:
            demo_data.add_enrollment(
                conn,
                user_id,
                year_id,
                section_id,
                status,
                NOW - timedelta(days=rng.randint(0, 120)),
            )

        progress("Loading the demo school: fees and payments…")
        _load_ledger(conn, rng, year_id, students, staff)

        progress("Loading the demo school: lessons, messages and notices…")
        teacher = staff["Teacher"]
        for offset, section_id in enumerate(sections[9:12]):
            for n, (title, task_type) in enumerate(
                [
                    ("Quadratic equations", "Quiz"),
                    ("Lab report: pendulum", "Assignment"),
                    ("First quarter exam", "Test"),
                ]
            ):
                demo_data.add_task(
                    conn,
                    teacher,
                    section_id,
                    title,
                    f"{title} for section",
                    task_type,
                    60 if task_type != "Assignment" else None,
                    NOW + timedelta(days=7 * (n + 1) + offset),
                    NOW,
                )
            demo_data.add_module(
                conn,
                teacher,
                section_id,
                f"Module {offset + 1}: Algebra review",
                "Reading and exercises",
                f"https://files.demo.school/modules/algebra-{offset + 1}.pdf",
                NOW - timedelta(days=3 + offset),
            )
            demo_data.add_meeting(
                conn,
                teacher,
                section_id,
                f"Consultation hour {offset + 1}",
                f"https://meet.demo.school/consult-{offset + 1}",
                NOW + timedelta(days=2 + offset),
                NOW,
            )
        conversation = [
            (student_user, teacher, "Good morning, sir. Is the quiz on Friday open-book?"),
            (teacher, student_user, "Good morning Sofia. No, but you may bring one index card."),
            (staff["Registrar"], student_user, "Your enrollment documents are complete."),
            (staff["Principal"], teacher, "Please send the Grade 10 quarterly summary."),
        ]
        for i, (sender, receiver, text) in enumerate(conversation):
            demo_data.add_message(
                conn, sender, receiver, text, NOW + timedelta(minutes=i), is_read=i < 2
            )
        demo_data.add_announcement(
            conn,
            "Welcome to school year 2026-2027",
            "Classes start on June 15. See you all!",
            staff["Admin"],
            NOW - timedelta(days=140),
        )
        demo_data.add_announcement(
            conn,
            "Enrollment deadline",
            "Complete your enrollment and payments by July 31.",
            staff["Principal"],
            NOW - timedelta(days=120),
        )
        demo_data.add_announcement(
            conn,
            "Quarterly exams",
            "First quarter exams start next week.",
            staff["Academic Coordinator"],
            NOW - timedelta(days=2),
        )
        demo_data.add_event(
            conn,
            "Foundation Day",
            "School-wide celebration",
            datetime(2026, 12, 8, 8, tzinfo=UTC),
            datetime(2026, 12, 8, 17, tzinfo=UTC),
            staff["Admin"],
        )
        demo_data.add_event(
            conn,
            "Parent-teacher conference",
            "Report cards are released",
            datetime(2026, 11, 20, 9, tzinfo=UTC),
            datetime(2026, 11, 20, 15, tzinfo=UTC),
            staff["Principal"],
        )
        for i, (user_id, _section, _status) in enumerate(students[1:6]):
            demo_data.add_guidance_report(
                conn,
                user_id,
                staff["Guidance"],
                f"Counselling session {i + 1}: adjustment to new section.",
                NOW - timedelta(days=10 * (i + 1)),
            )
    progress("")


# Fees per grade level: Tuition in four installments, Miscellaneous at the start, a Laboratory
# fee in senior high, Books (not required for enrollment).
TUITION = Decimal("25000.00")
TUITION_PLAN = [
    (date(2026, 7, 31), Decimal("6250.00")),
    (date(2026, 9, 30), Decimal("6250.00")),
    (date(2026, 11, 30), Decimal("6250.00")),
    (date(2027, 1, 31), Decimal("6250.00")),
]
OTHER_FEES = [  # (fee type, amount, due date, grades)
    ("Miscellaneous", Decimal("3500.00"), date(2026, 7, 31), GRADES),
    ("Laboratory", Decimal("1500.00"), date(2026, 8, 31), ["Grade 11", "Grade 12"]),
    ("Books", Decimal("2000.00"), date(2026, 8, 15), GRADES),
]
METHODS = ["Cash", "Cash", "Cash", "Bank Transfer", "Check", "Card"]


def _load_ledger(conn, rng: random.Random, year_id: int, students: list, staff: dict) -> None:
    """Schedules charged to every enrolled student, then payments in date order through the
    ledger's own posting (so receipt numbers follow the dates), a few sibling discounts, and
    the clerk's closed days. Enrolled and Payment Complete students have paid everything,
    Verified ones a first 10,000.00, Pending ones nothing (their first dues are overdue)."""
    import uuid

    for grade in GRADES:
        demo_data.add_fee_schedule(
            conn, year_id, grade, "Tuition", TUITION, TUITION_PLAN[-1][0], TUITION_PLAN
        )
        for fee_type, fee_amount, due, grades in OTHER_FEES:
            if grade in grades:
                demo_data.add_fee_schedule(conn, year_id, grade, fee_type, fee_amount, due)
    # Charged (and discounted) when the year opened, before its payments (dated over the
    # months up to NOW): the statements' and receipts' running balances follow these times.
    # The loader is a superuser, the one session whose ledger_clock may be set
    # (ledger_clock(), sql/schema/07_ledger.sql).
    demo_data.set_ledger_clock(conn, datetime.combine(YEAR_START, datetime.min.time(), UTC))
    demo_data.assign_fees(conn, year_id)

    def key() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128))

    clerk = staff["Accounting"]
    planned: list[tuple[datetime, int, Decimal | None]] = []  # None: "the rest"
    for n, (user_id, _section, status) in enumerate(students):
        if status in ("Payment Complete", "Enrolled"):
            if n % 15 == 7:
                tuition = next(
                    f for f in demo_data.student_fees(conn, user_id) if f[1] == "Tuition"
                )
                demo_data.add_adjustment(
                    conn, tuition[0], "Discount", Decimal("10"), "Sibling discount",
                    staff["Principal"], clerk, key(),
                )  # fmt: skip
            first = NOW - timedelta(days=rng.randint(60, 120), hours=rng.randint(0, 7))
            planned.append((first, user_id, Decimal("12000.00")))
            planned.append((NOW - timedelta(days=rng.randint(2, 50), hours=rng.randint(0, 7)),
                            user_id, None))  # fmt: skip
        elif status == "Verified":
            when = NOW - timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 7))
            planned.append((when, user_id, Decimal("10000.00")))
    demo_data.set_ledger_clock(conn, None)
    days = set()
    for number, (when, user_id, amount) in enumerate(sorted(planned), start=1):
        if amount is None:
            amount = demo_data.balance(conn, user_id)
        method = rng.choice(METHODS)
        reference = {"Bank Transfer": f"BT-{number:06d}", "Check": f"CHK-{number:06d}"}.get(method)
        demo_data.add_payment(conn, user_id, amount, method, reference, when, clerk, key())
        days.add(when.date())
    for day in sorted(days):
        expected = demo_data.expected_cash(conn, clerk, day)
        short = Decimal("20.00") if day.day == 13 and expected >= 20 else Decimal("0.00")
        demo_data.add_day_close(
            conn, clerk, day, expected - short, "short" if short else None,
            datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=17),
        )  # fmt: skip
