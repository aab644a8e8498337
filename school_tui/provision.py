"""Getting a database ready to log into: start the embedded server, create the school
database and schema, apply migrations, and (for `make run`) load the demo school.

A configured server is used as it is: we never create or change anything on it unless asked
by `school-tui db init` / `db upgrade` / `demo`.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from school_tui.db import bootstrap
from school_tui.db.connect import Target

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def ensure_embedded_database(target: Target, progress: Progress = _quiet) -> None:
    """Start our own server if needed and make sure the school database is initialised."""
    server = target.embedded_server
    progress("Starting the database…")
    server.ensure_running()
    dbname = target.dbname
    with psycopg.connect(make_conninfo(target.admin(), dbname="postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            progress("Creating the school database…")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    with psycopg.connect(target.admin()) as conn:
        version = bootstrap.schema_version(conn)
        pending = [m for m in bootstrap.migrations() if version is None or m.version > version]
        if version is None or pending:
            progress("Creating the schema…" if version is None else "Upgrading the schema…")
            bootstrap.init(conn, target.roles, lock_down_server=True)
            conn.commit()


def prepare(target: Target, *, demo_if_empty: bool = False, progress: Progress = _quiet) -> None:
    if target.embedded_server is not None:
        ensure_embedded_database(target, progress)
        target.embedded_server.register_session()
    if demo_if_empty:
        from school_tui import demo

        with psycopg.connect(target.admin(), autocommit=True) as conn:
            if demo.is_empty(conn):
                demo.load(conn, progress=progress)
    progress("")


def release(target: Target) -> None:
    """The app is exiting: let the embedded server stop if no other session uses it."""
    if target.embedded_server is not None:
        target.embedded_server.release_session()
