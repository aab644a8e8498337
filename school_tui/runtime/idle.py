"""The idle lock: office terminals are shared, so a session left without key or
mouse input for a while is covered by the lock screen until the person's password is given.

No polling: the app notes the time of each input event (SchoolApp.on_event calls `touch`), and
one timer fires when the idle time would be up. If input came meanwhile, it is set again for
the rest of the time; otherwise the lock goes over whatever is on screen. The screens under it
stay mounted, so their data keeps arriving.
"""

from __future__ import annotations

import time

DEFAULT_IDLE_LOCK_SECONDS = 10 * 60


class IdleLock:
    def __init__(self, app, seconds: float = DEFAULT_IDLE_LOCK_SECONDS) -> None:
        if seconds <= 0:
            raise ValueError("the idle lock needs a positive number of seconds")
        self.app = app
        self.seconds = float(seconds)
        self._last_input = time.monotonic()
        self._timer = None

    def start(self, seconds: float | None = None) -> None:
        """(Re)arm the timer, with a new idle time if given. On the UI thread (on_mount)."""
        if seconds is not None:
            if seconds <= 0:
                raise ValueError("the idle lock needs a positive number of seconds")
            self.seconds = float(seconds)
        if self._timer is not None:
            self._timer.stop()
        self.touch()
        self._arm(self.seconds)

    def touch(self) -> None:
        """A key, mouse or paste event came: the idle time starts again."""
        self._last_input = time.monotonic()

    @property
    def locked(self) -> bool:
        from school_tui.screens.auth.lock import LockScreen

        return any(isinstance(screen, LockScreen) for screen in self.app.screen_stack)

    def _arm(self, delay: float) -> None:
        self._timer = self.app.set_timer(delay, self._due, name="idle lock")

    def _due(self) -> None:
        idle = time.monotonic() - self._last_input
        if idle < self.seconds:
            self._arm(self.seconds - idle)
            return
        # Kept running while logged out or locked: one wake-up per idle period, no more.
        self._arm(self.seconds)
        session = self.app.session
        if session is not None and not self.locked:
            from school_tui.screens.auth.lock import LockScreen

            self.app.push_screen(LockScreen(session))
