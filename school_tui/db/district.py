"""The district's data, set-wise (INSERT ... SELECT generate_series), for benchmarks and
`school-tui demo --district`: run as the owner or a superuser, inside one transaction of a
throwaway database (server/district.py drives it and checks the books afterwards).

The shape, for `students` students (100,000 at full size):
- ten school years, the last one current; sections of 60 students in every year and grade,
  an adviser each; subjects taught by teachers in the current year's sections;
- every student enrolled this year (statuses over the pipeline) and in each past year
  their grade existed, always in the same section number: a student's history is ten
  years for the oldest;
- a Tuition fee this year for everyone (ten monthly dues, some paid), and for one student
  in seven a fee for every past year too, all paid: long ledgers; one payment per due,
  allocated to it, receipt numbers 1..n in date order;
- chat: every student with their adviser, the staff logins with a hundredth of the school
  each, and `big_conversations` conversations of `big_messages` messages each;
- tasks, modules and meetings per current section, guidance reports, announcements, events.

Everything is a function of the row numbers (hashint4): same size, same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

FIRST = (
    "Juan Maria Jose Ana Miguel Isabel Luis Carmen Diego Lucia Marco Elena Gabriel Rosa Daniel "
    "Teresa Andres Patricia Rafael Beatriz Carlos Julia Emilio Nora Felipe Liza Ramon Bianca "
    "Hector Mika Paolo Andrea Sofia Tomas Gloria Carla Adrian Angela Bea Cesar Dina Eduardo "
    "Fatima Gina Hugo Ines Jaime Karla Lorenzo Mara Nestor Olivia Pedro Queenie Rodel Sarah "
    "Tristan Ursula Victor Wilma Xavier Yolanda Zandro Alma Benito Cora Dante Erlinda Fidel"
).split()
LAST = [
    name.replace("_", " ")
    for name in (
        "Dela_Cruz Bautista Aquino Navarro Castillo Torres Rivera Gonzales Lopez Morales Ocampo "
        "Pascual Salazar Tan Lim Manalo Domingo Villareal Soriano Marquez Perez Jimenez Reyes "
        "Santos Mendoza Garcia Cruz Ramos Flores Villanueva Mercado Aguilar Valdez Rosales "
        "Medina Fernandez Castro Robles Ignacio Estrada Bernardo Galang Sison Panganiban Lacson "
        "Dimaculangan Macaraeg Buenaventura Evangelista Tolentino Samonte Gatchalian Abad Yap Sy "
        "Chua Go Ong Uy Co Lee Ramirez Padilla Sarmiento Vergara Cabrera Quizon Zamora Luna "
        "Katigbak"
    ).split()
]
GRADES = [f"Grade {n}" for n in range(1, 13)]
SECTION_NAMES = ["Rizal", "Bonifacio", "Mabini", "Luna", "Jacinto", "Silang"]
SUBJECTS = ["Math", "Science", "English", "Filipino", "History", "Arts", "PE", "Values"]
SECTION_SIZE = 60
YEARS = 10
FIRST_YEAR = 2017  # 2017-2018 .. 2026-2027, the last one current
DUES = 10  # monthly dues of a year's Tuition
DUE_AMOUNT = "1500.00"

# The tables whose statement-level triggers the bulk load turns off while it runs: the audit
# trail's per-statement copy of every new row (millions of rows of no use to a benchmark),
# and the enrollment's history and notifications (written here directly). Restored after.
BULK_TRIGGERS = {
    "fees": ("audit_insert",),
    "fee_installments": ("audit_insert",),
    "payments": ("audit_insert",),
    "allocations": ("audit_insert",),
    "messages": ("audit_insert",),
    "enrollment_progress": ("audit_insert", "enrollment_record_inserted", "enrollment_check_ins"),
    "enrollment_history": ("audit_insert",),
}
LEDGER_SEQUENCES = ("payments", "allocations", "fees", "fee_installments")


@dataclass(frozen=True)
class Size:
    students: int
    teachers: int
    counselors: int
    tasks: int
    modules: int
    messages_per_student: int
    big_conversations: int
    big_messages: int

    @classmethod
    def at(cls, scale: float) -> Size:
        students = max(240, round(100_000 * scale))
        return cls(
            students=students,
            teachers=max(12, students // 40),
            counselors=max(1, students // 5000),
            tasks=max(50, round(20_000 * scale)),
            modules=max(25, round(10_000 * scale)),
            messages_per_student=10,
            big_conversations=20,
            big_messages=max(50, round(50_000 * scale)),
        )


def set_bulk_triggers(conn: psycopg.Connection, enabled: bool) -> None:
    """Turn BULK_TRIGGERS off (enabled=False) or back to ALWAYS."""
    mode = "ENABLE ALWAYS" if enabled else "DISABLE"
    for table, triggers in BULK_TRIGGERS.items():
        for trigger in triggers:
            present = conn.execute(
                "SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
                (f"school.{table}", trigger),
            ).fetchone()
            if present:
                conn.execute(f"ALTER TABLE school.{table} {mode} TRIGGER {trigger}")  # noqa: S608


def years(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        INSERT INTO school.school_years (name, starts_on, ends_on, is_current)
        SELECT y || '-' || (y + 1), make_date(y, 6, 15), make_date(y + 1, 3, 31),
               y = %(first)s + %(years)s - 1
          FROM generate_series(%(first)s, %(first)s + %(years)s - 1) y
        """,
        {"first": FIRST_YEAR, "years": YEARS},
    )


