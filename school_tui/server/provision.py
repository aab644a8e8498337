"""Getting a database ready to log into: start the embedded server, create the school
database and schema, apply migrations, and (for `make run`) load the demo school.

A configured server is used as it is: we never create or change anything on it unless asked
by `school-tui db init` / `db upgrade` / `demo`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import make_conninfo

from school_tui.db import bootstrap, cluster, security
from school_tui.db.connect import Target

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@contextmanager
def _provisioning(target: Target) -> Iterator[None]:
    """Held while the demo school is loaded, so two apps starting at once load it once.

    Never an advisory lock, which any login of the server could take and hold to stop every
    start: the embedded server's file lock, else the 'provisioning' row of
    school.serial_locks, which only the owner may lock (held by a transaction of its own)."""
    if target.embedded_server is not None:
        with target.embedded_server.provisioning():
            yield
        return
    with psycopg.connect(target.admin()) as conn:
        cluster.hold_provisioning_row(conn)
        yield


def ensure_embedded_database(target: Target, progress: Progress = _quiet) -> None:
    """Start our own server if needed and make sure the school database is initialised."""
    server, dbname = target.embedded_server, target.dbname
    assert server is not None and dbname is not None, "an embedded target names both"
    progress("Starting the database…")
    server.ensure_running()
    maintenance = make_conninfo(target.admin(), dbname="postgres")
    with server.provisioning(), psycopg.connect(maintenance, autocommit=True) as lock_conn:
        if not cluster.database_exists(lock_conn, dbname):
            progress("Creating the school database…")
            cluster.create_database(lock_conn, dbname)
        # autocommit: init and each migration then commit on their own (in a transaction
        # opened here they would be savepoints, and one failing migration would undo all)
        with psycopg.connect(target.admin(), autocommit=True) as conn:
            version = bootstrap.schema_version(conn)
            if version is None or bootstrap.pending(version):
                progress("Creating the schema…" if version is None else "Upgrading the schema…")
                bootstrap.init(conn, target.roles, lock_down_server=True)
            # our own server: the owner may read its log, for the Admin's failed logins
            security.allow_reading_the_log(conn, target.roles)


def prepare(target: Target, *, demo_if_empty: bool = False, progress: Progress = _quiet) -> None:
    if target.embedded_server is not None:
        # Registered before the server is started, so that another app exiting meanwhile
        # sees this one as a user and does not stop the server under it.
        target.embedded_server.register_session()
        ensure_embedded_database(target, progress)
        from school_tui.server import login_watcher

        login_watcher.start(target)
    if demo_if_empty:
        from school_tui.server import demo

        with _provisioning(target), psycopg.connect(target.admin(), autocommit=True) as conn:
            if demo.is_empty(conn):
                demo.load(conn, progress=progress)
    progress("")


def release(target: Target) -> None:
    """The app is exiting: let the embedded server stop if no other session uses it."""
    if target.embedded_server is not None:
        target.embedded_server.release_session()
