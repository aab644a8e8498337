"""What each role may read and write, proved over real connections as each person's own login.

The expectations are one table, school_tui/domain/access_matrix.txt (MATRIX): a row per (table, operation), a column per
role. `Y`: the role's duties allow it, and it works. `E`: refused with a permission error
(InsufficientPrivilege; a row-level security WITH CHECK failure raises the same). `0`:
row-level security hides the row: zero rows seen, or zero rows changed by UPDATE/DELETE.
Every cell is its own test, and asserts exactly what the database shows.

The cells run against one small school (the `world` fixture), built once per module by a
superuser, with one live connection per role; each cell runs inside a transaction that is
always rolled back, so no cell sees another's writes. (A fresh cloned database per cell would
cost two argon2 runs, ~0.3 s, per cell.) The tests after the matrix that change grants, end
sessions or need a clean slate use the per-test `school` fixture instead.

What "own" means in an operation's name: the world has two of everything, side 1 and side 2.
Side 1 belongs to the acting person wherever their role owns rows of that table: the acting
Student is S1 (enrolled in section SA, with fee F1, payment P1, guidance report R1), the
acting Teacher is T1 (adviser of SA, author of module/task/meeting 1), the acting Guidance
counsellor is G1 (author of R1), the acting accountant is A1 (recorder of P1). Side 2 (S2 in
section SB, T2, G2, A2) belongs to people nobody logs in as. For roles that own no rows of a
table, `*_own` is simply side 1, seen by a bystander.

`Y` means: a read sees exactly the one row asked for; a write changes exactly one row; a
function call succeeds (and me()/my_role() name the caller). Any error other than
InsufficientPrivilege fails the cell: it would mean the operation was refused for the wrong
reason (a CHECK, a trigger), so the test's data, not the rule, decided.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import pytest
from psycopg import errors, sql

from school_tui.db import people
from school_tui.db.connect import APP_ROLE_GROUP
from school_tui.domain.access import MATRIX_FILE, ROLES
from tests.builders import add_fee, add_school_year, enroll
from tests.harness import assert_ledger_invariants

COLUMNS = ("Adm", "Pri", "Coo", "Tea", "Stu", "Gui", "Reg", "Acc")

MATRIX = MATRIX_FILE.read_text()


MARKS = {"Y": "allowed", "E": "permission error", "0": "no rows (row-level security)"}


def parse_matrix(text: str) -> dict[tuple[str, str], dict[str, str]]:
    expect: dict[tuple[str, str], dict[str, str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        table, operation, *marks = line.split()
        if len(marks) != len(ROLES) or set(marks) - set(MARKS):
            raise ValueError(f"MATRIX: bad line {line!r}")
        if (table, operation) in expect:
            raise ValueError(f"MATRIX: {table} {operation} appears twice")
        expect[table, operation] = dict(zip(ROLES, marks, strict=True))
    return expect


EXPECT = parse_matrix(MATRIX)


# =====================================================================================
# The world: two of everything, built by the superuser, one live connection per role.
# =====================================================================================
@dataclass
class World:
    school: object
    ids: dict[str, int] = field(default_factory=dict)
    actor: dict[str, int] = field(default_factory=dict)  # role -> the person acting as it
    msg_to: dict[str, int] = field(default_factory=dict)  # role -> a message T2 sent them
    msg_from: dict[str, int] = field(default_factory=dict)  # role -> one they sent T2
    posts: dict[str, int] = field(default_factory=dict)  # role -> an announcement they posted
    events: dict[str, int] = field(default_factory=dict)  # role -> an event they made
    conns: dict[str, psycopg.Connection] = field(default_factory=dict)

    def ref(self, key: str, role: str) -> int:
        if key == "me":
            return self.actor[role]
        if key == "msg_to_me":
            return self.msg_to[role]
        if key == "msg_from_me":
            return self.msg_from[role]
        if key == "my_post":
            return self.posts[role]
        if key == "my_event":
            return self.events[role]
        return self.ids[key]

    def conn(self, role: str) -> psycopg.Connection:
        if role not in self.conns:
            self.conns[role] = self.school.connect_as(self.actor[role], autocommit=True)
        return self.conns[role]

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()


def build_world(school) -> World:
    w = World(school)
    # The people who log in: one per role. Side 1 of the owned tables is theirs.
    for role in ROLES:
        key = APP_ROLE_GROUP[role]
        w.actor[role] = school.add_person(role, email=f"{key}@access.test")
    ids = w.ids
    ids.update(
        S1=w.actor["Student"],
        T1=w.actor["Teacher"],
        G1=w.actor["Guidance"],
        A1=w.actor["Accounting"],
        ADMIN=w.actor["Admin"],
    )
    # Side 2: nobody logs in as them, so no argon2 for them.
    for key, role in (
        ("S2", "Student"),
        ("T2", "Teacher"),
        ("G2", "Guidance"),
        ("A2", "Accounting"),
        ("ADM2", "Admin"),
    ):
        ids[key] = school.add_person(role, email=f"{key.lower()}@access.test", password=None)

    admin = school.admin

    def add(query: str, *params) -> int:
        return admin.execute(query, params).fetchone()[0]

    for n, key in enumerate(("S1", "S2"), start=1):
        add(
            "INSERT INTO school.student_profiles (user_id, student_number, grade_level) "
            "VALUES (%s, %s, 'Grade 7') RETURNING user_id",
            ids[key],
            f"S-{n}",
        )
    ids["Y0"] = add(
        "INSERT INTO school.school_years (name, starts_on, ends_on) "
        "VALUES ('2024-2025', '2024-06-01', '2025-05-31') RETURNING id"
    )
    ids["Y"] = add(
        "INSERT INTO school.school_years (name, starts_on, ends_on, is_current) "
        "VALUES ('2025-2026', '2025-06-01', '2026-05-31', true) RETURNING id"
    )
    for side, adviser in (("A", "T1"), ("B", "T2")):
        ids["S" + side] = add(
            "INSERT INTO school.sections (name, grade_level, school_year_id, adviser_id, capacity) "
            "VALUES (%s, 'Grade 7', %s, %s, 40) RETURNING id",
            f"Section {side}",
            ids["Y"],
            ids[adviser],
        )
    # A section that holds nothing: the one the Registrar may delete.
    ids["SE"] = add(
        "INSERT INTO school.sections (name, grade_level, school_year_id) "
        "VALUES ('Section E', 'Grade 8', %s) RETURNING id",
        ids["Y"],
    )
    for n, (student, teacher, section, counselor, accountant) in enumerate(
        (("S1", "T1", "SA", "G1", "A1"), ("S2", "T2", "SB", "G2", "A2")), start=1
    ):
        sec = ids[section]
        ids[f"SUB{n}"] = add(
            "INSERT INTO school.subjects (section_id, name) VALUES (%s, 'Mathematics') RETURNING id",
            sec,
        )
        ids[f"E{n}"] = add(
            "INSERT INTO school.enrollment_progress (student_id, school_year_id, section_id, "
            "current_status) VALUES (%s, %s, %s, 'Enrolled') RETURNING id",
            ids[student],
            ids["Y"],
            sec,
        )
        ids[f"MOD{n}"] = add(
            "INSERT INTO school.modules (teacher_id, section_id, title, file_url) "
            "VALUES (%s, %s, 'Fractions', 'https://files.example/fractions.pdf') RETURNING id",
            ids[teacher],
            sec,
        )
        ids[f"TASK{n}"] = add(
            "INSERT INTO school.tasks (teacher_id, section_id, title, task_type, due_date) "
            "VALUES (%s, %s, 'Quiz 1', 'Quiz', now() + interval '7 days') RETURNING id",
            ids[teacher],
            sec,
        )
        ids[f"MEET{n}"] = add(
            "INSERT INTO school.meetings (host_id, section_id, title, meeting_link, scheduled_at) "
            "VALUES (%s, %s, 'Class', 'https://meet.example/x', now() + interval '1 day') "
            "RETURNING id",
            ids[teacher],
            sec,
        )
        ids[f"F{n}"] = add(
            "INSERT INTO school.fees (student_id, fee_type, amount) "
            "VALUES (%s, 'Tuition', 1000.00) RETURNING id",
            ids[student],
        )
        ids[f"P{n}"] = add(
            "INSERT INTO school.payments (fee_id, amount_paid, payment_method, recorded_by) "
            "VALUES (%s, 250.00, 'Cash', %s) RETURNING id",
            ids[f"F{n}"],
            ids[accountant],
        )
        ids[f"R{n}"] = add(
            "INSERT INTO school.guidance_reports (student_id, counselor_id, report) "
            "VALUES (%s, %s, 'Confidential') RETURNING id",
            ids[student],
            ids[counselor],
        )
    _ledger_world(ids, add)
    # Posts by another Admin (nobody logs in as them), and one by each acting person.
    for role, poster in [(None, ids["ADM2"])] + [(r, w.actor[r]) for r in ROLES]:
        post = add(
            "INSERT INTO school.announcements (title, content, posted_by) "
            "VALUES ('Welcome', 'Classes start Monday', %s) RETURNING id",
            poster,
        )
        event = add(
            "INSERT INTO school.events (title, start_date, end_date, created_by) "
            "VALUES ('Fair', now() + interval '1 day', now() + interval '2 days', %s) "
            "RETURNING id",
            poster,
        )
        if role is None:
            ids["ANN"], ids["EVT"] = post, event
        else:
            w.posts[role], w.events[role] = post, event
    for role in ROLES:
        w.msg_to[role] = add(
            "INSERT INTO school.messages (sender_id, receiver_id, message) "
            "VALUES (%s, %s, 'hello') RETURNING id",
            ids["T2"],
            w.actor[role],
        )
        w.msg_from[role] = add(
            "INSERT INTO school.messages (sender_id, receiver_id, message) "
            "VALUES (%s, %s, 'hi') RETURNING id",
            w.actor[role],
            ids["T2"],
        )
    ids["MSG_OTHER"] = add(
        "INSERT INTO school.messages (sender_id, receiver_id, message) "
        "VALUES (%s, %s, 'between others') RETURNING id",
        ids["T2"],
        ids["S2"],
    )
    return w


def _ledger_world(ids: dict[str, int], add) -> None:
    """Side n of the ledger: F{n}'s due I{n} and P{n}'s allocation AL{n} (made by the
    triggers), an adjustment ADJ{n}, a reversed payment and its reversal REV{n}, a day close
    DC{n} by A{n}. Plus a fee type, a schedule with one installment, and FX: a fee of S1 with
    nothing paid, whose plan may still change."""
    for n in (1, 2):
        ids[f"I{n}"] = add("SELECT id FROM school.fee_installments WHERE fee_id = %s", ids[f"F{n}"])
        ids[f"AL{n}"] = add("SELECT id FROM school.allocations WHERE payment_id = %s", ids[f"P{n}"])
        ids[f"ADJ{n}"] = add(
            "SELECT school.record_adjustment(%s, 'Discount', 10.00, NULL, 'sibling', %s, "
            "gen_random_uuid(), %s)",
            ids[f"F{n}"],
            ids["ADMIN"],
            ids[f"A{n}"],
        )
        paid = add(
            "SELECT payment_id FROM school.record_payment(%s, 5.00, 'Cash', NULL, "
            "gen_random_uuid(), %s, now() - interval '1 day')",
            ids[f"S{n}"],
            ids[f"A{n}"],
        )
        ids[f"REV{n}"] = add(
            "SELECT school.record_reversal(%s, NULL, 'typo', %s)", paid, ids[f"A{n}"]
        )
        ids[f"DC{n}"] = add(
            "INSERT INTO school.day_closes (clerk_id, business_date, payments_count, "
            "reversals_count, expected_cash, expected_bank_transfer, expected_check, "
            "expected_card, counted_cash) VALUES (%s, current_date - 1, 1, 1, 0, 0, 0, 0, 0) "
            "RETURNING id",
            ids[f"A{n}"],
        )
    ids["FT"] = add("SELECT id FROM school.fee_types WHERE name = 'Tuition'")
    ids["FT_UNUSED"] = add("INSERT INTO school.fee_types (name) VALUES ('Donation') RETURNING id")
    ids["SCH"] = add(
        "INSERT INTO school.fee_schedules (school_year_id, grade_level, fee_type, amount, due_date) "
        "VALUES (%s, 'Grade 7', 'Tuition', 1000.00, '2025-07-31') RETURNING id",
        ids["Y"],
    )
    ids["SCH_UNUSED"] = add(
        "INSERT INTO school.fee_schedules (school_year_id, grade_level, fee_type, amount, due_date) "
        "VALUES (%s, 'Grade 9', 'Books', 100.00, '2025-07-31') RETURNING id",
        ids["Y"],
    )
    ids["SCHI"] = add(
        "INSERT INTO school.fee_schedule_installments (schedule_id, seq, due_date, amount) "
        "VALUES (%s, 1, '2025-07-31', 1000.00) RETURNING id",
        ids["SCH"],
    )
    ids["FX"] = add(
        "INSERT INTO school.fees (student_id, fee_type, amount) VALUES (%s, 'Books', 100.00) "
        "RETURNING id",
        ids["S1"],
    )


@pytest.fixture(scope="module")
def world(school_factory):
    school = school_factory.create()
    made = None
    try:
        made = build_world(school)
        yield made
        # Every cell rolled back: the world's books still add up.
        assert_ledger_invariants(school.admin)
    finally:
        if made is not None:
            made.close()
        school_factory.drop(school)


# =====================================================================================
# Operations: each returns how many rows it saw or changed (1 when a call succeeded).
# =====================================================================================
Op = Callable[[psycopg.Connection, World, str], int]


def _table(table: str) -> sql.Composed:
    return sql.SQL("school.{}").format(sql.Identifier(table))


def read(table: str, key: str, column: str = "id", what: str = "count(*)") -> Op:
    def op(conn, w, role):
        query = sql.SQL("SELECT {} FROM {} WHERE {} = %s").format(
            sql.SQL(what), _table(table), sql.Identifier(column)
        )
        rows = conn.execute(query, (w.ref(key, role),)).fetchall()
        return rows[0][0] if what == "count(*)" else len(rows)

    return op


def read_all(table: str) -> Op:
    return lambda conn, w, role: conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(_table(table))
    ).fetchone()[0]


def update(table: str, assignment: str, key: str, column: str = "id", refs=()) -> Op:
    """UPDATE one row; `refs` name world ids for the %s placeholders in `assignment`."""

    def op(conn, w, role):
        query = sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(
            _table(table), sql.SQL(assignment), sql.Identifier(column)
        )
        params = [w.ref(r, role) for r in refs] + [w.ref(key, role)]
        return conn.execute(query, params).rowcount

    return op


def delete(table: str, key: str) -> Op:
    def op(conn, w, role):
        query = sql.SQL("DELETE FROM {} WHERE id = %s").format(_table(table))
        return conn.execute(query, (w.ref(key, role),)).rowcount

    return op


def delete_via(function: str, key: str) -> Op:
    """Delete through the table's delete_<thing>(id): no role holds DELETE on a shared table
    (it would let LOCK TABLE freeze every reader). Returns the rows deleted."""

    def op(conn, w, role):
        query = sql.SQL("SELECT school.{}(%s)").format(sql.Identifier(function))
        return conn.execute(query, (w.ref(key, role),)).fetchone()[0]

    return op


class Ref(str):
    """An insert value naming a world id (or "me") rather than a literal."""


def insert(table: str, **values) -> Op:
    def op(conn, w, role):
        params = [w.ref(v, role) if isinstance(v, Ref) else v for v in values.values()]
        query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
            _table(table),
            sql.SQL(", ").join(map(sql.Identifier, values)),
            sql.SQL(", ").join(sql.Placeholder() * len(values)),
        )
        return conn.execute(query, params).rowcount

    return op


def call(query: str, *keys: str) -> Op:
    def op(conn, w, role):
        conn.execute(query, [w.ref(k, role) for k in keys]).fetchall()
        return 1

    return op


def audit_read(table: str, key: str) -> Op:
    """How many INSERT entries of the row the reader sees in the audit log."""

    def op(conn, w, role):
        return conn.execute(
            "SELECT count(*) FROM school.audit_log "
            "WHERE table_name = %s AND row_id = %s AND action = 'INSERT'",
            (table, w.ref(key, role)),
        ).fetchone()[0]

    return op


def _create_person(conn, w, role):
    people.create_person(
        conn,
        role="Student",
        first_name="New",
        last_name="Student",
        email=f"new.{secrets.token_hex(3)}@access.test",
        password=None,
    )
    return 1


def _set_temp_password(conn, w, role):
    verifier = people.scram_verifier(conn, "", secrets.token_urlsafe(16))
    conn.execute(
        "SELECT school.set_temporary_password(%s, %s, %s, %s)",
        (w.ids["S2"], secrets.token_bytes(16), verifier, secrets.token_bytes(32)),
    )
    return 1


def _change_own_password(conn, w, role):
    people.change_own_password(conn, conn.info.password, secrets.token_urlsafe(16))
    return 1


def _whoami(conn, w, role):
    rows = conn.execute("SELECT id, role FROM school.whoami()").fetchall()
    return int(rows == [(w.actor[role], role)])


def _me(conn, w, role):
    return int(conn.execute("SELECT school.me()").fetchone()[0] == w.actor[role])


def _my_role(conn, w, role):
    return int(conn.execute("SELECT school.my_role()").fetchone()[0] == role)


def owned_table_ops(
    table: str, side: str, owner_column: str, values: dict, assignment: str, deleter: str
):
    """read/insert/update/delete, own and other's, for a table whose rows belong to teachers."""
    return {
        (table, "read_own"): read(table, f"{side}1"),
        (table, "read_other"): read(table, f"{side}2"),
        (table, "insert"): insert(table, **values, **{owner_column: Ref("T1")}),
        (table, "insert_as_other"): insert(table, **values, **{owner_column: Ref("T2")}),
        # SB: a section T1 neither advises nor teaches a subject in
        (table, "insert_untaught"): insert(
            table, **{**values, "section_id": Ref("SB")}, **{owner_column: Ref("T1")}
        ),
        (table, "move_untaught"): update(table, "section_id = %s", f"{side}1", refs=["SB"]),
        (table, "update_own"): update(table, assignment, f"{side}1"),
        (table, "update_other"): update(table, assignment, f"{side}2"),
        (table, "reassign_own"): update(table, f"{owner_column} = %s", f"{side}1", refs=["T2"]),
        (table, "delete_own"): delete_via(deleter, f"{side}1"),
        (table, "delete_other"): delete_via(deleter, f"{side}2"),
    }


