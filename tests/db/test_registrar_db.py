"""The registrar's database side: student records without logins, the enrollment
pipeline's rules and history, the accounting hook, live notifications, section capacity under
concurrency, search with and without pg_trgm, and the CSV import. Real logins, real server.
"""

from __future__ import annotations

import re
import threading
from datetime import date

import psycopg
import pytest
from psycopg import errors, sql

from school_tui.db import enrollment, people, sections, student_import, students
from school_tui.db.errors import Refused
from school_tui.domain.student_csv import ImportFileError, read_csv
from tests.builders import add_school_year, add_section


# -- a small school: one current year, two sections, a registrar ---------------------------------
class Office:
    def __init__(self, school):
        self.school = school
        self.year = add_school_year(
            school,
            "2026-2027",
            current=True,
            starts_on=date(2026, 6, 15),
            ends_on=date(2027, 3, 31),
        )
        self.rizal = add_section(school, self.year, "Rizal", "Grade 7", capacity=2)
        self.mabini = add_section(school, self.year, "Mabini", "Grade 7", capacity=40)
        self.registrar_id = school.add_person("Registrar", email="reg@office.test")
        self.conn = school.connect_as(self.registrar_id, autocommit=True)

    def student(self, number: str, first: str = "Juan", last: str = "Cruz", **kw) -> int:
        fields = students.StudentFields(
            first, last, kw.pop("email", f"{number.lower()}@office.test"), number, **kw
        )
        return students.create(self.conn, fields)

    def enrollment_of(self, student_id: int) -> int:
        return self.school.admin.execute(
            "SELECT id FROM school.enrollment_progress WHERE student_id = %s", (student_id,)
        ).fetchone()[0]

    def status(self, enrollment_id: int) -> str:
        return self.school.admin.execute(
            "SELECT current_status FROM school.enrollment_progress WHERE id = %s",
            (enrollment_id,),
        ).fetchone()[0]


@pytest.fixture
def office(school):
    made = Office(school)
    yield made
    made.conn.close()


# -- student records ---------------------------------------------------------------------------
def test_a_student_record_exists_before_its_login(office):
    school = office.school
    sid = office.student(
        "2026-00001",
        grade_level="Grade 7",
        birth_date=date(2013, 5, 31),
        guardian_name="Rosa Cruz",
        guardian_phone="+63 912 345 6789",
        address="12 Mabini St",
    )
    page = students.get(office.conn, sid)
    assert (page.student_number, page.grade_level, page.status) == (
        "2026-00001",
        "Grade 7",
        "Pending",
    )
    assert page.guardian_phone == "+63 912 345 6789"
    login = school.login_role(sid)
    assert (
        school.admin.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = %s", (login,)
        ).fetchone()[0]
        == 0
    )
    with psycopg.connect(school.target.prelogin(), autocommit=True) as pre:
        decoy_login, _ = people.prelogin_lookup(pre, "2026-00001@office.test")
    assert decoy_login != login  # no credentials: the same decoy as an unknown email
    # Deactivating and reactivating a student without a login works (nothing to sync).
    school.admin.execute("SELECT school.set_person_active(%s, false)", (sid,))
    school.admin.execute("SELECT school.set_person_active(%s, true)", (sid,))
    # The Admin's temporary password makes the login; then the student logs in.
    people.set_password(school.admin, sid, "a long student password", temporary=False)
    school.passwords["2026-00001@office.test"] = "a long student password"
    with school.connect_as(sid) as conn:
        assert conn.execute("SELECT school.me()").fetchone()[0] == sid
        own = conn.execute("SELECT student_number FROM school.student_profiles").fetchall()
        assert own == [("2026-00001",)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"birth_date": date(2999, 1, 1)}, "birth date: must be a past date like 2012-05-31"),
        ({"student_number": "no spaces"}, "student number: 1 to 32 capital letters"),
        ({"student_number": "2026-00001"}, "student number: 2026-00001 already belongs"),
        ({"guardian_phone": "call me"}, "guardian phone: digits"),
        ({"email": "not-an-email"}, "email: must look like"),
    ],
)
def test_bad_fields_are_refused_by_the_database_naming_the_field(office, change, message):
    office.student("2026-00001")
    fields = students.StudentFields("Ana", "Lim", "ana@office.test", "2026-00002")
    fields = students.StudentFields(**{**fields.__dict__, **change})
    before = office.school.admin.execute("SELECT count(*) FROM school.users").fetchone()[0]
    with pytest.raises(Refused, match=message) as refused:
        students.create(office.conn, fields)
    assert refused.value.field == message.split(":")[0]
    assert office.school.admin.execute("SELECT count(*) FROM school.users").fetchone()[0] == before


