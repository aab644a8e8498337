"""The Teacher's home: their own tasks, modules and meetings (RLS shows only theirs)."""

from school_tui.db import academics
from school_tui.screens.homes.base import ANNOUNCEMENTS, Pane, RoleHome


class TeacherHome(RoleHome):
    ROLE = "Teacher"
    PANES = (
        Pane(
            "tasks",
            "My tasks",
            ("Due", "Type", "Title", "Section", "Teacher"),
            academics.tasks,
            "You have not given any tasks yet.",
        ),
        Pane(
            "modules",
            "My modules",
            ("Uploaded", "Title", "Section", "Teacher", "File"),
            academics.modules,
            "You have not uploaded any modules yet.",
        ),
        Pane(
            "meetings",
            "Meetings",
            ("When", "Title", "Section", "Link"),
            academics.meetings,
            "No meetings scheduled.",
        ),
        Pane(
            "sections",
            "Sections",
            ("Grade", "Section", "Adviser", "Students", "Capacity"),
            academics.sections_overview,
        ),
        ANNOUNCEMENTS,
    )