def staff(conn: psycopg.Connection, size: Size) -> None:
    """Teachers, counselors and clerks without usable logins (the role logins are made by
    people.create_person before this)."""
    conn.execute(
        """
        INSERT INTO school.users (role_id, first_name, last_name, email, login_role)
        SELECT (SELECT id FROM school.roles WHERE name = r.role),
               (%(first)s::text[])[1 + (hashint4(g * 3 + r.k) & 2147483647) %% %(nf)s],
               (%(last)s::text[])[1 + (hashint4(g * 5 + r.k) & 2147483647) %% %(nl)s],
               r.prefix || g || '@district.school', school.new_login_name()
          FROM (VALUES ('Teacher', 'teacher', %(teachers)s, 1),
                       ('Guidance', 'counselor', %(counselors)s, 2),
                       ('Accounting', 'clerk', 10, 3),
                       ('Registrar', 'registrar', 3, 4)) r(role, prefix, n, k),
               generate_series(1, r.n) g
        """,
        {
            "first": FIRST,
            "last": LAST,
            "nf": len(FIRST),
            "nl": len(LAST),
            "teachers": size.teachers - 1,  # the Teacher login is one of them
            "counselors": max(0, size.counselors - 1),
        },
    )


def students(conn: psycopg.Connection, size: Size) -> None:
    """The students (the Student login is the first), their profiles (the profile triggers
    derive what search matches), and a numbering the later steps use: district_students
    (user id, n from 0, grade 1..12, section number within the grade), a temporary table."""
    conn.execute(
        """
        INSERT INTO school.users (role_id, first_name, last_name, email, login_role,
                                  must_change_password)
        SELECT (SELECT id FROM school.roles WHERE name = 'Student'),
               (%(first)s::text[])[1 + (hashint4(n) & 2147483647) %% %(nf)s],
               (%(last)s::text[])[1 + (hashint4(n * 7 + 3) & 2147483647) %% %(nl)s],
               'student' || n || '@district.school', school.new_login_name(), true
          FROM generate_series(1, %(n)s - 1) n
        """,
        {"first": FIRST, "last": LAST, "nf": len(FIRST), "nl": len(LAST), "n": size.students},
    )
    conn.execute(
        """
        CREATE TEMP TABLE district_students ON COMMIT DROP AS
        SELECT id AS user_id, n, 1 + n %% 12 AS grade, (n / 12) / %(size)s AS section_no
          FROM (SELECT u.id, (row_number() OVER (ORDER BY u.id))::int - 1 AS n
                  FROM school.users u JOIN school.roles r ON r.id = u.role_id
                 WHERE r.name = 'Student') s
        """,
        {"size": SECTION_SIZE},
    )
    conn.execute("CREATE INDEX ON district_students (user_id)")
    conn.execute("ANALYZE district_students")
    conn.execute(
        """
        INSERT INTO school.student_profiles (user_id, student_number, grade_level, birth_date,
                                             guardian_name, guardian_phone, address)
        SELECT s.user_id, 'D' || lpad(s.n::text, 7, '0'), 'Grade ' || s.grade,
               make_date(2026 - 6 - s.grade, 1 + s.n %% 12, 1 + s.n %% 28),
               'Parent ' || u.last_name, '+63 917 555 ' || lpad((s.n %% 10000)::text, 4, '0'),
               (1 + s.n %% 300) || ' Mabini St, Quezon City'
          FROM district_students s JOIN school.users u ON u.id = s.user_id
        """,
        {},
    )


