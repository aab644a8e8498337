"""Which home screen each role gets. Modules are imported only when a person of that role
logs in, so start-up never pays for screens it does not show."""

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


def home_screen_class(role: str):
    module_name, class_name = HOME_SCREENS[role]
    return getattr(importlib.import_module(module_name), class_name)
