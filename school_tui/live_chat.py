"""Live chat state for one session: turns the listener's id payloads into rows and signals.

The table is the source of truth. A payload only says "message 42 changed"; the rows are read
through row-level security by a worker, de-duplicated by id, and published on Signals that
any screen may subscribe to:

- `messages`: list[ChatMessage] new to this session (sent or received), in id order;
- `receipts`: list[int] ids of messages now read;
- `presence`: dict[user id, 'online' | 'away' | 'offline'];
- `unread`: int, the person's unread total.

Backfill: after every reconnect, the messages with id above (highest seen - OVERLAP) are read
and those not seen yet are published: ids are assigned at insert but become visible at
commit, so a smaller id can appear after a larger one; the overlap window catches it and the
seen set keeps anything from being shown twice.
"""

from __future__ import annotations

import threading

from textual.signal import Signal

from school_tui.db import chat

OVERLAP = 1000  # ids re-read below the highest seen, after a reconnect
SEEN_KEEP = 4 * OVERLAP  # the seen set keeps ids this close to the top


class LiveChat:
    def __init__(self, app, session) -> None:
        self.app = app
        self.session = session
        self.me = session.person.id
        self.messages: Signal[list] = Signal(app, "chat.messages")
        self.receipts: Signal[list[int]] = Signal(app, "chat.receipts")
        self.presence: Signal[dict[int, str]] = Signal(app, "chat.presence")
        self.unread: Signal[int] = Signal(app, "chat.unread")
        self.unread_total = 0
        self._lock = threading.Lock()
        self._pending_messages: set[int] = set()
        self._pending_receipts: set[int] = set()
        self._pending_presence: set[int] = set()
        self._backfill_requested = False
        self._working = False
        self._seen: set[int] = set()
        self._max_seen: int | None = None

    # -- from the listener thread ------------------------------------------------------------

    def connected(self, reconnected: bool) -> None:
        with self._lock:
            self._backfill_requested = True
        self._kick()

    def events(self, payloads: list[str]) -> None:
        with self._lock:
            for payload in payloads:
                kind, _, value = payload.partition(":")
                if not value.isdigit():
                    continue  # not ours; a notification is never trusted beyond an id
                if kind == "m":
                    self._pending_messages.add(int(value))
                elif kind == "r":
                    self._pending_receipts.add(int(value))
                elif kind == "p":
                    self._pending_presence.add(int(value))
        self._kick()

    # -- the fetch loop: one worker at a time, taking everything that piled up ---------------

    def _kick(self) -> None:
        with self._lock:
            if self._working:
                return
            self._working = True
        self.app.call_from_thread(self._start_worker)

    def _start_worker(self) -> None:
        self.app.run_worker(
            self._work, thread=True, group="live-chat", name="live chat fetch", exit_on_error=False
        )

    def _take(self):
        with self._lock:
            taken = (
                self._backfill_requested,
                sorted(self._pending_messages),
                sorted(self._pending_receipts),
                sorted(self._pending_presence),
            )
            self._backfill_requested = False
            self._pending_messages.clear()
            self._pending_receipts.clear()
            self._pending_presence.clear()
            if not any(taken):
                self._working = False
            return taken

    def _work(self) -> None:
        try:
            while True:
                backfill, message_ids, receipt_ids, presence_ids = self._take()
                if not (backfill or message_ids or receipt_ids or presence_ids):
                    return
                self.session.run(
                    lambda conn, b=backfill, m=message_ids, r=receipt_ids, p=presence_ids: (
                        self._fetch(conn, b, m, r, p)
                    )
                )
        except Exception as exc:
            with self._lock:
                self._working = False
            self.app.call_from_thread(self.app.handle_error, exc)

    def _fetch(self, conn, backfill, message_ids, receipt_ids, presence_ids) -> None:
        rows = []
        if backfill:
            if self._max_seen is None:
                # First connection: nothing is on screen yet; screens load their own history.
                top = conn.execute(
                    "SELECT coalesce(max(id), 0) FROM school.messages "
                    "WHERE school.me() IN (sender_id, receiver_id)"
                ).fetchone()[0]
                self._max_seen = top
            else:
                rows += chat.messages_since(conn, max(0, self._max_seen - OVERLAP))
        wanted = [i for i in message_ids if i not in self._seen]
        if wanted:
            rows += chat.messages_by_id(conn, wanted)
        fresh = []
        for row in sorted({r.id: r for r in rows}.values(), key=lambda r: r.id):
            if row.id in self._seen:
                continue
            if self._max_seen is not None and row.id <= self._max_seen - OVERLAP:
                continue
            self._seen.add(row.id)
            fresh.append(row)
        if fresh:
            self._max_seen = max(self._max_seen or 0, fresh[-1].id)
            floor = self._max_seen - SEEN_KEEP
            self._seen = {i for i in self._seen if i > floor}
        statuses = chat.presence_of(conn, presence_ids) if presence_ids else {}
        unread = chat.unread_total(conn) if (fresh or receipt_ids or backfill) else None
        self.app.call_from_thread(self._publish, fresh, receipt_ids, statuses, unread)

    # -- on the UI thread --------------------------------------------------------------------

    def _publish(self, fresh, receipt_ids, statuses, unread) -> None:
        if fresh:
            self.messages.publish(fresh)
        if receipt_ids:
            self.receipts.publish(receipt_ids)
        if statuses:
            self.presence.publish(statuses)
        if unread is not None and unread != self.unread_total:
            self.unread_total = unread
            self.unread.publish(unread)

    def refresh_unread(self) -> None:
        """Re-read the unread total (after this person marked messages read)."""
        self.app.run_worker(
            lambda: self.app.call_from_thread(
                self._publish, [], [], {}, self.session.run(chat.unread_total)
            ),
            thread=True,
            group="live-chat-unread",
            exit_on_error=False,
        )
