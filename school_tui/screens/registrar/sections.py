"""Sections and rosters (Registrar).

`SectionsScreen`: a school year's sections (the current year first; `y` chooses another),
with grade, name, adviser, seats taken of capacity; `n` new (in the year shown), `e` edit (a
form with an error under the field at fault), `d` delete (after a yes; the database refuses a
section that still holds students, subjects, modules, tasks or meetings, saying how many),
`Enter` the roster, `Ctrl+S` export. A section
saved for another year shows that year. `RosterScreen`: a section's students; `a` assigns a student found by
name or number, `m` moves the one under the cursor to another section of the year, `Ctrl+S`
exports. The database enforces capacity (it locks the section and counts): a full section's
refusal is shown as it says it ("section: Grade 7 - Rizal is full (45 of 45 seats taken)").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, OptionList, Select, Static
from textual.widgets.option_list import Option

from school_tui.domain.fields import FieldError
from school_tui.domain.school import GRADE_LEVELS
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolModal
from school_tui.widgets.forms import Field, FormModal, FormSpec, Options
from school_tui.widgets.lists import Column, Export, ListLoaded, ListScreen, ListSpec, Page
from school_tui.widgets.pickers import SECTIONS, StudentPicker
from school_tui.widgets.safe import clean, safe_join, safe_text
from school_tui.widgets.title import TitleBar

if TYPE_CHECKING:
    from school_tui.db.errors import NotAllowed, Refused
    from school_tui.db.sections import Section


def refusal(exc: Refused | NotAllowed) -> str:
    """The database's own words for why it refused (its messages name the field)."""
    return clean(exc.message)


def _seats(section) -> str:
    return f"{section.students}/{section.capacity}" if section.capacity else f"{section.students}"


# -- the section form -------------------------------------------------------------------------


class SectionForm(FormModal):
    """New section (section None) or edit one, on the app's form (widgets/forms.py): a
    broken rule, ours or the database's, shows under its field and nothing is written.
    Dismisses with the section's id once saved."""

    def __init__(self, session, section=None, year_id: int | None = None) -> None:
        super().__init__(session, section_form(section, year_id))


def section_form(section=None, year_id: int | None = None) -> FormSpec:
    """`year_id`: a new section's school year (default the current one)."""
    s = section

    def choices(conn) -> dict:
        from school_tui.db import records, sections

        years = records.school_years(conn)
        current = s.school_year_id if s else year_id
        if current is None or not any(i == current for i, _n, _c in years):
            current = next((i for i, _n, cur in years if cur), None)
        return {
            "sec-year": Options(
                [(name + (" (current)" if cur else ""), i) for i, name, cur in years], current
            ),
            "sec-adviser": [(name, i) for i, name in sections.advisers(conn)],
        }

    def check(values: dict) -> dict:
        name = (values["sec-name"] or "").strip()
        capacity_text = (values["sec-capacity"] or "").strip()
        if not name:
            raise FieldError("sec-name", "Name: required (e.g. Rizal)")
        if values["sec-grade"] is None:
            raise FieldError("sec-grade", "Grade level: choose one")
        if values["sec-year"] is None and s is None:
            raise FieldError("sec-year", "School year: choose one")
        capacity = None
        if capacity_text:
            if not capacity_text.isdigit() or not 1 <= int(capacity_text) <= 200:
                raise FieldError("sec-capacity", "Capacity: a whole number from 1 to 200, or empty")
            capacity = int(capacity_text)
        year, adviser = values["sec-year"], values["sec-adviser"]
        return {
            "name": name,
            "grade_level": str(values["sec-grade"]),
            "school_year_id": None if year is None else int(year),
            "adviser_id": None if adviser is None else int(adviser),
            "capacity": capacity,
        }

    def save(conn, values: dict) -> int:
        from school_tui.db import sections

        if s is None:
            return sections.create_section(conn, **values)
        values = {k: v for k, v in values.items() if k != "school_year_id"}
        sections.update_section(conn, s.id, **values)
        return s.id

    return FormSpec(
        title=f"Edit section {s.grade_level} - {s.name}" if s else "New section",
        fields=[
            Field("sec-name", "Name", s.name if s else "", max_length=100),
            Field(
                "sec-grade",
                "Grade level",
                s.grade_level if s else "",
                "Grade level",
                options=[(g, g) for g in GRADE_LEVELS],
            ),
            Field(
                "sec-year",
                "School year",
                s.school_year_id if s else "",
                "School year",
                options=[],
                disabled=s is not None,
            ),
            Field(
                "sec-adviser",
                "Adviser",
                s.adviser_id if s and s.adviser_id is not None else "",
                "No adviser",
                options=[],
            ),
            Field(
                "sec-capacity",
                "Capacity (seats)",
                str(s.capacity) if s and s.capacity else "",
                "1 to 200, empty for no limit",
            ),
        ],
        check=check,
        save=save,
        choices=choices,
        refused=_section_refusal,
    )


