"""Guidance's home: the reports they record, and the students they counsel."""

from school_tui.db import guidance
from school_tui.screens.guidance.report import REPORT_COLUMNS, OpensGuidanceReports
from school_tui.screens.homes.base import ANNOUNCEMENTS, Pane, RoleHome


class GuidanceHome(OpensGuidanceReports, RoleHome):
    ROLE = "Guidance"
    PANES = (
        Pane(
            "reports",
            "Reports",
            REPORT_COLUMNS,
            guidance.recent_reports,
            "No guidance reports yet.",
            on_select="open_guidance_report",
        ),
        Pane(
            "students",
            "Students",
            ("Name", "Email", "Section", "Enrollment", "Reports"),
            guidance.students,
            presence=True,
            widths=(15, 15, 11, 9, 7),
        ),
        ANNOUNCEMENTS,
    )
