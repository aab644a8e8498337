"""The Admin's Roles screen: each role, its member count, and what the access matrix says it
may do (the same file tests/db/test_access.py proves over real logins)."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from school_tui.app import SchoolApp
from school_tui.screens.admin.roles import RolesScreen
from tests.harness import log_in, wait_until


async def test_roles_screen_shows_counts_and_matrix_rights(demo_school):
    app = SchoolApp(demo_school.target, prepare_server=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, "admin@demo.school")
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RolesScreen), "the Roles screen")
        table = app.screen.query_one(DataTable)
        await wait_until(pilot, lambda: not table.loading and table.row_count == 8, "8 roles")
        rows = {str(table.get_row_at(i)[0]): table.get_row_at(i) for i in range(8)}
        students = demo_school.admin.execute(
            "SELECT count(*) FROM school.users u JOIN school.roles r ON r.id = u.role_id "
            "WHERE r.name = 'Student' AND u.is_active"
        ).fetchone()[0]
        assert str(rows["Student"][1]) == str(students)

        table.move_cursor(row=list(rows).index("Student"))
        duties = app.screen.query_one("#role-duties", Static)
        await wait_until(pilot, lambda: "fees: read_own" in str(duties.render()), "Student rights")
        text = str(duties.render())
        assert "access matrix" in text
        assert "guidance_reports" not in text  # a student may not touch guidance reports