OPS: dict[tuple[str, str], Op] = {
    ("users", "read_own"): read("users", "me"),
    ("users", "read_staff"): read("users", "T2"),
    ("users", "read_other_student"): read("users", "S2"),
    ("users", "read_login_role"): read("users", "me", what="login_role"),
    ("users", "insert"): insert(
        "users",
        role_id=1,
        first_name="Eve",
        last_name="Intruder",
        email="eve@access.test",
        login_role="eve_login",
    ),
    ("users", "update_own"): update("users", "first_name = 'Renamed'", "me"),
    ("users", "update_other"): update("users", "first_name = 'Renamed'", "S2"),
    ("users", "delete_other"): delete("users", "S2"),
    ("credentials", "read_own"): read("credentials", "me", column="user_id"),
    ("credentials", "read_other"): read("credentials", "S2", column="user_id"),
    ("credentials", "update_own"): update(
        "credentials", "salt = '\\x00112233445566778899aabbccddeeff'::bytea", "me", "user_id"
    ),
    ("instance", "read"): read_all("instance"),
    ("login_lockouts", "read_own"): read("login_lockouts", "me", column="user_id"),
    ("login_lockouts", "update_own"): update("login_lockouts", "failures = 0", "me", "user_id"),
    ("schema_version", "read"): lambda conn, w, role: conn.execute(
        "SELECT count(*) FROM school.schema_version WHERE version = 1"
    ).fetchone()[0],
    ("serial_locks", "read"): read_all("serial_locks"),
    ("serial_locks", "lock"): lambda conn, w, role: len(
        conn.execute("SELECT name FROM school.serial_locks FOR UPDATE").fetchall()
    ),
    ("write_limits", "read"): read_all("write_limits"),
    ("write_limits", "update"): lambda conn, w, role: (
        conn.execute("UPDATE school.write_limits SET per_minute = 1000000").rowcount
    ),
    ("write_counts", "read"): read_all("write_counts"),
    ("write_counts", "delete"): lambda conn, w, role: (
        conn.execute("DELETE FROM school.write_counts").rowcount
    ),
    ("roles", "read"): lambda conn, w, role: conn.execute(
        "SELECT count(*) FROM school.roles WHERE name = 'Student'"
    ).fetchone()[0],
    ("roles", "insert"): lambda conn, w, role: (
        conn.execute(
            # An existing name's duplicate would be refused anyway; the point is the privilege.
            "INSERT INTO school.roles (id, name) VALUES (100, 'Janitor')"
        ).rowcount
    ),
    ("roles", "update"): lambda conn, w, role: (
        conn.execute("UPDATE school.roles SET name = 'Admin' WHERE name = 'Student'").rowcount
    ),
    ("roles", "delete"): lambda conn, w, role: (
        conn.execute("DELETE FROM school.roles WHERE name = 'Guidance'").rowcount
    ),
    ("online_status", "read_own"): read("online_status", "me", column="user_id"),
    ("online_status", "read_other"): read("online_status", "S2", column="user_id"),
    ("functions", "create_person"): _create_person,
    ("functions", "set_person_active"): call("SELECT school.set_person_active(%s, false)", "S2"),
    ("functions", "set_temp_password"): _set_temp_password,
    ("functions", "role_group"): call("SELECT school.role_group('Admin')"),
    # A2 has rows (payments recorded) that need no particular role, so the change can happen.
    ("functions", "change_person_role"): call(
        "SELECT school.change_person_role(%s, 'Registrar')", "A2"
    ),
    ("functions", "update_person"): call(
        "SELECT school.update_person(%s, 'Renamed', 'Student', 's2.renamed@access.test')", "S2"
    ),
    ("functions", "whoami"): _whoami,
    ("functions", "change_own_password"): _change_own_password,
    ("functions", "me"): _me,
    ("functions", "my_role"): _my_role,
    ("functions", "record_login"): call("SELECT school.record_login()"),
    ("functions", "prelogin_lookup"): call(
        "SELECT * FROM school.prelogin_lookup('student@access.test')"
    ),
    ("school_years", "read"): read("school_years", "Y"),
    ("school_years", "insert"): insert(
        "school_years", name="2030-2031", starts_on="2030-06-01", ends_on="2031-05-31"
    ),
    ("school_years", "update"): update("school_years", "ends_on = ends_on + 1", "Y"),
    ("school_years", "delete"): delete_via("delete_school_year", "Y0"),
    ("sections", "read"): read("sections", "SA"),
    ("sections", "insert"): insert(
        "sections", name="Section C", grade_level="Grade 8", school_year_id=Ref("Y")
    ),
    ("sections", "update"): update("sections", "capacity = 41", "SA"),
    ("sections", "delete"): delete_via("delete_section", "SE"),
    ("enrollment_progress", "read_own"): read("enrollment_progress", "E1"),
    ("enrollment_progress", "read_other"): read("enrollment_progress", "E2"),
    # (no section: SA belongs to the current year, and a section must be of the same year)
    ("enrollment_progress", "insert"): insert(
        "enrollment_progress", student_id=Ref("S1"), school_year_id=Ref("Y0")
    ),
    ("enrollment_progress", "update_own"): update(
        "enrollment_progress", "current_status = 'Withdrawn'", "E1"
    ),
    ("enrollment_progress", "update_other"): update(
        "enrollment_progress", "current_status = 'Withdrawn'", "E2"
    ),
    ("enrollment_progress", "delete_own"): delete("enrollment_progress", "E1"),
    ("enrollment_progress", "delete_other"): delete("enrollment_progress", "E2"),
    ("student_profiles", "read_own"): read("student_profiles", "S1", column="user_id"),
    ("student_profiles", "read_other"): read("student_profiles", "S2", column="user_id"),
    ("student_profiles", "insert"): lambda conn, w, role: (
        conn.execute(
            "INSERT INTO school.student_profiles (user_id, student_number) VALUES (%s, 'X-1')",
            (w.ids["T2"],),
        ).rowcount
    ),
    ("student_profiles", "update_own"): update(
        "student_profiles", "address = 'Elsewhere'", "S1", column="user_id"
    ),
    ("student_profiles", "delete_own"): lambda conn, w, role: (
        conn.execute(
            "DELETE FROM school.student_profiles WHERE user_id = %s", (w.ids["S1"],)
        ).rowcount
    ),
    ("enrollment_transitions", "read"): lambda conn, w, role: conn.execute(
        "SELECT count(*) FROM school.enrollment_transitions "
        "WHERE from_status = 'Pending' AND to_status = 'Verified'"
    ).fetchone()[0],
    ("enrollment_transitions", "insert"): lambda conn, w, role: (
        conn.execute(
            "INSERT INTO school.enrollment_transitions VALUES ('Pending', 'Enrolled', 1)"
        ).rowcount
    ),
    ("enrollment_transitions", "delete"): lambda conn, w, role: (
        conn.execute(
            "DELETE FROM school.enrollment_transitions WHERE from_status = 'Enrolled'"
        ).rowcount
    ),
    ("enrollment_history", "read_own"): read("enrollment_history", "E1", column="enrollment_id"),
    ("enrollment_history", "read_other"): read("enrollment_history", "E2", column="enrollment_id"),
    ("enrollment_history", "insert"): lambda conn, w, role: (
        conn.execute(
            "INSERT INTO school.enrollment_history (enrollment_id, to_status) "
            "VALUES (%s, 'Enrolled')",
            (w.ids["E1"],),
        ).rowcount
    ),
    ("enrollment_history", "update_own"): update(
        "enrollment_history", "remark = 'rewritten'", "E1", column="enrollment_id"
    ),
    ("enrollment_history", "delete_own"): lambda conn, w, role: (
        conn.execute(
            "DELETE FROM school.enrollment_history WHERE enrollment_id = %s", (w.ids["E1"],)
        ).rowcount
    ),
    ("import_staging", "insert"): lambda conn, w, role: (
        conn.execute(
            "INSERT INTO school.import_staging (batch, line, student_number) "
            "VALUES (gen_random_uuid(), 2, 'X-1')"
        ).rowcount
    ),
    ("import_staging", "read"): read_all("import_staging"),
    ("import_staging", "delete"): lambda conn, w, role: (
        conn.execute("DELETE FROM school.import_staging").rowcount or 1
    ),
    ("functions", "create_student"): lambda conn, w, role: (
        conn.execute(
            "SELECT school.create_student('New', 'Student', %s, %s)",
            (f"new.{secrets.token_hex(3)}@access.test", f"N-{secrets.token_hex(3).upper()}"),
        ).rowcount
    ),
    ("functions", "update_student"): call(
        "SELECT school.update_student(%s, 'Renamed', 'Student', 's2.r@access.test', 'S-2')", "S2"
    ),
    ("functions", "import_students"): call(
        "SELECT * FROM school.import_students(gen_random_uuid())"
    ),
    ("functions", "set_enrollment_status"): call(
        "SELECT school.set_enrollment_status(ARRAY[%s], 'Withdrawn', 'moved away')", "E2"
    ),
    ("functions", "enrollment_fees_paid"): call(
        "SELECT school.enrollment_fees_paid(%s, %s)", "S1", "Y"
    ),
    ("functions", "enrollment_channel"): call("SELECT school.enrollment_channel()"),
    ("functions", "search_students"): call("SELECT * FROM school.search_students('{%%}', 5)"),
    ("functions", "fee_summary_own"): call("SELECT * FROM school.student_fee_summary(%s)", "S1"),
    ("functions", "fee_summary_other"): call("SELECT * FROM school.student_fee_summary(%s)", "S2"),
    ("subjects", "read"): read("subjects", "SUB1"),
    ("subjects", "insert"): insert("subjects", section_id=Ref("SA"), name="History"),
    ("subjects", "update"): update("subjects", "description = 'Numbers'", "SUB1"),
    ("subjects", "assign_teacher"): update("subjects", "teacher_id = %s", "SUB1", refs=["T2"]),
    ("subjects", "delete"): delete_via("delete_subject", "SUB1"),
    **owned_table_ops(
        "modules",
        "MOD",
        "teacher_id",
        {"section_id": Ref("SA"), "title": "Decimals", "file_url": "https://files.example/d.pdf"},
        "title = 'Renamed'",
        "delete_module",
    ),
    **owned_table_ops(
        "tasks",
        "TASK",
        "teacher_id",
        {"section_id": Ref("SA"), "title": "Homework", "task_type": "Assignment"},
        "title = 'Renamed'",
        "delete_task",
    ),
    **owned_table_ops(
        "meetings",
        "MEET",
        "host_id",
        {
            "section_id": Ref("SA"),
            "title": "Consultation",
            "meeting_link": "https://meet.example/y",
            "scheduled_at": "2030-01-01 10:00+00",
        },
        "title = 'Renamed'",
        "delete_meeting",
    ),
    ("messages", "read_own"): read("messages", "msg_to_me"),
    ("messages", "read_other"): read("messages", "MSG_OTHER"),
    ("messages", "insert"): insert(
        "messages", sender_id=Ref("me"), receiver_id=Ref("T2"), message="hi"
    ),
    ("messages", "insert_as_other"): insert(
        "messages", sender_id=Ref("T2"), receiver_id=Ref("me"), message="forged"
    ),
    ("messages", "mark_read_own"): update("messages", "is_read = true", "msg_to_me"),
    ("messages", "mark_read_other"): update("messages", "is_read = true", "MSG_OTHER"),
    ("messages", "read_sent"): read("messages", "msg_from_me"),
    ("messages", "mark_read_sent"): update("messages", "is_read = true", "msg_from_me"),
    ("messages", "edit_text_own"): update("messages", "message = 'edited'", "msg_to_me"),
    ("messages", "delete_own"): delete("messages", "msg_to_me"),
    ("announcements", "read"): read("announcements", "ANN"),
    ("announcements", "insert"): insert(
        "announcements", title="Notice", content="Body", posted_by=Ref("me")
    ),
    ("announcements", "insert_as_other"): insert(
        "announcements", title="Notice", content="Body", posted_by=Ref("ADM2")
    ),
    ("announcements", "update_own"): update("announcements", "title = 'Edited'", "my_post"),
    ("announcements", "update_other"): update("announcements", "title = 'Edited'", "ANN"),
    ("announcements", "reassign_own"): update(
        "announcements", "posted_by = %s", "my_post", refs=["ADM2"]
    ),
    ("announcements", "delete_own"): delete_via("delete_announcement", "my_post"),
    ("announcements", "delete_other"): delete_via("delete_announcement", "ANN"),
    ("events", "read"): read("events", "EVT"),
    ("events", "insert"): insert(
        "events", title="Play", start_date="2030-01-01 10:00+00", created_by=Ref("me")
    ),
    ("events", "insert_as_other"): insert(
        "events", title="Play", start_date="2030-01-01 10:00+00", created_by=Ref("ADM2")
    ),
    ("events", "update_own"): update("events", "title = 'Edited'", "my_event"),
    ("events", "update_other"): update("events", "title = 'Edited'", "EVT"),
    ("events", "reassign_own"): update("events", "created_by = %s", "my_event", refs=["ADM2"]),
    ("events", "delete_own"): delete_via("delete_event", "my_event"),
    ("events", "delete_other"): delete_via("delete_event", "EVT"),
    ("fees", "read_own"): read("fees", "F1"),
    ("fees", "read_other"): read("fees", "F2"),
    ("fees", "insert"): insert("fees", student_id=Ref("S1"), fee_type="Books", amount="50.00"),
    ("fees", "update_own"): update("fees", "amount = 1.00", "F1"),
    ("fees", "update_other"): update("fees", "amount = 1.00", "F2"),
    ("fees", "delete_own"): delete("fees", "F1"),
    ("payments", "read_own"): read("payments", "P1"),
    ("payments", "read_other"): read("payments", "P2"),
    ("payments", "insert"): insert(
        "payments",
        fee_id=Ref("F1"),
        amount_paid="100.00",
        payment_method="Card",
        recorded_by=Ref("me"),
    ),
    ("payments", "insert_as_other"): insert(
        "payments",
        fee_id=Ref("F1"),
        amount_paid="100.00",
        payment_method="Card",
        recorded_by=Ref("A2"),
    ),
    ("payments", "update_own"): update("payments", "amount_paid = 1000.00", "P1"),
    ("payments", "update_other"): update("payments", "amount_paid = 1000.00", "P2"),
    ("payments", "delete_own"): delete("payments", "P1"),
    ("payments", "delete_other"): delete("payments", "P2"),
    ("fee_types", "read"): read("fee_types", "FT"),
    ("fee_types", "insert"): insert("fee_types", name="Field trip"),
    ("fee_types", "update"): update("fee_types", "description = 'Tuition proper'", "FT"),
    ("fee_types", "delete"): delete_via("delete_fee_type", "FT_UNUSED"),
    ("fee_schedules", "read"): read("fee_schedules", "SCH"),
    ("fee_schedules", "insert"): insert(
        "fee_schedules",
        school_year_id=Ref("Y"),
        grade_level="Grade 8",
        fee_type="Tuition",
        amount="900.00",
        due_date="2025-08-31",
    ),
    ("fee_schedules", "update"): update("fee_schedules", "due_date = due_date + 1", "SCH"),
    ("fee_schedules", "delete"): delete_via("delete_fee_schedule", "SCH_UNUSED"),
    ("fee_schedule_installments", "read"): read("fee_schedule_installments", "SCHI"),
    ("fee_schedule_installments", "insert"): insert(
        "fee_schedule_installments",
        schedule_id=Ref("SCH_UNUSED"),
        seq=1,
        due_date="2025-08-31",
        amount="100.00",
    ),
    ("fee_schedule_installments", "delete"): delete("fee_schedule_installments", "SCHI"),
    ("fee_installments", "read_own"): read("fee_installments", "I1"),
    ("fee_installments", "read_other"): read("fee_installments", "I2"),
    ("fee_installments", "insert"): insert(
        "fee_installments", fee_id=Ref("FX"), seq=2, due_date="2025-09-30", amount="1.00"
    ),
    ("fee_installments", "delete_own"): delete("fee_installments", "I1"),
    ("adjustments", "read_own"): read("adjustments", "ADJ1"),
    ("adjustments", "read_other"): read("adjustments", "ADJ2"),
    ("adjustments", "insert"): insert(
        "adjustments",
        fee_id=Ref("FX"),
        student_id=Ref("S1"),
        kind="Waiver",
        amount="100.00",
        reason="forged",
        approved_by=Ref("ADMIN"),
    ),
    ("adjustments", "update_own"): update("adjustments", "amount = 1.00", "ADJ1"),
    ("allocations", "read_own"): read("allocations", "AL1"),
    ("allocations", "read_other"): read("allocations", "AL2"),
    ("allocations", "insert"): insert(
        "allocations", payment_id=Ref("P1"), installment_id=Ref("I2"), amount="1.00"
    ),
    ("allocations", "delete_own"): delete("allocations", "AL1"),
    ("reversals", "read_own"): read("reversals", "REV1"),
    ("reversals", "read_other"): read("reversals", "REV2"),
    ("reversals", "insert"): insert("reversals", payment_id=Ref("P1"), reason="undo it"),
    ("day_closes", "read"): read("day_closes", "DC1"),
    ("day_closes", "insert"): insert(
        "day_closes",
        clerk_id=Ref("me"),
        business_date="2000-01-01",
        payments_count=0,
        reversals_count=0,
        expected_cash=0,
        expected_bank_transfer=0,
        expected_check=0,
        expected_card=0,
        counted_cash=0,
    ),
    ("installment_balances", "read_own"): read("installment_balances", "I1", "installment_id"),
    ("installment_balances", "read_other"): read("installment_balances", "I2", "installment_id"),
    ("fee_balances", "read_own"): read("fee_balances", "F1", "fee_id"),
    ("fee_balances", "read_other"): read("fee_balances", "F2", "fee_id"),
    ("student_balances", "read_own"): read("student_balances", "S1", "student_id"),
    ("student_balances", "read_other"): read("student_balances", "S2", "student_id"),
    ("functions", "post_payment"): call(
        "SELECT * FROM school.post_payment(%s, 1.00, 'Cash', NULL, gen_random_uuid())", "S1"
    ),
    ("functions", "reverse_payment"): call("SELECT school.reverse_payment(%s, 'typo')", "P1"),
    ("functions", "add_adjustment"): call(
        "SELECT school.add_adjustment(%s, 'Discount', 1.00, NULL, 'sibling', %s, "
        "gen_random_uuid())",
        "F1",
        "ADMIN",
    ),
    ("functions", "reverse_adjustment"): call(
        "SELECT school.reverse_adjustment(%s, 'withdrawn')", "ADJ1"
    ),
    ("functions", "assign_fees"): call("SELECT school.assign_fees(%s)", "Y"),
    ("functions", "set_installment_plan"): call(
        "SELECT school.set_installment_plan(%s, ARRAY[current_date, current_date + 30], "
        "ARRAY[40.00, 60.00])",
        "FX",
    ),
    ("functions", "add_fee"): call(
        "SELECT school.add_fee(%s, 'Other', 25.00, %s, current_date)", "S1", "Y"
    ),
    ("functions", "save_fee_schedule"): call(
        "SELECT school.save_fee_schedule(NULL, %s, 'Grade 10', 'Tuition', 900.00, current_date)",
        "Y",
    ),
    ("functions", "close_day"): call("SELECT school.close_day(current_date, 0, NULL)"),
    ("functions", "expected_takings"): call(
        "SELECT * FROM school.expected_takings(%s, current_date)", "A1"
    ),
    ("functions", "record_payment"): call(
        "SELECT * FROM school.record_payment(%s, 1.00, 'Cash', NULL, gen_random_uuid(), %s)",
        "S1",
        "A2",
    ),
    ("functions", "settle_enrollment"): call("SELECT school.settle_enrollment(%s, %s)", "S1", "Y"),
    ("guidance_reports", "read_own"): read("guidance_reports", "R1"),
    ("guidance_reports", "read_other"): read("guidance_reports", "R2"),
    ("guidance_reports", "insert"): insert(
        "guidance_reports", student_id=Ref("S1"), counselor_id=Ref("G1"), report="Follow-up"
    ),
    ("guidance_reports", "insert_as_other"): insert(
        "guidance_reports", student_id=Ref("S1"), counselor_id=Ref("G2"), report="Forged"
    ),
    ("guidance_reports", "update_own"): update("guidance_reports", "report = 'Edited'", "R1"),
    ("guidance_reports", "update_other"): update("guidance_reports", "report = 'Edited'", "R2"),
    ("guidance_reports", "reassign_own"): update(
        "guidance_reports", "counselor_id = %s", "R1", refs=["G2"]
    ),
    ("guidance_reports", "delete_own"): delete("guidance_reports", "R1"),
    ("guidance_reports", "read_text_own"): read("guidance_reports", "R1", what="report"),
    ("guidance_reports", "read_text_other"): read("guidance_reports", "R2", what="report"),
    ("functions", "open_guidance_report"): call("SELECT school.open_guidance_report(%s)", "R1"),
    ("functions", "read_report_unopened"): call("SELECT school.read_guidance_report(%s)", "R2"),
    ("audit_log", "read_users"): audit_read("users", "S2"),
    ("audit_log", "read_payment"): audit_read("payments", "P1"),
    ("audit_log", "read_guidance"): audit_read("guidance_reports", "R1"),
    ("audit_log", "read_message_own"): audit_read("messages", "msg_to_me"),
    ("audit_log", "read_message_other"): audit_read("messages", "MSG_OTHER"),
    ("audit_log", "insert"): lambda conn, w, role: (
        conn.execute(
            "INSERT INTO school.audit_log (table_name, row_id, action) "
            "VALUES ('payments', %s, 'DELETE')",
            (w.ids["P1"],),
        ).rowcount
    ),
    ("audit_log", "update"): lambda conn, w, role: (
        conn.execute("UPDATE school.audit_log SET person_id = NULL").rowcount
    ),
    ("audit_log", "delete"): lambda conn, w, role: (
        conn.execute("DELETE FROM school.audit_log").rowcount
    ),
    ("audit_log", "truncate"): lambda conn, w, role: (
        conn.execute("TRUNCATE school.audit_log") and 1
    ),
}