def test_edit_keeps_search_in_step(office):
    sid = office.student("2026-00001", "Juan", "Cruz")
    page = students.get(office.conn, sid)
    fields = page.fields()
    students.update(
        office.conn, sid, students.StudentFields(**{**fields.__dict__, "last_name": "Bautista"})
    )
    assert [h.id for h in students.search(office.conn, "bauti")] == [sid]
    assert students.search(office.conn, "cruz") == []


# -- the pipeline -------------------------------------------------------------------------------
def test_transitions_allowed_refused_and_history_written(office):
    sid = office.student("2026-00001")
    eid = office.enrollment_of(sid)
    assert enrollment.allowed_from(office.conn, "Pending") == ["Verified", "Withdrawn"]
    with pytest.raises(Refused, match="is Pending, which cannot go to Enrolled"):
        enrollment.set_status(office.conn, [eid], "Enrolled")
    # A plain UPDATE is held to the same rules.
    with pytest.raises(errors.CheckViolation, match="cannot go from Pending to Enrolled"):
        office.conn.execute(
            "UPDATE school.enrollment_progress SET current_status = 'Enrolled' WHERE id = %s",
            (eid,),
        )
    for step, remark in (("Verified", "birth certificate seen"), ("Payment Complete", None)):
        assert enrollment.set_status(office.conn, [eid], step, remark) == 1
    assert office.status(eid) == "Payment Complete"
    history = enrollment.history(office.conn, eid)
    assert [(h[1], h[2], h[3], h[4]) for h in history] == [
        (None, "Pending", None, "Test Registrar"),
        ("Pending", "Verified", "birth certificate seen", "Test Registrar"),
        ("Verified", "Payment Complete", None, "Test Registrar"),
    ]
    # History is kept: nobody edits it, not even the owner.
    with pytest.raises(psycopg.Error):
        office.school.admin.execute("UPDATE school.enrollment_history SET remark = 'x'")
    with pytest.raises(errors.InsufficientPrivilege):
        office.conn.execute("DELETE FROM school.enrollment_history")


def test_bulk_transition_is_all_or_nothing(office):
    ids = [office.enrollment_of(office.student(f"2026-0000{n}")) for n in range(1, 4)]
    enrollment.set_status(office.conn, ids[:1], "Verified")
    with pytest.raises(Refused, match=r"\(2026-00002\) is Pending.*nothing was changed"):
        enrollment.set_status(office.conn, ids, "Payment Complete")
    assert [office.status(e) for e in ids] == ["Verified", "Pending", "Pending"]
    assert enrollment.set_status(office.conn, ids[1:], "Verified", "documents complete") == 2
    assert enrollment.set_status(office.conn, ids, "Payment Complete") == 3
    history_rows = office.school.admin.execute(
        "SELECT count(*) FROM school.enrollment_history WHERE enrollment_id = ANY(%s)", (ids,)
    ).fetchone()[0]
    assert history_rows == 3 + 3 + 3  # created, verified, paid


def test_payment_complete_by_hand_with_required_fees_unpaid_needs_a_remark(office):
    """The ledger's hook sets Payment Complete once the year's required fees are paid; a
    registrar who sets it while some are unpaid says why, in the remark."""
    admin = office.school.admin
    owes, buys_books = office.student("2026-00001"), office.student("2026-00002", "Ana")
    ids = [office.enrollment_of(owes), office.enrollment_of(buys_books)]
    assert enrollment.set_status(office.conn, ids, "Verified", "documents complete") == 2
    for student, fee_type in ((owes, "Tuition"), (buys_books, "Books")):  # Books: optional
        admin.execute(
            "INSERT INTO school.fees (student_id, fee_type, amount, school_year_id) "
            "VALUES (%s, %s, 1500.00, %s)",
            (student, fee_type, office.year),
        )
    refused = r"^remark: Juan Cruz \(2026-00001\) has 1,500.00 of required fees unpaid"
    for remark in (None, "   ", "documents complete"):  # none, blank, the previous one
        with pytest.raises(Refused, match=refused) as refusal:
            enrollment.set_status(office.conn, ids, "Payment Complete", remark)
        assert refusal.value.field == "remark"
    with pytest.raises(errors.CheckViolation, match=refused):  # a plain UPDATE too
        office.conn.execute(
            "UPDATE school.enrollment_progress SET current_status = 'Payment Complete' "
            "WHERE id = %s",
            (ids[0],),
        )
    assert [office.status(e) for e in ids] == ["Verified", "Verified"]  # nothing moved
    # Only unpaid optional fees: no remark needed.
    assert enrollment.set_status(office.conn, ids[1:], "Payment Complete") == 1
    assert enrollment.set_status(office.conn, ids[:1], "Payment Complete", "pays in June") == 1
    last = enrollment.history(office.conn, ids[0])[-1]
    assert (last[1], last[2], last[3], last[4]) == (
        "Verified",
        "Payment Complete",
        "pays in June",
        "Test Registrar",
    )


