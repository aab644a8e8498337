"""SQL for people and their logins: pre-login lookup, who am I, and the Admin's account
administration (create, search, edit, change role, deactivate, reset password)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from school_tui.auth.passwords import (
    derive_db_password,
    new_salt,
    temporary_password,
    unusable_db_password,
)
from school_tui.db.errors import refusals


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    last_name: str
    email: str
    role: str
    must_change_password: bool

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def prelogin_lookup(conn: psycopg.Connection, email: str) -> tuple[str, bytes]:
    """The login role name and argon2 salt for an email (a decoy pair for unknown emails)."""
    row = conn.execute(
        "SELECT login_role, salt FROM school.prelogin_lookup(%s)", (email,)
    ).fetchone()
    return row[0], bytes(row[1])


def scram_verifier(conn: psycopg.Connection, login_role: str, db_password: str) -> str:
    """The SCRAM-SHA-256 verifier, computed by libpq on this machine (PQencryptPasswordConn)."""
    return conn.pgconn.encrypt_password(
        db_password.encode(), login_role.encode(), b"scram-sha-256"
    ).decode()


def password_proof(db_password: str) -> bytes:
    """What credentials.proof_sha holds for a derived PostgreSQL password: its sha256, with
    which change_own_password checks the current password the caller gives."""
    return hashlib.sha256(db_password.encode()).digest()


def _takes_proof(conn: psycopg.Connection) -> bool:
    """Whether this school's create_person takes the password proof (schema version 18 on)."""
    return conn.execute(
        "SELECT to_regprocedure("
        "'school.create_person(text, text, text, text, bytea, text, bytea, boolean)') IS NOT NULL"
    ).fetchone()[0]


def create_person(
    conn: psycopg.Connection,
    *,
    role: str,
    first_name: str,
    last_name: str,
    email: str,
    password: str | None,
    must_change: bool = True,
) -> int:
    """Create a person and their login. `password=None` makes a login nobody can use yet.

    PostgreSQL's SCRAM verifier does not depend on the login name, so it can be computed
    before the database picks that name.
    """
    salt = new_salt()
    db_password = unusable_db_password() if password is None else derive_db_password(password, salt)
    verifier = scram_verifier(conn, "", db_password)
    with conn.transaction():
        if not _takes_proof(conn):
            # A school made before the proof (version 18) and not upgraded yet: the tests'
            # old-chain school, loaded with the demo before `db upgrade` carries it forward.
            return conn.execute(
                "SELECT school.create_person(%s, %s, %s, %s, %s, %s, %s)",
                (role, first_name, last_name, email, salt, verifier, must_change),
            ).fetchone()[0]
        return conn.execute(
            "SELECT school.create_person(%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                role,
                first_name,
                last_name,
                email,
                salt,
                verifier,
                password_proof(db_password),
                must_change,
            ),
        ).fetchone()[0]


def set_password(
    conn: psycopg.Connection,
    user_id: int,
    password: str,
    *,
    salt: bytes | None = None,
    temporary: bool = True,
) -> None:
    """Give a person a new password (the Admin's reset, or a DBA's). Ends their sessions.

    The SCRAM verifier does not depend on the login name, so the caller needs no access to
    users.login_role (superusers only). `temporary=False` (a superuser's shortcut for tests
    and scripts) also clears must_change_password with a plain UPDATE.
    """
    salt = salt or new_salt()
    db_password = derive_db_password(password, salt)
    verifier = scram_verifier(conn, "", db_password)
    with conn.transaction():
        conn.execute(
            "SELECT school.set_temporary_password(%s, %s, %s, %s)",
            (user_id, salt, verifier, password_proof(db_password)),
        )
        if not temporary:
            conn.execute(
                "UPDATE school.users SET must_change_password = false WHERE id = %s", (user_id,)
            )


def reset_password(conn: psycopg.Connection, user_id: int) -> str:
    """A new temporary password for the person, returned to be shown once. Their open
    sessions end, and they must choose their own password at their next login."""
    password = temporary_password()
    set_password(conn, user_id, password)
    return password


def create_with_temporary_password(
    conn: psycopg.Connection, *, role: str, first_name: str, last_name: str, email: str
) -> tuple[int, str]:
    """Create a person with a generated temporary password: (id, the password to show once)."""
    password = temporary_password()
    user_id = create_person(
        conn,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        password=password,
        must_change=True,
    )
    return user_id, password


def change_own_password(
    conn: psycopg.Connection, current_db_password: str, new_password: str
) -> None:
    """The caller's own password (any person, temporary or not); clears must_change_password.

    `current_db_password` is the current password as derived (derive_db_password, or the
    session's own): the database checks it and refuses with Refused("current password", ...)
    when it is not right, writing nothing. Salt, verifier and proof of the new one are
    computed here, as for create_person. The connection that runs this stays open, but new
    connections need the new password (Session.conninfo is stale).
    """
    salt = new_salt()
    db_password = derive_db_password(new_password, salt)
    verifier = scram_verifier(conn, "", db_password)
    with refusals():
        conn.execute(
            "SELECT school.change_own_password(%s, %s, %s, %s)",
            (current_db_password.encode(), salt, verifier, password_proof(db_password)),
        )


