"""Denial of service by anyone with a login (the public pre-login role too), each attack run
as the real login against a fresh demo school: locks nobody else can wait on, writes without
bound, and what the server itself allows (school_tui/db/deployment.py).

- Serialising points are rows of school.serial_locks, which only the owner's functions lock:
  an advisory lock on the old keys, held by anyone, stops nothing; a clerk who holds the
  receipt series in an open transaction makes others wait at most the lock's timeout, then
  they are told the school is busy.
- Large objects are closed to everyone; a person sends at most so many chat messages and
  characters a minute (one statement or many sessions alike); a login is stamped (an audit
  row) at most once a minute.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors

from school_tui.db import chat, deployment, ledger, people
from school_tui.db.errors import Refused
from tests.builders import student_with_most_open_dues
from tests.harness import raise_write_limits

# What the old code took, and what anyone could take to stop it.
RECEIPTS_KEY = 7007001
ADMINS_KEY = "SELECT pg_advisory_lock(hashtext('school_tui.active_admins'))"


def _login(school, email: str, **kwargs) -> psycopg.Connection:
    return school.connect_as(school.user_id(email), autocommit=True, **kwargs)


def _prelogin(school) -> psycopg.Connection:
    return psycopg.connect(school.target.prelogin(), autocommit=True)


def _student_id(school, number: str) -> int:
    return school.admin.execute(
        "SELECT user_id FROM school.student_profiles WHERE student_number = %s", (number,)
    ).fetchone()[0]


def _post(conn, student: int) -> ledger.Receipt:
    return ledger.post_payment(conn, student, Decimal("1.00"), "Cash", None, uuid.uuid4())


@pytest.fixture(params=["pre-login role", "student"])
def holders(request, demo_school):
    """The pre-login role, or a student, holding the old advisory keys, idle."""
    if request.param == "student":
        conn = _login(demo_school, "student@demo.school")
    else:
        conn = _prelogin(demo_school)
    conn.execute("SELECT pg_advisory_lock(%s)", (RECEIPTS_KEY,))
    conn.execute(ADMINS_KEY)
    yield conn
    conn.close()


def test_advisory_locks_held_by_anyone_stop_no_post_and_no_close(demo_school, holders):
    number, _open, _count = student_with_most_open_dues(demo_school)
    with _login(demo_school, "accounting@demo.school") as clerk:
        started = time.monotonic()
        _post(clerk, _student_id(demo_school, number))
        today = clerk.execute("SELECT current_date").fetchone()[0]
        ledger.close_day(clerk, today, Decimal("0.00"))
        # the old lock would have made both wait for the holders to go: forever
        assert time.monotonic() - started < 3


def test_advisory_locks_held_by_anyone_stop_no_admin_change(demo_school, holders):
    admin = demo_school.user_id("admin@demo.school")
    second = demo_school.add_person("Admin", email="second.admin@dos.test")
    with demo_school.connect_as(second, autocommit=True) as conn:
        started = time.monotonic()
        people.set_active(conn, admin, False)  # checks, under its lock, that one stays
        assert time.monotonic() - started < 3


@pytest.mark.parametrize("email", [None, "accounting@demo.school", "admin@demo.school"])
def test_nobody_locks_or_reads_the_serial_rows(demo_school, email):
    conn = _prelogin(demo_school) if email is None else _login(demo_school, email)
    with conn:
        for statement in (
            "SELECT name FROM school.serial_locks FOR UPDATE",
            "LOCK TABLE school.serial_locks IN ACCESS SHARE MODE",
            "SELECT school.take_serial_lock('receipts')",
        ):
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)


def test_a_clerk_holding_the_receipts_makes_others_wait_then_hear_busy(demo_school):
    """An open transaction with a post in it holds the series (gapless numbers need it):
    the next clerk waits the lock's timeout (5 s), then is refused, never left hanging."""
    # two students: the second clerk waits on the series, not on the first student's dues
    student, other = (
        row[0]
        for row in demo_school.admin.execute(
            "SELECT student_id FROM school.installment_balances WHERE open > 0 "
            "GROUP BY student_id ORDER BY student_id LIMIT 2"
        )
    )
    second = demo_school.add_person("Accounting", email="clerk2@dos.test")
    with (
        _login(demo_school, "accounting@demo.school") as holder,
        demo_school.connect_as(second, autocommit=True) as waiter,
    ):
        holder.execute("BEGIN")
        holder.execute(
            "SELECT school.post_payment(%s, 1.00, 'Cash', NULL, %s)", (student, uuid.uuid4())
        )
        started = time.monotonic()
        with pytest.raises(Refused, match="busy") as refused:
            _post(waiter, other)
        assert refused.value.field is None
        assert 4 < time.monotonic() - started < 15
        holder.execute("ROLLBACK")
        assert _post(waiter, other).receipt_no > 0


