"""Two people in two real terminals (tmux, 80x24) chat through the database."""

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
def demo_env():
    root = Path(tempfile.mkdtemp(prefix="school-tui-chat-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "SCHOOL_TUI"))}
    env.update(HOME=str(root), TZ="UTC", SCHOOL_TUI_DATA_DIR=str(root / "data"))
    from school_tui.db.connect import Target
    from school_tui.server.config import load
    from school_tui.server.provision import prepare, release

    target = Target.from_config(load(environ=env, toml_path=root / "none.toml"))
    prepare(target, demo_if_empty=True)  # keeps the server up while the terminals use it
    yield env
    release(target)
    shutil.rmtree(root, ignore_errors=True)


def _log_in(term: Terminal, email: str) -> None:
    # One burst: the keys after Enter wait for the password field (textual_internals/typeahead.py).
    term.log_in(email, "school-tui-demo", home=" home ", also="unread")


def test_two_terminals_chat(demo_env):
    with Terminal(str(APP), env=demo_env) as teacher, Terminal(str(APP), env=demo_env) as student:
        _log_in(teacher, "teacher@demo.school")
        _log_in(student, "student@demo.school")
        # The demo school left her one unread message (from the registrar).
        student.wait_for("1 unread", timeout=30)

        teacher.keys("c")
        teacher.wait_for("New chat", timeout=15)
        teacher.keys("C-n")
        teacher.wait_for("find someone by name", timeout=15)  # the people search is open
        # The name, Enter to the results and Enter to pick, in one send-keys call: the
        # Enters wait for the search's results (school_tui/textual_internals/typeahead.py).
        teacher.keys("Sofia", "Enter", "Enter")
        teacher.wait_for_absent("find someone by name", timeout=15)
        teacher.type_and_wait("Bring your [b]index card[/b] tomorrow")
        teacher.keys("Enter")

        # The student, on their home, sees the unread count and a note with the text.
        student.wait_for("2 unread", timeout=15)
        student.wait_for("index card", timeout=15)
        student.keys("C-j")
        student.wait_for("Bring your [b]index card[/b] tomorrow", also="1 unread", timeout=15)

        # The teacher sees that it was read.
        teacher.wait_for("· read", timeout=15)
        assert "\x1b" not in student.screen()


def test_a_paste_with_an_escape_reaches_the_chat_box_in_order(demo_env):
    """A bracketed paste whose text holds ESC [ 3 1 m: one piece of text, between the keys
    typed before and after it, the ESC shown as ␛ and acting on nothing."""
    with Terminal(str(APP), env=demo_env) as teacher:
        _log_in(teacher, "teacher@demo.school")
        teacher.keys("c")
        teacher.wait_for("New chat", timeout=15)
        teacher.keys("C-n")
        teacher.wait_for("find someone by name", timeout=15)
        teacher.keys("Sofia", "Enter", "Enter")
        teacher.wait_for_absent("find someone by name", timeout=15)
        teacher.type("<")
        teacher.paste("AAA \x1b[31mBBB")
        teacher.type(">")
        teacher.wait_for("<AAA \N{SYMBOL FOR ESCAPE}[31mBBB>", timeout=15)
        teacher.keys("Enter")  # sent as it reads, and drawn the same in the conversation
        teacher.wait_until(
            lambda screen: (
                screen.count("<AAA \N{SYMBOL FOR ESCAPE}[31mBBB>") == 1 and "· sent" in screen
            ),
            "the message sent",
        )
        assert "^[" not in teacher.screen()