def change_role(conn: psycopg.Connection, user_id: int, role: str) -> None:
    """Move the person to another role: users.role_id and their login's group together."""
    conn.execute("SELECT school.change_person_role(%s, %s)", (user_id, role))


def update_person(
    conn: psycopg.Connection, user_id: int, *, first_name: str, last_name: str, email: str
) -> None:
    conn.execute(
        "SELECT school.update_person(%s, %s, %s, %s)", (user_id, first_name, last_name, email)
    )


def set_active(conn: psycopg.Connection, user_id: int, active: bool) -> None:
    """Deactivate (ends their sessions, no more logins) or reactivate a person."""
    conn.execute("SELECT school.set_person_active(%s, %s)", (user_id, active))


def who_am_i(conn: psycopg.Connection) -> Person:
    """The person this connection logged in as, temporary password or not (school.me() is
    NULL while the password is temporary, so this asks school.whoami())."""
    with conn.cursor(row_factory=class_row(Person)) as cur:
        cur.execute(
            "SELECT id, first_name, last_name, email, role, must_change_password "
            "FROM school.whoami()"
        )
        person = cur.fetchone()
    if person is None:
        raise LookupError("this login is not an active person of this school")
    conn.execute("SELECT school.record_login()")
    return person


def people_per_role(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        """
        SELECT r.name, count(u.id) FILTER (WHERE u.is_active), count(u.id) FILTER (WHERE NOT u.is_active)
        FROM school.roles r LEFT JOIN school.users u ON u.role_id = r.id
        GROUP BY r.id, r.name ORDER BY r.id
        """
    ).fetchall()


def directory(conn: psycopg.Connection, limit: int = 500) -> list[tuple]:
    """People the caller may see (row-level security decides), staff first: (id, presence,
    name, email, role, account, the day of their last login in local time)."""
    rows = conn.execute(
        """
        SELECT u.id, coalesce(o.status, 'offline'), u.last_name || ', ' || u.first_name,
               u.email, r.name, CASE WHEN u.is_active THEN 'active' ELSE 'deactivated' END,
               u.last_login
        FROM school.users u JOIN school.roles r ON r.id = u.role_id
        LEFT JOIN school.online_status o ON o.user_id = u.id
        ORDER BY r.name = 'Student', r.id, u.last_name, u.first_name, u.id LIMIT %s
        """,
        (limit,),
    ).fetchall()
    return [(*row[:-1], row[-1] and row[-1].astimezone().date()) for row in rows]


@dataclass(frozen=True)
class PersonRow:
    """One person as the Admin's People screen lists them."""

    id: int
    first_name: str
    last_name: str
    email: str
    role: str
    is_active: bool
    must_change_password: bool
    last_login: object  # datetime | None
    status: str = "offline"  # presence: 'online' | 'away' | 'offline' (online_status)
    # refusing every password after repeated wrong ones (school.locked_logins, db/lockout.py)
    locked: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def account(self) -> str:
        if not self.is_active:
            return "deactivated"
        if self.locked:
            return "locked"
        return "must change password" if self.must_change_password else "active"

    @property
    def key(self) -> tuple[str, str, int]:
        """Where the next page starts after this row (the order of search_people)."""
        return (self.last_name, self.first_name, self.id)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_people(
    conn: psycopg.Connection,
    text: str = "",
    role: str | None = None,
    *,
    after: tuple[str, str, int] | None = None,
    limit: int = 100,
) -> list[PersonRow]:
    """People whose name or email contains `text` (any case), of `role` if given, in
    (last name, first name, id) order; `after` is the last row's key of the previous page
    (keyset paging: no OFFSET, so a page costs the same wherever it starts)."""
    words = text.split()
    conditions = []
    params: list[object] = []
    for word in words:  # every word somewhere in the name or the email
        conditions.append(
            "(u.first_name ILIKE %s ESCAPE '\\' OR u.last_name ILIKE %s ESCAPE '\\' "
            "OR u.email ILIKE %s ESCAPE '\\')"
        )
        params += [_like_pattern(word)] * 3
    if role:
        conditions.append("r.name = %s")
        params.append(role)
    if after is not None:
        conditions.append("(u.last_name, u.first_name, u.id) > (%s, %s, %s)")
        params += list(after)
    where = sql.SQL(" AND ").join(map(sql.SQL, conditions)) if conditions else sql.SQL("true")
    params.append(limit)
    query = sql.SQL(
        "SELECT u.id, u.first_name, u.last_name, u.email, r.name AS role, u.is_active, "
        "u.must_change_password, u.last_login, coalesce(o.status, 'offline') AS status, "
        "l.user_id IS NOT NULL AS locked "
        "FROM school.users u JOIN school.roles r ON r.id = u.role_id "
        "LEFT JOIN school.online_status o ON o.user_id = u.id "
        "LEFT JOIN school.locked_logins() l ON l.user_id = u.id WHERE {} "
        "ORDER BY u.last_name, u.first_name, u.id LIMIT %s"
    ).format(where)
    with conn.cursor(row_factory=class_row(PersonRow)) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def role_names(conn: psycopg.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT name FROM school.roles ORDER BY id")]
