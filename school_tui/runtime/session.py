"""A logged-in person: who they are and the connection pool of their own login role.

Created only after a successful login (auth.login), closed at logout. Everything the UI asks
of the database goes through `Session.run`, which is called from worker threads only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from school_tui.db.connect import Target
from school_tui.db.people import Person

if TYPE_CHECKING:
    from school_tui.live.listener import Listener

T = TypeVar("T")

LISTEN_WAIT_S = 5.0  # longest a prefetch waits for the listener's LISTEN before giving up


class Session:
    def __init__(self, target: Target, person: Person, conninfo: str) -> None:
        self.target = target
        self.person = person
        self.conninfo = conninfo
        self.listener: Listener | None = None  # the app starts it once logged in
        self.pool = self._new_pool()
        self._ended = False
        self._pool_lock = threading.Lock()
        # The home's rows, read while the home is composed (`prefetch`): the result and the
        # listener's delivery count just before the read; taken once (`take_prefetched`).
        self._prefetched: Future[tuple[Any, int]] | None = None

    def _new_pool(self) -> ConnectionPool[psycopg.Connection[tuple[Any, ...]]]:
        # Small on purpose: one person, a handful of concurrent screen loads. check= makes a
        # connection killed under us (server restart, cut network) get replaced on checkout.
        return ConnectionPool(
            self.conninfo,
            min_size=1,
            max_size=4,
            open=False,
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True},
            name=f"school-tui-{self.person.id}",
        )

    def open(self) -> None:
        """Start connecting, without waiting: the pool connects while the home is composed,
        and the first `run` waits for it (its timeout: an outage, then, like any other)."""
        self.pool.open(wait=False)

    def run(self, fn: Callable[[psycopg.Connection[tuple[Any, ...]]], T]) -> T:
        """Run `fn` with a pooled connection of this person's own login. Worker threads only."""
        with self.pool.connection(timeout=10) as conn:
            return fn(conn)

    def renew(self) -> bool:
        """After a lost connection (any thread but the UI's): whether the server takes a new
        connection of this login now; if so, the pool is replaced by a new one, and True.

        A new pool, not the old one's own reconnect: psycopg_pool retries a failed connection
        after 1 s, then 2, 4... (its back-off survives the outage), so after a restart the
        old pool could take seconds more to connect than the server took to come back. The
        old pool is closed: connections in use finish their work (and are closed when
        returned); a worker still waiting for one gets PoolClosed, a lost connection, and
        runs again once the app says the connection is back."""
        try:
            psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5).close()
        except psycopg.OperationalError:
            return False
        with self._pool_lock:
            if self._ended:
                return False
            old, self.pool = self.pool, self._new_pool()
            self.pool.open(wait=False)
        old.close(timeout=1)
        return True

    def prefetch(self, fn: Callable[[psycopg.Connection[tuple[Any, ...]]], Any]) -> None:
        """Start reading `fn` in a thread of its own, once the listener's first LISTEN is in
        place (so a change made after the read notifies it). UI thread, right after the
        listener has started; `take_prefetched` hands the result over."""
        listener = self.listener
        if listener is None:
            return
        future: Future[tuple[Any, int]] = Future()
        self._prefetched = future

        def read() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                if not listener.listening.wait(LISTEN_WAIT_S):
                    raise TimeoutError("the listener is not listening yet")
                heard = listener.received
                future.set_result((self.run(fn), heard))
            except BaseException as exc:  # whoever takes it reads the rows itself instead
                future.set_exception(exc)

        threading.Thread(target=read, name="prefetch", daemon=True).start()

    def prefetch_ready(self) -> bool:
        return self._prefetched is not None and self._prefetched.done()

    def take_prefetched(self) -> Any | None:
        """What `prefetch` read (waiting for it if it is under way), once; None if there is
        none, it failed, or the listener has heard anything since the read: the caller
        subscribes to live changes first, then takes, and reads again itself on None."""
        future, self._prefetched = self._prefetched, None
        if future is None:
            return None
        try:
            data, heard = future.result()
        except BaseException:
            return None
        listener = self.listener
        if listener is None or listener.received != heard:
            return None
        return data

    def close(self) -> None:
        if self.listener is not None:
            self.listener.stop()
        with self._pool_lock:
            self._ended = True
        self.pool.close(timeout=2)