def _rows(office, eid: int) -> tuple:
    """What the database holds of one enrollment: the row and its history."""
    return office.school.admin.execute(
        "SELECT (SELECT current_status FROM school.enrollment_progress WHERE id = %s), "
        "(SELECT count(*) FROM school.enrollment_history WHERE enrollment_id = %s)",
        (eid, eid),
    ).fetchone()


def test_the_pipeline_cannot_be_bypassed_by_insert_update_or_delete(office):
    """The registrar's own login holds INSERT and UPDATE on enrollment_progress: a new
    enrollment still starts at Pending, a row never changes hands, and nobody deletes an
    enrollment or its history (the owner and a superuser neither)."""
    school = office.school
    sid = office.student("2026-00001")
    eid = office.enrollment_of(sid)
    enrollment.set_status(office.conn, [eid], "Verified", "documents seen")
    before = _rows(office, eid)
    assert before == ("Verified", 2)
    next_year = school.admin.execute(
        "INSERT INTO school.school_years (name, starts_on, ends_on, is_current) "
        "VALUES ('2027-2028', '2027-06-14', '2028-03-31', false) RETURNING id"
    ).fetchone()[0]
    insert = (
        "INSERT INTO school.enrollment_progress (student_id, school_year_id, current_status) "
        "VALUES (%s, %s, %s) RETURNING id"
    )
    for status in ("Enrolled", "Payment Complete", "Verified", "Withdrawn"):
        with pytest.raises(errors.CheckViolation, match="a new enrollment starts at Pending"):
            office.conn.execute(insert, (sid, next_year, status))
    assert school.admin.execute(
        "SELECT count(*) FROM school.enrollment_progress WHERE school_year_id = %s", (next_year,)
    ).fetchone() == (0,)
    new = office.conn.execute(insert, (sid, next_year, "Pending")).fetchone()[0]
    assert [h[1:3] for h in enrollment.history(office.conn, new)] == [(None, "Pending")]
    # An enrollment never moves to another student or year (it would carry its status).
    other = office.student("2026-00002")
    for change in ("student_id = %s", "school_year_id = %s"):
        with pytest.raises(errors.CheckViolation, match="student and school year never change"):
            office.conn.execute(
                f"UPDATE school.enrollment_progress SET {change} WHERE id = %s",  # noqa: S608
                (other if "student" in change else next_year, eid),
            )
    # Deleting is refused for the registrar, the owner and a superuser; history stays.
    with pytest.raises(errors.InsufficientPrivilege):
        office.conn.execute("DELETE FROM school.enrollment_progress WHERE id = %s", (eid,))
    owner = sql.SQL("SET ROLE {}").format(sql.Identifier(school.roles.owner))
    for as_owner in (True, False):
        if as_owner:
            school.admin.execute(owner)
        try:
            for statement in (
                "DELETE FROM school.enrollment_progress WHERE id = %s",
                "DELETE FROM school.enrollment_history WHERE enrollment_id = %s",
                "DELETE FROM school.users WHERE id = (SELECT student_id "
                "FROM school.enrollment_progress WHERE id = %s)",
            ):
                with pytest.raises(errors.InsufficientPrivilege, match="kept for good"):
                    school.admin.execute(statement, (eid,))
            for table in ("enrollment_progress", "enrollment_history"):
                with pytest.raises(errors.InsufficientPrivilege, match="may not be truncated"):
                    school.admin.execute(f"TRUNCATE school.{table} CASCADE")
        finally:
            school.admin.execute("RESET ROLE")
    assert _rows(office, eid) == before


