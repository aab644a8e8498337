"""The audit trail: who changed what, who read which guidance report, and that
nobody, the owner included, can change or remove an entry. Over real logins on a real server.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.rows import dict_row

from school_tui.db import audit, guidance, ledger, people
from school_tui.db.connect import APP_ROLE_GROUP
from tests.builders import add_school_year, add_section

ROLES = tuple(APP_ROLE_GROUP)


def log_entries(school, **where) -> list[dict]:
    """The log's entries matching column = value, oldest first (as the superuser)."""
    clauses = [sql.SQL("{} = %s").format(sql.Identifier(k)) for k in where] or [sql.SQL("true")]
    query = sql.SQL("SELECT * FROM school.audit_log WHERE {} ORDER BY id").format(
        sql.SQL(" AND ").join(clauses)
    )
    with school.admin.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, list(where.values())).fetchall()


def last_id(school) -> int:
    return school.admin.execute("SELECT coalesce(max(id), 0) FROM school.audit_log").fetchone()[0]


def _fee(school, student: int, amount: str = "500.00") -> int:
    return school.admin.execute(
        "INSERT INTO school.fees (student_id, fee_type, amount) VALUES (%s, 'Tuition', %s) "
        "RETURNING id",
        (student, amount),
    ).fetchone()[0]


def _report(school, student: int, counselor: int, text: str) -> int:
    return school.admin.execute(
        "INSERT INTO school.guidance_reports (student_id, counselor_id, report) "
        "VALUES (%s, %s, %s) RETURNING id",
        (student, counselor, text),
    ).fetchone()[0]


# =====================================================================================
# Every table is under audit: a table added later without the trigger fails here.
# =====================================================================================
def test_every_table_of_the_school_has_the_audit_triggers(school):
    rows = school.admin.execute(
        """
        SELECT c.relname,
               (SELECT array_agg(t.tgname::text ORDER BY t.tgname) FROM pg_trigger t
                WHERE t.tgrelid = c.oid
                  AND t.tgenabled = 'A'
                  -- audit: AFTER ROW UPDATE/DELETE; audit_insert: AFTER STATEMENT INSERT
                  -- (one per statement); audit_truncate: AFTER TRUNCATE
                  AND (t.tgname, t.tgfoid, t.tgtype) IN (
                      ('audit', 'school.audit_row()'::regprocedure, 1 | 8 | 16),
                      ('audit_insert', 'school.audit_rows_inserted()'::regprocedure, 4),
                      ('audit_truncate', 'school.audit_truncate()'::regprocedure, 32)))
        FROM pg_class c
        WHERE c.relnamespace = 'school'::regnamespace AND c.relkind IN ('r', 'p')
          AND NOT c.relispartition AND c.relname NOT IN ('audit_log', 'schema_version',
              -- rows that live only inside the import's transaction (05_students.sql)
              'import_staging',
              -- presence is no school data (08_chat.sql): test_presence_is_not_audited
              'online_status',
              -- write rates' bookkeeping, changed on every counted write (11_limits.sql)
              'write_counts')
        ORDER BY c.relname
        """
    ).fetchall()
    assert len(rows) >= 17
    missing = [
        name for name, triggers in rows if triggers != ["audit", "audit_insert", "audit_truncate"]
    ]
    assert missing == [], (
        "tables without the audit triggers: call SELECT school.audit_table('school.<name>') "
        f"in the migration that adds them: {missing}"
    )


# =====================================================================================
# "Who changed this payment?"
# =====================================================================================
def test_who_changed_this_payment(school):
    accountant = school.add_person("Accounting", email="acc@audit.test")
    principal = school.add_person("Principal", email="pri@audit.test")
    student = school.add_person("Student", email="stu@audit.test", password=None)
    fee = _fee(school, student)
    with school.connect_as(accountant, autocommit=True) as conn:
        conn.execute("SET application_name = 'cashier desk'")
        payment = ledger.post_payment(
            conn, student, Decimal("123.45"), "Card", None, ledger.new_client_key()
        ).payment_id
    # The Principal asks the log, through the app's own query.
    with school.connect_as(principal, autocommit=True) as conn:
        found, more = audit.page(conn, audit.AuditFilter(table="payments", row_id=payment))
        assert not more
        assert [(e.action, e.person, e.table_name, e.row_id) for e in found] == [
            ("INSERT", "Accounting, Test", "payments", payment)
        ]
        e = audit.entry(conn, found[0].id)
    assert e.login_role == school.login_role(accountant)
    assert e.person_id == accountant
    assert e.email == "acc@audit.test"
    assert e.application_name == "cashier desk"
    assert e.old_values is None
    assert e.new_values["amount_paid"] == Decimal("123.45")  # exact: money is never a float
    assert e.new_values["payment_method"] == "Card"
    assert e.new_values["fee_id"] == fee
    assert e.new_values["recorded_by"] == accountant
    assert ("amount_paid", audit.MISSING, Decimal("123.45")) in e.changes()


