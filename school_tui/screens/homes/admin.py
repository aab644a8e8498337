"""The Admin's home: people and roles (who can log in), announcements and events."""

from textual.binding import Binding

from school_tui.db import notices, people, security
from school_tui.screens.homes.base import ANNOUNCEMENTS, Pane, RoleHome


class AdminHome(RoleHome):
    ROLE = "Admin"
    BINDINGS = [
        Binding("a", "audit_log", "Audit log", id="audit"),
        Binding("p", "manage_people", "People", id="admin.people"),
        Binding("r", "manage_roles", "Roles", id="admin.roles"),
    ]
    PANES = (
        Pane(
            "people",
            "People",
            ("Name", "Email", "Role", "Account", "Last login"),
            people.directory,
            presence=True,
            widths=(13, 17, 10, 7, 10),
        ),
        Pane("roles", "Roles", ("Role", "Active", "Deactivated"), people.people_per_role),
        ANNOUNCEMENTS,
        Pane(
            "events",
            "Events",
            ("Starts", "Ends", "Title", "Description"),
            notices.events,
            "No events scheduled.",
        ),
        Pane(
            "failed-logins",
            "Failed logins",
            ("Name", "Email", "Role", "In 24 h", "Last failure"),
            security.failed_logins,
            presence=True,
            widths=(11, 13, 8, 7, 16),
        ),
    )

    def action_audit_log(self) -> None:
        from school_tui.screens.admin.audit import AuditLogScreen

        self.app.push_screen(AuditLogScreen(self.session))

    def action_manage_people(self) -> None:
        from school_tui.screens.admin.people import PeopleScreen

        # Back from it, the home shows what changed.
        self.app.push_screen(PeopleScreen(self.session), lambda _: self.load_all())

    def action_manage_roles(self) -> None:
        from school_tui.screens.admin.roles import RolesScreen

        self.app.push_screen(RolesScreen(self.session))

    def palette_commands(self):
        return [
            *super().palette_commands(),
            ("Audit log", self.action_audit_log, "Who changed what, and who read which report"),
            (
                "Manage people",
                self.action_manage_people,
                "Create, edit, change role, deactivate, reset password",
            ),
            ("Roles and duties", self.action_manage_roles, "Who holds each role, what it may do"),
        ]