FORM_FIELDS = {  # the database's message prefix -> the form's field
    "name": "sec-name",
    "grade level": "sec-grade",
    "school year": "sec-year",
    "adviser": "sec-adviser",
    "capacity": "sec-capacity",
}


def _section_refusal(exc: BaseException) -> FieldError | None:
    """db/sections names the field of every refusal (a duplicate name included)."""
    from school_tui.db.errors import field_refusal

    return field_refusal(exc, FORM_FIELDS)


# -- the sections list ------------------------------------------------------------------------


class SectionsScreen(ListScreen):
    """The sections of one school year (the current one first; `y` picks another)."""

    AUTO_FOCUS = ""  # none: the table once its rows are there (not the year chooser)
    DEFAULT_CSS = """
    SectionsScreen #sections-year { width: 40; }
    SectionsScreen #sections-status { height: 1; color: $text-muted; padding: 0 1; }
    SectionsScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="sections.back"),
        Binding("enter", "roster", "Roster", id="sections.roster"),
        Binding("n", "new", "New", id="sections.new"),
        Binding("e", "edit", "Edit", id="sections.edit"),
        Binding("d", "delete", "Delete", id="sections.delete"),
        Binding("y", "year", "Year", id="sections.year"),
        Binding("ctrl+s", "export", "Export CSV", id="sections.export"),
    ]
    LIST = ListSpec(
        table="sections-table",
        columns=(
            Column("Grade", 12),
            Column("Section", 18),
            Column("Year", 9),
            Column("Adviser", 18),
            Column("Seats", 7),
        ),
        key=lambda s: s.id,
        cells=lambda s: (
            safe_text(s.grade_level),
            s.name,
            safe_text(s.school_year),
            s.adviser or "—",
            safe_text(_seats(s)),
        ),
        on_select="action_roster",
    )

    def __init__(self, session) -> None:
        super().__init__(session)
        self.year_id: int | None = None  # None: the current school year (until loaded)
        self.year_name = "current school year"
        self._select: int | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar(safe_join("Sections", "·", self.year_name))
        yield ConnectionBanner()
        yield Select([], prompt="School year", allow_blank=True, id="sections-year")
        yield Static("Loading…", id="sections-status")
        yield DataTable(id="sections-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def list_mounted(self) -> None:
        self.title = "Sections"

    def load(self, select: int | None = None) -> None:
        """The chosen year's sections; with `select`, that section's year, cursor on it."""
        self._select = select
        self.reload(cursor=select)

    def list_query(self) -> tuple[int | None, int | None]:
        select, self._select = self._select, None
        return self.year_id, select

    def list_fetch(self, conn, query, after) -> Page:
        from school_tui.db import records, sections

        year, select = query
        if select is not None:
            chosen = sections.get_section(conn, select)
            year = chosen.school_year_id if chosen else year
        years = records.school_years(conn)
        if year is None or not any(i == year for i, _n, _c in years):
            year = next((i for i, _n, current in years if current), None)
        found = sections.list_sections(conn, year_id=year) if year is not None else []
        return Page(found, extra=(years, year))

    def list_filled(self, loaded: ListLoaded) -> None:
        years, self.year_id = loaded.page.extra
        names = {i: name + (" (current)" if current else "") for i, name, current in years}
        self.year_name = names.get(self.year_id, "no school year")
        year_select = self.query_one("#sections-year", Select)
        with self.prevent(Select.Changed):
            year_select.set_options([(name, i) for i, name in names.items()])
            if self.year_id is not None:
                year_select.value = self.year_id
        self.query_one("#title-bar", Static).update(safe_join("Sections", "·", self.year_name))
        count = len(loaded.page.rows)
        self.query_one("#sections-status", Static).update(
            safe_text(
                f"{count} sections. Enter: roster · n: new · e: edit · d: delete · y: year"
                if count
                else f"No sections in {self.year_name} yet: n creates one; y: another year."
            )
        )

    @on(Select.Changed, "#sections-year")
    def _year_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, int) or event.value == self.year_id:
            return  # no year chosen, or the same one
        self.year_id = event.value
        self.load()

    def action_year(self) -> None:
        self.query_one("#sections-year", Select).focus()

    def action_new(self) -> None:
        self.app.push_screen(SectionForm(self.session, year_id=self.year_id), self._saved)

    def action_edit(self) -> None:
        section = self.selected()
        if section is not None:
            self.app.push_screen(SectionForm(self.session, section), self._saved)

    def action_delete(self) -> None:
        from school_tui.widgets.confirm import ConfirmModal

        section = self.selected()
        if section is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.query_one("#sections-status", Static).update("Deleting…")
                self._delete(section.id, section.label)

        self.app.push_screen(
            ConfirmModal(
                f"Delete section {section.label}?",
                "Only a section that holds nothing can be deleted: no students, subjects, "
                "modules, tasks or meetings.",
                yes="Delete",
            ),
            answered,
        )

    @db_work(name="section delete", group="section-delete", exclusive=True)
    def _delete(self, section_id: int, label: str) -> None:
        from school_tui.db import sections
        from school_tui.db.errors import NotAllowed, Refused

        try:
            self.session.run(lambda conn: sections.delete_section(conn, section_id))
        except (Refused, NotAllowed) as exc:
            deliver(self._not_deleted, refusal(exc))
            return
        deliver(self._deleted, label)

    def _deleted(self, label: str) -> None:
        self.app.notify(f"Section {clean(label)} deleted.", markup=False)
        self.load()

    def _not_deleted(self, message: str) -> None:
        from school_tui.widgets.error import ErrorModal

        self.query_one("#sections-status", Static).update(safe_text(f"Not deleted: {message}"))
        self.app.push_screen(ErrorModal("Not deleted", message))

    def _saved(self, section_id: int | None) -> None:
        if section_id is not None:
            self.app.notify("Section saved.", markup=False)
            self.load(section_id)

    def action_roster(self) -> None:
        section = self.selected()
        if section is not None:
            self.app.push_screen(RosterScreen(self.session, section.id), lambda _: self.load())

    def list_export(self) -> Export:
        return Export(
            what="sections",
            stem="sections",
            header=("grade_level", "section", "school_year", "adviser", "students", "capacity"),
            rows=[
                (s.grade_level, s.name, s.school_year, s.adviser, s.students, s.capacity)
                for s in self.rows.values()
            ],
        )

    def action_back(self) -> None:
        self.dismiss(None)

    def palette_commands(self):
        return [
            ("New section", self.action_new, "Name, grade, year, adviser, capacity"),
            ("Edit section", self.action_edit, "The section under the cursor"),
            ("Delete section", self.action_delete, "The section under the cursor, if empty"),
            ("Open roster", self.action_roster, "The section's students"),
            ("Choose the school year", self.action_year, "Sections of another year"),
            ("Export sections to CSV", self.action_export, "The list shown"),
            ("Back", self.action_back, "Close sections"),
        ]


# -- choosing a student or a section ----------------------------------------------------------


class SectionPicker(SchoolModal[int | None]):
    DEFAULT_CSS = """
    SectionPicker { align: center middle; }
    SectionPicker > Vertical {
        width: 60; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    SectionPicker OptionList { height: auto; max-height: 14; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pick.cancel")]

    def __init__(self, title: str, sections: list) -> None:
        super().__init__()
        self.title_text = title
        self.choices = sections

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self.title_text))
            yield OptionList(
                *(
                    Option(
                        safe_text(f"{s.grade_level} - {s.name} ({_seats(s)} seats)"), id=str(s.id)
                    )
                    for s in self.choices
                ),
                id="pick-section",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pick-section", OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:  # every option has its section's id
            self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


# -- a roster ---------------------------------------------------------------------------------


class RosterScreen(ListScreen):
    DEFAULT_CSS = """
    RosterScreen #roster-status { height: auto; max-height: 2; color: $text-muted; padding: 0 1; }
    RosterScreen #roster-status.error { color: $error; text-style: bold; }
    RosterScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="roster.back"),
        Binding("a", "assign", "Assign", id="roster.assign"),
        Binding("m", "move", "Move", id="roster.move"),
        Binding("ctrl+s", "export", "Export CSV", id="roster.export"),
    ]
    # Rows as db.sections.roster reads them: student id, then the columns, then presence.
    # With Presence last, 80 columns (each cell's padding and the scrollbar included).
    LIST = ListSpec(
        table="roster-table",
        columns=(
            Column("Student no.", 11),
            Column("Student", 18),
            Column("Email", 14),
            Column("Status", 16),
        ),
        key=lambda row: row[0],
        cells=lambda row: (row[1] or "—", *row[2:-1]),
        presence=lambda row: (row[0], row[-1]),
    )

    def __init__(self, session, section_id: int) -> None:
        super().__init__(session)
        self.section_id = section_id
        self.section: Section | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar(safe_text("Roster"))
        yield ConnectionBanner()
        yield Static("Loading…", id="roster-status")
        yield DataTable(id="roster-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def list_mounted(self) -> None:
        live = self.app.live
        if live is not None:  # a student moved in or out by anyone: read it again
            live.enrollment.subscribe(self, lambda _ids: self.reload())
            live.records.resync.subscribe(self, lambda _again: self.reload())

    def _set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#roster-status", Static)
        status.update(safe_text(text))
        status.set_class(error, "error")

    def list_fetch(self, conn, query, after) -> Page:
        from school_tui.db import sections

        section = sections.get_section(conn, self.section_id)
        return Page(sections.roster(conn, self.section_id), extra=section)

    def list_filled(self, loaded: ListLoaded) -> None:
        s = self.section = loaded.page.extra
        if s is None:
            self.query_one("#title-bar", Static).update("Roster · section not found")
            self._set_status("This section no longer exists.", error=True)
            return
        self.query_one("#title-bar", Static).update(
            safe_join("Roster", "·", f"{s.grade_level} - {s.name}", "·", s.school_year)
        )
        seats = (
            f"{s.students} of {s.capacity} seats taken"
            if s.capacity
            else f"{s.students} students (no limit)"
        )
        self._set_status(f"{seats}. a: assign · m: move · Ctrl+S: export")

    def action_assign(self) -> None:
        if self.section is None:
            return
        title = f"Assign a student to {self.section.grade_level} - {self.section.name}"
        self.app.push_screen(StudentPicker(self.session, title, SECTIONS), self._assign_picked)

    def _assign_picked(self, student_id: int | None) -> None:
        if student_id is not None and self.section is not None:
            self._set_status("Assigning…")
            self._assign(self.section.id, [student_id], f"Assigned to {self.section.label}.")

    @db_work(name="roster assign", group="roster-change", exclusive=True)
    def _assign(self, section_id: int, student_ids: list[int], done: str) -> None:
        from school_tui.db import sections
        from school_tui.db.errors import NotAllowed, Refused

        try:
            self.session.run(lambda conn: sections.assign(conn, section_id, student_ids))
        except (Refused, NotAllowed) as exc:
            deliver(self._roster_refused, refusal(exc))
            return
        deliver(self._roster_changed, done)

    def action_move(self) -> None:
        key = self.selected_key()
        if key is None or self.section is None:
            return
        self._move_student = int(key)
        self._load_targets()

    @db_work(name="roster targets", group="roster-targets", exclusive=True)
    def _load_targets(self) -> None:
        from school_tui.db import sections

        assert self.section is not None  # moving starts once the section is shown
        year = self.section.school_year_id
        found = self.session.run(lambda conn: sections.list_sections(conn, year_id=year))
        deliver(self._pick_target, found)

    def _pick_target(self, found: list) -> None:
        others = [s for s in found if s.id != self.section_id]
        if not others:
            self._set_status("No other section this school year to move to.", error=True)
            return
        name = next((r[2] for r in self.rows.values() if r[0] == self._move_student), "the student")
        student_id = self._move_student

        def picked(section_id: int | None) -> None:
            if section_id is not None:
                target = next(s for s in others if s.id == section_id)
                self._set_status("Moving…")
                self._assign(section_id, [student_id], f"Moved {name} to {target.label}.")

        # the same grade first: the usual move
        grade = self.section.grade_level if self.section is not None else None
        others.sort(key=lambda s: s.grade_level != grade)
        self.app.push_screen(SectionPicker(f"Move {name} to", others), picked)

    def _roster_changed(self, text: str) -> None:
        self._set_status(text)
        self.app.notify(clean(text), markup=False)  # names a student and a section
        self.reload()

    def _roster_refused(self, message: str) -> None:
        from school_tui.widgets.error import ErrorModal

        self._set_status(f"Not changed: {message}", error=True)
        self.app.push_screen(ErrorModal("Not changed", message))

    def list_export(self) -> Export:
        label = self.section.label if self.section else "section"
        return Export(
            what=f"the roster of {label}",
            stem=f"roster-{label}",
            header=("student_number", "name", "email", "status"),
            rows=[row[1:5] for row in self.rows.values()],
        )

    def action_back(self) -> None:
        self.dismiss(None)

    def palette_commands(self):
        return [
            ("Assign a student", self.action_assign, "Find by name or number"),
            ("Move student", self.action_move, "To another section of the year"),
            ("Export roster to CSV", self.action_export, "The students shown"),
            ("Back", self.action_back, "Close the roster"),
        ]