def test_an_update_records_only_the_changed_fields_and_a_no_op_nothing(school):
    accountant = school.add_person("Accounting")
    year = add_school_year(school, "2025-2026")
    schedule = school.admin.execute(
        "INSERT INTO school.fee_schedules (school_year_id, grade_level, fee_type, amount, "
        "due_date) VALUES (%s, 'Grade 7', 'Tuition', 500.00, '2025-07-31') RETURNING id",
        (year,),
    ).fetchone()[0]
    before = last_id(school)
    with school.connect_as(accountant, autocommit=True) as conn:
        # Accounting changes a schedule through the ledger's function, not an UPDATE.
        query = "SELECT school.save_fee_schedule(%s, NULL, NULL, NULL, %s, '2025-08-31')"
        conn.execute(query, (schedule, Decimal("500.00")))
        conn.execute(query, (schedule, Decimal("500.00")))  # no change
        conn.execute(query, (schedule, Decimal("600")))
    rows = [
        r
        for r in log_entries(school, table_name="fee_schedules", row_id=schedule)
        if r["id"] > before
    ]
    assert [(r["action"], r["old_values"], r["new_values"]) for r in rows] == [
        ("UPDATE", {"due_date": "2025-07-31"}, {"due_date": "2025-08-31"}),
        ("UPDATE", {"amount": 500.00}, {"amount": 600}),
    ]
    assert {r["person_id"] for r in rows} == {accountant}


def test_a_delete_records_the_whole_row(school):
    coordinator = school.add_person("Academic Coordinator")
    year = add_school_year(school, "2025-2026")
    section = add_section(school, year, "A", "Grade 7")
    subject = school.admin.execute(
        "INSERT INTO school.subjects (section_id, name, description) "
        "VALUES (%s, 'Science', 'Cells') RETURNING id",
        (section,),
    ).fetchone()[0]
    with school.connect_as(coordinator, autocommit=True) as conn:
        conn.execute("SELECT school.delete_subject(%s)", (subject,))
    (row,) = log_entries(school, table_name="subjects", row_id=subject, action="DELETE")
    assert row["person_id"] == coordinator
    assert row["new_values"] is None
    assert row["old_values"] == {
        "id": subject,
        "section_id": section,
        "name": "Science",
        "description": "Cells",
        "teacher_id": None,
    }


def test_a_truncate_is_recorded_and_payments_refuse_it(school):
    school.admin.execute(
        "INSERT INTO school.announcements (title, content) VALUES ('Hello', 'World')"
    )
    school.admin.execute("TRUNCATE school.announcements")
    (row,) = log_entries(school, table_name="announcements", action="TRUNCATE")
    assert row["row_id"] is None and row["person_id"] is None
    assert row["login_role"] == school.admin.info.user
    with pytest.raises(errors.InsufficientPrivilege, match="may not be truncated"):
        school.admin.execute("TRUNCATE school.payments CASCADE")  # with its allocations
    with pytest.raises(errors.InsufficientPrivilege, match="may not be truncated"):
        school.admin.execute("TRUNCATE school.fees CASCADE")  # would take payments along


# =====================================================================================
# Presence is no school data; logins and logouts are recorded on the person's row
# =====================================================================================
def test_presence_changes_write_no_audit_entry_while_logins_and_logouts_do(school):
    from school_tui.db import chat

    teacher = school.add_person("Teacher", email="tea@audit.test")
    before = last_id(school)
    with school.connect_as(teacher, autocommit=True) as conn:
        assert people.who_am_i(conn).id == teacher  # the app's login step: record_login()
        for status in ("online", "away", "online", "offline"):
            chat.set_presence(conn, status)
    # the presence itself changed, for everyone to see
    assert school.admin.execute(
        "SELECT status FROM school.online_status WHERE user_id = %s", (teacher,)
    ).fetchone() == ("offline",)
    entries = [e for e in log_entries(school, person_id=teacher) if e["id"] > before]
    assert [e["table_name"] for e in entries] == ["users", "users"]
    login, logout = entries
    assert (login["action"], login["row_id"], set(login["new_values"])) == (
        "UPDATE",
        teacher,
        {"last_login"},
    )
    assert (logout["action"], logout["row_id"], set(logout["new_values"])) == (
        "UPDATE",
        teacher,
        {"last_logout"},
    )
    assert logout["login_role"] == school.login_role(teacher)
    # nor does the sweep that turns a session without a listener offline
    with school.connect_as(teacher, autocommit=True) as conn:
        chat.set_presence(conn, "online")
        assert chat.sweep_presence(conn) == 1
    assert [e["table_name"] for e in log_entries(school, person_id=teacher)[-2:]] == [
        "users",
        "users",
    ]
    assert school.admin.execute(
        "SELECT count(*) FROM school.audit_log WHERE table_name = 'online_status'"
    ).fetchone() == (0,)