def test_a_wait_past_the_servers_lock_timeout_is_told_in_words(demo_school):
    """Two clerks on one student's dues: the second waits the server's lock_timeout (set
    short here), then hears that someone else is at it, not the server's words."""
    number, _open, _count = student_with_most_open_dues(demo_school)
    student = _student_id(demo_school, number)
    second = demo_school.add_person("Accounting", email="clerk2@dos.test")
    with (
        _login(demo_school, "accounting@demo.school") as holder,
        demo_school.connect_as(second, autocommit=True) as waiter,
    ):
        holder.execute("BEGIN")
        holder.execute(
            "SELECT school.post_payment(%s, 1.00, 'Cash', NULL, %s)", (student, uuid.uuid4())
        )
        waiter.execute("SET lock_timeout = '200ms'")
        with pytest.raises(Refused, match="Someone else is changing this right now"):
            _post(waiter, student)
        holder.execute("ROLLBACK")


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT lo_from_bytea(0, 'x')",
        "SELECT lo_create(0)",
        "SELECT lo_creat(-1)",
        "SELECT lo_import('/etc/hostname')",
        "SELECT lo_put(1, 0, 'x')",
    ],
)
@pytest.mark.parametrize("email", [None, "student@demo.school", "admin@demo.school"])
def test_large_objects_are_closed_to_everyone(demo_school, email, statement):
    conn = _prelogin(demo_school) if email is None else _login(demo_school, email)
    with conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement)
    assert (
        demo_school.admin.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone()[0] == 0
    )


def _limit(school) -> tuple[int, int]:
    return school.admin.execute(
        "SELECT per_minute, chars_per_minute FROM school.write_limits WHERE kind = 'chat message'"
    ).fetchone()


def _sent_by(school, sender: int) -> int:
    return school.admin.execute(
        "SELECT count(*) FROM school.messages WHERE sender_id = %s", (sender,)
    ).fetchone()[0]


def test_500_messages_in_one_statement_are_refused_whole(demo_school):
    sender = demo_school.user_id("teacher@demo.school")
    receiver = demo_school.user_id("student@demo.school")
    before = _sent_by(demo_school, sender)
    with _login(demo_school, "teacher@demo.school") as conn:
        with pytest.raises(errors.ProgramLimitExceeded, match="chat message: at most"):
            conn.execute(
                "INSERT INTO school.messages (sender_id, receiver_id, message) "
                "SELECT school.me(), %s, repeat('x', 4000) FROM generate_series(1, 500)",
                (receiver,),
            )
    assert _sent_by(demo_school, sender) == before


def test_a_person_sends_so_many_messages_a_minute_across_sessions(demo_school):
    per_minute, _chars = _limit(demo_school)
    receiver = demo_school.user_id("student@demo.school")
    with (
        _login(demo_school, "teacher@demo.school") as one,
        _login(demo_school, "teacher@demo.school") as two,
    ):
        for i in range(per_minute):
            chat.send(one if i % 2 else two, receiver, f"hello {i}", uuid.uuid4())
        for conn in (one, two):
            with pytest.raises(Refused, match="at most") as refused:
                chat.send(conn, receiver, "one more", uuid.uuid4())
            assert refused.value.field == "chat message"
    # another person is not held back by the teacher's sending
    with _login(demo_school, "principal@demo.school") as other:
        assert chat.send(other, receiver, "still fine", uuid.uuid4()) > 0