def sections(conn: psycopg.Connection) -> None:
    """Every year, grade and section number the students need; an adviser each, subjects
    (and their teachers) in the current year's. district_teachers numbers the teachers (the
    Teacher login first)."""
    conn.execute(
        """
        CREATE TEMP TABLE district_teachers ON COMMIT DROP AS
        SELECT id AS user_id, (row_number() OVER (ORDER BY id))::int - 1 AS t
          FROM school.users WHERE role_id = (SELECT id FROM school.roles WHERE name = 'Teacher')
        """,
        {},
    )
    conn.execute("CREATE UNIQUE INDEX ON district_teachers (t)")
    conn.execute("ANALYZE district_teachers")
    conn.execute(
        """
        INSERT INTO school.sections (name, grade_level, school_year_id, adviser_id, capacity)
        SELECT (%(names)s::text[])[1 + k %% 6] || ' ' || (1 + k / 6), 'Grade ' || g, y.id,
               (SELECT user_id FROM district_teachers
                 WHERE t = (g * 131 + k + y.id * 7) %% (SELECT count(*) FROM district_teachers)),
               %(size)s
          FROM school.school_years y, generate_series(1, 12) g,
               generate_series(0, (SELECT max(section_no) FROM district_students)) k
        """,
        {"names": SECTION_NAMES, "size": SECTION_SIZE},
    )
    conn.execute(
        """
        CREATE TEMP TABLE district_sections ON COMMIT DROP AS
        SELECT s.id, y.id AS year_id, y.is_current,
               (2026 - extract(year FROM y.starts_on))::int AS years_ago,
               substring(s.grade_level from '[0-9]+')::int AS grade,
               (CASE split_part(s.name, ' ', 1) WHEN 'Rizal' THEN 0 WHEN 'Bonifacio' THEN 1
                  WHEN 'Mabini' THEN 2 WHEN 'Luna' THEN 3 WHEN 'Jacinto' THEN 4 ELSE 5 END)
                 + 6 * (split_part(s.name, ' ', 2)::int - 1) AS section_no,
               (row_number() OVER (ORDER BY s.id))::int - 1 AS idx
          FROM school.sections s JOIN school.school_years y ON y.id = s.school_year_id
        """,
        {},
    )
    conn.execute("CREATE INDEX ON district_sections (years_ago, grade, section_no)")
    conn.execute("ANALYZE district_sections")
    conn.execute(
        """
        INSERT INTO school.subjects (section_id, name, description, teacher_id)
        SELECT d.id, (%(subjects)s::text[])[j], 'Grade ' || d.grade || ' ' || (%(subjects)s::text[])[j],
               (SELECT user_id FROM district_teachers
                 WHERE t = (d.idx * 8 + j) %% (SELECT count(*) FROM district_teachers))
          FROM district_sections d, generate_series(1, 8) j
         WHERE d.is_current
        """,
        {"subjects": SUBJECTS},
    )