def test_a_remark_alone_is_recorded_in_the_history(office):
    """A note added (or cleared) without a status change is a history row: from = to, with
    the remark, by whom; so the latest history row always agrees with the enrollment."""
    sid = office.student("2026-00001")
    eid = office.enrollment_of(sid)
    update = "UPDATE school.enrollment_progress SET remarks = %s WHERE id = %s"
    office.conn.execute(update, ("guardian called: documents on Monday", eid))
    office.conn.execute(update, ("guardian called: documents on Monday", eid))  # no change
    office.conn.execute(update, (None, eid))
    history = enrollment.history(office.conn, eid)
    assert [(h[1], h[2], h[3], h[4]) for h in history] == [
        (None, "Pending", None, "Test Registrar"),
        ("Pending", "Pending", "guardian called: documents on Monday", "Test Registrar"),
        ("Pending", "Pending", None, "Test Registrar"),
    ]
    office.conn.execute(update, ("second note", eid))
    current = office.school.admin.execute(
        "SELECT current_status, remarks FROM school.enrollment_progress WHERE id = %s", (eid,)
    ).fetchone()
    latest = enrollment.history(office.conn, eid)[-1]
    assert (latest[2], latest[3]) == current == ("Pending", "second note")


def test_the_accounting_hook_moves_verified_only_and_is_idempotent(office):
    school = office.school
    verified = office.student("2026-00001")
    pending = office.student("2026-00002")
    enrollment.set_status(office.conn, [office.enrollment_of(verified)], "Verified")
    accountant = school.add_person("Accounting", email="acc@office.test")
    with school.connect_as(accountant) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT school.enrollment_fees_paid(%s, %s)", (verified, office.year))
    with pytest.raises(errors.InsufficientPrivilege):
        office.conn.execute("SELECT school.enrollment_fees_paid(%s, %s)", (verified, office.year))
    # As accounting's SECURITY DEFINER payment function will: owned by the school's owner,
    # called in the accountant's session.
    owner = sql.Identifier(school.roles.owner)
    school.admin.execute(sql.SQL("SET ROLE {}").format(owner))
    try:
        school.admin.execute(
            "CREATE FUNCTION school.test_fees_paid(p_student int, p_year int) RETURNS void "
            "LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp "
            "AS 'SELECT school.enrollment_fees_paid(p_student, p_year)'"
        )
        school.admin.execute(
            sql.SQL("GRANT EXECUTE ON FUNCTION school.test_fees_paid(int, int) TO {}").format(
                sql.Identifier(school.roles.group("accounting"))
            )
        )
    finally:
        school.admin.execute("RESET ROLE")
    with school.connect_as(accountant, autocommit=True) as conn:
        for _ in range(2):
            for student in (verified, pending):
                conn.execute("SELECT school.test_fees_paid(%s, %s)", (student, office.year))
    assert office.status(office.enrollment_of(verified)) == "Payment Complete"
    assert office.status(office.enrollment_of(pending)) == "Pending"
    last = enrollment.history(office.conn, office.enrollment_of(verified))[-1]
    assert (last[1], last[2], last[3], last[4]) == (
        "Verified",
        "Payment Complete",
        "Required fees paid",
        "Test Accounting",
    )
    assert len(enrollment.history(office.conn, office.enrollment_of(verified))) == 3


def test_changes_are_notified_by_id_to_staff_and_the_student(office):
    school = office.school
    sid = office.student("2026-00001")
    eid = office.enrollment_of(sid)
    people.set_password(school.admin, sid, "a long student password", temporary=False)
    school.passwords["2026-00001@office.test"] = "a long student password"
    staff_channel = enrollment.channel(office.conn)
    with (
        school.connect_as(office.registrar_id, autocommit=True) as listener,
        school.connect_as(sid, autocommit=True) as student,
    ):
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(staff_channel)))
        own = student.execute("SELECT school.my_channel()").fetchone()[0]
        student.execute(sql.SQL("LISTEN {}").format(sql.Identifier(own)))
        with pytest.raises(errors.InsufficientPrivilege):
            student.execute("SELECT school.enrollment_channel()")
        enrollment.set_status(office.conn, [eid], "Verified", "ok")
        for conn, channel in ((listener, staff_channel), (student, own)):
            got = [(n.channel, n.payload) for n in conn.notifies(timeout=5, stop_after=1)]
            assert got == [(channel, f"e:{eid}")]