CELLS = [
    pytest.param(role, table, operation, id=f"{table}-{operation}-{APP_ROLE_GROUP[role]}")
    for (table, operation) in EXPECT
    for role in ROLES
]


def attempt(conn: psycopg.Connection, w: World, role: str, op: Op) -> int | Exception:
    """Run one operation in a transaction that is always rolled back."""
    try:
        with conn.transaction(force_rollback=True):
            return op(conn, w, role)
    except errors.InsufficientPrivilege as exc:
        return exc


def test_matrix_and_operations_match():
    assert set(EXPECT) == set(OPS)


def test_matrix_covers_every_table(world):
    tables = {
        row[0]
        for row in world.school.admin.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'school'::regnamespace "
            "AND relkind IN ('r', 'p', 'v', 'm')"
        )
    }
    covered = {table for table, _ in EXPECT}
    assert tables - covered == set(), "tables with no access expectations"


@pytest.mark.parametrize(("role", "table", "operation"), CELLS)
def test_access(world, role, table, operation):
    mark = EXPECT[table, operation][role]
    result = attempt(world.conn(role), world, role, OPS[table, operation])
    shown = f"permission error: {result}" if isinstance(result, Exception) else f"{result} row(s)"
    assert _mark_of(result) == mark, (
        f"{role} {operation} on {table}: expected {MARKS[mark]}, got {shown}"
    )