def enrollments(conn: psycopg.Connection) -> None:
    """This year: every student, statuses over the pipeline. Past years: Enrolled, in the
    grade they were in then. History: the steps to the status (one for past years)."""
    conn.execute(
        """
        INSERT INTO school.enrollment_progress (student_id, school_year_id, section_id,
                                                current_status, last_updated)
        SELECT s.user_id, d.year_id, d.id,
               CASE WHEN d.years_ago > 0 THEN 'Enrolled'
                    ELSE (ARRAY['Enrolled', 'Enrolled', 'Enrolled', 'Enrolled', 'Enrolled',
                                'Enrolled', 'Enrolled', 'Pending', 'Verified', 'Payment Complete',
                                'Verified', 'Pending', 'Enrolled', 'Enrolled', 'Enrolled',
                                'Enrolled', 'Enrolled', 'Enrolled', 'Enrolled', 'Withdrawn'])
                         [1 + (hashint4(s.n) & 2147483647) %% 20] END,
               make_date(2026 - d.years_ago, 6, 1)
                 + make_interval(days => (s.n %% 60), secs => s.n %% 86400)
          FROM district_students s
          JOIN district_sections d ON d.grade = s.grade - d.years_ago
               AND d.section_no = s.section_no
        ORDER BY d.year_id, s.user_id
        """,
        {},
    )
    conn.execute(
        """
        INSERT INTO school.enrollment_history (enrollment_id, from_status, to_status, changed_at)
        SELECT e.id, CASE WHEN step = 1 THEN NULL ELSE chain[step - 1] END, chain[step],
               e.last_updated - make_interval(days => 3 * (cardinality(chain) - step))
          FROM school.enrollment_progress e,
               LATERAL (SELECT CASE
                   WHEN e.school_year_id <> (SELECT id FROM school.school_years WHERE is_current)
                        THEN ARRAY['Enrolled']
                   WHEN e.current_status = 'Pending' THEN ARRAY['Pending']
                   WHEN e.current_status = 'Verified' THEN ARRAY['Pending', 'Verified']
                   WHEN e.current_status = 'Payment Complete'
                        THEN ARRAY['Pending', 'Verified', 'Payment Complete']
                   WHEN e.current_status = 'Withdrawn' THEN ARRAY['Pending', 'Withdrawn']
                   ELSE ARRAY['Pending', 'Verified', 'Payment Complete', 'Enrolled'] END
               ) c(chain),
               generate_series(1, cardinality(chain)) step
        ORDER BY e.id, step
        """,
        {},
    )


