"""The registrar's students: search as you type, a student's page, the create/edit form and
the quick advance.

The counter path, with a line of students waiting: `s` on the Registrar home opens this
screen with the search box focused; type a name, student number or email; `Enter` goes to
the list (the first match highlighted); `a` asks to move that student to the next status of
the pipeline, with an optional remark; `Enter` does it. Three keys after the search text.
The database enforces the pipeline's rules (set_enrollment_status); a refusal shows why.
The whole path may be typed as one burst (search text, Enter, `a`, Enter): keys after the
Enter wait for the search's results, and the Enter after `a` for the question
(school_tui/textual_internals/typeahead.py).

All SQL is in school_tui.db.students / enrollment / sections and runs in db_work workers.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static

from school_tui.domain.fields import FieldError
from school_tui.domain.school import GRADE_LEVELS, PAYMENT_COMPLETE_REMARK
from school_tui.domain.student_csv import check_fields
from school_tui.runtime.messages import ConnectionRestored
from school_tui.runtime.workers import db_work, deliver
from school_tui.textual_internals import typeahead
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolScreen, ScreenMixin
from school_tui.widgets.forms import Field, FormModal, FormSpec
from school_tui.widgets.lists import Column, Export, ListLoaded, ListScreen, ListSpec
from school_tui.widgets.safe import clean, format_cell, safe_join, safe_text

if TYPE_CHECKING:
    from school_tui.db.students import FeeSummary, Profile
    from school_tui.runtime.session import Session

# The search results' (label, width): with Presence, 80 columns (padding and scrollbar too).
SEARCH_COLUMNS = (
    Column("Student no.", 11),
    Column("Name", 17),
    Column("Section", 13),
    Column("Status", 16),
)
FIELDS = (  # (input id, label, StudentFields attribute)
    ("first-name", "First name", "first_name"),
    ("last-name", "Last name", "last_name"),
    ("email", "Email", "email"),
    ("student-number", "Student no.", "student_number"),
    ("grade-level", "Grade level", "grade_level"),
    ("section", "Section", "section"),
    ("birth-date", "Birth date", "birth_date"),
    ("guardian-name", "Guardian", "guardian_name"),
    ("guardian-phone", "Guardian tel.", "guardian_phone"),
    ("address", "Address", "address"),
)
# "field: rule" messages (ours and the database's) -> the input to focus
FIELD_OF_MESSAGE = {
    label: input_id for input_id, _, attr in FIELDS for label in (attr.replace("_", " "),)
}


def field_of(message: str) -> str | None:
    match = re.match(r"\s*([a-z ]+):", message)
    return FIELD_OF_MESSAGE.get(match.group(1)) if match else None


def students_limit() -> int:
    from school_tui.db.students import DEFAULT_LIMIT

    return DEFAULT_LIMIT


# -- the quick advance ----------------------------------------------------------------------------


class AdvanceModal(FormModal):
    """Move one student to the next status, with an optional remark, on the app's form:
    Enter does it from the remark, Esc cancels. A refusal (Payment Complete by hand while
    required fees are unpaid, without a remark) shows under the remark, which stays.
    Dismisses with how many enrollments changed (None: cancelled)."""

    def __init__(
        self, session, name: str, number: str, enrollment_id: int, from_status: str, to: str
    ):
        super().__init__(session, advance_form(name, number, enrollment_id, from_status, to))


def advance_form(name: str, number: str, enrollment_id: int, from_status: str, to: str):
    note = f"{from_status}  →  {to}"
    if to == "Payment Complete":
        note += "\n" + PAYMENT_COMPLETE_REMARK

    def save(conn, remark: str) -> int:
        from school_tui.db import enrollment

        return enrollment.set_status(conn, [enrollment_id], to, remark or None)

    def refused(exc: BaseException) -> FieldError | None:
        from school_tui.db.errors import field_refusal

        return field_refusal(exc, {"remark": "advance-remark"})

    return FormSpec(
        title=f"{name} ({number})",
        note=note,
        fields=[Field("advance-remark", "Remark", placeholder="optional", max_length=2000)],
        check=lambda values: (values["advance-remark"] or "").strip(),
        save=save,
        refused=refused,
        enter_saves=True,
        hint="Enter: do it · Esc: cancel",
        label_width=8,
    )


# -- the create/edit form -------------------------------------------------------------------------


def _blank(value: str) -> str | None:
    value = value.strip()
    return value or None


def validate_form(values: dict[str, str]):
    """StudentFields from the form's texts, or (input id, message) for the first bad field."""
    from school_tui.db.students import StudentFields

    row = {
        "student_number": values["student-number"].strip().upper(),
        "first_name": values["first-name"].strip(),
        "last_name": values["last-name"].strip(),
        "email": values["email"].strip(),
        "grade_level": values["grade-level"].strip(),
        "section": "",
        "birth_date": values["birth-date"].strip(),
        "guardian_name": values["guardian-name"].strip(),
        "guardian_phone": values["guardian-phone"].strip(),
        "address": values["address"].strip(),
    }
    problem = check_fields(row)
    if problem:
        problem = problem.replace(" (missing name)", "").replace(" (bad email)", "")
        return field_of(problem) or "first-name", problem[0].upper() + problem[1:]
    birth = date.fromisoformat(row["birth_date"]) if row["birth_date"] else None
    return StudentFields(
        row["first_name"],
        row["last_name"],
        row["email"],
        row["student_number"],
        row["grade_level"] or None,
        birth,
        _blank(row["guardian_name"]),
        _blank(row["guardian_phone"]),
        _blank(row["address"]),
    )