def test_characters_a_minute_are_limited_too(demo_school):
    _per_minute, chars = _limit(demo_school)
    receiver = demo_school.user_id("student@demo.school")
    with _login(demo_school, "teacher@demo.school") as conn:
        for _ in range(chars // 4000):
            chat.send(conn, receiver, "y" * 4000, uuid.uuid4())
        with pytest.raises(Refused, match="characters a minute"):
            chat.send(conn, receiver, "y" * 4000, uuid.uuid4())


def test_the_limit_is_the_owners_to_raise(demo_school):
    receiver = demo_school.user_id("student@demo.school")
    raise_write_limits(demo_school.admin, per_minute=1000)
    with _login(demo_school, "teacher@demo.school") as conn:
        for i in range(100):
            chat.send(conn, receiver, f"burst {i}", uuid.uuid4())


def _audit_rows(school) -> int:
    return school.admin.execute(
        "SELECT count(*) FROM school.audit_log WHERE table_name = 'users'"
    ).fetchone()[0]


def test_record_login_stamps_at_most_once_a_minute(demo_school):
    before = _audit_rows(demo_school)
    with _login(demo_school, "student@demo.school") as conn:
        for _ in range(50):
            conn.execute("SELECT school.record_login()")
        conn.execute("SELECT school.record_login() FROM generate_series(1, 500)")
    assert _audit_rows(demo_school) - before <= 1
    assert (
        demo_school.admin.execute(
            "SELECT last_login IS NOT NULL FROM school.users WHERE id = %s",
            (demo_school.user_id("student@demo.school"),),
        ).fetchone()[0]
        is True
    )


def test_going_offline_in_a_loop_stamps_the_logout_at_most_once_a_minute(demo_school):
    before = _audit_rows(demo_school)
    with _login(demo_school, "student@demo.school") as conn:
        for status in ("offline", "online") * 25:
            conn.execute("SELECT school.set_my_presence(%s)", (status,))
    assert _audit_rows(demo_school) - before <= 1


def test_column_update_alone_does_not_let_a_login_lock_a_table(demo_school):
    """LOCK TABLE takes a mode above ACCESS SHARE only with a table-level privilege (UPDATE,
    DELETE, TRUNCATE or MAINTAIN for any mode, INSERT for ROW EXCLUSIVE): a column's UPDATE
    or INSERT (messages.is_read, messages' sending columns: everyone's) allows none."""
    with _login(demo_school, "student@demo.school") as conn:
        for mode in ("ACCESS EXCLUSIVE", "EXCLUSIVE", "SHARE", "ROW EXCLUSIVE"):
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"LOCK TABLE school.messages IN {mode} MODE")
        with conn.transaction():
            conn.execute("LOCK TABLE school.messages IN ACCESS SHARE MODE")


def test_the_test_server_passes_the_deployment_checks(demo_school):
    """Passwords checked, large objects closed, timeouts set. (The test server leaves its
    maintenance databases open, as a server of one's own may: the next test's finding.)"""
    if demo_school.server.embedded is None:
        pytest.skip("a configured test server: its settings are its DBA's")
    found = deployment.check(demo_school.admin, demo_school.roles)
    assert [str(f) for f in found if "other databases" not in f.what] == []


def test_a_database_open_to_public_is_reported(demo_school):
    name = f"{demo_school.dbname}_open"
    admin = demo_school.server.admin()
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f'GRANT CONNECT ON DATABASE "{name}" TO PUBLIC')
        found = [str(f) for f in deployment.check(demo_school.admin, demo_school.roles)]
        assert any("other databases" in f and name in f for f in found)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def test_no_school_role_holds_a_table_wide_write_that_can_lock_a_table(demo_school):
    """LOCK TABLE in a mode that blocks readers needs table-level UPDATE, DELETE, TRUNCATE
    (or MAINTAIN, PostgreSQL 17+): no group of the school (nor the pre-login role) has one
    on any table of the school. Edits are column grants; deletes, delete_<thing>(id)."""
    roles = demo_school.roles
    privileges = ["UPDATE", "DELETE", "TRUNCATE"]
    if demo_school.server.major_version >= 17:
        privileges.append("MAINTAIN")
    held = demo_school.admin.execute(
        """
        SELECT r.rolname, c.relname, p.privilege
        FROM pg_class c, pg_roles r, unnest(%s::text[]) p(privilege)
        WHERE c.relnamespace = 'school'::regnamespace AND c.relkind IN ('r', 'p')
          AND r.rolname = ANY (%s) AND has_table_privilege(r.oid, c.oid, p.privilege)
        ORDER BY 1, 2, 3
        """,
        (privileges, [roles.member, roles.prelogin, *roles.groups.values()]),
    ).fetchall()
    assert held == []


