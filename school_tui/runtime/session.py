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
        # Small on purpose: one person, a handful of concurrent screen loads. check= makes a
        # connection killed under us (server restart, cut network) get replaced on checkout.
        self.pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=4,
            open=False,
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True},
            name=f"school-tui-{person.id}",
        )
        # The home's rows, read while the home is composed (`prefetch`): the result and the
        # listener's delivery count just before the read; taken once (`take_prefetched`).
        self._prefetched: Future[tuple[Any, int]] | None = None

    def open(self) -> None:
        """Start connecting, without waiting: the pool connects while the home is composed,
        and the first `run` waits for it (its timeout: an outage, then, like any other)."""
        self.pool.open(wait=False)

    def run(self, fn: Callable[[psycopg.Connection[tuple[Any, ...]]], T]) -> T:
        """Run `fn` with a pooled connection of this person's own login. Worker threads only."""
        with self.pool.connection(timeout=10) as conn:
            return fn(conn)

    def replace_connections(self) -> None:
        """Close the pool's idle connections (and each one in use once it is returned) and
        open new ones. After a lost connection: the others were opened before the outage and
        may be as broken, and a `run` that works must then mean the server takes a new
        connection, not that one made before the outage is still alive. Any thread."""
        if not self.pool.closed:
            self.pool.drain()

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
        self.pool.close(timeout=2)
