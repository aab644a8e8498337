"""Live chat state for one session: turns the listener's id payloads into rows and signals.

The table is the source of truth. A payload only says "message 42 changed"; the rows are read
through row-level security, de-duplicated by id, and published on Signals that any screen may
subscribe to:

- `messages`: list[ChatMessage] new to this session (sent or received), in id order;
- `receipts`: list[int] ids of messages now read;
- `presence`: dict[user id, 'online' | 'away' | 'offline'];
- `unread`: int, the person's unread total (`unread_total` holds the last one; None until
  the first count, which the app reads at login with `refresh_unread`).

Where the reading happens: on the listener's own thread and connection (school_tui.live.listener), right
where the payloads arrive, the session's own login. A notification costs one round trip and
one hand-over to the UI thread: no worker to start, no pool checkout. Notifications that
arrive meanwhile wait in the connection (psycopg keeps them) and come as the next batch; a
burst is batched by the listener (see live.COALESCE_S). The hand-over never blocks the
listener: rows go into an outbox, and one callback on the UI thread publishes whatever is in
it, so a busy UI gets one batch, not many.

A failed read fails the listener's connection: it reconnects and backfills, so nothing that
was being read is lost.

Backfill: ids are assigned at insert but become visible at commit, so a smaller id can appear
after a larger one, however far below: ids cannot tell what a listener that was down missed.
Transactions can: every message records the transaction that wrote it (`xact`), and a
snapshot's xmin (its "horizon") is the oldest transaction still running when it was taken, so
every message written by an older one had committed by then. The horizon kept here is one
below which everything is seen: after every reconnect the messages with xact >= it are read
(the overlap window, exact), and those not in the seen set are published. The seen set keeps
the ids at or above the horizon (whatever is below can come neither from a backfill nor, as
explained at `checkpoint`, from a notification), so nothing is shown twice.

Where horizons come from, always on the listening connection:
- just before each LISTEN (`Listener.listen_horizon`): what committed before it was visible to
  the backfill right after LISTEN (or, at the first connection, is history that screens load
  themselves); what commits after it has xact >= it. It holds once that backfill is done.
- each presence sweep (`checkpoint`, every listener.SWEEP_EVERY_S): held at the next sweep, once
  the notifications that came in before its reply are handled.
"""

from __future__ import annotations

import threading

from textual.signal import Signal

from school_tui.db import chat
from school_tui.live import payloads
from school_tui.runtime.workers import db_task, deliver

BACKFILL_PAGE = 2000  # rows per backfill query; it pages until it has everything
UNREAD_DELAY_S = 0.2  # the unread total is counted again this long after it may have changed
MARKED_KEEP = 2000  # ids marked read here lately (their receipts are echoes, not changes;
# one lost with a connection never comes, so the oldest are forgotten)