# =====================================================================================
# "Who read this report?"
# =====================================================================================
def test_who_read_this_report(school):
    principal = school.add_person("Principal", email="principal@audit.test")
    counselor = school.add_person("Guidance", email="counselor@audit.test")
    admin = school.add_person("Admin", email="admin@audit.test")
    student = school.add_person("Student", password=None)
    report = _report(school, student, counselor, "Talked about exams.\nFollow up in May.")
    assert log_entries(school, table_name="guidance_reports", action="READ") == []

    with school.connect_as(principal, autocommit=True) as conn:
        assert guidance.read_report(conn, report) == "Talked about exams.\nFollow up in May."
        # the list shows who, about whom and when: never the text
        ((rid, _when, about, by),) = guidance.recent_reports(conn)
        assert (rid, about, by) == (report, "Student, Test", "Guidance, Test")
    with school.connect_as(counselor, autocommit=True) as conn:
        guidance.read_report(conn, report)
    reads = log_entries(school, table_name="guidance_reports", row_id=report, action="READ")
    assert [(r["person_id"], r["login_role"]) for r in reads] == [
        (principal, school.login_role(principal)),
        (counselor, school.login_role(counselor)),
    ]
    assert all(r["old_values"] is None and r["new_values"] is None for r in reads)
    # The Principal, who may read reports, sees who did; the Admin, who may not, sees no
    # entry about them (not even that a student has one).
    with school.connect_as(principal, autocommit=True) as conn:
        found, _ = audit.page(conn, audit.AuditFilter(table="guidance_reports", row_id=report))
    assert [(e.action, e.person) for e in found] == [
        ("READ", "Guidance, Test"),
        ("READ", "Principal, Test"),
        ("INSERT", school.admin.info.user),
    ]
    with school.connect_as(admin, autocommit=True) as conn:
        found, _ = audit.page(conn, audit.AuditFilter(table="guidance_reports", row_id=report))
    assert found == []


def test_a_report_cannot_be_read_without_a_committed_read_entry(school):
    """A rolled-back transaction would take a READ entry with it while the text had already
    reached the client: so the text comes only after the entry has committed."""
    principal = school.add_person("Principal")
    counselor = school.add_person("Guidance", password=None)
    student = school.add_person("Student", password=None)
    report = _report(school, student, counselor, "secret words")
    with school.connect_as(principal, autocommit=True) as conn:
        # never opened
        with pytest.raises(errors.InsufficientPrivilege, match="open it first"):
            conn.execute("SELECT school.read_guidance_report(%s)", (report,))
        # opened in the same transaction: not committed yet
        with pytest.raises(errors.InsufficientPrivilege, match="open it first"):
            with conn.transaction():
                conn.execute("SELECT school.open_guidance_report(%s)", (report,))
                conn.execute("SELECT school.read_guidance_report(%s)", (report,))
        # opened, then rolled back: no entry, no text
        with conn.transaction(force_rollback=True):
            conn.execute("SELECT school.open_guidance_report(%s)", (report,))
        with pytest.raises(errors.InsufficientPrivilege, match="open it first"):
            conn.execute("SELECT school.read_guidance_report(%s)", (report,))
        # read_report on a connection inside a transaction cannot commit its open: refused
        with pytest.raises(errors.InsufficientPrivilege):
            with conn.transaction():
                guidance.read_report(conn, report)
        assert log_entries(school, action="READ") == []
        # the direct column is refused outright
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT report FROM school.guidance_reports")
        # opened by someone else does not count for me
    other = school.add_person("Principal")
    with school.connect_as(other, autocommit=True) as conn:
        conn.execute("SELECT school.open_guidance_report(%s)", (report,))
    with school.connect_as(principal, autocommit=True) as conn:
        with pytest.raises(errors.InsufficientPrivilege, match="open it first"):
            conn.execute("SELECT school.read_guidance_report(%s)", (report,))
        assert guidance.read_report(conn, report) == "secret words"
    assert [r["person_id"] for r in log_entries(school, action="READ")] == [other, principal]


