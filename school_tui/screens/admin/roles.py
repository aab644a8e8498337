"""The Admin's Roles screen: each role, how many people hold it, and what it may do.

Each role shows a short summary (ROLE_DUTIES) and, below it, what the database allows that
role, read from the access matrix (school_tui/domain/access_matrix.txt), which tests/db/test_access.py
proves cell by cell over real logins.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from school_tui.domain.access import rights_of
from school_tui.runtime.messages import ConnectionRestored
from school_tui.runtime.workers import db_work, deliver
from school_tui.widgets.banner import ConnectionBanner
from school_tui.widgets.base import SchoolScreen
from school_tui.widgets.safe import safe_join, safe_text

ROLE_DUTIES = {
    "Admin": "Creates people and their logins, changes roles, deactivates and reactivates "
    "accounts, gives temporary passwords; posts announcements and events; reads the audit "
    "log. Sees everyone's names, but no grades, fees or guidance reports.",
    "Principal": "Oversees the school: reads enrollment, sections, modules, tasks, meetings, "
    "fees, payments and guidance reports; posts announcements and events.",
    "Academic Coordinator": "Manages subjects; reads enrollment, modules, tasks and meetings; "
    "posts announcements and events.",
    "Teacher": "Manages their own modules, tasks and meetings; reads the enrollment of the "
    "sections they advise or teach.",
    "Student": "Reads their own enrollment, fees and payments, and their sections' modules, "
    "tasks and meetings; sees staff and themself, no other student.",
    "Guidance": "Writes guidance reports and edits their own; reads reports (each read is "
    "logged) and enrollment.",
    "Registrar": "Manages school years, sections and enrollment.",
    "Accounting": "Manages fees and records payments (payments are never edited or deleted); "
    "reads enrollment.",
}
EVERYONE = (
    "Everyone: reads the school's years, sections, subjects, announcements and events, "
    "and chats with others."
)


class RolesScreen(SchoolScreen):
    DEFAULT_CSS = """
    RolesScreen #title-bar { height: 1; background: $primary; color: $text; padding: 0 1; }
    RolesScreen DataTable { height: 11; }
    RolesScreen #duties-box { height: 1fr; }
    RolesScreen #role-duties { height: auto; padding: 1 1 0 1; }
    """

    BINDINGS = [Binding("escape", "back", "Back", id="roles.back")]

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        person = self.session.person
        yield Static(safe_join("Roles", "·", person.full_name, "(Admin)"), id="title-bar")
        yield ConnectionBanner()
        yield DataTable(id="roles-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="duties-box"):
            yield Static("", id="role-duties")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Roles"
        table = self.query_one(DataTable)
        table.add_columns("Role", "Active", "Deactivated", "May do")
        table.loading = True
        table.focus()
        self.load()

    @db_work(name="load roles", group="roles-load", exclusive=True)
    def load(self) -> None:
        from school_tui.db import people

        deliver(self._loaded, self.session.run(people.people_per_role))

    def _loaded(self, rows: list[tuple[str, int, int]]) -> None:
        table = self.query_one(DataTable)
        with self.app.batch_update():
            table.clear()
            for role, active, inactive in rows:
                table.add_row(
                    safe_text(role),
                    safe_text(active),
                    safe_text(inactive),
                    safe_text(ROLE_DUTIES.get(role, ""), max_length=34),
                    key=role,
                )
            table.loading = False
        self._show_duties()

    @on(DataTable.RowHighlighted)
    def _show_duties(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        role = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        rights = "\n".join(f"  {line}" for line in rights_of(role))
        text = (
            f"{role}: {ROLE_DUTIES.get(role, '')}\n\n{EVERYONE}\n\n"
            f"What the database allows (access matrix, proven by tests):\n{rights}"
        )
        self.query_one("#role-duties", Static).update(safe_text(text, multiline=True))

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self.load()

    def action_back(self) -> None:
        self.dismiss(None)