# -- sections ------------------------------------------------------------------------------------
def test_capacity_holds_when_two_registrars_take_the_last_seat(office):
    school = office.school
    a, b, c = (office.student(f"2026-0000{n}") for n in range(1, 4))
    assert sections.assign(office.conn, office.rizal, [a]) == 1  # 1 of 2 seats
    other = school.connect_as(office.registrar_id)
    first = school.connect_as(office.registrar_id)
    try:
        sections.assign(first, office.rizal, [b])  # holds the section's lock, uncommitted
        outcome = {}

        def second():
            try:
                sections.assign(other, office.rizal, [c])
                other.commit()
                outcome["result"] = "assigned"
            except Refused as exc:
                other.rollback()
                outcome["result"] = str(exc)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waiting for the lock
        first.commit()
        thread.join(10)
    finally:
        first.close()
        other.close()
    assert "section: Grade 7 - Rizal is full (2 of 2 seats taken)" in outcome["result"]
    assert {r[0] for r in sections.roster(office.conn, office.rizal)} == {a, b}
    # Moving many at once: all or none.
    with pytest.raises(Refused, match="full"):
        sections.assign(office.conn, office.rizal, [c, a])
    with pytest.raises(Refused, match="capacity: Grade 7 - Rizal already has 2") as refused:
        sections.update_section(
            office.conn,
            office.rizal,
            name="Rizal",
            grade_level="Grade 7",
            adviser_id=None,
            capacity=1,
        )
    assert refused.value.field == "capacity"
    with pytest.raises(LookupError, match="section: section 0 does not exist"):
        sections.assign(office.conn, 0, [c])
    assert sections.assign(office.conn, office.mabini, [a, c]) == 2
    assert [s.students for s in sections.list_sections(office.conn)] == [2, 1]


# -- search --------------------------------------------------------------------------------------
def test_search_by_partial_name_number_or_email_with_and_without_trigram(office):
    juan = office.student("2026-00001", "Juan", "Dela Cruz")
    ana = office.student("2026-00002", "Ana", "Cruzado", email="ana.c@office.test")
    miguel = office.student("2026-00103", "Miguel", "Bautista")
    queries = {
        "cruz": [ana, juan],  # Cruzado, Dela Cruz: by last name
        "ju cru": [juan],  # every word, partial, anywhere
        "00002": [ana],
        "ANA.C@": [ana],
        "bau mig": [miguel],
        "bau ana": [],
        "zzz": [],
        "": [miguel, ana, juan],
    }

    def answers():
        return {q: [h.id for h in students.search(office.conn, q)] for q in queries}

    with_index = answers()
    assert with_index == queries
    # limit reached among the first students by name (the head), and not (the tail)
    assert [h.id for h in students.search(office.conn, "cruz", limit=1)] == [ana]
    assert [h.id for h in students.search(office.conn, "a", limit=2)] == [miguel, ana]
    assert students.has_trigram_index(office.conn)
    office.school.admin.execute("DROP INDEX school.student_profiles_search_trgm")
    assert not students.has_trigram_index(office.conn)
    assert answers() == with_index  # the fallback: same answers, no index


def test_search_works_on_a_server_without_pg_trgm(office):
    """Where bootstrap cannot create pg_trgm (here: the extension is gone and the one who
    upgrades may not create it), `db upgrade` makes no index and search answers the same."""
    from school_tui.db import bootstrap

    school = office.school
    juan = office.student("2026-00001", "Juan", "Dela Cruz")
    ana = office.student("2026-00002", "Ana", "Cruzado", email="ana.c@office.test")
    miguel = office.student("2026-00103", "Miguel", "Bautista")
    school.admin.execute("DROP EXTENSION pg_trgm CASCADE")  # the index goes with it
    school.admin.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(school.roles.owner)))
    try:
        assert bootstrap.ensure_trigram(school.admin) is False  # no CREATE on the database
        version = bootstrap.upgrade(school.admin, school.roles)
    finally:
        school.admin.execute("RESET ROLE")
    assert version == bootstrap.latest_version()
    assert school.admin.execute(
        "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"
    ).fetchone() == (0,)
    assert not students.has_trigram_index(office.conn)
    queries = {
        "cruz": [ana, juan],
        "ju cru": [juan],
        "00002": [ana],
        "ANA.C@": [ana],
        "bau mig": [miguel],
        "ista": [miguel],  # no name starts with it, too few matches: the rare-word branch
        "zzz": [],
        "": [miguel, ana, juan],
    }
    assert {q: [h.id for h in students.search(office.conn, q)] for q in queries} == queries