def _mark_of(result: int | Exception) -> str:
    if isinstance(result, Exception):
        return "E"
    return {1: "Y", 0: "0"}.get(result, f"{result} rows")


# =====================================================================================
# Escalation: SET ROLE, settings, search_path, object creation.
# =====================================================================================
def _group_names(world: World) -> dict[str, str]:
    roles = world.school.roles
    names = dict(roles.groups)
    names.update(owner=roles.owner, prelogin=roles.prelogin)
    return names


TARGETS = (*APP_ROLE_GROUP.values(), "owner", "prelogin", "superuser")


@pytest.mark.parametrize(
    ("role", "target"),
    [
        pytest.param(role, target, id=f"{APP_ROLE_GROUP[role]}-to-{target}")
        for role in ROLES
        for target in TARGETS
        if target != APP_ROLE_GROUP[role]  # own group: test_set_role_own_group_changes_nothing
    ],
)
def test_set_role_to_another_group_fails(world, role, target):
    conn = world.conn(role)
    if target == "superuser":
        name = world.school.admin.execute("SELECT current_user").fetchone()[0]
    else:
        name = _group_names(world)[target]
    with pytest.raises(errors.InsufficientPrivilege):
        with conn.transaction(force_rollback=True):
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(name)))
    with pytest.raises(errors.InsufficientPrivilege):
        with conn.transaction(force_rollback=True):
            conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(name)))