@pytest.mark.parametrize(
    ("email", "table"),
    [
        ("teacher@demo.school", "tasks"),
        ("teacher@demo.school", "modules"),
        ("registrar@demo.school", "sections"),
        ("registrar@demo.school", "enrollment_progress"),
        ("coordinator@demo.school", "subjects"),
        ("principal@demo.school", "announcements"),
        ("accounting@demo.school", "fee_types"),
        ("guidance@demo.school", "guidance_reports"),
    ],
)
def test_a_writer_cannot_lock_readers_out_of_a_shared_table(demo_school, email, table):
    with _login(demo_school, email) as conn:
        for mode in ("ACCESS EXCLUSIVE", "EXCLUSIVE", "SHARE ROW EXCLUSIVE", "SHARE"):
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"LOCK TABLE school.{table} IN {mode} MODE")


def _backend_alive(school, pid: int) -> bool:
    return (
        school.admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        is not None
    )


def test_a_login_that_lifts_its_timeouts_is_ended_by_the_sweep(demo_school):
    """A teacher lifts idle_in_transaction_session_timeout and lock_timeout for their own
    session and sits on a row lock in an open transaction: the presence sweep of any running
    app (here with a short limit, as the owner) ends that session; others' are left."""
    teacher = demo_school.user_id("teacher@demo.school")
    task = demo_school.admin.execute(
        "SELECT id FROM school.tasks WHERE teacher_id = %s LIMIT 1", (teacher,)
    ).fetchone()
    with (
        _login(demo_school, "teacher@demo.school") as holder,
        _login(demo_school, "student@demo.school") as bystander,
        _prelogin(demo_school) as prelogin,
    ):
        holder.execute("SET idle_in_transaction_session_timeout = 0")
        holder.execute("SET lock_timeout = 0")
        holder.execute("BEGIN")
        if task is not None:
            holder.execute("UPDATE school.tasks SET title = title WHERE id = %s", (task[0],))
        holder.execute("SELECT 1")
        prelogin.execute("BEGIN")
        prelogin.execute("SELECT 1")
        pids = [c.info.backend_pid for c in (holder, prelogin)]
        ended = demo_school.admin.execute(
            "SELECT school.end_stuck_sessions(interval '0 seconds')"
        ).fetchone()[0]
        assert ended == 2
        assert not any(_backend_alive(demo_school, pid) for pid in pids)
        assert _backend_alive(demo_school, bystander.info.backend_pid)  # idle, no transaction
        for ended_conn in (holder, prelogin):
            with pytest.raises(psycopg.OperationalError):
                ended_conn.execute("SELECT 1")


def test_the_sweep_everyone_calls_ends_only_sessions_stuck_for_minutes(demo_school):
    with (
        _login(demo_school, "teacher@demo.school") as holder,
        _login(demo_school, "student@demo.school") as sweeper,
    ):
        holder.execute("SET idle_in_transaction_session_timeout = 0")
        holder.execute("BEGIN")
        holder.execute("SELECT 1")
        sweeper.execute("SELECT school.sweep_presence()")
        assert _backend_alive(demo_school, holder.info.backend_pid)  # seconds, not minutes
        with pytest.raises(errors.InsufficientPrivilege):
            sweeper.execute("SELECT school.end_stuck_sessions(interval '0 seconds')")
        holder.execute("ROLLBACK")