# -- the CSV import ------------------------------------------------------------------------------
HEADER = "Student Number,First Name,Last Name,Email,Grade Level,Section,Birth Date,Guardian Phone\n"


def test_import_preview_names_every_kind_of_bad_row_and_writes_nothing(office):
    office.student("2026-00001", "Juan", "Cruz")
    data = (
        HEADER
        + "2026-00001,Juan,Cruz Jr,2026-00001@office.test,7,Rizal,2013-01-02,\n"  # update
        + "2026-00010,Ana,Lim,ana@office.test,Grade 7,mabini,2013-02-03,0912 345 6789\n"  # add
        + "2026-00011,,Lim,x@office.test,7,,,\n"  # missing name
        + "2026-00012,Ben,Ong,not-an-email,7,,,\n"  # bad email
        + "2026-00010,Cy,Tan,cy@office.test,7,,,\n"  # duplicate student number
        + "2026-00013,Di,Go,di@office.test,7,Luna,,\n"  # unknown section
        + "2026-00014,Ed,Yu,ed@office.test,7,,31/12/2012,\n"  # bad date
        + "2026-00015,Fe,Sy,ANA@office.test,7,,,\n"  # email used twice
    ).encode()
    parsed = read_csv(data)
    rows = student_import.preview(office.conn, parsed)
    assert [(r.line, r.action) for r in rows] == [
        (2, "update"),
        (3, "add"),
        (4, "reject"),
        (5, "reject"),
        (6, "reject"),
        (7, "reject"),
        (8, "reject"),
        (9, "reject"),
    ]
    reasons = [r.reason for r in rows[2:]]
    assert reasons[0].startswith("first name: required")
    assert reasons[1].startswith("email: must look like")
    assert reasons[2] == "student number: duplicate of line 3 in this file"
    assert reasons[3].startswith("section: unknown section 'Luna'")
    assert reasons[4] == "birth date: must be a date like 2012-05-31"
    assert reasons[5] == "email: duplicate of line 3 in this file"
    count = "SELECT (SELECT count(*) FROM school.users), (SELECT count(*) FROM school.audit_log)"
    before = office.school.admin.execute(count).fetchone()
    with pytest.raises(student_import.ImportRejected, match="line 4: first name"):
        student_import.commit(office.conn, parsed)
    assert office.school.admin.execute(count).fetchone() == before
    # Told to skip the rejected rows, it imports the other two.
    seen = []
    summary = student_import.commit(
        office.conn, parsed, lambda done, total: seen.append((done, total)), skip_rejected=True
    )
    assert (summary.added, summary.updated, summary.rejected, summary.total) == (1, 1, 6, 8)
    assert seen[0] == (0, 2) and seen[-1] == (2, 2)
    hits = students.search(office.conn, "lim")
    assert [(h.student_number, h.section, h.status) for h in hits] == [
        ("2026-00010", "Grade 7 - Mabini", "Pending")
    ]
    assert [h.last_name for h in students.search(office.conn, "2026-00001")] == ["Cruz Jr"]
    assert office.school.admin.execute("SELECT count(*) FROM school.import_staging").fetchone() == (
        0,
    )