@pytest.mark.parametrize("role", ROLES, ids=APP_ROLE_GROUP.get)
def test_set_role_own_group_changes_nothing(world, role):
    """A person may SET ROLE to their own group or the member role (they are in both);
    neither makes them anyone else, and the member role alone reads less, not more."""
    conn = world.conn(role)
    roles = world.school.roles
    with conn.transaction(force_rollback=True):
        conn.execute(
            sql.SQL("SET ROLE {}").format(sql.Identifier(roles.group(APP_ROLE_GROUP[role])))
        )
        assert conn.execute("SELECT school.me(), school.my_role()").fetchone() == (
            world.actor[role],
            role,
        )
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(roles.member)))
        assert conn.execute("SELECT school.me()").fetchone()[0] == world.actor[role]
        conn.execute("SELECT count(*) FROM school.users")  # what {{member}} holds
        # What everyone reads is each group's, not the member role's (0003_accounts.sql).
        for table in ("school_years", "guidance_reports"):
            with pytest.raises(errors.InsufficientPrivilege):
                with conn.transaction():
                    conn.execute(sql.SQL("SELECT count(*) FROM {}").format(_table(table)))


# Custom settings are what some RLS designs key on (current_setting('app.user_id')): here
# nothing reads them, so setting them, to anyone's id or any role's name, changes nothing.
SETTINGS = (
    "school.user_id",
    "school.role",
    "app.user_id",
    "app.current_person",
    "request.jwt.claim.sub",
    "request.jwt.claim.role",
)
PROBES: dict[str, Op] = {
    "me": lambda conn, w, role: conn.execute("SELECT school.me()").fetchone()[0],
    "my_role": lambda conn, w, role: conn.execute("SELECT school.my_role()").fetchone()[0],
    **{
        table: read_all(table)
        for table in (
            "users",
            "enrollment_progress",
            "modules",
            "tasks",
            "meetings",
            "messages",
            "fees",
            "payments",
            "guidance_reports",
        )
    },
}


