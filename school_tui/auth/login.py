"""Logging in: look up the salt, derive the password on the client, connect as the person.

Unknown email, wrong password and a deactivated account all end in the same LoginFailed
message, after the same work (the pre-login step answers unknown emails with a decoy login
name and salt, so the KDF and the failed SCRAM exchange happen either way).
"""

from __future__ import annotations

import psycopg

from school_tui.auth.passwords import derive_db_password
from school_tui.db import people
from school_tui.db.connect import Target

# The same words for an unknown email, a wrong password and a locked account.
LOGIN_FAILED = "Wrong email or password. Three in a row lock an account for a while."
# What PostgreSQL says when the login itself is refused (as opposed to the server being down).
_AUTH_FAILURES = (
    "password authentication failed",
    "is not permitted to log in",
    "no password supplied",
)


class LoginFailed(Exception):
    """The email/password pair was not accepted. The message is safe to show."""


class ServerUnavailable(Exception):
    """The database could not be reached; the message says so in words for a person."""


def _is_auth_failure(exc: psycopg.OperationalError) -> bool:
    text = str(exc)
    if getattr(exc, "sqlstate", None) in ("28P01", "28000"):
        return True
    # 'too many connections for role "x"' also names a role, but is an outage: the person
    # stays logged in and the app reconnects.
    if 'role "' in text and "does not exist" in text:
        return True
    return any(marker in text for marker in _AUTH_FAILURES)


def login_refused(conninfo: str) -> bool:
    """Whether the server now refuses this login (not merely unreachable): a session's
    password changed or its login dropped meanwhile."""
    try:
        psycopg.connect(conninfo, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        return _is_auth_failure(exc)
    return False


def login(target: Target, email: str, password: str):
    """Return an open Session for the person, or raise LoginFailed / ServerUnavailable."""
    email = email.strip()
    if not email or not password:
        raise LoginFailed("Email and password: both are required.")
    try:
        with psycopg.connect(target.prelogin(), autocommit=True) as pre:
            login_role, salt = people.prelogin_lookup(pre, email)
    except psycopg.OperationalError as exc:
        raise ServerUnavailable(f"Cannot reach the school database: {_first_line(exc)}") from exc
    conninfo = target.person(login_role, derive_db_password(password, salt))
    try:
        conn = psycopg.connect(conninfo, autocommit=True)
    except psycopg.OperationalError as exc:
        if _is_auth_failure(exc):
            raise LoginFailed(LOGIN_FAILED) from None
        raise ServerUnavailable(f"Cannot reach the school database: {_first_line(exc)}") from exc
    try:
        with conn:
            person = people.who_am_i(conn)
    except LookupError:
        raise LoginFailed(LOGIN_FAILED) from None
    from school_tui.runtime.session import Session  # psycopg_pool: only once it is needed

    session = Session(target, person, conninfo)
    session.open()
    return session


def verify_password(session, password: str) -> bool:
    """Whether `password` is the logged-in person's, checked for real: the salt from the
    pre-login lookup, the KDF, and a fresh connection as their own login (so auth_delay and
    the server's log see a wrong one like any other). Worker threads only.

    Raises ServerUnavailable when the server cannot say.
    """
    from psycopg.conninfo import conninfo_to_dict

    if not password:
        return False
    login_role = conninfo_to_dict(session.conninfo)["user"]
    try:
        with psycopg.connect(session.target.prelogin(), autocommit=True) as pre:
            _, salt = people.prelogin_lookup(pre, session.person.email)
    except psycopg.OperationalError as exc:
        raise ServerUnavailable(f"Cannot reach the school database: {_first_line(exc)}") from exc
    conninfo = session.target.person(login_role, derive_db_password(password, salt))
    try:
        conn = psycopg.connect(conninfo, autocommit=True)
    except psycopg.OperationalError as exc:
        if _is_auth_failure(exc):
            return False
        raise ServerUnavailable(f"Cannot reach the school database: {_first_line(exc)}") from exc
    conn.close()
    return True


def is_current_password(session, password: str) -> bool:
    """Whether `password` is the one the session logged in with: it derives, with the
    person's salt, to the session's own PostgreSQL password. No new login is tried, so a
    mismatch is no failed login in the server's log. Worker threads only.

    Raises ServerUnavailable when the salt cannot be looked up.
    """
    import hmac

    from psycopg.conninfo import conninfo_to_dict

    current = str(conninfo_to_dict(session.conninfo).get("password") or "")
    try:
        with psycopg.connect(session.target.prelogin(), autocommit=True) as pre:
            _, salt = people.prelogin_lookup(pre, session.person.email)
    except psycopg.OperationalError as exc:
        raise ServerUnavailable(f"Cannot reach the school database: {_first_line(exc)}") from exc
    return hmac.compare_digest(derive_db_password(password, salt), current)


def session_db_password(session) -> str:
    """The derived PostgreSQL password the session logged in with: the current password a
    first login with a temporary one gives change_own_password (the person just typed it)."""
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(session.conninfo).get("password") or "")


def derive_for(session, password: str) -> str:
    """`password` derived with the logged-in person's salt, as change_own_password takes the
    current password. Worker threads only. Raises ServerUnavailable when the salt cannot be
    looked up."""
    try:
        with psycopg.connect(session.target.prelogin(), autocommit=True) as pre:
            _, salt = people.prelogin_lookup(pre, session.person.email)
    except psycopg.OperationalError as exc:
        raise ServerUnavailable(f"Cannot reach the school database: {_first_line(exc)}") from exc
    return derive_db_password(password, salt)


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__
