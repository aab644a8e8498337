"""The Admin's home: people and roles (who can log in), announcements and events."""

from school_tui.db import notices, people
from school_tui.screens.home import Pane, RoleHome


class AdminHome(RoleHome):
    ROLE = "Admin"
    PANES = (
        Pane(
            "people", "People", ("Name", "Email", "Role", "Account", "Last login"), people.directory
        ),
        Pane("roles", "Roles", ("Role", "Active", "Deactivated"), people.people_per_role),
        Pane(
            "announcements",
            "Announcements",
            ("Posted", "Title", "By", "Text"),
            notices.recent_announcements,
            "No announcements yet.",
        ),
        Pane(
            "events",
            "Events",
            ("Starts", "Ends", "Title", "Description"),
            notices.events,
            "No events scheduled.",
        ),
    )
