"""What the server holds outside the school database: databases, and the lock held while
getting a server ready (server/provision.py). Run as the server's owner."""

from __future__ import annotations

import psycopg
from psycopg import sql


def hold_provisioning_row(conn: psycopg.Connection) -> None:
    """Lock the 'provisioning' row of school.serial_locks in `conn`'s open transaction (it is
    held until that ends), where the schema has it. The transaction stays idle meanwhile:
    this session is exempt from the server's idle timeout."""
    conn.execute("SET idle_in_transaction_session_timeout = 0")
    if conn.execute("SELECT to_regclass('school.serial_locks') IS NOT NULL").fetchone()[0]:
        conn.execute("SELECT 1 FROM school.serial_locks WHERE name = 'provisioning' FOR UPDATE")


def database_exists(conn: psycopg.Connection, dbname: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        is not None
    )


def create_database(conn: psycopg.Connection, dbname: str) -> None:
    """CREATE DATABASE (outside a transaction: `conn` is in autocommit)."""
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
