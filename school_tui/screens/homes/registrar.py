"""The Registrar's home: the enrollment pipeline, recent changes, sections; and the keys to the
registrar's screens: `s` students (screens/registrar/students.py), `b` the live enrollment board, `r`
sections and their rosters, `i` the CSV import of students."""

from textual.binding import Binding

from school_tui.db import academics, enrollment
from school_tui.screens.homes.base import ANNOUNCEMENTS, Pane, RoleHome


class RegistrarHome(RoleHome):
    ROLE = "Registrar"
    BINDINGS = [
        Binding("s", "students", "Students", id="registrar.students"),
        Binding("b", "board", "Board", id="registrar.board"),
        Binding("r", "sections", "Sections", id="registrar.sections"),
        # Not in the footer, which 80 columns cannot fit; in the palette and the README.
        Binding("i", "import_students", "Import", show=False, id="registrar.import"),
    ]
    PANES = (
        Pane("pipeline", "Pipeline", ("Status", "Students"), enrollment.status_counts),
        Pane(
            "changes",
            "Recent changes",
            ("Updated", "Student", "Grade", "Section", "Status"),
            enrollment.recent_changes,
            "No enrollment yet.",
        ),
        Pane(
            "sections",
            "Sections",
            ("Grade", "Section", "Adviser", "Students", "Capacity"),
            academics.sections_overview,
            "No sections yet.",
        ),
        ANNOUNCEMENTS,
    )

    # Back from any of them, the home shows what changed meanwhile.

    def action_students(self) -> None:
        from school_tui.screens.registrar.students import StudentsScreen

        self.app.push_screen(StudentsScreen(self.session), lambda _: self.load_all())

    def action_board(self) -> None:
        from school_tui.screens.registrar.board import EnrollmentBoardScreen

        self.app.push_screen(EnrollmentBoardScreen(self.session), lambda _: self.load_all())

    def action_sections(self) -> None:
        from school_tui.screens.registrar.sections import SectionsScreen

        self.app.push_screen(SectionsScreen(self.session), lambda _: self.load_all())

    def action_import_students(self) -> None:
        from school_tui.screens.registrar.student_import import ImportScreen

        self.app.push_screen(ImportScreen(self.session), lambda _: self.load_all())

    def palette_commands(self):
        return [
            *super().palette_commands(),
            (
                "Students",
                self.action_students,
                "Find a student, open their page, advance their enrollment, add or edit",
            ),
            ("Enrollment board", self.action_board, "Students per status, live; bulk changes"),
            ("Sections and rosters", self.action_sections, "Create, edit, assign, move"),
            ("Import students from CSV", self.action_import_students, "Preview, then confirm"),
        ]
