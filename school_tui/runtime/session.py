"""A logged-in person: who they are and the connection pool of their own login role.

Created only after a successful login (auth.login), closed at logout. Everything the UI asks
of the database goes through `Session.run`, which is called from worker threads only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from school_tui.db.connect import Target
from school_tui.db.people import Person

T = TypeVar("T")


class Session:
    def __init__(self, target: Target, person: Person, conninfo: str):
        self.target = target
        self.person = person
        self.conninfo = conninfo
        self.listener = None  # the Listener the app starts (school_tui.live.listener)
        # Small on purpose: one person, a handful of concurrent screen loads. check= makes a
        # connection killed under us (server restart, cut network) get replaced on checkout.
        self.pool = ConnectionPool(
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

    def run(self, fn: Callable[[psycopg.Connection], T]) -> T:
        """Run `fn` with a pooled connection of this person's own login. Worker threads only."""
        with self.pool.connection(timeout=10) as conn:
            return fn(conn)

    def close(self) -> None:
        if self.listener is not None:
            self.listener.stop()
        self.pool.close(timeout=2)