@pytest.mark.parametrize(
    "role", [r for r in ROLES if r not in ("Guidance", "Principal")], ids=APP_ROLE_GROUP.get
)
def test_only_guidance_and_the_principal_open_reports(school, role):
    who = school.add_person(role)
    counselor = school.add_person("Guidance", password=None)
    student = school.add_person("Student", password=None)
    report = _report(school, student, counselor, "private")
    with school.connect_as(who, autocommit=True) as conn:
        for function in ("open_guidance_report", "read_guidance_report"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(
                    sql.SQL("SELECT school.{}(%s)").format(sql.Identifier(function)), (report,)
                )
    assert log_entries(school, action="READ") == []


# =====================================================================================
# Nobody changes or removes an entry; nobody chooses whom an entry names.
# =====================================================================================
TAMPERING = {
    "update": "UPDATE school.audit_log SET person_id = NULL, login_role = 'nobody'",
    "delete": "DELETE FROM school.audit_log",
    "truncate": "TRUNCATE school.audit_log",
    "insert": "INSERT INTO school.audit_log (table_name, action) VALUES ('payments', 'DELETE')",
}


@pytest.fixture
def everyone(school):
    """One logged-in connection per role, and a log with entries in it."""
    conns = {}
    try:
        for role in ROLES:
            conns[role] = school.connect_as(school.add_person(role), autocommit=True)
        yield conns
    finally:
        for conn in conns.values():
            conn.close()


def test_no_role_can_change_or_remove_an_entry(school, everyone):
    before = log_entries(school)
    assert before
    for role, conn in everyone.items():
        for statement in TAMPERING.values():
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
            # not even after SET ROLE to the groups they are in
            for group in (school.roles.group(APP_ROLE_GROUP[role]), school.roles.member):
                with pytest.raises(errors.InsufficientPrivilege):
                    with conn.transaction():
                        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(group)))
                        conn.execute(statement)
    assert log_entries(school) == before


@pytest.mark.parametrize("what", ["update", "delete", "truncate"])
@pytest.mark.parametrize("who", ["owner", "superuser", "superuser-replica-mode"])
def test_not_the_owner_nor_a_superuser_can_change_an_entry(school, who, what):
    admin = school.admin
    school.add_person("Student", password=None)  # a few entries
    before = log_entries(school)
    assert before
    with pytest.raises(errors.InsufficientPrivilege):
        with admin.transaction():
            if who == "owner":
                admin.execute(
                    sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(school.roles.owner))
                )
            elif who == "superuser-replica-mode":
                # replica mode skips ordinary triggers; the log's fire always
                admin.execute("SET LOCAL session_replication_role = replica")
            admin.execute(TAMPERING[what])
    assert log_entries(school) == before


def test_the_owners_direct_insert_is_stamped_with_who_really_wrote_it(school):
    victim = school.add_person("Principal", password=None)
    admin = school.admin
    with admin.transaction():
        admin.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(school.roles.owner)))
        admin.execute(
            "INSERT INTO school.audit_log (logged_at, login_role, person_id, table_name, action, "
            "client_addr, application_name, txid) VALUES ('2000-01-01', %s, %s, 'payments', "
            "'DELETE', '10.0.0.1', 'forged', 1)",
            (school.login_role(victim), victim),
        )
    row = log_entries(school)[-1]
    assert row["login_role"] == admin.info.user  # session_user: the superuser
    assert row["person_id"] is None
    assert row["logged_at"].year > 2000
    assert row["application_name"] != "forged" and row["txid"] != 1


def test_set_role_and_settings_do_not_change_who_is_recorded(school):
    teacher = school.add_person("Teacher")
    principal = school.add_person("Principal")
    roles = school.roles
    with school.connect_as(teacher, autocommit=True) as conn:
        conn.execute("SET ROLE " + sql.Identifier(roles.group("teacher")).as_string(conn))
        for name in ("school.user_id", "app.user_id", "request.jwt.claim.sub", "role"):
            try:
                conn.execute("SELECT set_config(%s, %s, false)", (name, str(principal)))
            except errors.Error:
                pass  # `role` is not settable that way
        conn.execute("SET application_name = 'principal-desk'")
        message = conn.execute(
            "INSERT INTO school.messages (sender_id, receiver_id, message) "
            "VALUES (%s, %s, 'hi') RETURNING id",
            (teacher, principal),
        ).fetchone()[0]
        conn.execute("RESET ROLE")
        conn.execute("SET ROLE " + sql.Identifier(roles.member).as_string(conn))
        conn.execute("UPDATE school.messages SET is_read = true WHERE id = %s", (message,))
    (row,) = log_entries(school, table_name="messages", row_id=message)
    assert (row["person_id"], row["login_role"]) == (teacher, school.login_role(teacher))
    with school.connect_as(principal, autocommit=True) as conn:
        conn.execute("SELECT set_config('school.user_id', %s, false)", (str(teacher),))
        conn.execute("UPDATE school.messages SET is_read = true WHERE id = %s", (message,))
    update = log_entries(school, table_name="messages", row_id=message, action="UPDATE")
    assert [(r["person_id"], r["new_values"]) for r in update] == [(principal, {"is_read": True})]


