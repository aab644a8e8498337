"""The Student's home: their own enrollment, tasks, modules and fees, nobody else's."""

from school_tui.db import academics, accounting, enrollment
from school_tui.screens.home import ANNOUNCEMENTS, Pane, RoleHome


class StudentHome(RoleHome):
    ROLE = "Student"
    PANES = (
        Pane(
            "enrollment",
            "Enrollment",
            ("School year", "Section", "Status", "Updated", "Remarks"),
            enrollment.my_enrollment,
            "You are not enrolled in a school year yet.",
        ),
        Pane(
            "tasks",
            "Tasks",
            ("Due", "Type", "Title", "Section", "Teacher"),
            academics.tasks,
            "No tasks for your section.",
        ),
        Pane(
            "modules",
            "Modules",
            ("Uploaded", "Title", "Section", "Teacher", "File"),
            academics.modules,
            "No modules for your section.",
        ),
        Pane(
            "fees",
            "Fees",
            ("Fee", "Amount", "Paid", "Balance", "Due", "Status"),
            accounting.my_fees,
            "You have no fees.",
        ),
        ANNOUNCEMENTS,
    )