def ledger(conn: psycopg.Connection, clerks: list[int]) -> None:
    """Schedules per year and grade; fees (this year everyone's, past years one student in
    seven), ten dues each; a payment per paid due, allocated to it, ids equal to the due's;
    receipt numbers in date order."""
    conn.execute(
        """
        INSERT INTO school.fee_schedules (school_year_id, grade_level, fee_type, amount, due_date)
        SELECT y.id, 'Grade ' || g, 'Tuition', %(due)s::numeric * %(dues)s,
               y.starts_on + interval '1 month' * (%(dues)s - 1)
          FROM school.school_years y, generate_series(1, 12) g
        """,
        {"due": DUE_AMOUNT, "dues": DUES},
    )
    conn.execute(
        """
        INSERT INTO school.fee_schedule_installments (schedule_id, seq, due_date, amount)
        SELECT s.id, q, (y.starts_on + interval '1 month' * (q - 1))::date, %(due)s
          FROM school.fee_schedules s JOIN school.school_years y ON y.id = s.school_year_id,
               generate_series(1, %(dues)s) q
        """,
        {"due": DUE_AMOUNT, "dues": DUES},
    )
    conn.execute(
        """
        INSERT INTO school.fees (student_id, fee_type, amount, due_date, school_year_id,
                                 schedule_id, created_at)
        SELECT e.student_id, 'Tuition', fs.amount, fs.due_date, e.school_year_id, fs.id,
               y.starts_on - interval '10 days'
          FROM school.enrollment_progress e
          JOIN district_students s ON s.user_id = e.student_id
          JOIN school.school_years y ON y.id = e.school_year_id
          JOIN district_sections d ON d.id = e.section_id
          JOIN school.fee_schedules fs ON fs.school_year_id = e.school_year_id
               AND fs.grade_level = 'Grade ' || d.grade
         WHERE y.is_current OR s.n %% 7 = 0
        ORDER BY e.school_year_id, e.student_id
        """,
        {},
    )
    conn.execute(
        """
        INSERT INTO school.fee_installments (fee_id, seq, due_date, amount)
        SELECT f.id, i.seq, i.due_date, i.amount
          FROM school.fees f JOIN school.fee_schedule_installments i ON i.schedule_id = f.schedule_id
        ORDER BY f.id, i.seq
        """,
        {},
    )
    # Paid: every due of a past year; this year, the first 0..6 (the dues up to November).
    conn.execute(
        """
        CREATE TEMP TABLE district_paid ON COMMIT DROP AS
        SELECT i.id, i.fee_id, f.student_id, i.amount,
               i.due_date + make_interval(days => (hashint4(i.id) & 2147483647) %% 5,
                                          hours => 8 + (hashint4(i.id + 1) & 2147483647) %% 9,
                                          mins => (hashint4(i.id + 2) & 2147483647) %% 60)
                 AS paid_at
          FROM school.fee_installments i
          JOIN school.fees f ON f.id = i.fee_id
          JOIN district_students s ON s.user_id = f.student_id
          JOIN school.school_years y ON y.id = f.school_year_id
         WHERE NOT y.is_current OR i.seq <= (hashint4(s.n + 17) & 2147483647) %% 7
        """,
        {},
    )
    conn.execute(
        """
        INSERT INTO school.payments (id, fee_id, student_id, amount_paid, payment_date,
                                     payment_method, reference, recorded_by, receipt_no)
        SELECT p.id, p.fee_id, p.student_id, p.amount, p.paid_at, p.method,
               CASE WHEN p.method IN ('Bank Transfer', 'Check') THEN 'REF-' || p.id END,
               (%(clerks)s::int[])[1 + p.id %% cardinality(%(clerks)s::int[])],
               row_number() OVER (ORDER BY p.paid_at, p.id)
          FROM (SELECT d.*, (ARRAY['Cash', 'Cash', 'Bank Transfer', 'Check', 'Card'])
                              [1 + (hashint4(d.id + 3) & 2147483647) %% 5] AS method
                  FROM district_paid d) p
        ORDER BY p.paid_at, p.id
        """,
        {"clerks": clerks},
    )
    conn.execute(
        "INSERT INTO school.allocations (payment_id, installment_id, amount) "
        "SELECT id, id, amount FROM district_paid ORDER BY id"
    )
    for table in LEDGER_SEQUENCES:
        conn.execute(
            f"SELECT setval('school.{table}_id_seq', "  # noqa: S608
            f"(SELECT coalesce(max(id), 1) FROM school.{table}))"
        )