def test_an_update_by_import_changes_only_what_the_file_gives(office):
    """An existing student's details survive a file with only the required columns, and a
    file whose cells are empty; the preview says which fields an update changes."""
    sid = office.student(
        "2026-00001",
        "Juan",
        "Cruz",
        grade_level="Grade 7",
        birth_date=date(2013, 5, 31),
        guardian_name="Rosa Cruz",
        guardian_phone="+63 912 345 6789",
        address="12 Mabini St",
    )
    sections.assign(office.conn, office.rizal, [sid])
    kept = ("Grade 7", date(2013, 5, 31), "Rosa Cruz", "+63 912 345 6789", "12 Mabini St")

    def details() -> tuple:
        page = students.get(office.conn, sid)
        fields = (page.grade_level, page.birth_date, page.guardian_name, page.guardian_phone)
        return (page.last_name, *fields, page.address, page.section)

    required_only = read_csv(
        b"student_number,first_name,last_name,email\n"
        b"2026-00001,Juan,Cruz Jr,2026-00001@office.test\n"
        b"2026-00002,Ana,Lim,ana@office.test\n"
    )
    row, new = student_import.preview(office.conn, required_only)
    assert (row.action, row.changes, row.note) == ("update", ("last name",), "changes last name")
    assert (new.action, new.note) == ("add", "")
    summary = student_import.commit(office.conn, required_only)
    assert (summary.added, summary.updated) == (1, 1)
    assert details() == ("Cruz Jr", *kept, "Grade 7 - Rizal")
    # the new student (no section in the file) is enrolled this year, Pending
    assert [
        (h.student_number, h.section, h.status) for h in students.search(office.conn, "lim")
    ] == [("2026-00002", None, "Pending")]

    empty_cells = read_csv(
        (
            HEADER.rstrip("\n") + ",Guardian Name,Address\n"
            "2026-00001,Juan,Cruz Jr,2026-00001@office.test,,,,,,\n"
        ).encode()
    )
    (row,) = student_import.preview(office.conn, empty_cells)
    assert (row.action, row.changes, row.note) == ("update", (), "no changes")
    student_import.commit(office.conn, empty_cells)
    assert details() == ("Cruz Jr", *kept, "Grade 7 - Rizal")

    # A cell that says something changes that field, and only that one.
    some = read_csv(
        (
            HEADER.rstrip("\n") + ",Address\n"
            "2026-00001,Juan,Cruz Jr,2026-00001@office.test,7,Mabini,,,34 Luna St\n"
        ).encode()
    )
    (row,) = student_import.preview(office.conn, some)
    assert row.changes == ("section", "address")
    student_import.commit(office.conn, some)
    assert details() == ("Cruz Jr", *kept[:4], "34 Luna St", "Grade 7 - Mabini")


def _groups(school, login: str) -> set[str]:
    rows = school.admin.execute(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles l ON l.oid = m.member WHERE l.rolname = %s",
        (login,),
    ).fetchall()
    return {name.removeprefix(school.roles.prefix + "_") for (name,) in rows}