# =====================================================================================
# What is never copied into the log.
# =====================================================================================
def test_secrets_and_confidential_text_are_not_copied(school):
    admin_id = school.add_person("Admin")
    counselor = school.add_person("Guidance")
    student = school.add_person("Student", password=None)
    principal = school.add_person("Principal", password=None)
    # a password reset (new salt) by an Admin, a report, a message, a new instance secret
    with school.connect_as(admin_id, autocommit=True) as conn:
        people.set_password(conn, student, "a-new-temporary-password")
    school.admin.execute("UPDATE school.instance SET secret = sha256('new'::bytea)")
    with school.connect_as(counselor, autocommit=True) as conn:
        report = conn.execute(
            "INSERT INTO school.guidance_reports (student_id, counselor_id, report) "
            "VALUES (%s, %s, 'CONFIDENTIAL-REPORT-TEXT') RETURNING id",
            (student, counselor),
        ).fetchone()[0]
        conn.execute(
            "UPDATE school.guidance_reports SET report = 'EDITED-REPORT-TEXT' WHERE id = %s",
            (report,),
        )
        conn.execute(
            "INSERT INTO school.messages (sender_id, receiver_id, message) "
            "VALUES (%s, %s, 'PRIVATE-MESSAGE-TEXT')",
            (counselor, principal),
        )

    secrets_now = [
        bytes(row[0]).hex()
        for row in school.admin.execute("SELECT salt FROM school.credentials").fetchall()
    ]
    secrets_now.append(
        bytes(school.admin.execute("SELECT secret FROM school.instance").fetchone()[0]).hex()
    )
    whole_log = school.admin.execute(
        "SELECT coalesce(string_agg(l::text, E'\\n'), '') FROM school.audit_log l"
    ).fetchone()[0]
    for secret in secrets_now:
        assert secret not in whole_log
    for text in ("CONFIDENTIAL-REPORT-TEXT", "EDITED-REPORT-TEXT", "PRIVATE-MESSAGE-TEXT"):
        assert text not in whole_log

    # ...yet the log still says that they changed, and who changed them
    salt_change = [
        r
        for r in log_entries(school, table_name="credentials", row_id=student, action="UPDATE")
        if "salt" in (r["new_values"] or {})
    ]
    assert len(salt_change) == 1
    assert salt_change[0]["old_values"]["salt"] == salt_change[0]["new_values"]["salt"]
    assert salt_change[0]["new_values"]["salt"] == "(not logged)"
    assert salt_change[0]["person_id"] == admin_id
    (secret_change,) = log_entries(school, table_name="instance", action="UPDATE")
    assert secret_change["new_values"] == {"secret": "(not logged)"}
    (edit,) = log_entries(school, table_name="guidance_reports", row_id=report, action="UPDATE")
    assert edit["new_values"] == {"report": "(not logged)"}
    assert edit["person_id"] == counselor


# =====================================================================================
# db/audit.py: filters, keyset pages, CSV.
# =====================================================================================
def test_filters_and_keyset_pages(school):
    principal = school.add_person("Principal", email="boss@audit.test", first_name="Bea")
    registrar = school.add_person("Registrar", email="reg@audit.test", first_name="Rob")
    with school.connect_as(registrar, autocommit=True) as conn:
        for n in range(7):
            conn.execute(
                "INSERT INTO school.school_years (name, starts_on, ends_on) VALUES (%s, %s, %s)",
                (f"{2030 + n}-{2031 + n}", date(2030 + n, 6, 1), date(2031 + n, 5, 31)),
            )
        conn.execute("UPDATE school.school_years SET is_current = true WHERE name = '2030-2031'")
    # All but the entries of tables the Principal may not read (the logins' salts).
    hidden = ("credentials", "instance")
    everything = [r["id"] for r in log_entries(school) if r["table_name"] not in hidden][::-1]
    with school.connect_as(principal, autocommit=True) as conn:
        # pages of 3, newest first, by id: no gap, no repeat
        seen, before = [], None
        while True:
            rows, more = audit.page(conn, audit.AuditFilter(), before=before, limit=3)
            seen += [e.id for e in rows]
            if not more:
                break
            before = rows[-1].id
        assert seen == everything

        def ids(**kw):
            return [e.id for e in audit.page(conn, audit.AuditFilter(**kw), limit=1000)[0]]

        mine = [r["id"] for r in log_entries(school, person_id=registrar)][::-1]
        assert len(mine) == 8
        for person in ("reg@audit", "REG@AUDIT.TEST", "Rob Registrar", "Registrar, Rob"):
            assert ids(person=person) == mine, person
        assert ids(person="%") == []  # a wildcard is just a character
        assert (
            ids(person=school.admin.info.user)
            == [
                r["id"]
                for r in log_entries(school, login_role=school.admin.info.user)
                if r["table_name"] not in hidden
            ][::-1]
        )
        years = ids(table="school_years")
        assert len(years) == 8
        current = school.admin.execute(
            "SELECT id FROM school.school_years WHERE is_current"
        ).fetchone()[0]
        assert len(ids(table="school_years", row_id=current)) == 2
        today = date.today()
        assert ids(since=today - timedelta(days=1), until=today + timedelta(days=1)) == everything
        assert ids(since=today + timedelta(days=1)) == []
        assert ids(until=today - timedelta(days=1)) == []
        assert ids(person="rob", table="school_years", since=today, until=today) == mine


