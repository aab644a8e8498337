"""The Academic Coordinator's home: subjects to manage, tasks and modules to monitor."""

from school_tui.db import academics
from school_tui.screens.homes.base import ANNOUNCEMENTS, Pane, RoleHome


class CoordinatorHome(RoleHome):
    ROLE = "Academic Coordinator"
    PANES = (
        Pane(
            "subjects",
            "Subjects",
            ("Grade", "Section", "Subject", "Description"),
            academics.subjects,
            "No subjects yet.",
        ),
        Pane(
            "tasks",
            "Tasks",
            ("Due", "Type", "Title", "Section", "Teacher"),
            academics.tasks,
            "No tasks yet.",
        ),
        Pane(
            "modules",
            "Modules",
            ("Uploaded", "Title", "Section", "Teacher", "File"),
            academics.modules,
            "No modules yet.",
        ),
        Pane(
            "sections",
            "Per section",
            ("Grade", "Section", "Tasks", "Modules", "Subjects"),
            academics.work_per_section,
        ),
        ANNOUNCEMENTS,
    )
