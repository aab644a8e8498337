"""The idle lock: office terminals are shared, so a session left without key or
mouse input for a while is covered by the lock screen until the person's password is given.

No polling: the app notes the time of each input event (SchoolApp.on_event calls `touch`), and
one timer fires when the idle time would be up. If input came meanwhile, it is set again for
the rest of the time; otherwise `on_idle` is called: the app puts the lock over whatever is on
screen (SchoolApp.lock_when_idle). The screens under it stay mounted, so their data keeps
arriving.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_IDLE_LOCK_SECONDS = 10 * 60


class IdleLock:
    def __init__(
        self, app, on_idle: Callable[[], None], seconds: float = DEFAULT_IDLE_LOCK_SECONDS
    ) -> None:
        if seconds <= 0:
            raise ValueError("the idle lock needs a positive number of seconds")
        self.app = app
        self.on_idle = on_idle
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

    def _arm(self, delay: float) -> None:
        self._timer = self.app.set_timer(delay, self._due, name="idle lock")

    def _due(self) -> None:
        idle = time.monotonic() - self._last_input
        if idle < self.seconds:
            self._arm(self.seconds - idle)
            return
        # Kept running while logged out or locked: one wake-up per idle period, no more.
        self._arm(self.seconds)
        self.on_idle()