def export_csv(conn, f: audit.AuditFilter, path) -> int:
    """What the audit screen's export does: the filter's entries, to a new CSV file."""
    from school_tui.output.csv_files import write_csv

    return write_csv(path, audit.CSV_HEADER, audit.entries(conn, f))


def test_csv_export(school, tmp_path):
    principal = school.add_person("Principal")
    school.add_person("Student", first_name="=HYPERLINK(1)", password=None)
    path = tmp_path / "audit.csv"
    with school.connect_as(principal, autocommit=True) as conn:
        count = export_csv(conn, audit.AuditFilter(table="users"), path)
        with pytest.raises(FileExistsError):  # never overwrites
            export_csv(conn, audit.AuditFilter(), path)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    expected = log_entries(school, table_name="users")
    assert count == len(rows) == len(expected) >= 2
    assert [int(r["id"]) for r in rows] == [r["id"] for r in expected][::-1]
    assert {r["table"] for r in rows} == {"users"}
    student_row = next(r for r in rows if "HYPERLINK" in r["new_values"])
    assert '"first_name": "=HYPERLINK(1)"' in student_row["new_values"]  # JSON as stored
    assert student_row["action"] == "INSERT"
    assert student_row["login_role"] == school.admin.info.user


def test_csv_cells_that_a_spreadsheet_would_run_are_defused():
    from school_tui.output.csv_files import cell

    assert cell("=1+1") == "'=1+1"
    assert cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell("+1") == "'+1" and cell("-1") == "'-1"
    assert cell("plain") == "plain"
    assert cell(-5) == -5
    assert cell(None) == ""


def test_export_removes_its_partial_file_when_it_fails(school, tmp_path):
    path = tmp_path / "broken.csv"
    student = school.add_person("Student")  # may not read the log
    with school.connect_as(student, autocommit=True) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            export_csv(conn, audit.AuditFilter(), path)
    assert not path.exists()


def test_read_only_transactions_cannot_open_reports(school):
    principal = school.add_person("Principal")
    counselor = school.add_person("Guidance", password=None)
    student = school.add_person("Student", password=None)
    report = _report(school, student, counselor, "x")
    with school.connect_as(principal) as conn:
        conn.read_only = True
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            guidance.read_report(conn, report)


# =====================================================================================
# The screens: the audit log (Admin, Principal) and opening a report (Guidance, Principal).
# =====================================================================================
SIZE = (80, 24)


def _audit_ready(app) -> bool:
    from tests.pages import AuditPage

    return AuditPage(app).loaded()


def _status(app) -> str:
    from tests.pages import AuditPage

    return AuditPage(app).status()


