"""The test harness: one PostgreSQL per test session, a template school, a clone per test.

- The server is the one named by SCHOOL_TUI_TEST_DSN (a superuser conninfo to any database
  on it), or else an embedded server of our own in a temporary directory.
- The schema is applied once per session into a template database; each test gets a fresh
  database cloned from it (CREATE DATABASE ... TEMPLATE, milliseconds).
- Each session has its own role prefix, so sessions running at once (xdist workers, CI's two
  servers) never share roles; the people a test creates get their own login roles, which are
  dropped with the test's database.
"""

from __future__ import annotations

import itertools
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from school_tui.db import bootstrap, people
from school_tui.db.connect import RoleNames, Target

TEST_DSN_VAR = "SCHOOL_TUI_TEST_DSN"
DEMO_PASSWORD = "school-tui-demo"


@dataclass
class Server:
    """A PostgreSQL server the tests may create databases and roles on."""

    admin_conninfo: str  # superuser, any database
    embedded: object | None = None  # EmbeddedServer when we started it
    trusts_everyone: bool = False

    def admin(self, dbname: str = "postgres", autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(
            make_conninfo(self.admin_conninfo, dbname=dbname), autocommit=autocommit
        )

    @property
    def major_version(self) -> int:
        with self.admin() as conn:
            return conn.info.server_version // 10000


def start_embedded(directory: Path) -> Server:
    from school_tui.embedded import EmbeddedServer

    server = EmbeddedServer(directory)
    server.ensure_running()
    return Server(server.conninfo(), embedded=server)


def server_from_env() -> Server | None:
    dsn = os.environ.get(TEST_DSN_VAR)
    if not dsn:
        return None
    server = Server(dsn)
    with server.admin() as conn:
        # A server whose pg_hba trusts local connections accepts any password: tests that
        # check passwords then use an embedded server instead (see the fixtures).
        rules = conn.execute(
            "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust'"
        ).fetchone()[0]
    server.trusts_everyone = rules > 0
    return server


@dataclass
class School:
    """One test's database: a clone of the template, with helpers to add people."""

    server: Server
    dbname: str
    roles: RoleNames
    _admin: psycopg.Connection | None = None
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> Target:
        return Target(
            make_conninfo(self.server.admin_conninfo, dbname=self.dbname),
            self.roles,
            self.server.embedded,
        )

    @property
    def admin(self) -> psycopg.Connection:
        """A superuser connection to this school's database (autocommit)."""
        if self._admin is None or self._admin.closed:
            self._admin = self.server.admin(self.dbname)
        return self._admin

    def add_person(
        self,
        role: str,
        email: str | None = None,
        password: str | None = DEMO_PASSWORD,
        first_name: str = "Test",
        last_name: str | None = None,
    ) -> int:
        email = email or f"{role.split()[-1].lower()}.{secrets.token_hex(3)}@test.school"
        user_id = people.create_person(
            self.admin,
            role=role,
            first_name=first_name,
            last_name=last_name or role.replace(" ", ""),
            email=email,
            password=password,
            must_change=False,
        )
        if password is not None:
            self.passwords[email] = password
        return user_id

    def login_role(self, user_id: int) -> str:
        return self.admin.execute(
            "SELECT login_role FROM school.users WHERE id = %s", (user_id,)
        ).fetchone()[0]

    def connect_as(self, user_id: int, password: str | None = None, **kwargs) -> psycopg.Connection:
        """A real connection as the person's own login role (what psql would do)."""
        row = self.admin.execute(
            "SELECT u.login_role, c.salt, u.email FROM school.users u "
            "JOIN school.credentials c ON c.user_id = u.id WHERE u.id = %s",
            (user_id,),
        ).fetchone()
        from school_tui.passwords import derive_db_password

        password = password or self.passwords.get(row[2], DEMO_PASSWORD)
        return psycopg.connect(
            self.target.person(row[0], derive_db_password(password, bytes(row[1]))), **kwargs
        )

    def close(self) -> None:
        if self._admin is not None and not self._admin.closed:
            self._admin.close()


class SchoolFactory:
    """Makes the session's template once, then a clone per test."""

    def __init__(self, server: Server, label: str):
        self.server = server
        token = secrets.token_hex(3)
        self.roles = RoleNames(f"t{label}{token}")
        self.template = f"{self.roles.prefix}_template"
        self._counter = itertools.count(1)
        self._made_template = False

    def _ensure_template(self) -> None:
        if self._made_template:
            return
        with self.server.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        with self.server.admin(self.template, autocommit=False) as conn:
            bootstrap.init(conn, self.roles)
            conn.commit()
        self._made_template = True

    def create(self) -> School:
        self._ensure_template()
        dbname = f"{self.roles.prefix}_{next(self._counter)}"
        with self.server.admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(dbname), sql.Identifier(self.template)
                )
            )
        school = School(self.server, dbname, self.roles)
        bootstrap.grant_database_access(school.admin, dbname, self.roles)
        return school

    def drop(self, school: School) -> None:
        logins = [
            row[0] for row in school.admin.execute("SELECT login_role FROM school.users").fetchall()
        ]
        school.close()
        with self.server.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(school.dbname)
                )
            )
            for login in logins:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(login)))

    def close(self) -> None:
        """Drop everything this session made: databases first, then its roles."""
        with self.server.admin() as conn:
            databases = [
                row[0]
                for row in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s",
                    (self.roles.prefix + "\\_%",),
                ).fetchall()
            ]
            for dbname in databases:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(dbname)
                    )
                )
            leftover = [
                row[0]
                for row in conn.execute(
                    "SELECT rolname FROM pg_roles WHERE rolname LIKE %s ORDER BY "
                    "rolname = %s, rolname = %s",
                    (self.roles.prefix + "\\_%", self.roles.member, self.roles.owner),
                ).fetchall()
            ]
            for role in leftover:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
