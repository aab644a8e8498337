"""The session's own autocommit connection that waits on the server (never a pooled one).

Today it watches the connection: a backend killed, a server restarted or a network cut
(TCP keepalives) ends the wait at once, the app shows the banner, and this thread reconnects
with backoff, then tells the app to reload. Issue #4 adds LISTEN channels and backfill here:
LISTEN first, then read what was missed, then follow notifications, after every reconnect.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
from psycopg.conninfo import make_conninfo

# A cut network gives no FIN: keepalives notice within idle + interval * count seconds.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
MAX_BACKOFF_S = 5.0


class ConnectionWatch:
    def __init__(
        self,
        conninfo: str,
        on_lost: Callable[[], None],
        on_restored: Callable[[], None],
    ) -> None:
        self._conninfo = make_conninfo(
            conninfo, application_name="school-tui listener", **KEEPALIVES
        )
        self._on_lost = on_lost
        self._on_restored = on_restored
        self._stop = threading.Event()
        self._conn: psycopg.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="connection watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None:
            try:
                conn.cancel_safe(timeout=1)
            except Exception:
                pass
        self._thread.join(timeout=3)

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)

    def _run(self) -> None:
        lost = False
        delay = 0.1
        while not self._stop.is_set():
            try:
                self._conn = self._connect()
            except psycopg.OperationalError:
                if not lost:
                    lost = True
                    self._on_lost()
                self._stop.wait(delay)  # backoff between reconnect attempts
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            delay = 0.1
            if lost:
                lost = False
                self._on_restored()
            try:
                with self._conn:
                    # Blocks on the socket; wakes for notifications (issue #4), a dead
                    # connection (raises), or the timeout so that stop() is seen.
                    while not self._stop.is_set():
                        for _ in self._conn.notifies(timeout=1.0):
                            pass
            except psycopg.OperationalError:
                if not self._stop.is_set():
                    lost = True
                    self._on_lost()
            finally:
                self._conn = None
