"""Which home screen each role gets. Modules are imported only when a person of that role
logs in, so start-up never pays for screens it does not show.

A login imports them on the side (`preload`): what every session needs while the password's
key derivation runs (argon2 works outside the interpreter lock, so a thread can import
meanwhile), the role's own home while the session's pool connects. Once the home is shown,
its imports are done.
"""

from __future__ import annotations

import importlib

HOME_SCREENS = {
    "Admin": ("school_tui.screens.homes.admin", "AdminHome"),
    "Principal": ("school_tui.screens.homes.principal", "PrincipalHome"),
    "Academic Coordinator": ("school_tui.screens.homes.coordinator", "CoordinatorHome"),
    "Teacher": ("school_tui.screens.homes.teacher", "TeacherHome"),
    "Student": ("school_tui.screens.homes.student", "StudentHome"),
    "Guidance": ("school_tui.screens.homes.guidance", "GuidanceHome"),
    "Registrar": ("school_tui.screens.homes.registrar", "RegistrarHome"),
    "Accounting": ("school_tui.screens.homes.accounting", "AccountingHome"),
}

# What every logged-in session imports whatever the role: the session and its pool, live
# chat and its listener and alerts (SchoolApp.start_session), the homes' base and the money
# format its tables show amounts in (widgets.safe.format_cell).
SESSION_MODULES = (
    "school_tui.runtime.session",
    "school_tui.live.chat",
    "school_tui.live.listener",
    "school_tui.screens.chat.alerts",
    "school_tui.screens.homes.base",
    "school_tui.domain.money",
)


def home_screen_class(role: str):
    module_name, class_name = HOME_SCREENS[role]
    return getattr(importlib.import_module(module_name), class_name)


def preload(role: str | None = None) -> None:
    """Import SESSION_MODULES, or with `role` that role's home module. Any thread; an import
    that fails here is left to fail where the module is used, with its own error."""
    names: tuple[str, ...]
    if role is None:
        names = SESSION_MODULES
    else:
        names = (HOME_SCREENS[role][0],) if role in HOME_SCREENS else ()
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            continue