class StudentForm(FormModal):
    """A new student, or a student's details, on the app's form (widgets/forms.py): one line
    per field; a broken rule, ours or the database's (a taken student number), shows under
    the field with the cursor on it, and what was typed stays. Dismisses with the student's
    id once saved."""

    def __init__(self, session, profile=None) -> None:
        super().__init__(session, student_form(profile))


PLACEHOLDERS = {
    "email": "name@school.example",
    "student-number": "2026-00123",
    "birth-date": "YYYY-MM-DD",
    "guardian-phone": "+63 912 345 6789",
}


def student_form(profile=None) -> FormSpec:
    """`profile`: db.students.Profile, or None for a new student."""
    p = profile
    values = {
        "first-name": p.first_name if p else "",
        "last-name": p.last_name if p else "",
        "email": p.email if p else "",
        "student-number": (p.student_number or "") if p else "",
        "grade-level": (p.grade_level or "") if p else "",
        "section": p.section_id if p and p.section_id is not None else "",
        "birth-date": p.birth_date.isoformat() if p and p.birth_date else "",
        "guardian-name": (p.guardian_name or "") if p else "",
        "guardian-phone": (p.guardian_phone or "") if p else "",
        "address": (p.address or "") if p else "",
    }
    fields = []
    for input_id, label, _attr in FIELDS:
        if input_id == "grade-level":
            fields.append(
                Field(input_id, label, values[input_id], "—", [(g, g) for g in GRADE_LEVELS])
            )
        elif input_id == "section":
            fields.append(Field(input_id, label, values[input_id], "— (none)", []))
        else:
            fields.append(Field(input_id, label, values[input_id], PLACEHOLDERS.get(input_id, "")))

    def choices(conn) -> dict:
        from school_tui.db import sections

        return {"section": [(clean(s.label), s.id) for s in sections.list_sections(conn)]}

    def check(values: dict):
        texts = {k: "" if v is None else str(v) for k, v in values.items()}
        checked = validate_form(texts)
        if isinstance(checked, tuple):
            raise FieldError(*checked)
        return checked, (int(texts["section"]) if texts["section"] else None)

    def save(conn, checked) -> int:
        from school_tui.db import students

        fields, section_id = checked
        return students.save(conn, p, fields, section_id)

    def refused(exc: BaseException) -> FieldError | None:
        from school_tui.db.errors import field_refusal

        return field_refusal(exc, FIELD_OF_MESSAGE)

    return FormSpec(
        title="New student" if p is None else f"Edit {p.full_name}",
        fields=fields,
        check=check,
        save=save,
        choices=choices,
        refused=refused,
        saved_note=lambda checked, _id: f"Saved {checked[0].first_name} {checked[0].last_name}.",
        compact=True,
        label_width=14,
    )


# -- advancing, shared by the list and the page ---------------------------------------------------


class AdvancesStatus(ScreenMixin):
    """`a`: the next status for an enrollment, confirmed and set in AdvanceModal; then
    the screen's `advanced(note)` says so."""

    session: Session  # the screen's

    if TYPE_CHECKING:

        def advanced(self, note: str) -> None: ...

    def advance(self, name: str, number: str, enrollment_id: int | None, status: str | None):
        if enrollment_id is None or status is None:
            self.notify("No enrollment this school year to advance.", severity="warning")
            typeahead.drop(self)  # an Enter typed ahead would open the student instead
            return
        # The Enter typed after `a` is for the question, asked once the next status is known.
        typeahead.hold(self, "advance")
        self._ask_next(name, number, enrollment_id, status)

    @db_work(name="next status", group="advance")
    def _ask_next(self, name: str, number: str, enrollment_id: int, status: str) -> None:
        from school_tui.db import enrollment

        nxt = self.session.run(lambda conn: enrollment.next_status(conn, status))
        deliver(self._next_status, name, number, enrollment_id, status, nxt)

    def _next_status(
        self, name: str, number: str, enrollment_id: int, status: str, next_status: str | None
    ) -> None:
        if next_status is None:
            self.notify(
                f"{clean(name)} is {status}: no next step.", severity="warning", markup=False
            )
            typeahead.release(self, "advance", drop=True)
            return

        def done(changed: int | None) -> None:
            if changed is not None:
                self.advanced(f"{name}: {next_status}.")

        self.app.push_screen(
            AdvanceModal(self.session, name, number, enrollment_id, status, next_status),
            done,
        )
        typeahead.release(self, "advance")  # they go on once the question is up and focused