def _shape(result: int | str | Exception) -> int | str:
    return "refused" if isinstance(result, Exception) else result


def _under_settings(op: Op, value: str) -> Op:
    def wrapped(conn, w, role):
        for name in SETTINGS:
            conn.execute("SELECT set_config(%s, %s, false)", (name, value))
            conn.execute(sql.SQL("SET {} TO {}").format(sql.SQL(name), sql.Literal(value)))
        return op(conn, w, role)

    return wrapped


@pytest.mark.parametrize("role", ROLES, ids=APP_ROLE_GROUP.get)
def test_custom_settings_do_not_widen_access(world, role):
    w = world
    conn = w.conn(role)
    before = {probe: _shape(attempt(conn, w, role, op)) for probe, op in PROBES.items()}
    assert before["me"] == w.actor[role]
    assert before["my_role"] == role
    for value in (str(w.ids["S2"]), str(w.actor["Admin"]), "Admin", "Principal", "postgres"):
        after = {
            probe: _shape(attempt(conn, w, role, _under_settings(op, value)))
            for probe, op in PROBES.items()
        }
        assert after == before, f"{role} with settings = {value!r}"


RLS_READS = {  # a table each role reads through row-level security
    "Admin": "messages",
    "Principal": "guidance_reports",
    "Academic Coordinator": "modules",
    "Teacher": "tasks",
    "Student": "fees",
    "Guidance": "guidance_reports",
    "Registrar": "enrollment_progress",
    "Accounting": "payments",
}


@pytest.mark.parametrize("role", ROLES, ids=APP_ROLE_GROUP.get)
def test_row_security_off_is_refused_not_obeyed(world, role):
    conn = world.conn(role)
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        with conn.transaction(force_rollback=True):
            conn.execute("SET LOCAL row_security = off")
            conn.execute(sql.SQL("SELECT count(*) FROM {}").format(_table(RLS_READS[role])))


CREATE_STATEMENTS = {
    "school_table": "CREATE TABLE school.users2 (id int)",
    "school_function": "CREATE FUNCTION school.me2() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "public_table": "CREATE TABLE public.users (id int)",
    "temp_table": "CREATE TEMP TABLE users (id int)",
    "schema": "CREATE SCHEMA evil",
}


@pytest.mark.parametrize("statement", CREATE_STATEMENTS)
@pytest.mark.parametrize("role", ROLES, ids=APP_ROLE_GROUP.get)
def test_nobody_creates_objects(world, role, statement):
    """No person can create anything a search_path could pick up instead of the real thing."""
    conn = world.conn(role)
    with pytest.raises(errors.InsufficientPrivilege):
        with conn.transaction(force_rollback=True):
            conn.execute(CREATE_STATEMENTS[statement])


def test_no_role_of_the_school_can_read_secrets(world):
    """Only the owner holds privileges on credentials and instance; no group, the member
    role, the pre-login role, or any person's login has any, on any column."""
    admin = world.school.admin
    roles = world.school.roles
    names = [roles.member, roles.prelogin, *roles.groups.values()]
    names += [row[0] for row in admin.execute("SELECT login_role FROM school.users")]
    for table in ("school.credentials", "school.instance"):
        rows = admin.execute(
            """
            SELECT r.rolname, p.privilege
            FROM pg_roles r, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',
                                          'REFERENCES', 'TRIGGER']) AS p(privilege)
            WHERE r.rolname = ANY(%s) AND NOT r.rolsuper
              AND (has_table_privilege(r.oid, %s::regclass, p.privilege)
                   OR (p.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                       AND has_any_column_privilege(r.oid, %s::regclass, p.privilege)))
            """,
            (names, table, table),
        ).fetchall()
        assert rows == [], f"{table}: {rows}"
    logins_in_owner = admin.execute(
        "SELECT r.rolname FROM pg_roles r WHERE r.rolcanlogin AND NOT r.rolsuper "
        "AND pg_has_role(r.oid, %s, 'MEMBER')",
        (roles.owner,),
    ).fetchall()
    assert logins_in_owner == []


# =====================================================================================
# The same duties on a fresh database each, one test per duty.
# =====================================================================================
def _student_world(school):
    """Two students with a fee, a payment, an enrollment and a guidance report each."""
    admin = school.admin
    me = school.add_person("Student", email="me@fresh.test")
    other = school.add_person("Student", email="other@fresh.test", password=None)
    counselor = school.add_person("Guidance", email="g@fresh.test", password=None)
    accountant = school.add_person("Accounting", email="a@fresh.test", password=None)
    year = add_school_year(school, "2025-2026", current=True)
    for student in (me, other):
        enroll(school, student, year)
        fee = add_fee(school, student, "500")
        admin.execute(
            "INSERT INTO school.payments (fee_id, amount_paid, payment_method, recorded_by) "
            "VALUES (%s, 100, 'Cash', %s)",
            (fee, accountant),
        )
        admin.execute(
            "INSERT INTO school.guidance_reports (student_id, counselor_id, report) "
            "VALUES (%s, %s, 'note')",
            (student, counselor),
        )
    return me, other


def test_student_sees_only_their_own_money_and_enrollment(school):
    me, other = _student_world(school)
    with school.connect_as(me) as conn:
        for table in ("fees", "enrollment_progress"):
            students = conn.execute(
                sql.SQL("SELECT student_id FROM {}").format(_table(table))
            ).fetchall()
            assert students == [(me,)], table
            assert (
                conn.execute(
                    sql.SQL("SELECT count(*) FROM {} WHERE student_id = %s").format(_table(table)),
                    (other,),
                ).fetchone()[0]
                == 0
            ), table
        owners = conn.execute(
            "SELECT f.student_id FROM school.payments p JOIN school.fees f ON f.id = p.fee_id"
        ).fetchall()
        assert owners == [(me,)]
        assert conn.execute("SELECT count(*) FROM school.payments").fetchone()[0] == 1


def test_student_reads_no_guidance_report_not_even_about_themself(school):
    me, _ = _student_world(school)
    with school.connect_as(me) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM school.guidance_reports")


def test_student_cannot_record_a_payment(school):
    me, _ = _student_world(school)
    fee = school.admin.execute("SELECT id FROM school.fees WHERE student_id = %s", (me,)).fetchone()
    with school.connect_as(me) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO school.payments (fee_id, amount_paid, payment_method, recorded_by) "
                "VALUES (%s, 500, 'Cash', %s)",
                (fee[0], me),
            )
    assert (
        school.admin.execute(
            "SELECT sum(amount_paid) FROM school.payments WHERE fee_id = %s", fee
        ).fetchone()[0]
        == 100
    )


def test_student_cannot_create_a_person(school):
    me = school.add_person("Student")
    with school.connect_as(me) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            people.create_person(
                conn,
                role="Admin",
                first_name="Mallory",
                last_name="Admin",
                email="mallory@fresh.test",
                password="whatever-password",
            )
    count = school.admin.execute(
        "SELECT count(*) FROM school.users WHERE email = 'mallory@fresh.test'"
    ).fetchone()[0]
    assert count == 0


