"""The login watcher: per-account lockout from the server's own log.

A wrong password is refused by PostgreSQL before any SQL runs, so only the server's log
records it ("password authentication failed", SQLSTATE 28P01, FATAL). The watcher follows
that log (JSON lines, `log_destination = 'jsonlog'`, PostgreSQL 15+) from a superuser
connection, and for each entry of the school's database calls

- `school.login_failed(login, at)` for a wrong password (the third in a row locks the
  account: VALID UNTIL '-infinity', so the server checks no password for it at all);
- `school.login_succeeded(login)` for a login the server authorised (`log_connections`
  must include authorization), which ends the streak;

and, every poll, `school.end_lockouts()` to end cooldowns that are over. The embedded server
runs it; beside a server of your own a DBA runs `school-tui server watch-logins` as a
service (docs/security-model.md, "Lockout").

It reads the log through pg_read_binary_file, so it needs no access to the server's files
and may run on another machine.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import psycopg

AUTH_FAILED = "28P01"
AUTHORIZED = "connection authorized"
# Read at most this much of the log per poll (a flood of guesses is read in steps).
CHUNK_BYTES = 4 * 1024 * 1024


@dataclass
class LogFollower:
    """Where the watcher is in the server's current JSON log file."""

    path: str | None = None
    offset: int = 0
    partial: bytes = b""
    seen_paths: set[str] = field(default_factory=set)


def current_log(conn: psycopg.Connection) -> tuple[str, int] | None:
    """The server's current JSON log file and its size, or None when it writes none."""
    path = conn.execute("SELECT pg_catalog.pg_current_logfile('jsonlog')").fetchone()[0]
    if path is None:
        return None
    size = conn.execute("SELECT size FROM pg_catalog.pg_stat_file(%s, true)", (path,)).fetchone()
    return path, int(size[0]) if size and size[0] is not None else 0


def start_at_end(conn: psycopg.Connection) -> LogFollower:
    """A follower at the end of the current log: what happened before it started is old."""
    current = current_log(conn)
    if current is None:
        return LogFollower()
    return LogFollower(current[0], current[1], b"", {current[0]})


def read_new_entries(conn: psycopg.Connection, follower: LogFollower) -> list[dict]:
    """The complete log entries written since the last call (a rotation starts the new file
    from its beginning)."""
    current = current_log(conn)
    if current is None:
        return []
    path, size = current
    if path != follower.path:
        # Rotated: finish the old file, then the new one from the start.
        entries = _read(conn, follower) if follower.path else []
        follower.path, follower.offset, follower.partial = path, 0, b""
        follower.seen_paths.add(path)
        return entries + read_new_entries(conn, follower)
    if size < follower.offset:  # truncated (a week later, the same weekday's file)
        follower.offset, follower.partial = 0, b""
    return _read(conn, follower)


def _read(conn: psycopg.Connection, follower: LogFollower) -> list[dict]:
    entries: list[dict] = []
    while True:
        chunk = conn.execute(
            "SELECT pg_catalog.pg_read_binary_file(%s, %s, %s, true)",
            (follower.path, follower.offset, CHUNK_BYTES),
        ).fetchone()[0]
        if not chunk:
            return entries
        data = follower.partial + bytes(chunk)
        follower.offset += len(chunk)
        *lines, follower.partial = data.split(b"\n")
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
        if len(chunk) < CHUNK_BYTES:
            return entries


def apply_entries(conn: psycopg.Connection, dbname: str, entries: list[dict]) -> list[str]:
    """Record failures and successes of the school's logins; returns the logins locked."""
    locked = []
    for entry in entries:
        if entry.get("dbname") != dbname or not entry.get("user"):
            continue
        login = str(entry["user"])
        if entry.get("state_code") == AUTH_FAILED and entry.get("error_severity") == "FATAL":
            at = entry.get("timestamp")
            if conn.execute("SELECT school.login_failed(%s, %s)", (login, at)).fetchone()[0]:
                locked.append(login)
        elif str(entry.get("message", "")).startswith(AUTHORIZED):
            conn.execute("SELECT school.login_succeeded(%s)", (login,))
    return locked


def end_lockouts(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT school.end_lockouts()").fetchone()[0]


def watch(
    conninfo: str,
    dbname: str,
    stop: threading.Event,
    interval: float = 0.1,
    on_lock=None,
) -> None:
    """Follow the log until `stop` is set. `conninfo` is a superuser's, to the school's
    database `dbname`."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        follower = start_at_end(conn)
        while not stop.is_set():
            locked = apply_entries(conn, dbname, read_new_entries(conn, follower))
            end_lockouts(conn)
            if on_lock is not None:
                for login in locked:
                    on_lock(login)
            stop.wait(interval)


def locked_logins(conn: psycopg.Connection) -> dict[int, object]:
    """The Admin: user id -> until when the account refuses every password."""
    return dict(conn.execute("SELECT user_id, locked_until FROM school.locked_logins()").fetchall())


def unlock_login(conn: psycopg.Connection, user_id: int) -> None:
    conn.execute("SELECT school.unlock_login(%s)", (user_id,))


LOCKOUT_CHANNEL = "school_lockouts"  # 'l:<user id>' on every lock and unlock (02_people.sql)


def lockout_channel(conn: psycopg.Connection) -> str | None:
    """The channel of locks and unlocks if this login may read them (the Admin), else None.
    Checked first, not tried: a failed statement would abort a caller's transaction."""
    may = conn.execute(
        "SELECT has_function_privilege(p, 'EXECUTE') "
        "FROM to_regprocedure('school.locked_logins()') AS p WHERE p IS NOT NULL"
    ).fetchone()
    return LOCKOUT_CHANNEL if may and may[0] else None


def locked_among(conn: psycopg.Connection, user_ids: list[int]) -> set[int]:
    """The Admin: which of `user_ids` are locked now (the others are not, or are nobody)."""
    rows = conn.execute(
        "SELECT user_id FROM school.locked_logins() WHERE user_id = ANY(%s)", (list(user_ids),)
    ).fetchall()
    return {row[0] for row in rows}
