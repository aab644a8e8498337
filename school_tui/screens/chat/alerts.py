"""What the chat does app-wide while someone is logged in, whatever screen is showing.

- `ChatAlerts`: a message that arrives while its conversation is not on screen shows a toast
  (sender and first line, literal text) and becomes the one ctrl+j jumps to.
- `IdleAway`: no key or mouse input for `away_after` seconds marks the person away; the next
  input marks them online again (the listener sends the status, see school_tui.live.listener).
"""

from __future__ import annotations

import time
from collections import deque

from school_tui.db import chat
from school_tui.runtime.workers import db_task, deliver
from school_tui.screens.chat.widgets import first_line
from school_tui.widgets.safe import clean

TOASTS_AT_ONCE = 3  # a burst from many people: one toast each for the first few
TOAST_SECONDS = 8  # also the least time between two toasts for the same sender
# At most this many chat toasts on screen at once, whoever sent them: a burst from hundreds of
# people would otherwise pile up hundreds of toast widgets (each one re-lays out the rack).
# The rest are counted into their sender's next toast; the unread total counts them all.
TOASTS_ON_SCREEN = 3


class ChatAlerts:
    def __init__(self, app, live, session) -> None:
        self.app = app
        self.live = live
        self.session = session
        self.names: dict[int, str] = {}
        self.last_partner: int | None = None
        self._toasted_at: dict[int, float] = {}  # sender -> when their last toast went up
        self._held: dict[int, int] = {}  # sender -> messages since, not toasted (a burst)
        self._up: deque[float] = deque()  # when each chat toast still on screen went up
        live.messages.subscribe(app, self._arrived)

    def _on_screen(self, partner_id: int) -> bool:
        from school_tui.screens.chat.screen import ChatScreen

        screen = self.app.screen
        return isinstance(screen, ChatScreen) and screen.partner_id == partner_id

    def _arrived(self, rows: list[chat.ChatMessage]) -> None:
        if self.app.live is not self.live:
            return  # from a session that has ended
        latest: dict[int, tuple[chat.ChatMessage, int]] = {}
        for row in rows:
            if row.receiver_id != self.live.me or row.is_read or self._on_screen(row.sender_id):
                continue
            _, count = latest.get(row.sender_id, (row, 0))
            latest[row.sender_id] = (row, count + 1)
        if not latest:
            return
        self.last_partner = max(latest.values(), key=lambda pair: pair[0].id)[0].sender_id
        self.app.refresh_bindings()
        missing = [sender for sender in latest if sender not in self.names]
        if not missing:
            self._toast(latest)
            return

        def names() -> None:
            found = self.session.run(lambda conn: chat.person_names(conn, missing))
            deliver(self._named, found, latest)

        db_task(self.app, names, group="chat-names", name="sender names")

    def _named(self, found: dict[int, str], latest) -> None:
        self.names.update(found)
        if self.app.live is self.live:
            self._toast(latest)

    def _toast(self, latest: dict[int, tuple[chat.ChatMessage, int]]) -> None:
        """One toast per sender at most every TOAST_SECONDS: a burst of 500 messages is one
        toast (and a count in the next), not 500."""
        now = time.monotonic()
        newest_first = sorted(latest.values(), key=lambda pair: pair[0].id, reverse=True)
        while self._up and now - self._up[0] >= TOAST_SECONDS:
            self._up.popleft()  # timed out
        for index, (row, count) in enumerate(newest_first):
            sender = row.sender_id
            if (
                index >= TOASTS_AT_ONCE
                or len(self._up) >= TOASTS_ON_SCREEN
                or now - self._toasted_at.get(sender, -TOAST_SECONDS) < TOAST_SECONDS
            ):
                self._held[sender] = self._held.get(sender, 0) + count
                continue
            self._toasted_at[sender] = now
            self._up.append(now)
            count += self._held.pop(sender, 0)
            name = clean(self.names.get(sender, "Someone"))[:60]
            more = f" (+{count - 1} more)" if count > 1 else ""
            self.app.notify(
                clean(first_line(row.message)) + more,
                title=f"{name} · Ctrl+J to read",
                timeout=TOAST_SECONDS,
                markup=False,
            )


class IdleAway:
    def __init__(self, app, listener, away_after: float) -> None:
        self.listener = listener
        self.away_after = away_after
        self.away = False
        self.last_input = time.monotonic()
        self.timer = app.set_interval(min(5.0, max(0.05, away_after / 4)), self.check)

    def input_seen(self) -> None:
        self.last_input = time.monotonic()
        if self.away:
            self.away = False
            self.listener.set_status("online")

    def check(self) -> None:
        if not self.away and time.monotonic() - self.last_input >= self.away_after:
            self.away = True
            self.listener.set_status("away")

    def stop(self) -> None:
        self.timer.stop()