def teaching(conn: psycopg.Connection, size: Size) -> None:
    """Tasks and modules spread over the current subjects (by their teachers); two meetings
    per current section."""
    conn.execute(
        """
        CREATE TEMP TABLE district_subjects ON COMMIT DROP AS
        SELECT section_id, teacher_id, (row_number() OVER (ORDER BY id))::int - 1 AS j
          FROM school.subjects WHERE teacher_id IS NOT NULL
        """,
        {},
    )
    conn.execute(
        """
        INSERT INTO school.tasks (teacher_id, section_id, title, description, task_type,
                                  timer_minutes, due_date, created_at)
        SELECT s.teacher_id, s.section_id, 'Task ' || i, 'Work for week ' || (1 + i %% 40),
               (ARRAY['Assignment', 'Quiz', 'Test'])[1 + i %% 3],
               CASE WHEN i %% 3 > 0 THEN 30 + i %% 60 END,
               at + interval '7 days', at
          FROM generate_series(0, %(n)s - 1) i
          JOIN district_subjects s ON s.j = i %% (SELECT count(*) FROM district_subjects),
               LATERAL (SELECT timestamptz '2026-06-15 08:00+00'
                               + make_interval(days => i %% 170, mins => i %% 600) AS at) t
        """,
        {"n": size.tasks},
    )
    conn.execute(
        """
        INSERT INTO school.modules (teacher_id, section_id, title, description, file_url,
                                    uploaded_at)
        SELECT s.teacher_id, s.section_id, 'Module ' || i, 'Reading for week ' || (1 + i %% 40),
               'https://files.district.school/m/' || i || '.pdf',
               timestamptz '2026-06-15 08:00+00' + make_interval(days => i %% 170, mins => i %% 600)
          FROM generate_series(0, %(n)s - 1) i
          JOIN district_subjects s ON s.j = (i * 7) %% (SELECT count(*) FROM district_subjects)
        """,
        {"n": size.modules},
    )
    conn.execute(
        """
        INSERT INTO school.meetings (host_id, section_id, title, meeting_link, scheduled_at,
                                     created_at)
        SELECT se.adviser_id, d.id, 'Class meeting ' || m,
               'https://meet.district.school/' || d.id || '-' || m,
               timestamptz '2026-12-07 09:00+00' + make_interval(days => 7 * m, mins => d.idx %% 480),
               timestamptz '2026-11-20 08:00+00'
          FROM district_sections d JOIN school.sections se ON se.id = d.id,
               generate_series(1, 2) m
         WHERE d.is_current AND se.adviser_id IS NOT NULL
        """,
        {},
    )


def chat(conn: psycopg.Connection, size: Size, logins: dict[str, int]) -> None:
    """Every student with their adviser (messages_per_student each), each staff login with
    a hundredth of the students, and the big conversations: the Student and Teacher logins'
    first, then teachers with students. Read, but for the last few of some."""
    student, teacher = logins["Student"], logins["Teacher"]
    conn.execute(
        """
        INSERT INTO school.messages (sender_id, receiver_id, message, sent_at, is_read)
        SELECT CASE WHEN m %% 2 = 0 THEN s.user_id ELSE se.adviser_id END,
               CASE WHEN m %% 2 = 0 THEN se.adviser_id ELSE s.user_id END,
               'About week ' || m || ': message ' || s.n,
               timestamptz '2026-12-01 08:00+00'
                 - make_interval(days => (%(per)s - m) * 9 + s.n %% 5, mins => s.n %% 600),
               m < %(per)s - 1 OR s.n %% 4 > 0
          FROM district_students s
          JOIN district_sections d ON d.years_ago = 0 AND d.grade = s.grade
               AND d.section_no = s.section_no
          JOIN school.sections se ON se.id = d.id,
               generate_series(0, %(per)s - 1) m
         WHERE se.adviser_id IS NOT NULL
        """,
        {"per": size.messages_per_student},
    )
    staff_logins = [uid for role, uid in logins.items() if role not in ("Student", "Teacher")]
    conn.execute(
        """
        INSERT INTO school.messages (sender_id, receiver_id, message, sent_at, is_read)
        SELECT CASE WHEN m %% 2 = 0 THEN st ELSE s.user_id END,
               CASE WHEN m %% 2 = 0 THEN s.user_id ELSE st END,
               'Office note ' || m || ' for ' || s.n,
               timestamptz '2026-12-02 08:00+00' - make_interval(days => s.n %% 200, hours => m),
               m < 4 OR s.n %% 3 > 0
          FROM unnest(%(staff)s::int[]) WITH ORDINALITY AS l(st, k)
          JOIN district_students s ON s.n %% 100 = k AND s.n > 0,
               generate_series(0, 4) m
        """,
        {"staff": staff_logins},
    )
    conn.execute(
        """
        INSERT INTO school.messages (sender_id, receiver_id, message, sent_at, is_read)
        SELECT CASE WHEN m %% 3 = 0 THEN p.a ELSE p.b END,
               CASE WHEN m %% 3 = 0 THEN p.b ELSE p.a END,
               'Long thread ' || p.c || ', message ' || m,
               timestamptz '2026-12-04 20:00+00' - make_interval(mins => 5 * (%(len)s - m)),
               m < %(len)s - 3
          FROM (SELECT 0 AS c, %(student)s AS a, %(teacher)s AS b
                UNION ALL
                SELECT c, s.user_id, t.user_id
                  FROM generate_series(1, %(big)s - 1) c
                  JOIN district_students s ON s.n = 1 + c * 37
                  JOIN district_teachers t
                       ON t.t = 1 + c %% greatest(1, (SELECT count(*) - 1 FROM district_teachers))
               ) p,
               generate_series(1, %(len)s) m
        """,
        {
            "len": size.big_messages,
            "big": size.big_conversations,
            "student": student,
            "teacher": teacher,
        },
    )


