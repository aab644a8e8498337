"""The Principal's home: the reports (enrollment, finances, guidance, teaching) read-only."""

from textual.binding import Binding

from school_tui.db import academics, accounting, enrollment, guidance
from school_tui.screens.guidance.report import REPORT_COLUMNS, OpensGuidanceReports
from school_tui.screens.homes.base import ANNOUNCEMENTS, Pane, RoleHome


class PrincipalHome(OpensGuidanceReports, RoleHome):
    ROLE = "Principal"
    BINDINGS = [Binding("a", "audit_log", "Audit log", id="audit")]
    PANES = (
        Pane("enrollment", "Enrollment", ("Status", "Students"), enrollment.status_counts),
        Pane("finances", "Finances", ("Measure", "Value"), accounting.summary),
        Pane(
            "guidance",
            "Guidance",
            REPORT_COLUMNS,
            guidance.recent_reports,
            "No guidance reports.",
            on_select="open_guidance_report",
        ),
        Pane(
            "teaching",
            "Teaching",
            ("Grade", "Section", "Tasks", "Modules", "Subjects"),
            academics.work_per_section,
        ),
        ANNOUNCEMENTS,
    )

    def action_audit_log(self) -> None:
        from school_tui.screens.admin.audit import AuditLogScreen

        self.app.push_screen(AuditLogScreen(self.session))

    def palette_commands(self):
        return [
            *super().palette_commands(),
            ("Audit log", self.action_audit_log, "Who changed what, and who read which report"),
        ]
