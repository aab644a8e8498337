"""What a school database's server allows beyond the school's own rules, checked by
`school-tui db init` and `db status` (run as the server's owner or a DBA).

The embedded server avoids each of these; a server of one's own may not, and then the DBA
is told what to change:

- pg_hba `trust` for the school's roles: the server checks no password, so anyone who can
  reach it logs in as the Admin;
- CONNECT to other databases through PUBLIC: a school login opens databases of the server
  that are not the school's;
- large objects: lo_create, lo_from_bytea, ... are EXECUTE for PUBLIC when a database is
  made, which lets any login (the pre-login role too) store unaudited data without bound.
  `close_large_objects` revokes them, where the connected user may;
- idle transactions and lock waits: without idle_in_transaction_session_timeout and
  lock_timeout set server-wide, a session can hold what it locked for as long as it stays.
  A session may lift those for itself: school.end_stuck_sessions() (every app's presence
  sweep) ends it anyway, once the owner may see and signal other sessions
  (`let_the_owner_end_stuck_sessions`).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from school_tui.db.connect import RoleNames

# The server-wide settings a school server needs, and the most each may be (0 is "never").
TIMEOUTS = {"idle_in_transaction_session_timeout": 60_000, "lock_timeout": 30_000}

_LARGE_OBJECT_FUNCTIONS = """
    SELECT p.oid::regprocedure FROM pg_proc p
    WHERE p.pronamespace = 'pg_catalog'::regnamespace
      AND (p.proname LIKE 'lo\\_%' OR p.proname IN ('loread', 'lowrite'))
"""


@dataclass(frozen=True)
class Finding:
    """Something the server allows that it should not: what, and what the DBA changes."""

    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what} Fix: {self.fix}"


def close_large_objects(conn: psycopg.Connection) -> bool:
    """Revoke the large-object functions from PUBLIC in the connected database. False when
    the connected user may not (then `check` reports them)."""
    functions = [row[0] for row in conn.execute(_LARGE_OBJECT_FUNCTIONS).fetchall()]
    try:
        with conn.transaction():
            for function in functions:
                conn.execute(
                    sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC").format(
                        sql.SQL(str(function))
                    )
                )
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


# What school.end_stuck_sessions() needs to see and end other logins' sessions.
SWEEPER_ROLES = ("pg_read_all_stats", "pg_signal_backend")


def let_the_owner_end_stuck_sessions(conn: psycopg.Connection, roles: RoleNames) -> bool:
    """Grant the school's owner what school.end_stuck_sessions() needs (its functions end
    only this school's logins' sessions). False when the connected user may not grant them
    (then `check` reports it)."""
    try:
        with conn.transaction():
            for role in SWEEPER_ROLES:
                conn.execute(
                    sql.SQL("GRANT {} TO {}").format(
                        sql.Identifier(role), sql.Identifier(roles.owner)
                    )
                )
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def check(conn: psycopg.Connection, roles: RoleNames) -> list[Finding]:
    """What the server of the connected school database allows that it should not."""
    return [
        *_trusted_logins(conn, roles),
        *_other_databases(conn),
        *_large_objects(conn),
        *_timeouts(conn),
        *_sweeper(conn, roles),
    ]


def _trusted_logins(conn: psycopg.Connection, roles: RoleNames) -> list[Finding]:
    """pg_hba lines that let a school role in without a password (read where allowed)."""
    try:
        with conn.transaction():
            rules = conn.execute(
                "SELECT line_number, type, database, user_name FROM pg_hba_file_rules "
                "WHERE auth_method = 'trust' AND error IS NULL ORDER BY line_number"
            ).fetchall()
    except psycopg.errors.InsufficientPrivilege:
        return [
            Finding(
                "Cannot read pg_hba.conf's rules (pg_hba_file_rules) as this user, so it is "
                "not known whether the server checks the school's passwords.",
                "run `school-tui db status` as a superuser, or check that no line of "
                "pg_hba.conf says `trust` for the school's roles.",
            )
        ]
    dbname = conn.info.dbname
    # the pre-login role's password is public: trusting it is by design (docs/security-model.md)
    school_roles = {roles.member, *roles.groups.values()}
    found = []
    for line, kind, databases, users in rules:
        if not ({"all", dbname, "sameuser", "samerole"} & set(databases or [])):
            continue
        names = set(users or [])
        if "all" in names or any(n.lstrip("+") in school_roles for n in names):
            found.append(
                Finding(
                    f"The server does not check passwords: pg_hba.conf line {line} ({kind}) "
                    f"trusts {', '.join(sorted(names))} for {', '.join(databases)}, so anyone "
                    "who reaches the server logs in as any person, the Admin too.",
                    f"change line {line} to scram-sha-256 (or limit it to the server's owner) "
                    "and reload the server.",
                )
            )
    return found


def _other_databases(conn: psycopg.Connection) -> list[Finding]:
    """Databases besides this one that every login (PUBLIC) may connect to."""
    others = [
        row[0]
        for row in conn.execute(
            """
            SELECT d.datname FROM pg_database d,
                   aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
            WHERE d.datname <> current_database() AND d.datallowconn
              AND a.grantee = 0 AND a.privilege_type = 'CONNECT'
            ORDER BY d.datname
            """
        ).fetchall()
    ]
    if not others:
        return []
    names = ", ".join(others)
    return [
        Finding(
            f"School logins can connect to other databases of this server: {names} "
            "(CONNECT for PUBLIC).",
            "for each, REVOKE CONNECT, TEMPORARY ON DATABASE <name> FROM PUBLIC and grant "
            "CONNECT to the roles that use it.",
        )
    ]


def _large_objects(conn: psycopg.Connection) -> list[Finding]:
    open_to_all = conn.execute(
        f"SELECT count(*) FROM ({_LARGE_OBJECT_FUNCTIONS}) f(fn) "  # noqa: S608
        "WHERE has_function_privilege('public', f.fn, 'EXECUTE')"
    ).fetchone()[0]
    if not open_to_all:
        return []
    return [
        Finding(
            f"{open_to_all} large-object functions (lo_create, lo_from_bytea, ...) are open "
            "to every login: unaudited storage without bound.",
            "run `school-tui db upgrade` as a superuser (it revokes them from PUBLIC).",
        )
    ]


def _sweeper(conn: psycopg.Connection, roles: RoleNames) -> list[Finding]:
    if conn.execute("SELECT to_regrole(%s)", (roles.owner,)).fetchone()[0] is None:
        return []  # no school here yet: `db init` makes the owner and grants these
    missing = [
        role
        for role in SWEEPER_ROLES
        if not conn.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (roles.owner, role)).fetchone()[
            0
        ]
    ]
    if not missing:
        return []
    return [
        Finding(
            "Sessions left in an open transaction are not ended: the school's owner "
            f"lacks {', '.join(missing)}, so a login that lifts its own timeouts can hold "
            "its locks as long as it stays.",
            "run `school-tui db upgrade` as a superuser (it grants them to the owner).",
        )
    ]


def _timeouts(conn: psycopg.Connection) -> list[Finding]:
    found = []
    for name, most in TIMEOUTS.items():
        row = conn.execute(
            "SELECT setting::int, source FROM pg_settings WHERE name = %s", (name,)
        ).fetchone()
        value = row[0] if row else 0
        if value == 0 or value > most:
            found.append(
                Finding(
                    f"{name} is {value} ms: a session may hold its locks or an open "
                    "transaction for longer than a school can wait.",
                    f"set {name} = '{most // 1000}s' in postgresql.conf (or ALTER SYSTEM) "
                    "and reload the server.",
                )
            )
    return found