def notices_and_guidance(conn: psycopg.Connection, size: Size, logins: dict[str, int]) -> None:
    counselors = [
        row[0]
        for row in conn.execute(
            "SELECT u.id FROM school.users u JOIN school.roles r ON r.id = u.role_id "
            "WHERE r.name = 'Guidance' ORDER BY u.id"
        )
    ]
    conn.execute(
        """
        INSERT INTO school.guidance_reports (student_id, counselor_id, report, report_date)
        SELECT s.user_id,
               CASE WHEN i %% 3 = 0 THEN %(guidance)s
                    ELSE (%(counselors)s::int[])[1 + i %% cardinality(%(counselors)s::int[])]
               END,
               'Session ' || i || ': talked about school and home.',
               timestamptz '2017-06-20 09:00+00' + make_interval(days => (i * 13) %% 3450)
          FROM generate_series(0, %(n)s - 1) i
          JOIN district_students s ON s.n = (i * 19) %% %(students)s
        """,
        {"guidance": logins["Guidance"], "n": max(20, size.students // 20),
         "students": size.students, "counselors": counselors},
    )  # fmt: skip
    conn.execute(
        """
        INSERT INTO school.announcements (title, content, posted_by, created_at)
        SELECT 'Announcement ' || i, 'Notice number ' || i || ' to the district.', %(admin)s,
               timestamptz '2017-06-10 08:00+00' + make_interval(days => i * 11)
          FROM generate_series(1, 300) i
        """,
        {"admin": logins["Admin"]},
    )
    conn.execute(
        """
        INSERT INTO school.events (title, description, start_date, end_date, created_by)
        SELECT 'Event ' || i, 'District event ' || i,
               timestamptz '2017-06-20 08:00+00' + make_interval(days => i * 34),
               timestamptz '2017-06-20 17:00+00' + make_interval(days => i * 34), %(admin)s
          FROM generate_series(1, 110) i
        """,
        {"admin": logins["Admin"]},
    )


def clerk_ids(conn: psycopg.Connection) -> list[int]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT u.id FROM school.users u JOIN school.roles r ON r.id = u.role_id "
            "WHERE r.name = 'Accounting' ORDER BY u.id"
        )
    ]


def counts(conn: psycopg.Connection) -> dict[str, int]:
    """Rows per table the district fills (estimates are not enough: exact counts)."""
    tables = (
        "users", "sections", "subjects", "enrollment_progress", "enrollment_history", "fees",
        "fee_installments", "payments", "allocations", "messages", "tasks", "modules",
        "meetings", "guidance_reports", "audit_log",
    )  # fmt: skip
    return {
        t: conn.execute(f"SELECT count(*) FROM school.{t}").fetchone()[0]  # noqa: S608
        for t in tables
    }


