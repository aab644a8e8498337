"""Every screen of every role, and the db/ functions it calls to paint (or to react to one
live change): the one list benchmarks/screens.py measures and tests/test_screen_registry.py
holds every screen class to.

A screen class under school_tui/screens (a Screen, a ModalScreen, a home) is either named in
the `covers` of some entry of SCREENS or in READS_NOTHING with the reason. A new screen
joins one of them, or the test fails.

An entry's `reads(conn, ctx)` runs on a connection of the role's own login (`role`); `ctx`
holds the ids it needs, picked from the generated district (screens.py, `pick_context`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class Context:
    """Rows of the district the screens open on."""

    today: date
    student_id: int  # the Student login: long ledger, biggest conversation
    teacher_id: int  # the Teacher login: the other side of it
    student_number: str
    name_text: str  # a surname many students share
    section_id: int  # the Student's current section
    year_id: int  # the current school year
    payment_id: int  # the Student's latest payment
    report_id: int  # a guidance report
    audit_entry_id: int
    enrollment_ids: list[int]  # a few current enrollments (a live change on the board)
    older_edge_id: int  # a message halfway into the biggest conversation
    newest_message_ids: list[int]  # the Student's newest messages (a live arrival)


@dataclass(frozen=True)
class Entry:
    name: str  # the metric's suffix: screen_sql_ms_p95_<name>
    role: str
    reads: Callable[[Any, Context], object]
    covers: tuple[str, ...] = ()  # "module:Class" of the screens whose reads these are
    what: str = ""


def _home(module: str, cls: str) -> Callable[[Any, Context], object]:
    def reads(conn, ctx: Context) -> object:
        import importlib

        return getattr(importlib.import_module(module), cls).fetch(conn)

    return reads


def _student_home_live(conn, ctx: Context) -> object:
    from school_tui.screens.homes.student import StudentHome

    return StudentHome.fetch(conn, {"enrollment"})


def _people(conn, ctx: Context) -> object:
    from school_tui.db import lockout, people

    rows = people.search_people(conn, "", None, after=None, limit=101)
    return lockout.locked_among(conn, [r.id for r in rows[:100]] if rows else [])


def _audit(conn, ctx: Context) -> object:
    from school_tui.db import audit

    return audit.page(conn, audit.AuditFilter()), audit.audited_tables(conn)


def _audit_entry(conn, ctx: Context) -> object:
    from school_tui.db import audit

    return audit.entry(conn, ctx.audit_entry_id)


def _roles(conn, ctx: Context) -> object:
    from school_tui.db import people

    return people.people_per_role(conn)


def _students_search(conn, ctx: Context) -> object:
    from school_tui.db import students

    return students.search(conn, ctx.name_text)


def _student_page(conn, ctx: Context) -> object:
    from school_tui.db import enrollment, students

    return (
        students.get(conn, ctx.student_id),
        students.enrollment_history(conn, ctx.student_id),
        students.fee_summary(conn, ctx.student_id),
        enrollment.next_status(conn, "Pending"),
    )


def _student_form(conn, ctx: Context) -> object:
    from school_tui.db import sections

    return sections.list_sections(conn)


def _board(status: str) -> Callable[[Any, Context], object]:
    def reads(conn, ctx: Context) -> object:
        from school_tui.db import enrollment, sections

        counts = enrollment.board_counts(conn)
        rows = enrollment.board_list(conn, status, limit=1001)
        return counts, rows, sections.list_sections(conn), enrollment.transitions(conn)

    return reads


def _board_live(conn, ctx: Context) -> object:
    from school_tui.db import enrollment, records

    return records.board_rows(conn, ctx.enrollment_ids, "Pending"), enrollment.board_counts(conn)


def _transition(conn, ctx: Context) -> object:
    from school_tui.db import enrollment

    return enrollment.allowed_from(conn, "Pending")


def _sections(conn, ctx: Context) -> object:
    from school_tui.db import records, sections

    return records.school_years(conn), sections.list_sections(conn, year_id=ctx.year_id)


def _section_form(conn, ctx: Context) -> object:
    from school_tui.db import records, sections

    return records.school_years(conn), sections.advisers(conn)


def _roster(conn, ctx: Context) -> object:
    from school_tui.db import sections

    return sections.get_section(conn, ctx.section_id), sections.roster(conn, ctx.section_id)


def _cashier_number(conn, ctx: Context) -> object:
    from school_tui.db import ledger

    found = ledger.find_students(conn, ctx.student_number)
    return found, ledger.account(conn, ctx.student_id)


def _cashier_name(conn, ctx: Context) -> object:
    from school_tui.db import ledger

    return ledger.find_students(conn, ctx.name_text)


def _picker(conn, ctx: Context) -> object:
    from school_tui.widgets.pickers import BALANCES

    return BALANCES.find(conn, ctx.name_text)


def _statement(conn, ctx: Context) -> object:
    from school_tui.db import accounting_reports as ar

    return ar.statement(conn, ctx.student_id)


def _receipt(conn, ctx: Context) -> object:
    from school_tui.db import accounting_reports as ar

    return ar.receipt(conn, ctx.payment_id)


def _my_statement(conn, ctx: Context) -> object:
    from school_tui.db import accounting_reports as ar

    return ar.statement(conn)


def _fees(conn, ctx: Context) -> object:
    from school_tui.db import accounting_reports as ar

    return ar.fee_schedules(conn), ar.schedule_choices(conn), ar.fee_types(conn)


def _assign(conn, ctx: Context) -> object:
    from school_tui.db import accounting_reports as ar

    scopes = ar.assign_scopes(conn, ctx.year_id)
    return scopes, ar.assign_preview(conn, ctx.year_id, "Grade 7", None)


def _day_close(conn, ctx: Context) -> object:
    from school_tui.db import accounting_reports as ar

    day = ar.business_day(conn)
    return ar.day_expected(conn, day), ar.my_day_closes(conn)


def _reports(conn, ctx: Context) -> object:
    from school_tui.db import accounting_reports as ar

    start, end = ctx.today - timedelta(days=29), ctx.today
    return (
        ar.collections_by_day(conn, start, end),
        ar.collections_by_method(conn, start, end),
        ar.collections_by_clerk(conn, start, end),
        ar.outstanding_aging(conn, None),
    )


def _approvers(conn, ctx: Context) -> object:
    from school_tui.db import accounting_reports as ar

    return ar.approvers(conn)


def _chat_list(conn, ctx: Context) -> object:
    from school_tui.db import chat

    return chat.conversations(conn)


def _chat_latest(conn, ctx: Context) -> object:
    from school_tui.db import chat

    return chat.history(conn, ctx.teacher_id)


def _chat_older(conn, ctx: Context) -> object:
    from school_tui.db import chat

    return chat.history(conn, ctx.teacher_id, before_id=ctx.older_edge_id)


def _chat_unread(conn, ctx: Context) -> object:
    from school_tui.db import chat

    return chat.unread_total(conn)


def _chat_arrival(conn, ctx: Context) -> object:
    from school_tui.db import chat

    ids = ctx.newest_message_ids
    return (
        chat.live_messages_by_id(conn, ids),
        chat.unread_from_senders_of(conn, ids),
        chat.unread_total(conn),
    )


def _contacts(conn, ctx: Context) -> object:
    from school_tui.db import chat

    return chat.search_contacts(conn, ctx.name_text, None)


def _presence(conn, ctx: Context) -> object:
    from school_tui.db import chat

    return chat.presence_all(conn)


def _guidance_report(conn, ctx: Context) -> object:
    from school_tui.db import guidance

    return guidance.read_report(conn, ctx.report_id)


H = "school_tui.screens.homes."
R = "school_tui.screens.registrar."
A = "school_tui.screens.accounting."
SCREENS: tuple[Entry, ...] = (
    Entry("home_admin", "Admin", _home(H + "admin", "AdminHome"), (H + "admin:AdminHome",)),
    Entry(
        "home_principal",
        "Principal",
        _home(H + "principal", "PrincipalHome"),
        (H + "principal:PrincipalHome",),
    ),
    Entry(
        "home_coordinator",
        "Academic Coordinator",
        _home(H + "coordinator", "CoordinatorHome"),
        (H + "coordinator:CoordinatorHome",),
    ),
    Entry(
        "home_teacher", "Teacher", _home(H + "teacher", "TeacherHome"), (H + "teacher:TeacherHome",)
    ),
    Entry(
        "home_student", "Student", _home(H + "student", "StudentHome"), (H + "student:StudentHome",)
    ),
    Entry(
        "home_student_live",
        "Student",
        _student_home_live,
        what="the Enrollment tab re-read on a status change",
    ),
    Entry(
        "home_guidance",
        "Guidance",
        _home(H + "guidance", "GuidanceHome"),
        (H + "guidance:GuidanceHome",),
    ),
    Entry(
        "home_registrar",
        "Registrar",
        _home(H + "registrar", "RegistrarHome"),
        (H + "registrar:RegistrarHome",),
    ),
    Entry(
        "home_accounting",
        "Accounting",
        _home(H + "accounting", "AccountingHome"),
        (H + "accounting:AccountingHome",),
    ),
    Entry("admin_people", "Admin", _people, ("school_tui.screens.admin.people:PeopleScreen",)),
    Entry("admin_roles", "Admin", _roles, ("school_tui.screens.admin.roles:RolesScreen",)),
    Entry("admin_audit", "Admin", _audit, ("school_tui.screens.admin.audit:AuditLogScreen",)),
    Entry(
        "admin_audit_entry",
        "Admin",
        _audit_entry,
        ("school_tui.screens.admin.audit:AuditEntryModal",),
    ),
    Entry("registrar_students", "Registrar", _students_search, (R + "students:StudentsScreen",)),
    Entry(
        "registrar_student_page",
        "Registrar",
        _student_page,
        (R + "students:StudentPage", R + "students:AdvanceModal"),
    ),
    Entry("registrar_student_form", "Registrar", _student_form, (R + "students:StudentForm",)),
    Entry(
        "registrar_board",
        "Registrar",
        _board("Pending"),
        (R + "board:EnrollmentBoardScreen",),
        "at open (Pending)",
    ),
    Entry("registrar_board_enrolled", "Registrar", _board("Enrolled"), what="the Enrolled tab"),
    Entry("registrar_board_live", "Registrar", _board_live, what="a status change elsewhere"),
    Entry("registrar_board_transition", "Registrar", _transition, (R + "board:TransitionModal",)),
    Entry(
        "registrar_sections",
        "Registrar",
        _sections,
        (R + "sections:SectionsScreen", R + "sections:SectionPicker"),
    ),
    Entry("registrar_section_form", "Registrar", _section_form, (R + "sections:SectionForm",)),
    Entry("registrar_roster", "Registrar", _roster, (R + "sections:RosterScreen",)),
    Entry(
        "accounting_cashier_number",
        "Accounting",
        _cashier_number,
        (A + "cashier:CashierScreen",),
        "a student number, then the account",
    ),
    Entry("accounting_cashier_name", "Accounting", _cashier_name, what="a surname typed"),
    Entry(
        "accounting_statement_picker",
        "Accounting",
        _picker,
        ("school_tui.widgets.pickers:StudentPicker",),
    ),
    Entry("accounting_statement", "Accounting", _statement, (A + "statement:StatementScreen",)),
    Entry("accounting_receipt", "Accounting", _receipt, (A + "statement:ReceiptModal",)),
    Entry("accounting_approvers", "Accounting", _approvers, what="a discount's approvers"),
    Entry("accounting_fees", "Accounting", _fees, (A + "fees:FeesScreen",)),
    Entry("accounting_assign", "Accounting", _assign, (A + "fees:AssignModal",)),
    Entry("accounting_day_close", "Accounting", _day_close, (A + "day_close:DayCloseScreen",)),
    Entry("accounting_reports", "Accounting", _reports, (A + "reports:ReportsScreen",)),
    Entry("student_statement", "Student", _my_statement, what="the Student's own statement"),
    Entry(
        "chat_list_student",
        "Student",
        _chat_list,
        ("school_tui.screens.chat.screen:ChatScreen",),
    ),
    Entry("chat_list_teacher", "Teacher", _chat_list),
    Entry("chat_latest_page", "Student", _chat_latest, what="the biggest conversation"),
    Entry("chat_older_page", "Student", _chat_older, what="halfway into it"),
    Entry("chat_unread_badge", "Student", _chat_unread, what="the title bar, per update"),
    Entry("chat_arrival", "Student", _chat_arrival, what="a message arrives"),
    Entry("chat_contacts", "Teacher", _contacts, ("school_tui.screens.chat.screen:ContactSearch",)),
    Entry("presence_sweep", "Registrar", _presence, what="every presence, after a reconnect"),
    Entry(
        "guidance_report",
        "Guidance",
        _guidance_report,
        ("school_tui.screens.guidance.report:GuidanceReportModal",),
    ),
)

READS_NOTHING: dict[str, str] = {
    "school_tui.screens.homes.base:RoleHome": "the homes' base: each role's home is above",
    "school_tui.screens.auth.login:LoginScreen": "before a login: the pre-login lookup only",
    "school_tui.screens.auth.lock:LockScreen": "checks the password; reads no school data",
    "school_tui.screens.auth.change_password:ChangePasswordScreen": "writes only",
    "school_tui.screens.admin.people:PersonForm": "fields only; the save writes",
    "school_tui.screens.admin.people:RolePicker": "a fixed list of roles",
    "school_tui.screens.admin.people:TemporaryPasswordModal": "shows what the reset returned",
    "school_tui.screens.registrar.student_import:ImportScreen": (
        "reads a file; its preview is benchmarks/registrar.py's import"
    ),
    "school_tui.screens.accounting.fees:InstallmentModal": "edits a plan in memory; save writes",
}


def by_name() -> dict[str, Entry]:
    return {e.name: e for e in SCREENS}
