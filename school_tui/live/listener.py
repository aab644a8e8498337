"""The session's listener: its own autocommit connection (never a pooled one) that LISTENs.

Order, on every (re)connect: LISTEN on the person's private channel and the presence channel
first, then tell the app (which backfills from the tables what it may have missed), then
follow notifications. Payloads are ids only ('m:<message id>', 'r:<message id>' for a read
receipt, 'p:<user id>' for presence, 'e:' and 'l:' for the records the screens re-read
themselves: live/records.py); the app reads the rows through row-level security, in the
callbacks, on this thread and this connection (`connection`): school_tui.live.chat.

A killed backend or a restarted server ends the wait at once (the app shows the banner);
TCP keepalives notice a cut network. A refused connection is retried after FIRST_RETRY_S,
doubling up to MAX_BACKOFF_S; a connection that works resets that, and one that breaks before
it follows is replaced at once. Whatever goes wrong in a round (a statement, a callback), the
thread reconnects rather than dies, and nothing it was reading counts as delivered: LiveChat
marks rows seen only as it hands them over, so the next backfill reads them again.

Payloads are untrusted (any login may NOTIFY on a channel it can name): live/payloads.py
parses them strictly and drops the rest; an id is only a hint to read through RLS.

Coalescing: the first notification is handed over at once (latency), together with whatever
else is already buffered. If more arrived while that batch was handled, it is a burst: the
thread gathers for COALESCE_S and hands the lot over as one batch, so 500 messages a second
arrive as a few dozen batches, not 500 redraws.

Horizons (live/chat.py): just before LISTEN, and with each presence sweep, the thread reads
the xmin of a snapshot; after a sweep it first handles every notification that came before
the sweep's reply, then hands the sweep's horizon over (`on_checkpoint`).

Presence: this connection *is* the person's presence. It marks the person online (or away,
see `set_status`) and every SWEEP_EVERY_S runs the school-wide sweep, which marks offline
anyone without a live listener connection (a killed app, a dropped connection).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
from psycopg.conninfo import make_conninfo

from school_tui.db import chat
from school_tui.db.errors import connection_lost
from school_tui.live.payloads import MESSAGE, count

LISTENER_APPLICATION_NAME = "school-tui listener"  # sweep_presence() looks for it
# A cut network gives no FIN: keepalives notice within idle + interval * count seconds.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
# Retries: a refused connection (the server restarting) is tried again after FIRST_RETRY_S,
# doubling up to MAX_BACKOFF_S; a connection that works resets it. A restart is over in about
# a second, and a connection attempt to a server that is down costs next to nothing.
FIRST_RETRY_S = 0.05
MAX_BACKOFF_S = 1.0
# The named points of the (re)connect path, in order; `Listener.on_step` hears each (tests
# kill the connection there). "backfilled" and "counted" are LiveChat.connected's, and
# LiveChat.events adds "messages handed over" (between the messages and the receipts it reads).
STEPS = (
    "connected",
    "horizon",
    "listening",
    "presence",
    "swept",
    "backfilled",
    "counted",
    "handed over",
    "following",
)
SWEEP_EVERY_S = 10.0
WAIT_S = 1.0  # longest a wait lasts before the thread looks at stop/status/sweep
# Under a burst (new messages already waiting when a batch is done), gather this long before
# the next batch: about 20 redraws a second at most, while a lone message goes at once.
COALESCE_S = 0.05
BURST_MESSAGES = 2  # new messages already waiting that make a burst


class Listener:
    def __init__(
        self,
        conninfo: str,
        *,
        on_connected: Callable[[bool], None],
        on_lost: Callable[[], None],
        on_events: Callable[[list[str]], None],
        on_checkpoint: Callable[[int], None] | None = None,
    ) -> None:
        self._conninfo = make_conninfo(
            conninfo, application_name=LISTENER_APPLICATION_NAME, **KEEPALIVES
        )
        self._on_connected = on_connected
        self._on_lost = on_lost
        self._on_events = on_events
        self._on_checkpoint = on_checkpoint
        # The horizon (db.chat.horizon) of a snapshot taken on this connection just before
        # its LISTEN: what committed before it was visible to the backfill that follows.
        self.listen_horizon: int | None = None
        # Set once LISTEN is in place and the app has backfilled (the first time, at login):
        # a read begun after it misses no change, since every later one notifies this thread.
        self.listening = threading.Event()
        # Notifications read after that (and reconnects): a read whose count is unchanged by
        # the time its rows are shown has no change to catch up with (Session.prefetch).
        self.received = 0
        self._stop = threading.Event()
        self._status = "online"
        self._conn: psycopg.Connection | None = None
        # Tests only: called on this thread at each of STEPS.
        self.on_step: Callable[[str], None] | None = None
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)

    # -- called from the UI thread -----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def set_status(self, status: str) -> None:
        """'online' or 'away'; sent within WAIT_S by the listener thread."""
        self._status = status

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=WAIT_S + 3)

    @property
    def connection(self) -> psycopg.Connection | None:
        """The live connection. Only for the listener thread itself, i.e. its callbacks."""
        return self._conn

    @property
    def backend_pid(self) -> int | None:
        conn = self._conn
        return conn.info.backend_pid if conn is not None and not conn.closed else None

    # -- the thread --------------------------------------------------------------------------

    def _read(self, conn: psycopg.Connection, **kwargs) -> list[str]:
        payloads = _payloads(conn, **kwargs)
        self.received += len(payloads)
        return payloads

    def step(self, name: str) -> None:
        """A named point of the (re)connect path (STEPS): tests stop the connection there.
        This thread only (LiveChat calls it for its own points)."""
        if self.on_step is not None:
            self.on_step(name)

    def _run(self) -> None:
        connected_before = False
        refused = 0  # connection attempts refused in a row (the server is down or full)
        broken = 0  # connections in a row that broke before following
        while not self._stop.is_set():
            try:
                conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            except psycopg.OperationalError:
                # The server does not take connections (yet): again soon, a little later
                # each time, never longer than MAX_BACKOFF_S (a restart takes about a second).
                self._stop.wait(_backoff(refused))
                refused += 1
                continue
            refused = 0  # the server takes connections again: a later refusal starts afresh
            self._conn = conn
            following = False
            try:
                with conn:
                    self.step("connected")
                    self._listen(conn)
                    if connected_before:
                        self.received += 1
                    self._on_connected(connected_before)
                    self.step("handed over")
                    # What came in so far was committed before anything read from now on:
                    # handed over first, but not counted (`received`).
                    carried = _payloads(conn, timeout=0)
                    self.step("following")
                    self.listening.set()
                    connected_before = True
                    following = True
                    broken = 0
                    self._follow(conn, carried)
                    if self._stop.is_set():
                        chat.set_presence(conn, "offline")
            except Exception as exc:
                # The connection died (killed backend, restart, cut network), a statement
                # failed, or a callback did: whichever, the thread must not die with it. It
                # reconnects, and the reconnect's backfill reads what this one was reading.
                if self._stop.is_set():
                    break
                if conn.broken or connection_lost(exc):
                    # The app shows the banner (a cancelled statement is no outage: the
                    # thread just starts a new round).
                    try:
                        self._on_lost()
                    except RuntimeError:
                        break  # the app is gone
                if not following:
                    # Connected, then broke before following: the server is up, so at once
                    # the first time; a failure that repeats (a bug, a refused statement)
                    # must not spin, so later ones wait as a refused connection does.
                    if broken:
                        self._stop.wait(_backoff(broken - 1))
                    broken += 1
            finally:
                self._conn = None

    def _listen(self, conn: psycopg.Connection) -> None:
        self.listen_horizon = chat.horizon(conn)
        self.step("horizon")
        chat.listen(conn, chat.channels(conn))
        self.step("listening")
        self._sent_status = self._status
        chat.set_presence(conn, self._sent_status)
        self.step("presence")
        chat.sweep_presence(conn)
        self.step("swept")

    def _follow(self, conn: psycopg.Connection, carried: list[str]) -> None:
        """`carried`: what came in while the last batch was being handled (or before this.)"""
        next_sweep = time.monotonic() + SWEEP_EVERY_S
        bursting = False
        while not self._stop.is_set():
            if not bursting and _messages(carried) >= BURST_MESSAGES:
                # Several new messages arrived while one batch was handled: a burst. Until a
                # COALESCE_S window passes without a new message, each batch is what one
                # window gathers: one read and one redraw for the lot.
                bursting = True
            if bursting:
                payloads = carried + self._read(conn, timeout=COALESCE_S)
                bursting = _messages(payloads) > 0
            elif carried:
                # One message (a conversation going back and forth can have the next one
                # here already), receipts (an open chat marks each message read as it
                # comes), presence: at once.
                payloads = carried + self._read(conn, timeout=0)
            else:
                # Blocks on the socket until a notification, a dead connection (raises) or
                # WAIT_S. The first one is handed over at once, with whatever else is
                # already here (timeout=0 polls without waiting).
                payloads = self._read(conn, timeout=WAIT_S, stop_after=1)
                if payloads:
                    payloads += self._read(conn, timeout=0)
            carried = []
            if payloads:
                self._on_events(payloads)
                carried = self._read(conn, timeout=0)
            if self._status != self._sent_status:
                self._sent_status = self._status
                chat.set_presence(conn, self._sent_status)
            if time.monotonic() >= next_sweep:
                horizon = chat.sweep_presence_at_horizon(conn)
                # A checkpoint: every notification of a transaction that committed before
                # the last sweep's snapshot came in before this sweep's reply (the backend
                # sent it when it was next idle). Handled now, they are all seen.
                pending, carried = carried + self._read(conn, timeout=0), []
                if pending:
                    self._on_events(pending)
                if self._on_checkpoint is not None:
                    self._on_checkpoint(horizon)
                next_sweep = time.monotonic() + SWEEP_EVERY_S


def _messages(batch: list[str]) -> int:
    return count(batch, MESSAGE)


def _backoff(attempt: int) -> float:
    """The wait before retry `attempt` (0, 1, ...): FIRST_RETRY_S doubling up to MAX_BACKOFF_S."""
    return min(FIRST_RETRY_S * 2 ** min(attempt, 16), MAX_BACKOFF_S)


def _payloads(conn: psycopg.Connection, **kwargs) -> list[str]:
    return [n.payload for n in conn.notifies(**kwargs)]