# -- the student's page ---------------------------------------------------------------------------


class StudentPage(AdvancesStatus, SchoolScreen):
    DEFAULT_CSS = """
    StudentPage #page-title { height: 1; background: $primary; color: $text; padding: 0 1; }
    StudentPage #page-details { height: auto; padding: 0 1; }
    StudentPage #page-history { height: 1fr; }
    StudentPage .section-title { text-style: bold; padding: 0 1; height: 1; }
    """
    BINDINGS = [
        Binding("a", "advance", "Advance", id="student-page.advance"),
        Binding("e", "edit", "Edit", id="student-page.edit"),
        Binding("escape", "back", "Back", id="student-page.back"),
    ]

    def __init__(self, session, student_id: int) -> None:
        super().__init__()
        self.session = session
        self.student_id = student_id
        self.profile: Profile | None = None

    def compose(self) -> ComposeResult:
        yield Static("Student", id="page-title")
        yield ConnectionBanner()
        yield Static("Loading…", id="page-details")
        yield Static("Enrollment history", classes="section-title")
        yield DataTable(id="page-history", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Student"
        table = self.query_one("#page-history", DataTable)
        table.add_columns("When", "Year", "From", "To", "By", "Remark")
        table.focus()
        self.reload()

    def reload(self) -> None:
        self._load()

    @db_work(name="student page", group="student-page", exclusive=True)
    def _load(self) -> None:
        from school_tui.db import students

        def fetch(conn):
            profile = students.get(conn, self.student_id)
            if profile is None:
                return None, [], None
            return (
                profile,
                students.enrollment_history(conn, self.student_id),
                students.fee_summary(conn, self.student_id),
            )

        deliver(self._loaded, *self.session.run(fetch))

    def _loaded(self, p: Profile | None, history: list, f: FeeSummary | None) -> None:
        fmt = self.app.money_format  # the school's (config.toml)
        self.profile = p
        details = self.query_one("#page-details", Static)
        if p is None or f is None:
            details.update("This student is not there (removed, or not yours to see).")
            return
        self.query_one("#page-title", Static).update(
            safe_join("Student ·", p.full_name, "·", p.student_number or "no number")
        )
        lines = [
            ("Email", p.email),
            ("Grade", p.grade_level or "—"),
            ("Section", f"{p.section or 'not assigned'} ({p.school_year or 'no current year'})"),
            (
                "Status",
                f"{p.status or 'not enrolled this year'}  {format_cell(p.last_updated, fmt)}",
            ),
            ("Born", format_cell(p.birth_date, fmt)),
            ("Guardian", f"{p.guardian_name or '—'}  {p.guardian_phone or ''}"),
            ("Address", p.address or "—"),
            (
                "Fees",
                f"{format_cell(f.billed, fmt)} billed, {format_cell(f.paid, fmt)} paid, "
                f"{format_cell(f.balance, fmt)} due"
                + (f" ({f.overdue} overdue)" if f.overdue else ""),
            ),
        ]
        text = safe_text("")
        for label, value in lines:
            text.append(f"{label:<9}", style="bold")
            text.append_text(safe_text(str(value), max_length=68))
            text.append("\n")
        text.rstrip()
        details.update(text)
        table = self.query_one("#page-history", DataTable)
        with self.app.batch_update():
            table.clear()
            for h in history:
                table.add_row(
                    safe_text(format_cell(h.changed_at, fmt)),
                    safe_text(h.school_year),
                    safe_text(h.from_status or "—"),
                    safe_text(_to_cell(h)),
                    safe_text(h.changed_by or "system", max_length=20),
                    safe_text(h.remark or "", max_length=40),
                )

    def advanced(self, note: str) -> None:
        self.notify(clean(note), markup=False)
        self.reload()

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self.reload()

    def action_advance(self) -> None:
        p = self.profile
        if p is not None:
            self.advance(p.full_name, p.student_number or "", p.enrollment_id, p.status)

    def action_edit(self) -> None:
        if self.profile is not None:
            self.app.push_screen(StudentForm(self.session, self.profile), self._edited)

    def _edited(self, student_id: int | None) -> None:
        if student_id is not None:
            self.reload()

    def action_back(self) -> None:
        self.dismiss(None)


def _to_cell(h) -> str:
    """The history's "To": the new status, or for a remark alone (from = to) what happened."""
    if h.from_status is not None and h.from_status == h.to_status:
        return "(note)" if h.remark else "(note cleared)"
    return h.to_status


# -- the search screen ----------------------------------------------------------------------------


class StudentsScreen(AdvancesStatus, ListScreen):
    DEFAULT_CSS = """
    StudentsScreen #students-title { height: 1; background: $primary; color: $text; padding: 0 1; }
    StudentsScreen #student-search { margin: 0 0; }
    StudentsScreen DataTable { height: 1fr; }
    StudentsScreen #students-status { height: 1; color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="students.search"),
        Binding("a", "advance", "Advance", id="students.advance"),
        Binding("o", "open_student", "Open", id="students.open"),
        Binding("n", "new_student", "New", id="students.new"),
        Binding("e", "edit_student", "Edit", id="students.edit"),
        Binding("ctrl+s", "export", "CSV", id="students.export"),
        Binding("escape", "back", "Back", id="students.back"),
        Binding("down", "focus_table", "To the list", show=False, id="students.to-list"),
    ]
    LIST = ListSpec(
        table="students-table",
        columns=SEARCH_COLUMNS,
        key=lambda hit: hit.id,
        cells=lambda hit: (
            hit.student_number,
            f"{hit.last_name}, {hit.first_name}",
            hit.section or hit.grade_level or "—",
            hit.status or "—",
        ),
        presence=lambda hit: (hit.id, hit.presence),
        search="student-search",
        on_select="action_open_student",
        loading=False,
        focus="#student-search",  # the screen is a search: type at once
    )

    def compose(self) -> ComposeResult:
        person = self.session.person
        yield Static(
            safe_join("Students", "·", person.full_name, "(Registrar)"), id="students-title"
        )
        yield ConnectionBanner()
        yield Input(placeholder="Name, student number or email (/)", id="student-search")
        yield DataTable(id="students-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="students-status")
        yield Footer()

    def list_mounted(self) -> None:
        self.title = "Students"

    # -- searching -----------------------------------------------------------------------------

    def list_query(self) -> str:
        return self.query_one("#student-search", Input).value

    def list_fetch(self, conn, query, after) -> list:
        from school_tui.db import students

        return students.search(conn, query)

    def list_filled(self, loaded: ListLoaded) -> None:
        count = len(loaded.page.rows)
        note = (
            "Nobody matches."
            if not count
            else f"{count} shown"
            + (" (the first; type more to narrow)." if count >= students_limit() else ".")
        )
        self.query_one("#students-status", Static).update(note)
        # Keys typed after Enter (`a`, Enter) were for the first match: with one, they go
        # on to it; with nobody, they are dropped with a note.
        typeahead.release(self, "results", drop=not count)

    def search_submitted(self) -> None:
        self.action_focus_table()
        if not self.current:
            # The results of the text just typed are not in yet: `a` would find no student
            # (or an older search's first), so the keys after this Enter wait for them.
            typeahead.hold(self, "results")

    def advanced(self, note: str) -> None:
        self.notify(clean(note), markup=False)
        self.reload()

    # -- the highlighted student ---------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("advance", "open_student", "edit_student") and self.is_mounted:
            return self.selected() is not None
        return True

    # -- actions -------------------------------------------------------------------------------

    def action_advance(self) -> None:
        hit = self.selected()
        if hit is not None:
            self.advance(hit.full_name, hit.student_number, hit.enrollment_id, hit.status)

    def action_open_student(self) -> None:
        hit = self.selected()
        if hit is not None:
            self.app.push_screen(StudentPage(self.session, hit.id), lambda _: self.reload())

    def action_new_student(self) -> None:
        self.app.push_screen(StudentForm(self.session), self._saved)

    def action_edit_student(self) -> None:
        hit = self.selected()
        if hit is not None:
            self._open_form(hit.id)

    @db_work(name="load student", group="students-edit")
    def _open_form(self, student_id: int) -> None:
        from school_tui.db import students

        deliver(self._edit, self.session.run(lambda conn: students.get(conn, student_id)))

    def _edit(self, profile: Profile | None) -> None:
        if profile is None:
            self.notify("This student is not there any more.", severity="warning")
            return
        self.app.push_screen(StudentForm(self.session, profile), self._saved)

    def _saved(self, student_id: int | None) -> None:
        if student_id is not None:
            self.reload()

    def list_export(self) -> Export:
        """Every match of the search (not only the page shown), read again in the worker."""
        from school_tui.db import students

        text = self.query_one("#student-search", Input).value.strip()
        return Export(
            what=f"every student matching {text!r}" if text else "every student",
            stem="students",
            header=students.EXPORT_COLUMNS,
            fetch=lambda conn: students.every_match(conn, text),
        )

    def action_back(self) -> None:
        self.dismiss(None)
