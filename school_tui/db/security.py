"""SQL for seeing online guessing: failed logins per person, read from the server's log.

A wrong password is refused by PostgreSQL before any SQL runs, so no table records it; the
server's log does (SQLSTATE 28P01). `school.failed_logins()` (sql/schema/02_people.sql) reads the
log as the schema owner, which may do so only where a superuser allowed it:
`allow_reading_the_log` does that on the embedded server (ours); on a configured server the
function returns nothing and `failed_logins` says the log is not available, rather than
showing an empty list that would look like "nobody failed".
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from school_tui.db.connect import RoleNames

FAILED_LOGIN_HOURS = 24
# One line at 80 columns; README's "Online guessing" says what a DBA can do about it.
NOT_AVAILABLE = "Not available on this server: the school cannot read its log."
NONE_RECENTLY = f"No failed logins in the last {FAILED_LOGIN_HOURS} hours."

# What the owner needs to list and read the server's log ("Failed logins" in
# sql/schema/02_people.sql says why).
LOG_READING_FUNCTIONS = (
    "pg_catalog.pg_current_logfile(text)",
    "pg_catalog.pg_ls_logdir()",
    "pg_catalog.pg_read_file(text, bigint, bigint, boolean)",
)


class RowsWithNote(list):
    """Rows, plus what to say instead when there are none (read by RoleHome)."""

    def __init__(self, rows, empty_note: str | None = None):
        super().__init__(rows)
        self.empty_note = empty_note


def allow_reading_the_log(conn: psycopg.Connection, roles: RoleNames) -> None:
    """Embedded server only (we own it): let the school's owner read the server's log.

    Run as a superuser in the school's database (function privileges are per database).
    Reading files in the data directory is a lot to grant, which is why only the owner gets
    it, and the owner is NOLOGIN: only its SECURITY DEFINER functions use it.
    """
    owner = sql.Identifier(roles.owner)
    for function in LOG_READING_FUNCTIONS:
        if conn.execute(
            "SELECT has_function_privilege(%s, %s, 'EXECUTE')", (roles.owner, function)
        ).fetchone()[0]:
            continue
        conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(function), owner))


def failed_login_log_available(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT school.failed_login_log_available()").fetchone()[0]


def failed_logins(conn: psycopg.Connection, hours: int = FAILED_LOGIN_HOURS) -> RowsWithNote:
    """(user id, presence, name, email, role, failures, last failure) per person, newest
    failure first."""
    if not failed_login_log_available(conn):
        return RowsWithNote([], NOT_AVAILABLE)
    rows = conn.execute(
        "SELECT f.user_id, coalesce(o.status, 'offline'), f.full_name, f.email, f.role, "
        "f.failures, f.last_failure FROM school.failed_logins(%s) f "
        "LEFT JOIN school.online_status o ON o.user_id = f.user_id "
        "ORDER BY f.last_failure DESC, f.user_id",
        (hours,),
    ).fetchall()
    return RowsWithNote(rows, NONE_RECENTLY)


def prelogin_deployment(conn: psycopg.Connection, prelogin_role: str) -> str:
    """What `db status` says about the pre-login role: its password is public, and every role
    may change its own, so the server must not check it (pg_hba `trust` for that role alone,
    which the embedded server has), or anyone can stop every login. Only a superuser may read
    pg_hba; anyone else is told what to check."""
    fix = (
        f"add `local all {prelogin_role} trust` (and `host all {prelogin_role} <network> "
        "trust` for TCP) to pg_hba.conf before the lines that check passwords, then reload"
    )
    superuser = conn.execute("SELECT current_setting('is_superuser') = 'on'").fetchone()[0]
    if not superuser:
        return f"unknown (only a superuser can read pg_hba); a DBA must make sure to {fix}"
    trusted = conn.execute(
        "SELECT count(*) FROM pg_catalog.pg_hba_file_rules WHERE error IS NULL "
        "AND auth_method = 'trust' AND (%s = ANY (user_name) OR '/_prelogin$' = ANY (user_name))",
        (prelogin_role,),
    ).fetchone()[0]
    if trusted:
        return "ok: the server does not check its public password"
    return (
        "ACTION NEEDED: anyone can change the pre-login role's public password and stop every "
        f"login; {fix}"
    )
