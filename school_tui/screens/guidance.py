"""Guidance's home: the reports they record, and the students they counsel."""

from school_tui.db import guidance, notices
from school_tui.screens.home import Pane, RoleHome


class GuidanceHome(RoleHome):
    ROLE = "Guidance"
    PANES = (
        Pane(
            "reports",
            "Reports",
            ("Date", "Student", "Counselor", "Report"),
            guidance.recent_reports,
            "No guidance reports yet.",
        ),
        Pane(
            "students",
            "Students",
            ("Name", "Email", "Section", "Enrollment", "Reports"),
            guidance.students,
        ),
        Pane(
            "announcements",
            "Announcements",
            ("Posted", "Title", "By", "Text"),
            notices.recent_announcements,
            "No announcements yet.",
        ),
    )
