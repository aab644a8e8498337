"""What the server holds outside the school database: databases and advisory locks, for
getting a server ready (server/provision.py). Run as the server's owner."""

from __future__ import annotations

import psycopg
from psycopg import sql


def hold_lock(conn: psycopg.Connection, key: int) -> None:
    """Wait for the session-level advisory lock `key` of the connected database; it is held
    until the connection closes."""
    conn.execute("SELECT pg_advisory_lock(%s)", (key,))


def database_exists(conn: psycopg.Connection, dbname: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        is not None
    )


def create_database(conn: psycopg.Connection, dbname: str) -> None:
    """CREATE DATABASE (outside a transaction: `conn` is in autocommit)."""
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
