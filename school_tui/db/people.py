"""SQL for people and their logins: pre-login lookup, creating people, who am I."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row

from school_tui.passwords import derive_db_password, new_salt, unusable_db_password


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
        return conn.execute(
            "SELECT school.create_person(%s, %s, %s, %s, %s, %s, %s)",
            (role, first_name, last_name, email, salt, verifier, must_change),
        ).fetchone()[0]


def set_password(
    conn: psycopg.Connection,
    user_id: int,
    password: str,
    *,
    salt: bytes | None = None,
    temporary: bool = True,
) -> None:
    salt = salt or new_salt()
    login_role = conn.execute(
        "SELECT login_role FROM school.users WHERE id = %s", (user_id,)
    ).fetchone()[0]
    verifier = scram_verifier(conn, login_role, derive_db_password(password, salt))
    with conn.transaction():
        conn.execute("SELECT school.set_temporary_password(%s, %s, %s)", (user_id, salt, verifier))
        if not temporary:
            conn.execute(
                "UPDATE school.users SET must_change_password = false WHERE id = %s", (user_id,)
            )


def who_am_i(conn: psycopg.Connection) -> Person:
    with conn.cursor(row_factory=class_row(Person)) as cur:
        cur.execute(
            """
            SELECT u.id, u.first_name, u.last_name, u.email, r.name AS role,
                   u.must_change_password
            FROM school.users u JOIN school.roles r ON r.id = u.role_id
            WHERE u.id = school.me()
            """
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
    """People the caller may see (row-level security decides), staff first."""
    return conn.execute(
        """
        SELECT u.last_name || ', ' || u.first_name, u.email, r.name,
               CASE WHEN u.is_active THEN 'active' ELSE 'deactivated' END, u.last_login
        FROM school.users u JOIN school.roles r ON r.id = u.role_id
        ORDER BY r.name = 'Student', r.id, u.last_name, u.first_name, u.id LIMIT %s
        """,
        (limit,),
    ).fetchall()