def test_an_imported_student_has_all_a_student_has_and_logs_in_once_given_a_password(office):
    """What import_students writes set-wise is what create_student writes: the person (no
    login yet), the profile with its search fields, a Pending enrollment with its first
    history row, the audit entries naming each row and the registrar, the notifications;
    then the Admin's temporary password makes the login, which follows the membership rule."""
    school = office.school
    admin = school.admin
    parsed = read_csv(
        (
            HEADER + "2026-00201,Lea,Salonga,lea@office.test,7,Rizal,2013-01-02,0912 345 6789\n"
            "2026-00202,Jose,Rizal,jose@office.test,8,,,\n"
        ).encode()
    )
    staff_channel = enrollment.channel(office.conn)
    with psycopg.connect(school.target.admin(), autocommit=True) as listener:
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(staff_channel)))
        summary = student_import.commit(office.conn, parsed)
        assert (summary.added, summary.updated) == (2, 0)
        got = [(n.channel, n.payload) for n in listener.notifies(timeout=5, stop_after=2)]
    lea, jose = (school.user_id(e) for e in ("lea@office.test", "jose@office.test"))
    assert jose > lea  # ids in the file's order
    eids = [office.enrollment_of(sid) for sid in (lea, jose)]
    assert got == [(staff_channel, f"e:{eid}") for eid in eids]

    prefix = school.roles.prefix
    for sid in (lea, jose):
        login, role, must_change = admin.execute(
            "SELECT u.login_role, r.name, u.must_change_password FROM school.users u "
            "JOIN school.roles r ON r.id = u.role_id WHERE u.id = %s",
            (sid,),
        ).fetchone()
        assert (role, must_change) == ("Student", True)
        assert re.fullmatch(rf"{prefix}_u_[0-9a-f]{{16}}", login)
        assert admin.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = %s", (login,)
        ).fetchone() == (0,)
    page = students.get(office.conn, lea)
    assert (page.student_number, page.section, page.status, page.guardian_phone) == (
        "2026-00201",
        "Grade 7 - Rizal",
        "Pending",
        "0912 345 6789",
    )
    assert [h.id for h in students.search(office.conn, "salon")] == [lea]
    history = enrollment.history(office.conn, eids[0])
    assert [(h[1], h[2], h[4]) for h in history] == [(None, "Pending", "Test Registrar")]
    # Every row written has its audit entry, naming the row and the registrar.
    entries = admin.execute(
        "SELECT table_name, row_id, person_id FROM school.audit_log "
        "WHERE action = 'INSERT' AND table_name IN ('users', 'student_profiles', "
        "'enrollment_progress', 'enrollment_history') AND txid = ("
        "  SELECT txid FROM school.audit_log WHERE table_name = 'users' AND row_id = %s"
        "  AND action = 'INSERT') ORDER BY table_name, row_id",
        (lea,),
    ).fetchall()
    hist_ids = [
        r[0]
        for r in admin.execute(
            "SELECT id FROM school.enrollment_history WHERE enrollment_id = ANY(%s) ORDER BY id",
            (eids,),
        )
    ]
    reg = office.registrar_id
    assert entries == sorted(
        [("users", sid, reg) for sid in (lea, jose)]
        + [("student_profiles", sid, reg) for sid in (lea, jose)]
        + [("enrollment_progress", eid, reg) for eid in eids]
        + [("enrollment_history", hid, reg) for hid in hist_ids]
    )

    # An enrollment's insert also tells the student's own channel (the one my_channel()
    # names once they log in), here for another year's enrollment of Jose.
    own = admin.execute(
        "SELECT school.channel_for_login(%s)", (school.login_role(jose),)
    ).fetchone()[0]
    with psycopg.connect(school.target.admin(), autocommit=True) as listener:
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(own)))
        next_year = admin.execute(
            "INSERT INTO school.school_years (name, starts_on, ends_on) "
            "VALUES ('2027-2028', '2027-06-14', '2028-03-31') RETURNING id"
        ).fetchone()[0]
        eid = admin.execute(
            "INSERT INTO school.enrollment_progress (student_id, school_year_id) "
            "VALUES (%s, %s) RETURNING id",
            (jose, next_year),
        ).fetchone()[0]
        got = [(n.channel, n.payload) for n in listener.notifies(timeout=5, stop_after=1)]
    assert got == [(own, f"e:{eid}")]

    # The Admin's temporary password makes the login: member only, until the student picks
    # their own; then the Student group, and the student reads their own record.
    login = school.login_role(lea)
    people.set_password(admin, lea, "a temporary password for lea")
    school.passwords["lea@office.test"] = "a temporary password for lea"
    assert _groups(school, login) == {"member"}
    with school.connect_as(lea, autocommit=True) as conn:
        assert conn.execute("SELECT school.me()").fetchone() == (None,)
        people.change_own_password(
            conn, conn.info.password, "lanterns over the quiet harbour at dusk"
        )
    school.passwords["lea@office.test"] = "lanterns over the quiet harbour at dusk"
    assert _groups(school, login) == {"student"}
    with school.connect_as(lea) as conn:
        assert conn.execute("SELECT school.me()").fetchone()[0] == lea
        assert conn.execute("SELECT student_number FROM school.student_profiles").fetchall() == [
            ("2026-00201",)
        ]
        assert conn.execute("SELECT current_status FROM school.enrollment_progress").fetchall() == [
            ("Pending",)
        ]
    # Deactivation ends it: the login loses its group and cannot log in.
    admin.execute("SELECT school.set_person_active(%s, false)", (lea,))
    assert _groups(school, login) == set()
    with pytest.raises(psycopg.OperationalError):
        school.connect_as(lea).close()


def test_an_import_that_fails_midway_leaves_nothing(office):
    # Rizal has 2 seats; the third student of the file for it fails in the database, after
    # the first rows were written inside the transaction.
    lines = [f"2026-001{n:02d},Kid,Number{n},kid{n}@office.test,7,Rizal,,\n" for n in range(3)]
    parsed = read_csv((HEADER + "".join(lines)).encode())
    assert {r.action for r in student_import.preview(office.conn, parsed)} == {"add"}
    count = "SELECT (SELECT count(*) FROM school.users), (SELECT count(*) FROM school.audit_log)"
    before = office.school.admin.execute(count).fetchone()
    with pytest.raises(Refused, match="Rizal is full"):
        student_import.commit(office.conn, parsed)
    assert office.school.admin.execute(count).fetchone() == before


def test_a_file_not_in_utf8_is_refused_with_its_line():
    data = (HEADER + "2026-00001,José,Cruz,j@x.test,7,,,\n").encode("latin-1")
    with pytest.raises(ImportFileError, match="line 2: wrong encoding"):
        read_csv(data)
    bom = b"\xef\xbb\xbf" + (HEADER + "2026-00001,Jos\u00e9,Cruz,j@x.test,K,,,\n").encode()
    parsed = read_csv(bom)
    assert parsed.rows[0].values["first_name"] == "José"
    assert parsed.rows[0].values["grade_level"] == "Kindergarten"
    with pytest.raises(ImportFileError, match="the header lacks email"):
        read_csv(b"student_number,first_name,last_name\n1,a,b\n")
