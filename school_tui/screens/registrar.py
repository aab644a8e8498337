"""The Registrar's home: the enrollment pipeline, recent changes, sections."""

from school_tui.db import academics, enrollment
from school_tui.screens.home import ANNOUNCEMENTS, Pane, RoleHome


class RegistrarHome(RoleHome):
    ROLE = "Registrar"
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
