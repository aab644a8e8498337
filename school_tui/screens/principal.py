"""The Principal's home: the reports (enrollment, finances, guidance, teaching) read-only."""

from school_tui.db import academics, accounting, enrollment, guidance, notices
from school_tui.screens.home import Pane, RoleHome


class PrincipalHome(RoleHome):
    ROLE = "Principal"
    PANES = (
        Pane("enrollment", "Enrollment", ("Status", "Students"), enrollment.status_counts),
        Pane("finances", "Finances", ("Measure", "Value"), accounting.summary),
        Pane(
            "guidance",
            "Guidance",
            ("Date", "Student", "Counselor", "Report"),
            guidance.recent_reports,
            "No guidance reports.",
        ),
        Pane(
            "teaching",
            "Teaching",
            ("Grade", "Section", "Tasks", "Modules", "Subjects"),
            academics.work_per_section,
        ),
        Pane(
            "announcements",
            "Announcements",
            ("Posted", "Title", "By", "Text"),
            notices.recent_announcements,
            "No announcements yet.",
        ),
    )
