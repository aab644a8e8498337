"""The Registrar's home: the enrollment pipeline, recent changes, sections."""

from textual.binding import Binding

from school_tui.db import academics, enrollment
from school_tui.screens.home import ANNOUNCEMENTS, Pane, RoleHome


class RegistrarHome(RoleHome):
    ROLE = "Registrar"
    BINDINGS = [Binding("s", "students", "Students", id="registrar.students")]
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

    def action_students(self) -> None:
        from school_tui.screens.students import StudentsScreen

        # Back from it, the home shows what changed.
        self.app.push_screen(StudentsScreen(self.session), lambda _: self.load_all())

    def palette_commands(self):
        return [
            *super().palette_commands(),
            (
                "Students",
                self.action_students,
                "Find a student, open their page, advance their enrollment, add or edit",
            ),
        ]