def test_temp_table_named_users_does_not_change_who_i_am(school):
    """Even a person allowed temporary tables (nobody is, by default) cannot stand a temp
    table in for school.users: me()/my_role() pin their search_path."""
    me, other = _student_world(school)
    admin_id = school.add_person("Admin", email="boss@fresh.test", password=None)
    admin_role_id = school.admin.execute(
        "SELECT id FROM school.roles WHERE name = 'Admin'"
    ).fetchone()[0]
    login = school.login_role(me)
    with school.connect_as(me) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("CREATE TEMP TABLE users (id int)")
    school.admin.execute(
        sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(
            sql.Identifier(school.dbname), sql.Identifier(login)
        )
    )
    with school.connect_as(me, autocommit=True) as conn:
        conn.execute(
            "CREATE TEMP TABLE users (id int, role_id int, first_name text, last_name text, "
            "email text, login_role text, is_active boolean)"
        )
        conn.execute("CREATE TEMP TABLE roles (id int, name text)")
        conn.execute("CREATE TEMP TABLE enrollment_progress (student_id int, section_id int)")
        for uid in (other, admin_id):
            conn.execute(
                "INSERT INTO pg_temp.users VALUES (%s, %s, 'Fake', 'Person', 'x@y.z', "
                "session_user, true)",
                (uid, admin_role_id),
            )
        conn.execute("INSERT INTO pg_temp.roles VALUES (%s, 'Admin')", (admin_role_id,))
        conn.execute("SET search_path = pg_temp, school, pg_catalog")
        # The shadow is real for the person's own unqualified queries...
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 2
        # ...but not for the functions policies rely on.
        assert conn.execute("SELECT school.me(), school.my_role()").fetchone() == (me, "Student")
        assert conn.execute("SELECT me(), my_role()").fetchone() == (me, "Student")
        assert conn.execute("SELECT count(*) FROM school.fees").fetchone()[0] == 1
        assert (
            conn.execute(
                "SELECT count(*) FROM school.fees WHERE student_id = %s", (other,)
            ).fetchone()[0]
            == 0
        )
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM school.guidance_reports")
        with pytest.raises(errors.InsufficientPrivilege):
            people.create_person(
                conn,
                role="Admin",
                first_name="Mallory",
                last_name="Admin",
                email="mallory@fresh.test",
                password=None,
            )


def test_admin_deactivation_ends_sessions_and_logins(school):
    """Admin manages users: deactivating a person who is logged in ends their sessions and
    their logins, and leaves the owner with no lasting hold on their role."""
    admin_id = school.add_person("Admin")
    sid = school.add_person("Student")
    login = school.login_role(sid)
    student = school.connect_as(sid, autocommit=True)
    try:
        assert student.execute("SELECT school.me()").fetchone()[0] == sid
        with school.connect_as(admin_id, autocommit=True) as conn:
            conn.execute("SELECT school.set_person_active(%s, false)", (sid,))
        with pytest.raises(psycopg.OperationalError):
            student.execute("SELECT school.me()")
    finally:
        student.close()
    with pytest.raises(psycopg.OperationalError):
        school.connect_as(sid).close()
    assert school.admin.execute(
        "SELECT is_active, pg_has_role(%s, %s, 'USAGE') FROM school.users WHERE id = %s",
        (school.roles.owner, login, sid),
    ).fetchone() == (False, False)
    with school.connect_as(admin_id, autocommit=True) as conn:
        conn.execute("SELECT school.set_person_active(%s, true)", (sid,))
    with school.connect_as(sid) as conn:
        assert conn.execute("SELECT school.me()").fetchone()[0] == sid


# =====================================================================================
# The pre-login role: one function, nothing else.
# =====================================================================================
def test_prelogin_can_only_look_up_a_login(school):
    sid = school.add_person("Student", email="known@fresh.test", password=None)
    real_login, real_salt = school.admin.execute(
        "SELECT u.login_role, c.salt FROM school.users u JOIN school.credentials c "
        "ON c.user_id = u.id WHERE u.id = %s",
        (sid,),
    ).fetchone()
    tables = [
        row[0]
        for row in school.admin.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'school'::regnamespace "
            "AND relkind IN ('r', 'p', 'v', 'm') ORDER BY relname"
        )
    ]
    assert {"users", "credentials", "instance"} <= set(tables)
    with psycopg.connect(school.target.prelogin(), autocommit=True) as conn:
        # The one thing it may do: for a known email the real pair, else a decoy alike.
        assert people.prelogin_lookup(conn, " KNOWN@fresh.test ") == (real_login, bytes(real_salt))
        decoy_login, decoy_salt = people.prelogin_lookup(conn, "nobody@fresh.test")
        assert decoy_login.startswith(school.roles.prefix + "_u_")
        assert len(decoy_login) == len(real_login) and decoy_login != real_login
        assert len(decoy_salt) == len(real_salt)
        assert people.prelogin_lookup(conn, "nobody@fresh.test") == (decoy_login, decoy_salt)

        for table in tables:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(_table(table)))
        callable_functions = conn.execute(
            "SELECT proname FROM pg_proc WHERE pronamespace = 'school'::regnamespace "
            "AND has_function_privilege(oid, 'EXECUTE') ORDER BY proname"
        ).fetchall()
        assert callable_functions == [("prelogin_lookup",)]
        for query in (
            "SELECT school.me()",
            "SELECT school.my_role()",
            "SELECT school.record_login()",
            "SELECT school.role_group('Admin')",
            "SELECT school.set_person_active(1, false)",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(query)
        with pytest.raises(errors.InsufficientPrivilege):
            people.create_person(
                conn,
                role="Admin",
                first_name="Mallory",
                last_name="Admin",
                email="mallory@fresh.test",
                password=None,
            )
        for statement in CREATE_STATEMENTS.values():
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
        roles = school.roles
        for name in (roles.owner, roles.member, *roles.groups.values(), real_login):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(name)))


def test_matrix_file_loads_the_same_for_the_app_and_the_docs():
    from school_tui.domain import access

    cells = access.load()
    assert {(c.table, c.operation) for c in cells} == set(EXPECT)
    assert all(EXPECT[c.table, c.operation][c.role] == c.expected for c in cells)
    docs = MATRIX_FILE.parents[2] / "docs" / "access-matrix.md"
    assert docs.read_text() == access.markdown(cells), (
        "docs/access-matrix.md is stale: run `python -m school_tui.domain.access > docs/access-matrix.md`"
    )


# =====================================================================================
# Reading past one's role: each attack as the real demo login, on a fresh demo school.
# =====================================================================================
def _demo_conn(demo_school, role_email: str, **kwargs) -> psycopg.Connection:
    return demo_school.connect_as(demo_school.user_id(role_email), **kwargs)


def test_teacher_view_follows_assignments_not_their_own_writes(demo_school):
    """The demo teacher advises three sections and teaches Mathematics in Grade 10's three:
    92 of the 240 enrollments. A task elsewhere is refused, and a task, module or meeting
    they may write (even uncommitted) shows them no other enrollment."""
    admin = demo_school.admin
    teacher_id = demo_school.user_id("teacher@demo.school")
    taught = {
        row[0]
        for row in admin.execute(
            "SELECT id FROM school.sections WHERE adviser_id = %s UNION "
            "SELECT section_id FROM school.subjects WHERE teacher_id = %s",
            (teacher_id, teacher_id),
        )
    }
    elsewhere = admin.execute(
        "SELECT id FROM school.sections WHERE NOT (id = ANY(%s)) ORDER BY id LIMIT 1",
        (list(taught),),
    ).fetchone()[0]
    expected = admin.execute(
        "SELECT count(*) FROM school.enrollment_progress WHERE section_id = ANY(%s)",
        (list(taught),),
    ).fetchone()[0]
    assert expected == 92
    with _demo_conn(demo_school, "teacher@demo.school") as conn:
        count = "SELECT count(*) FROM school.enrollment_progress"
        assert conn.execute(count).fetchone()[0] == 92
        with pytest.raises(errors.InsufficientPrivilege, match="section: you do not teach"):
            conn.execute(
                "INSERT INTO school.tasks (teacher_id, section_id, title, task_type) "
                "VALUES (%s, %s, 'Widen', 'Quiz')",
                (teacher_id, elsewhere),
            )
        conn.rollback()
        for query in (
            "INSERT INTO school.modules (teacher_id, section_id, title, file_url) "
            "VALUES (%s, %s, 'Widen', 'https://x.example/a')",
            "UPDATE school.meetings SET section_id = %s WHERE host_id = %s",
        ):
            params = (
                (teacher_id, elsewhere) if query.startswith("INSERT") else (elsewhere, teacher_id)
            )
            with pytest.raises(errors.InsufficientPrivilege, match="section: you do not teach"):
                conn.execute(query, params)
            conn.rollback()
        # Inside one transaction, after writes they may make: still the same 92.
        own = min(taught)
        conn.execute(
            "INSERT INTO school.tasks (teacher_id, section_id, title, task_type) "
            "VALUES (%s, %s, 'Homework', 'Assignment')",
            (teacher_id, own),
        )
        conn.execute(
            "INSERT INTO school.meetings (host_id, section_id, title, meeting_link, scheduled_at) "
            "VALUES (%s, NULL, 'Staff', 'https://meet.example/s', '2030-01-01 10:00+00')",
            (teacher_id,),
        )
        assert conn.execute(count).fetchone()[0] == 92
        sections_seen = {
            row[0]
            for row in conn.execute("SELECT DISTINCT section_id FROM school.enrollment_progress")
        }
        assert sections_seen <= taught
        conn.rollback()
        # Nor may they assign themselves a subject.
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                "UPDATE school.subjects SET teacher_id = %s WHERE section_id = %s",
                (teacher_id, elsewhere),
            )
        conn.rollback()
    # The Coordinator's assignment is what widens it.
    with _demo_conn(demo_school, "coordinator@demo.school", autocommit=True) as conn:
        assert (
            conn.execute(
                "UPDATE school.subjects SET teacher_id = %s "
                "WHERE section_id = %s AND name = 'Science'",
                (teacher_id, elsewhere),
            ).rowcount
            == 1
        )
    with _demo_conn(demo_school, "teacher@demo.school") as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM school.enrollment_progress WHERE section_id = %s",
                (elsewhere,),
            ).fetchone()[0]
            == admin.execute(
                "SELECT count(*) FROM school.enrollment_progress WHERE section_id = %s",
                (elsewhere,),
            ).fetchone()[0]
        )