def screen_context(conn: psycopg.Connection, student: int, teacher: int) -> dict:
    """The rows benchmarks/screens.py opens its screens on: the Student login's number,
    section, latest payment and newest messages; a guidance report; the newest audit entry;
    a few current enrollments; a message halfway into the Student's longest conversation."""
    row = conn.execute(
        """
        SELECT p.student_number, e.section_id, e.school_year_id,
               (SELECT max(id) FROM school.payments WHERE student_id = %(s)s),
               (SELECT max(id) FROM school.guidance_reports),
               (SELECT max(id) FROM school.audit_log),
               (SELECT array_agg(id) FROM (SELECT id FROM school.enrollment_progress
                  WHERE school_year_id = e.school_year_id AND current_status = 'Pending'
                  ORDER BY id DESC LIMIT 5) x),
               (SELECT array_agg(id) FROM (SELECT id FROM school.messages
                  WHERE receiver_id = %(s)s ORDER BY id DESC LIMIT 3) x)
          FROM school.student_profiles p
          JOIN school.enrollment_progress e ON e.student_id = p.user_id
          JOIN school.school_years y ON y.id = e.school_year_id AND y.is_current
         WHERE p.user_id = %(s)s
        """,
        {"s": student},
    ).fetchone()
    middle = conn.execute(
        """
        SELECT id FROM school.messages
         WHERE least(sender_id, receiver_id) = least(%(s)s, %(t)s)
           AND greatest(sender_id, receiver_id) = greatest(%(s)s, %(t)s)
         ORDER BY id OFFSET (SELECT count(*) / 2 FROM school.messages
                              WHERE least(sender_id, receiver_id) = least(%(s)s, %(t)s)
                                AND greatest(sender_id, receiver_id) = greatest(%(s)s, %(t)s))
         LIMIT 1
        """,
        {"s": student, "t": teacher},
    ).fetchone()[0]
    if row is None:
        raise LookupError(f"student {student} has no current enrollment")
    number, section, year, payment, report, audit, enrollments, newest = row
    return {
        "student_number": number,
        "section_id": section,
        "year_id": year,
        "payment_id": payment,
        "report_id": report,
        "audit_entry_id": audit,
        "enrollment_ids": enrollments or [],
        "older_edge_id": middle,
        "newest_message_ids": newest or [],
    }


def lend_identity(conn: psycopg.Connection, user_id: int, login_role: str) -> None:
    """Make `login_role` (a superuser's session_user, say) the person's login as far as
    school.me() and the policies' session_user checks go; `lend_identity(conn, user_id,
    their own login)` gives it back. For a superuser replaying a person's SQL without
    row-level security: the same rows, the same identity."""
    conn.execute("UPDATE school.users SET login_role = %s WHERE id = %s", (login_role, user_id))


def login_role_of(conn: psycopg.Connection, user_id: int) -> str:
    row = conn.execute("SELECT login_role FROM school.users WHERE id = %s", (user_id,)).fetchone()
    return row[0]


def student_ids(conn: psycopg.Connection) -> list[int]:
    """Every student's user id, in the order of their numbers (D0000000, D0000001, ...)."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT user_id FROM school.student_profiles ORDER BY student_number"
        )
    ]


def add_sections(conn: psycopg.Connection, name: str, capacity: int) -> None:
    """A section called `name` in every grade of the current year (room for newcomers)."""
    conn.execute(
        """
        INSERT INTO school.sections (name, grade_level, school_year_id, capacity)
        SELECT %s, g, (SELECT id FROM school.school_years WHERE is_current), %s
          FROM unnest(%s::text[]) g
        """,
        (name, capacity, GRADES),
    )
