"""The newcomer's path in a real terminal: `school-tui --demo-if-empty` (what `make run`
runs) from an empty data directory, in tmux at 80x24, then a login by keyboard."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from tests.e2e.terminal import Terminal

APP = Path(sys.executable).parent / "school-tui"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def fresh_home():
    # Not pytest's tmp_path: a concurrent pytest run may prune or lock that directory under
    # a running server (which runs as its own OS account when we are root).
    root = Path(tempfile.mkdtemp(prefix="school-tui-e2e-"))
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "SCHOOL_TUI"))}
    env.update(HOME=str(home), TZ="UTC", SCHOOL_TUI_DATA_DIR=str(root / "data"))
    yield env
    from school_tui.server.embedded import EmbeddedServer

    EmbeddedServer(root / "data").stop()
    shutil.rmtree(root, ignore_errors=True)


def _fresh_login_form(screen: str) -> bool:
    return "Log in with your school email" in screen and "student@demo.school" not in screen


def test_make_run_path_reaches_each_login(fresh_home):
    with Terminal(f"{APP} --demo-if-empty", env=fresh_home) as term:
        term.wait_for("Log in with your school email", timeout=30)
        # The demo school loads in the background; the form says so until it is ready.
        term.wait_for_absent("Loading the demo school", timeout=120)
        term.wait_for_absent("Starting the database", timeout=60)

        # The whole login in one send-keys call, as a fast typist, a paste or a slow SSH
        # link delivers it: the keys after Enter reach the password field, which the Enter
        # focused (school_tui/textual_internals/typeahead.py), not the email field.
        term.keys("student@demo.school", "Enter", "not-the-password", "Enter")
        term.wait_for("Wrong email or password.", timeout=30)
        assert "Student home" not in term.screen()

        # Focus is back on the (emptied) password field; the email is still filled in.
        term.type("school-tui-demo")
        term.keys("Enter")
        term.wait_for("Student home", also="Enrolled", timeout=30)
        screen = term.screen()
        assert "Sofia Cruz" in screen
        assert "2026-2027" in screen
        assert "\x1b" not in screen

        term.keys("C-l")
        term.wait_for("Log in with your school email", timeout=10)

        # Again from the fresh form, right this time, and Ctrl+L typed ahead with it: it
        # waits for the home (the login is in a worker), then logs out from there.
        term.keys("student@demo.school", "Enter", "school-tui-demo", "Enter", "C-l")
        term.wait_until(_fresh_login_form, "a fresh login form")  # not the burst's one
        term.keys("student@demo.school", "Enter", "school-tui-demo", "Enter")
        term.wait_for("Student home", also="Enrolled", timeout=30)