async def test_audit_screen_filter_open_and_export(demo_school, tmp_path, monkeypatch):

    from school_tui.app import SchoolApp
    from school_tui.screens.admin.audit import AuditEntryModal, ExportModal
    from school_tui.screens.homes.principal import PrincipalHome
    from tests.harness import log_in, table_rows, wait_until
    from tests.pages import AuditPage, ExportPage, entry_body

    monkeypatch.chdir(tmp_path)
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        # The Principal reads payments, so their entries (the Admin sees none of them).
        await log_in(pilot, "principal@demo.school")
        await pilot.press("a")
        await wait_until(pilot, lambda: _audit_ready(app), "the audit log")
        screen = app.screen
        log = AuditPage(app)
        assert log.filter_focused("person")
        assert len(table_rows(app, "audit-table")) == 100  # one page; more on scrolling

        # a bad date is named, with its rule, and gets the focus
        await pilot.press("tab", "tab", "tab", *"2026-02-30", "enter")
        assert _status(app) == "From date: use YYYY-MM-DD, a real date"
        assert log.filter_focused("from")
        await pilot.press("ctrl+u", "shift+tab", "shift+tab", *"payment", "enter")
        assert _status(app) == "Table: payment is not a table of the school"
        assert log.filter_focused("table")

        # filter by table: every row is a payment's, and the table takes the focus
        await pilot.press("s", "enter")
        await wait_until(pilot, lambda: _audit_ready(app), "the filtered log")
        payments = demo_school.admin.execute(
            "SELECT count(*) FROM school.audit_log WHERE table_name = 'payments'"
        ).fetchone()[0]
        assert payments > 0
        rows = table_rows(app, "audit-table")
        assert rows and {row[2] for row in rows} == {"payments"}
        assert log.table_focused()

        # Enter opens the entry: its fields
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AuditEntryModal), "the entry")
        body = entry_body(app)
        assert "INSERT payments row" in body and "amount_paid" in body
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "back to the log")

        # Ctrl+S: export what the filter matches, to a file named in the current folder
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportModal), "the export form")
        field = ExportPage(app).path_field
        assert field.value.startswith("audit-log-") and field.value.endswith(".csv")
        await pilot.press("ctrl+u", *"payments.csv", "enter")
        await wait_until(pilot, lambda: "Exported" in _status(app), "the export")
        path = tmp_path / "payments.csv"
        assert _status(app) == f"Exported {payments} entries to {path}"
        with path.open(newline="", encoding="utf-8") as f:
            exported = list(csv.DictReader(f))
        assert len(exported) == payments
        assert {row["table"] for row in exported} == {"payments"}
        assert all(row["action"] == "INSERT" for row in exported)

        # the same name again is refused in the form, not overwritten
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportModal), "the export form")
        await pilot.press("ctrl+u", *"payments.csv", "enter")
        export = ExportPage(app)
        await wait_until(pilot, lambda: "File: already exists" in export.error(), "the refusal")
        assert "File: already exists" in export.status()
        await pilot.press("escape", "escape")
        await wait_until(pilot, lambda: isinstance(app.screen, PrincipalHome), "the home")


async def test_audit_screen_pages_on_scrolling(demo_school):
    from school_tui.app import SchoolApp
    from tests.harness import log_in, table_rows, wait_until
    from tests.pages import AuditPage

    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "principal@demo.school")
        await pilot.press("ctrl+p", *"audit log", "enter")
        await wait_until(pilot, lambda: _audit_ready(app), "the audit log")
        await pilot.press("tab", "tab", "tab", "tab", "tab")  # to the table
        assert len(table_rows(app, "audit-table")) == 100
        await pilot.press("ctrl+end")
        await wait_until(
            pilot, lambda: len(table_rows(app, "audit-table")) == 200, "the second page"
        )
        ids = AuditPage(app).ids()
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 200
        # the newest the Principal may read (row-level security: no logins' salts, no
        # others' messages)
        with demo_school.connect_as(demo_school.user_id("principal@demo.school")) as conn:
            newest = conn.execute(
                "SELECT id FROM school.audit_log ORDER BY id DESC LIMIT 200"
            ).fetchall()
        assert ids == [row[0] for row in newest]


