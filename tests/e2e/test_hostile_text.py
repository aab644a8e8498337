"""Hostile text is shown, never obeyed.

Every free text column of the demo school is filled with markup, escape sequences, control
characters, 10,000-character values, emoji and right-to-left text. Then, for every role in
the screen registry, the test logs in and walks every command of that role's palette (each
tab and each screen the role can open), so a screen added later joins the walk by being
registered or offered in the palette, with no edit here. At each step: no crash, no error
modal, no action fired by markup (the app is still running), and no control character in
what is drawn.
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from school_tui.app import SchoolApp
from school_tui.screens.homes.base import RoleHome
from school_tui.screens.homes.for_role import HOME_SCREENS
from school_tui.server.demo import DEMO_LOGINS
from school_tui.widgets.error import ErrorModal
from tests.harness import log_in, wait_until

LONG = "long " * 2000  # 10,000 characters
HOSTILE = [
    "[bold]bold?[/bold]",
    "[@click=app.quit]quit?[/]",
    "[link=http://evil.example]link?[/link]",
    "unbalanced [/] close",
    "\x1b[31mred?\x1b[0m",
    "\x1b]0;pwned-title\x07title?",
    "\x9b2Jclear? \x07bell \x08backspace \x00nul",
    "\u202eevil override\u202c and \u2067isolate\u2069",
    "👩‍🏫 emoji 🎓 and 中文 wide",
    "مرحبا بالعالم right-to-left",
    LONG,
]
CONTROL_CHARS = {chr(c) for c in range(0x20)} | {chr(0x7F)} | {chr(c) for c in range(0x80, 0xA0)}
# Columns whose value the app itself relies on: the login name, and the demo logins' emails.
UNTOUCHED = {("users", "login_role")}


def _text_columns(admin) -> list[tuple[str, str, bool]]:
    return admin.execute(
        """
        SELECT c.table_name, c.column_name,
               EXISTS (SELECT 1 FROM information_schema.columns k WHERE k.table_schema = 'school'
                       AND k.table_name = c.table_name AND k.column_name = 'id')
        FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = 'school' AND t.table_type = 'BASE TABLE' AND c.data_type = 'text'
        ORDER BY 1, 2
        """
    ).fetchall()


def fill_with_hostile_text(school) -> dict[tuple[str, str], int]:
    """Put hostile values in every text column that accepts them. Returns how many values
    each column took (constrained columns, such as statuses, take none, by design)."""
    from psycopg import sql

    admin = school.admin
    demo_emails = list(DEMO_LOGINS)
    taken: dict[tuple[str, str], int] = {}
    for table, column, has_id in _text_columns(admin):
        if (table, column) in UNTOUCHED:
            continue
        where = sql.SQL("")
        if table == "users" and column == "email":
            # Emails stay valid and unique, but carry the hostile parts; the demo logins keep
            # theirs so the walk can log in.
            admin.execute(
                "UPDATE school.users SET email = id || %s || id || '@hostile.example' "
                "WHERE NOT (email = ANY(%s))",
                ("[bold][link=http://evil.example]", demo_emails),
            )
            taken[(table, column)] = 1
            continue
        accepted = []
        for value in HOSTILE:
            try:
                with admin.transaction():
                    admin.execute(
                        sql.SQL("UPDATE school.{} SET {} = %s").format(
                            sql.Identifier(table), sql.Identifier(column)
                        )
                        + where,
                        (value,),
                    )
                    raise _Rollback
            except _Rollback:
                accepted.append(value)
            except Exception:
                continue
        taken[(table, column)] = len(accepted)
        if not accepted:
            continue
        if has_id:
            admin.execute(
                sql.SQL("UPDATE school.{} SET {} = (%s::text[])[1 + id %% %s]").format(
                    sql.Identifier(table), sql.Identifier(column)
                ),
                (accepted, len(accepted)),
            )
        else:
            admin.execute(
                sql.SQL("UPDATE school.{} SET {} = %s").format(
                    sql.Identifier(table), sql.Identifier(column)
                ),
                (accepted[0],),
            )
    return taken


class _Rollback(Exception):
    pass


def _settled(app) -> bool:
    busy = any(not worker.is_finished for worker in app.workers)
    loading = any(table.loading for table in app.screen.query(DataTable))
    return not busy and not loading


def _check_drawn(app, where: str, seen: dict) -> None:
    assert app.is_running, f"{where}: the app stopped (an action fired?)"
    assert not isinstance(app.screen, ErrorModal), f"{where}: error modal shown"
    svg = app.export_screenshot()
    bad = sorted({repr(ch) for ch in svg if ch in CONTROL_CHARS and ch not in "\n\t\r"})
    assert not bad, f"{where}: control characters drawn: {bad}"
    seen["click_literal"] |= "[@click=app.quit]" in svg
    seen["esc_picture"] |= "\N{SYMBOL FOR ESCAPE}" in svg


@pytest.fixture
def hostile_school(demo_school):
    taken = fill_with_hostile_text(demo_school)
    # The free text columns really did take hostile values (guards the filler itself).
    for column in [("users", "first_name"), ("messages", "message"), ("announcements", "title")]:
        assert taken[column] >= 8, column
    return demo_school


@pytest.mark.parametrize("role", sorted(HOME_SCREENS))
async def test_every_screen_of_every_role_shows_hostile_text_literally(hostile_school, role):
    email = next(e for e, (r, _first, _last) in DEMO_LOGINS.items() if r == role)
    app = SchoolApp(hostile_school.target, prepare_server=False)
    seen = {"click_literal": False, "esc_picture": False}
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, email)
        home = app.screen
        assert isinstance(home, RoleHome)
        _check_drawn(app, f"{role} home", seen)
        commands = [c for c in home.palette_commands() if c[0] != "Log out"]
        assert commands, f"{role}: no palette commands to walk"
        for name, callback, _help in commands:
            callback()
            await pilot.pause()
            await wait_until(pilot, lambda: _settled(app), f"{role}: {name} to settle")
            _check_drawn(app, f"{role}: {name}", seen)
            for _ in range(3):  # back to the home from whatever the command opened
                if app.screen is home:
                    break
                await pilot.press("escape")
                await wait_until(pilot, lambda: _settled(app), f"{role}: back from {name}")
            assert app.screen is home, f"{role}: could not get back from {name}"
    assert seen["click_literal"] or seen["esc_picture"], (
        f"{role}: no hostile value was on any screen; the walk saw nothing"
    )


def test_real_terminal_never_receives_data_escape_sequences(hostile_school):
    """In tmux, as the Admin (whose people list holds every hostile name and email): the
    window title stays ours and no OSC sequence from the data reaches the terminal."""
    import os
    import shutil
    import sys
    from pathlib import Path

    from tests.e2e.terminal import Terminal

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    app = Path(sys.executable).parent / "school-tui"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "SCHOOL_TUI"))}
    env["SCHOOL_TUI_DSN"] = hostile_school.target.base_conninfo
    env["SCHOOL_TUI_ROLE_PREFIX"] = hostile_school.roles.prefix
    with Terminal(str(app), env=env) as term:
        term.allow_rename()
        term.log_in("admin@demo.school", "school-tui-demo", home="Admin home", also="1 People")
        # The ESC in the people's names is shown, as a picture, once the list is loaded.
        term.wait_for("\N{SYMBOL FOR ESCAPE}", timeout=30)
        raw = term.raw_screen()
        title = term.title()
    assert "pwned" not in title
    assert "\x1b]" not in raw  # no OSC sequence reached the terminal
