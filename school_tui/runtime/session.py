"""A logged-in person: who they are and the connection pool of their own login role.

Created only after a successful login (auth.login), closed at logout. Everything the UI asks
of the database goes through `Session.run`, which is called from worker threads only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from school_tui.db.connect import Target
from school_tui.db.people import Person

if TYPE_CHECKING:
    from school_tui.live.listener import Listener

T = TypeVar("T")


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

    def open(self) -> None:
        self.pool.open(wait=True, timeout=10)

    def run(self, fn: Callable[[psycopg.Connection[tuple[Any, ...]]], T]) -> T:
        """Run `fn` with a pooled connection of this person's own login. Worker threads only."""
        with self.pool.connection(timeout=10) as conn:
            return fn(conn)

    def close(self) -> None:
        if self.listener is not None:
            self.listener.stop()
        self.pool.close(timeout=2)