@pytest.mark.parametrize("email", ["guidance@demo.school", "principal@demo.school"])
async def test_opening_a_guidance_report_shows_it_and_records_the_read(demo_school, email):
    from school_tui.app import SchoolApp
    from school_tui.screens.guidance.report import GuidanceReportModal
    from school_tui.screens.homes.base import RoleHome
    from tests.harness import log_in, table_rows, wait_until

    reader = demo_school.user_id(email)
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, email)
        pane = "reports" if email.startswith("guidance") else "guidance"
        await pilot.press("1" if pane == "reports" else "3")
        table = app.screen.query_one(f"#table-{pane}")
        assert app.focused is table
        first = table.coordinate_to_cell_key((0, 0)).row_key.value
        shown = table_rows(app, f"table-{pane}")[0]
        assert log_entries(demo_school, action="READ") == []
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, GuidanceReportModal), "the report")
        text = demo_school.admin.execute(
            "SELECT report FROM school.guidance_reports WHERE id = %s", (int(first),)
        ).fetchone()[0]
        assert str(app.screen.query_one("#report-text").render()).strip() == text.strip()
        assert shown[1] in str(app.screen.query_one("#report-title").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, RoleHome), "the home")
        # `o` opens the highlighted row too
        await pilot.press("down", "o")
        await wait_until(pilot, lambda: isinstance(app.screen, GuidanceReportModal), "report 2")
        second = table.coordinate_to_cell_key((1, 0)).row_key.value
    reads = log_entries(demo_school, action="READ")
    assert [(r["person_id"], r["row_id"]) for r in reads] == [
        (reader, int(first)),
        (reader, int(second)),
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"person": "x" * 255}, "f-person", "Person: at most 254 characters"),
        ({"table": "pay ments"}, "f-table", "Table: a table name such as payments"),
        ({"table": "grades"}, "f-table", "Table: grades is not a table of the school"),
        ({"row_id": "12a"}, "f-row", "Row id: a whole number such as 42"),
        ({"row_id": "-3"}, "f-row", "Row id: a whole number such as 42"),
        ({"since": "2026-1-5"}, "f-from", "From date: use YYYY-MM-DD, a real date"),
        ({"since": "2026-02-30"}, "f-from", "From date: use YYYY-MM-DD, a real date"),
        ({"until": "yesterday"}, "f-to", "To date: use YYYY-MM-DD, a real date"),
        (
            {"since": "2026-03-02", "until": "2026-03-01"},
            "f-to",
            "To date: must not be before the from date",
        ),
    ],
)
def test_filter_form_names_the_field_and_its_rule(fields, field, message):
    from school_tui.screens.admin.audit import FilterError, parse_filter

    values = {"person": "", "table": "", "row_id": "", "since": "", "until": ""} | fields
    with pytest.raises(FilterError) as caught:
        parse_filter(**values, tables=["payments", "users"])
    assert (caught.value.field, caught.value.message) == (field, message)


def test_filter_form_accepts_what_it_should():
    from school_tui.screens.admin.audit import parse_filter

    f = parse_filter(" ada ", " Payments ", " 42 ", "2026-03-01", "2026-03-01", ["payments"])
    assert f == audit.AuditFilter("ada", "payments", 42, date(2026, 3, 1), date(2026, 3, 1))
    assert parse_filter("", "", "", "", "") == audit.AuditFilter()


def test_export_path_rules(tmp_path, monkeypatch):
    from school_tui.output.csv_files import ExportPathError, check_export_path

    monkeypatch.chdir(tmp_path)
    assert check_export_path(" out.csv ") == tmp_path / "out.csv"
    (tmp_path / "taken.csv").write_text("")
    for text, message in (
        ("", "File: required"),
        ("taken.csv", "File: already exists; choose another name"),
        ("nowhere/out.csv", f"File: the folder {tmp_path / 'nowhere'} does not exist"),
    ):
        with pytest.raises(ExportPathError) as caught:
            check_export_path(text)
        assert caught.value.message == message


HOSTILE = "[bold red]not markup[/] [@click=app.quit]x[/] \x1b[2J\x1b]0;title\x07 \u202eevil"


async def test_hostile_text_in_a_report_and_an_entry_shows_literally(demo_school):
    from school_tui.app import SchoolApp
    from school_tui.screens.admin.audit import AuditEntryModal
    from school_tui.screens.guidance.report import GuidanceReportModal
    from school_tui.widgets.safe import clean
    from tests.harness import log_in, wait_until
    from tests.pages import entry_body

    counselor = demo_school.user_id("guidance@demo.school")
    student = demo_school.admin.execute(
        "SELECT u.id FROM school.users u JOIN school.roles r ON r.id = u.role_id "
        "WHERE r.name = 'Student' ORDER BY u.id LIMIT 1"
    ).fetchone()[0]
    report = _report(demo_school, student, counselor, HOSTILE + "\nsecond line")
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "principal@demo.school")
        await pilot.press("3", "enter")  # the newest report is the hostile one
        await wait_until(pilot, lambda: isinstance(app.screen, GuidanceReportModal), "report")
        assert app.screen.report_id == report
        shown = str(app.screen.query_one("#report-text").render())
        assert shown.strip() == clean(HOSTILE + "\nsecond line", multiline=True)
        assert "\x1b" not in shown and "\u202e" not in shown
        await pilot.press("escape")
        # an entry whose values are hostile: shown literally too
        demo_school.admin.execute(
            "INSERT INTO school.announcements (title, content) VALUES (%s, 'x')", (HOSTILE,)
        )
        await pilot.press("a")
        await wait_until(pilot, lambda: _audit_ready(app), "the audit log")
        await pilot.press("shift+tab", "enter")  # from the first filter back to the table
        await wait_until(pilot, lambda: isinstance(app.screen, AuditEntryModal), "the entry")
        body = entry_body(app)
        assert "announcements" in body
        assert clean(HOSTILE) in body
        assert "\x1b" not in body and "\u202e" not in body
