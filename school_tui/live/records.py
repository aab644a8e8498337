"""Live school records for one session: enrollment ids from the listener, on Signals.

A status change anywhere fires a trigger (sql/schema/06_enrollment.sql) that sends
'e:<enrollment_progress id>' on the staff channel `school.enrollment_channel()` (which the
listener LISTENs on when this login may: see db/chat.channels) and on the student's own
private channel. Payloads are ids only; the screens read the rows for them, through the
database's rules, in their own workers (what a row means depends on the screen: the board's
column and filters, the student's own history).

- `enrollment`: list[int], the enrollment ids of one batch, each once, in arrival order;
- `lockouts`: list[int], the user ids of one batch whose account was locked or unlocked
  ('l:<user id>' on `school_lockouts`, which the listener LISTENs on for the Admin: see
  db/chat.channels); the People screen re-reads their lock state (db/lockout.locked_among);
- `resync`: bool (True after a reconnect, False on the first connection), published each
  time LISTEN is in place again: a screen that shows records reloads them then, so a change
  made while nobody was listening is not missed (LISTEN -> backfill -> follow). It comes
  after LISTEN, unlike ConnectionRestored, which the pool's own reconnect may post first.

Threading is LiveChat's: `events` and `connected` run on the listener's thread; they fill an
outbox, and one callback on the UI thread publishes what is in it. A resync is handed over
only once LISTEN is in place and LiveChat's backfill is in its outbox: a connection lost
before that publishes nothing, and the next connection's resync covers it.
"""

from __future__ import annotations

import threading

from textual.signal import Signal


class LiveRecords:
    def __init__(self, app, owner) -> None:
        self.app = app
        self.owner = owner  # the LiveChat this belongs to: app.live while the session lasts
        self.enrollment: Signal[list[int]] = Signal(app, "records.enrollment")
        self.lockouts: Signal[list[int]] = Signal(app, "records.lockouts")
        self.resync: Signal[bool] = Signal(app, "records.resync")
        self._lock = threading.Lock()
        self._out_ids: dict[int, None] = {}
        self._out_lockouts: dict[int, None] = {}
        self._out_resync: bool | None = None
        self._drain_posted = False

    # -- on the listener thread --------------------------------------------------------------

    def connected(self, reconnected: bool) -> None:
        with self._lock:
            self._out_resync = bool(self._out_resync) or reconnected
        self._post()

    def events(self, ids: list[int], lockouts: tuple[int, ...] | list[int] = ()) -> None:
        """The enrollment ids and the locked or unlocked user ids of one batch
        (live/payloads.py parsed them: each once, in order). Only hints: the screens read
        the rows through the database's rules."""
        if not ids and not lockouts:
            return
        with self._lock:
            self._out_ids.update(dict.fromkeys(ids))
            self._out_lockouts.update(dict.fromkeys(lockouts))
        self._post()

    def _post(self) -> None:
        with self._lock:
            if self._drain_posted:
                return
            self._drain_posted = True
        try:
            posted = self.app.call_later(self._drain)  # thread-safe, does not wait
        except RuntimeError:  # the app's loop is closed: nobody to show it to
            posted = False
        if not posted:
            with self._lock:
                self._drain_posted = False

    # -- on the UI thread --------------------------------------------------------------------

    def _drain(self) -> None:
        with self._lock:
            ids, self._out_ids = list(self._out_ids), {}
            locks, self._out_lockouts = list(self._out_lockouts), {}
            resync, self._out_resync = self._out_resync, None
            self._drain_posted = False
        if self.app.live is not self.owner:
            return  # from a session that has ended
        if resync is not None:
            # A reload reads every row anyway; ids from the same batch come after it too,
            # which costs a re-read of rows the reload has just shown: harmless.
            self.resync.publish(resync)
        if ids:
            self.enrollment.publish(ids)
        if locks:
            self.lockouts.publish(locks)