class LiveChat:
    def __init__(self, app, session) -> None:
        self.app = app
        self.session = session
        self.me = session.person.id
        self.messages: Signal[list] = Signal(app, "chat.messages")
        self.receipts: Signal[list[int]] = Signal(app, "chat.receipts")
        self.presence: Signal[dict[int, str]] = Signal(app, "chat.presence")
        self.unread: Signal[int] = Signal(app, "chat.unread")
        # Not chat: the other records' ids that arrive on the same listener (live/records.py).
        from school_tui.live.records import LiveRecords

        self.records = LiveRecords(app, self)
        self.enrollment: Signal[list[int]] = self.records.enrollment
        self.lockouts: Signal[list[int]] = self.records.lockouts
        # None until the first count is read (at login); then published on every change.
        self.unread_total: int | None = None
        # Listener thread only:
        self._seen: dict[int, int] = {}  # message id -> xact, for xact >= _horizon
        self._horizon: int | None = None  # everything written below it is seen (or history)
        self._candidate: int | None = None  # a sweep's horizon, held at the next sweep
        # The outbox, filled by the listener thread, emptied on the UI thread:
        self._lock = threading.Lock()
        self._out_messages: list = []
        self._out_receipts: list[int] = []
        self._out_presence: dict[int, str] = {}
        self._out_unread: int | None = None
        self._drain_posted = False
        self._recount_timer = None  # UI thread
        # UI thread: ids an open chat is marking read (not counted as unread: they are on
        # screen), and how many markings have begun (a count that overlapped one is dropped).
        self._marking: set[int] = set()
        self._marks_begun = 0
        # Ids a marking here has begun for (newest MARKED_KEEP): that marking counts the total
        # itself, so neither their arrival nor the echo of their receipts needs a recount.
        self._marked_here: dict[int, None] = {}
        self._recount_ids: set[int] = set()  # what the pending recount is for
        self._published_up_to: int | None = None  # the highest message id published

    # -- on the listener thread, with its connection ----------------------------------------

    def _conn(self):
        return self.session.listener.connection

    def connected(self, reconnected: bool) -> None:
        """LISTEN is in place: read what may have been missed before it was, then hand it
        over. Every read comes first and nothing is marked seen (nor the horizon moved) until
        the rows are in the outbox: a connection lost before that leaves all of it to the
        next connection's backfill, which starts from the same horizon."""
        conn = self._conn()
        listened_at = self.session.listener.listen_horizon
        first = self._horizon is None
        since = listened_at if first else self._horizon
        rows = self._written_since(conn, since) if since is not None else []
        step = self.session.listener.step
        step("backfilled")
        # Presence that changed while nobody listened: every status, once per reconnect
        # (a school's few hundred rows; screens change only the cells that differ).
        statuses = chat.presence_all(conn) if reconnected else {}
        unread = chat.unread_total(conn)
        step("counted")
        # -- no statement from here on: what was read is handed over, then counted seen.
        if first:
            # Nothing is on screen yet: what exists now is history that the screens load
            # themselves, after this (Listener.listening). It is recorded as seen, not shown:
            # a transaction open elsewhere holds `listened_at` back, and without this the
            # first reconnect would backfill messages from before the login as new ones.
            for row, xact in rows:
                self._seen[row.id] = xact
            fresh = []
        else:
            fresh = self._fresh(rows)
        self._hand_over(fresh, [], statuses, unread)
        # Whatever was written before LISTEN is now seen: no notification will come for it on
        # this connection, and a sweep's horizon from the old one is no longer to be trusted.
        if listened_at is not None:
            self._advance(listened_at)
        self._candidate = None
        self.records.connected(reconnected)

    def _written_since(self, conn, horizon: int) -> list[tuple[chat.ChatMessage, int]]:
        rows: list[tuple[chat.ChatMessage, int]] = []
        after = 0
        while True:
            page = chat.messages_written_since(conn, horizon, after, BACKFILL_PAGE)
            rows += page
            if len(page) < BACKFILL_PAGE:
                return rows
            after = page[-1][0].id

    def checkpoint(self, horizon: int) -> None:
        """A presence sweep ran at `horizon` and every notification that came before its reply
        has been handled (listener.Listener._follow). Those include the notifications of all that
        committed before the previous sweep's snapshot (the backend sends them when next
        idle, before it reads another statement): below that one's horizon everything is
        seen, and no notification is still to come."""
        if self._candidate is not None:
            self._advance(self._candidate)
        self._candidate = horizon

    def _advance(self, horizon: int) -> None:
        if self._horizon is not None and horizon <= self._horizon:
            return
        self._horizon = horizon
        self._seen = {i: xact for i, xact in self._seen.items() if xact >= horizon}

    def events(self, batch: list[str]) -> None:
        """A batch of notifications. Each id is only a hint (live/payloads.py): the message,
        the receipt and the status are read through the database's rules, and only what
        they say is handed over. A malformed payload is dropped; a read that fails fails the
        connection, and the next backfill reads what this one was reading."""
        parsed = payloads.parse(batch)
        # The screens read these themselves.
        self.records.events(parsed.of(payloads.ENROLLMENT), parsed.of(payloads.LOCKOUT))
        conn = self._conn()
        wanted = [i for i in sorted(parsed.of(payloads.MESSAGE)) if i not in self._seen]
        rows = chat.live_messages_by_id(conn, wanted) if wanted else []
        if rows:
            # First, on its own: this is what a person waits for.
            self._hand_over(self._fresh(rows), [], {}, None)
            self.session.listener.step("messages handed over")
        # A receipt is the message's own is_read, as this login may read it: a forged 'r:'
        # for an unread message (or one that is not theirs) marks nothing.
        receipts = parsed.of(payloads.RECEIPT)
        read = chat.read_among(conn, sorted(receipts)) if receipts else []
        people = parsed.of(payloads.PRESENCE)
        statuses = chat.presence_of(conn, sorted(people)) if people else {}
        if read or statuses:
            self._hand_over([], read, statuses, None)

    def _fresh(self, rows: list[tuple[chat.ChatMessage, int]]) -> list[chat.ChatMessage]:
        """The rows (with their xact) not published yet, in id order; remembers them as seen.
        One written below the horizon is seen by definition (a notification of it can arrive
        after a backfill that read it only before the horizon moves past it)."""
        fresh = []
        for row, xact in sorted({r.id: (r, x) for r, x in rows}.values(), key=lambda p: p[0].id):
            if row.id in self._seen or (self._horizon is not None and xact < self._horizon):
                continue
            self._seen[row.id] = xact
            fresh.append(row)
        return fresh

    def _hand_over(self, fresh, receipt_ids, statuses, unread) -> None:
        """Put results in the outbox; one callback on the UI thread publishes what is there."""
        with self._lock:
            self._out_messages += fresh
            self._out_receipts += receipt_ids
            self._out_presence.update(statuses)
            if unread is not None:
                self._out_unread = unread
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
            fresh, self._out_messages = self._out_messages, []
            receipts, self._out_receipts = self._out_receipts, []
            statuses, self._out_presence = self._out_presence, {}
            unread, self._out_unread = self._out_unread, None
            self._drain_posted = False
        if self.app.live is not self:
            return  # from a session that has ended
        self._publish(fresh, receipts, statuses, unread)
        from school_tui.runtime.heap import collect_quietly

        self.app.call_after_refresh(collect_quietly)  # once the batch is drawn
        changed = [i for i in receipts if i not in self._marked_here]
        changed += [row.id for row in fresh if row.receiver_id == self.me]
        if changed:
            self._recount_soon(changed)

    def _recount_soon(self, ids: list[int]) -> None:
        """Messages `ids` arrived or were read: count again in UNREAD_DELAY_S, once for all
        that comes meanwhile. By then an open conversation has marked what it shows as read,
        so the badge does not flash a count for a message that is on screen; and if it has
        begun marking every one of them, that marking's own count is the new total (the
        echo of its receipts changes nothing), so nothing is counted here."""
        self._recount_ids.update(ids)
        if self._recount_timer is None:
            self._recount_timer = self.app.set_timer(UNREAD_DELAY_S, self._recount)

    def _recount(self) -> None:
        self._recount_timer = None
        ids, self._recount_ids = self._recount_ids, set()
        if self.app.live is self and any(i not in self._marked_here for i in ids):
            self.refresh_unread()

    def _publish(self, fresh, receipt_ids, statuses, unread) -> None:
        if fresh:
            top = max(row.id for row in fresh)
            self._published_up_to = max(self._published_up_to or 0, top)
            self.messages.publish(fresh)
        if receipt_ids:
            self.receipts.publish(receipt_ids)
        if statuses:
            self.presence.publish(statuses)
        if unread is not None and unread != self.unread_total:
            self.unread_total = unread
            self.unread.publish(unread)

    def marking_started(self, ids: list[int]) -> tuple[list[int], int | None, int]:
        """An open chat began marking `ids` read (they are on screen). Returns what its count
        of the total, in the marking's own transaction, must leave out (the ids other
        markings are marking, and messages above the highest one published) and the marking's
        number, for `marking_done`."""
        others = sorted(self._marking.difference(ids))
        self._marking.update(ids)
        self._marks_begun += 1
        for message_id in ids:
            self._marked_here[message_id] = None
        while len(self._marked_here) > MARKED_KEEP:
            del self._marked_here[next(iter(self._marked_here))]
        return others, self._published_up_to, self._marks_begun

    def marked_here(self, message_id: int) -> bool:
        """Was `message_id` marked read by this session lately? Its receipt is then an echo
        of our own marking, not a change (the chat screen's counts already show it)."""
        return message_id in self._marked_here

    def marking_done(self, ids: list[int], counted: tuple[int, int] | None = None) -> None:
        """That marking committed, with `counted` = (the total it counted, its number); or it
        failed (None): count again. A count during which another marking began is dropped
        (that one counts when it is done)."""
        self._marking.difference_update(ids)
        if counted is None:
            self.refresh_unread()
        else:
            self._counted(*counted)

    def refresh_unread(self) -> None:
        """Re-read the unread total (after this person marked messages read). Not counted:
        messages being marked read, and messages not published yet (their publication counts
        again); a count during which another marking began is dropped (that marking's end
        counts again). So the badge does not flash a count for a message that is on screen."""
        being_marked, begun, up_to = sorted(self._marking), self._marks_begun, self._published_up_to

        def count() -> None:
            total = self.session.run(lambda conn: chat.unread_total(conn, being_marked, up_to))
            deliver(self._counted, total, begun)

        db_task(self.app, count, name="unread count", group="live-chat-unread")

    def _counted(self, total: int, begun: int) -> None:
        if begun == self._marks_begun and self.app.live is self:
            self._publish([], [], {}, total)