def _row_ids(conn, table: str) -> set[int] | None:
    """The ids of `table`'s rows this connection may read (None: not the table at all)."""
    key = "user_id" if table in ("student_profiles", "credentials") else "id"
    query = sql.SQL("SELECT {} FROM {}").format(sql.Identifier(key), _table(table))
    try:
        with conn.transaction():
            return {row[0] for row in conn.execute(query)}
    except errors.InsufficientPrivilege:
        return None


@pytest.mark.parametrize("email", ["admin@demo.school", "principal@demo.school"])
def test_audit_log_shows_only_what_the_reader_may_read_in_the_table(demo_school, email):
    """Every audit entry about a row that still exists is visible to the reader exactly when
    the reader can SELECT that row in its table: no payments, student details or guidance
    visits for the Admin; nobody's chat metadata but their own. The log stays complete."""
    admin = demo_school.admin
    total = admin.execute("SELECT count(*) FROM school.audit_log").fetchone()[0]
    logged: dict[str, set[int]] = {}
    for table, row_id in admin.execute(
        "SELECT DISTINCT table_name, row_id FROM school.audit_log WHERE row_id IS NOT NULL"
    ):
        logged.setdefault(table, set()).add(row_id)
    with _demo_conn(demo_school, email) as conn:
        seen: dict[str, set[int]] = {}
        for table, row_id in conn.execute(
            "SELECT DISTINCT table_name, row_id FROM school.audit_log WHERE row_id IS NOT NULL"
        ):
            seen.setdefault(table, set()).add(row_id)
        for table, ids in logged.items():
            existing = ids & (_row_ids(admin, table) or set())
            readable = _row_ids(conn, table) or set()
            assert seen.get(table, set()) & existing == existing & readable, table
    if email.startswith("admin"):
        assert not set(seen) & {"payments", "fees", "student_profiles", "enrollment_progress",
                                "guidance_reports", "credentials", "messages"}  # fmt: skip
    else:
        assert {"payments", "guidance_reports", "student_profiles", "messages"} <= set(seen)
        assert len(seen["messages"]) < len(logged["messages"])
    assert admin.execute("SELECT count(*) FROM school.audit_log").fetchone()[0] == total


def test_posts_name_their_poster_and_only_they_or_an_admin_change_them(demo_school):
    admin = demo_school.admin
    principal = demo_school.user_id("principal@demo.school")
    admins_post = admin.execute(
        "SELECT a.id FROM school.announcements a JOIN school.users u ON u.id = a.posted_by "
        "WHERE u.email = 'admin@demo.school'"
    ).fetchone()[0]
    admin_id = demo_school.user_id("admin@demo.school")
    with _demo_conn(demo_school, "coordinator@demo.school", autocommit=True) as conn:
        with pytest.raises(errors.InsufficientPrivilege, match="posted by: a post names its"):
            conn.execute(
                "INSERT INTO school.announcements (title, content, posted_by) "
                "VALUES ('Forged', 'from the Principal', %s)",
                (principal,),
            )
        with pytest.raises(errors.InsufficientPrivilege, match="created by"):
            conn.execute(
                "INSERT INTO school.events (title, start_date, created_by) "
                "VALUES ('Forged', '2030-01-01', %s)",
                (principal,),
            )
        # Left out, the poster is filled in.
        mine = conn.execute(
            "INSERT INTO school.announcements (title, content) VALUES ('Mine', 'text') "
            "RETURNING posted_by"
        ).fetchone()[0]
        assert mine == demo_school.user_id("coordinator@demo.school")
        edit = "UPDATE school.announcements SET title = 'Defaced' WHERE id = %s"
        assert conn.execute(edit, (admins_post,)).rowcount == 0
        remove = "SELECT school.delete_announcement(%s)"
        assert conn.execute(remove, (admins_post,)).fetchone()[0] == 0
    with _demo_conn(demo_school, "principal@demo.school", autocommit=True) as conn:
        assert conn.execute(remove, (admins_post,)).fetchone()[0] == 0
    assert (
        admin.execute(
            "SELECT title, posted_by FROM school.announcements WHERE id = %s", (admins_post,)
        ).fetchone()[1]
        == admin_id
    )
    with _demo_conn(demo_school, "admin@demo.school", autocommit=True) as conn:
        assert (
            conn.execute(
                "UPDATE school.announcements SET title = 'Tidied' WHERE posted_by <> %s",
                (admin_id,),
            ).rowcount
            > 0
        )


def test_section_holding_work_is_not_deleted(demo_school):
    """The Registrar's DELETE of a section with students, subjects, tasks, modules and
    meetings is refused with what it holds; an emptied section goes."""
    from school_tui.db import sections as db_sections
    from school_tui.db.errors import Refused

    admin = demo_school.admin
    teacher = demo_school.user_id("teacher@demo.school")
    section = admin.execute(
        "SELECT section_id FROM school.tasks WHERE teacher_id = %s ORDER BY id LIMIT 1",
        (teacher,),
    ).fetchone()[0]
    before = {
        t: admin.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE section_id = %s").format(_table(t)), (section,)
        ).fetchone()[0]
        for t in ("subjects", "tasks", "modules", "meetings", "enrollment_progress")
    }
    assert all(before.values())
    with _demo_conn(demo_school, "registrar@demo.school", autocommit=True) as conn:
        with pytest.raises(Refused) as refused:
            db_sections.delete_section(conn, section)
        assert refused.value.field == "section"
        message = refused.value.message
        assert f"{before['enrollment_progress']} student(s)" in message
        assert f"{before['subjects']} subject(s)" in message
        assert f"{before['tasks']} task(s)" in message
        assert f"{before['modules']} module(s)" in message
        assert f"{before['meetings']} meeting(s)" in message
        with pytest.raises(errors.ObjectInUse):
            conn.execute("SELECT school.delete_section(%s)", (section,))
    after = {
        t: admin.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE section_id = %s").format(_table(t)), (section,)
        ).fetchone()[0]
        for t in before
    }
    assert after == before
    year = admin.execute("SELECT id FROM school.school_years WHERE is_current").fetchone()[0]
    with _demo_conn(demo_school, "registrar@demo.school", autocommit=True) as conn:
        empty = db_sections.create_section(
            conn, name="Spare", grade_level="Grade 7", school_year_id=year
        )
        db_sections.delete_section(conn, empty)
    assert (
        admin.execute("SELECT count(*) FROM school.sections WHERE id = %s", (empty,)).fetchone()[0]
        == 0
    )


STAT_QUERIES = (
    "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'payments'",
    "SELECT n_tup_ins FROM pg_stat_all_tables WHERE relname = 'guidance_reports'",
    "SELECT n_tup_ins FROM pg_stat_xact_user_tables",
    "SELECT heap_blks_hit FROM pg_statio_user_tables",
    "SELECT idx_scan FROM pg_stat_user_indexes",
    "SELECT pg_stat_get_tuples_inserted('school.messages'::regclass)",
    "SELECT pg_stat_get_last_autoanalyze_time('school.payments'::regclass)",
    "SELECT pg_stat_get_xact_tuples_inserted('school.payments'::regclass)",
)


@pytest.mark.parametrize("query", STAT_QUERIES)
def test_statistics_of_writes_are_closed_to_people(demo_school, query):
    with _demo_conn(demo_school, "student@demo.school") as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(query)
    from school_tui.db import bootstrap

    assert bootstrap.public_statistics(demo_school.admin) == []
    assert bootstrap.status(demo_school.admin)["statistics_open_to_everyone"] == []
