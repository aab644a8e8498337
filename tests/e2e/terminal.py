"""A real terminal for tests and benchmarks: the app running in a detached tmux session.

What the test reads is what a person would see: the pane's text (`screen`), its raw
bytes with escape sequences (`raw_screen`), the window title and the cursor. Every wait
polls the pane until a condition holds or a deadline passes; nothing sleeps.
"""

from __future__ import annotations

import shlex
import subprocess
import time
import uuid

# Only these variables reach the app: the rest of the caller's environment (PG*, a
# developer's SCHOOL_TUI_* settings) stays out unless the caller passes them on purpose.
PASSED_ON = ("SCHOOL_TUI", "TZ", "HOME", "NO_COLOR", "PATH")


class Terminal:
    """A program in a detached tmux session of `width` x `height` (80x24 by default)."""

    def __init__(self, command: str, env: dict | None = None, width: int = 80, height: int = 24):
        self.name = f"school-tui-{uuid.uuid4().hex[:8]}"
        self.command = command
        self.env = env or {}
        self.size = (width, height)
        self.started = 0.0

    def __enter__(self) -> Terminal:
        exports = " ".join(
            f"{key}={shlex.quote(value)}"
            for key, value in self.env.items()
            if key.startswith(PASSED_ON)
        )
        self.started = time.perf_counter()
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(self.size[0]),
                "-y",
                str(self.size[1]),
                f"env {exports} TERM=xterm-256color {self.command}",
            ],
            check=True,
        )
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)

    # What is on the terminal

    def screen(self) -> str:
        """The pane's text, as a person reads it."""
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def raw_screen(self) -> str:
        """The pane with its escape sequences (colours, and anything the app let through)."""
        return self._tmux("capture-pane", "-p", "-e", "-t", self.name)

    def title(self) -> str:
        """The pane's title, as the program last set it."""
        return self._tmux("display", "-p", "-t", self.name, "#{pane_title}")

    def cursor(self) -> str:
        """The cursor's position as "x,y"."""
        return self._tmux("display", "-p", "-t", self.name, "#{cursor_x},#{cursor_y}").strip()

    def allow_rename(self) -> None:
        """Let the program set the window title (tmux ignores it by default)."""
        subprocess.run(["tmux", "set", "-t", self.name, "allow-rename", "on"], check=True)

    # Waiting for it

    def wait_for(
        self, text: str, since: float | None = None, also: str | None = None, timeout: float = 60
    ) -> float:
        """Seconds from `since` (the start) until `text`, and `also`, are on the screen."""
        since = self.started if since is None else since
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            screen = self.screen()
            if text in screen and (also is None or also in screen):
                return time.perf_counter() - since
        raise TimeoutError(f"{text!r} did not appear; screen was:\n{self.screen()}")

    def wait_for_absent(self, text: str, timeout: float = 60) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if text not in self.screen():
                return
        raise TimeoutError(f"{text!r} did not go away; screen was:\n{self.screen()}")

    def wait_until(self, condition, what: str, timeout: float = 30) -> None:
        """Wait until `condition(screen)` holds."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if condition(self.screen()):
                return
        raise TimeoutError(f"{what} did not happen; screen was:\n{self.screen()}")

    # Typing

    def type(self, text: str) -> None:
        """Type `text` literally (no key names)."""
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)

    def keys(self, *keys: str) -> None:
        """Send keys in one burst; "Enter", "C-l" and the like are key names."""
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def paste(self, text: str) -> None:
        """Paste `text` as a terminal pastes: bracketed (start and end markers around it,
        when the program asked for them, as Textual does), line feeds kept."""
        buffer = f"paste-{self.name}"
        subprocess.run(["tmux", "set-buffer", "-b", buffer, "--", text], check=True)
        subprocess.run(
            ["tmux", "paste-buffer", "-p", "-r", "-d", "-b", buffer, "-t", self.name], check=True
        )

    def type_and_wait(self, text: str, timeout: float = 10) -> None:
        """Type `text` and wait until the terminal shows it (the app has taken the keys)."""
        self.type(text)
        self.wait_for(text, timeout=timeout)

    def press_and_wait_for_row_change(self, key: str, timeout: float = 10) -> None:
        """Press `key` and wait until the cursor is on another row (focus moved)."""
        before = self.cursor().split(",")[1]
        self.keys(key)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.cursor().split(",")[1] != before:
                return
        raise TimeoutError(f"the cursor stayed on row {before} after {key}")

    def log_in(self, email: str, password: str, home: str, also: str | None = None) -> None:
        """From the login form: email, Enter, password, Enter in one burst, as a fast
        typist or a paste delivers them; then wait for the home screen's `home` text."""
        self.wait_for("Log in with your school email", timeout=30)
        self.wait_for_absent("Starting the database", timeout=60)
        self.keys(email, "Enter", password, "Enter")
        self.wait_for(home, also=also, timeout=30)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout
