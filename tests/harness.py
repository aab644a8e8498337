"""The test harness: one PostgreSQL per test session, a template school, a clone per test.

- The server is the one named by SCHOOL_TUI_TEST_DSN (a superuser conninfo to any database
  on it), or else an embedded server of our own in a temporary directory.
- The schema is applied once per session into a template database; each test gets a fresh
  database cloned from it (CREATE DATABASE ... TEMPLATE, milliseconds).
- The deterministic demo school (school_tui.server.demo) is loaded at most once per session, into a
  second template cloned from the first; `create(demo=True)` clones that one.
- Each session has its own role prefix, so sessions running at once (xdist workers, CI's two
  servers) never share roles; the people a test creates get their own login roles, which are
  dropped with the test's database.
- Login roles are cluster-wide, so every clone of the demo template shares the template's demo
  logins: a test's drop leaves those alone (and puts back their password and LOGIN flag if the
  test changed them); SchoolFactory.close drops everything with the session's prefix.
"""

from __future__ import annotations

import functools
import itertools
import os
import secrets
import time
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
    from school_tui.server.embedded import EmbeddedServer

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
            "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust' "
            "AND user_name <> ARRAY['/_prelogin$']"  # the pre-login role's password is public
        ).fetchone()[0]
    server.trusts_everyone = rules > 0
    return server


@dataclass
class School:
    """One test's database: a clone of the template, with helpers to add people."""

    server: Server
    dbname: str
    roles: RoleNames
    demo: bool = False  # cloned from the demo template (school_tui.server.demo)
    _admin: psycopg.Connection | None = None
    passwords: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.demo:
            from school_tui.server import demo

            self.passwords.update(dict.fromkeys(demo.DEMO_LOGINS, demo.DEMO_PASSWORD))

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

    def user_id(self, email: str) -> int:
        row = self.admin.execute(
            "SELECT id FROM school.users WHERE lower(email) = lower(%s)", (email,)
        ).fetchone()
        if row is None:
            raise LookupError(f"nobody has the email {email!r} in {self.dbname}")
        return row[0]

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
        password = password or self.passwords.get(row[2], DEMO_PASSWORD)
        return psycopg.connect(
            self.target.person(row[0], _derived(password, bytes(row[1]))), **kwargs
        )

    def close(self) -> None:
        if self._admin is not None and not self._admin.closed:
            self._admin.close()


def raise_write_limits(
    conn: psycopg.Connection, kind: str = "chat message", per_minute: int = 100_000
) -> None:
    """Lift a write rate (school.write_limits) for a test or benchmark that writes more a
    minute than a person may, e.g. a burst of chat messages. `conn`: the owner or a
    superuser (autocommit)."""
    conn.execute(
        "UPDATE school.write_limits SET per_minute = %s, chars_per_minute = %s WHERE kind = %s",
        (per_minute, per_minute * 4000, kind),
    )


@functools.lru_cache(maxsize=256)
def _derived(password: str, salt: bytes) -> str:
    """argon2 costs ~0.3 s a call: a test connecting as the same person again pays it once."""
    from school_tui.auth.passwords import derive_db_password

    return derive_db_password(password, salt)


class SchoolFactory:
    """Makes the session's templates once (the demo one only if asked for), then a clone per
    test."""

    def __init__(self, server: Server, label: str):
        self.server = server
        token = secrets.token_hex(3)
        self.roles = RoleNames(f"t{label}{token}")
        self.template = f"{self.roles.prefix}_template"
        self.demo_template = f"{self.roles.prefix}_demo"
        self._counter = itertools.count(1)
        self._made_template = False
        # The demo template's login roles as loaded: name -> (rolcanlogin, rolpassword,
        # the roles it is a member of).
        self._demo_logins: dict[str, RoleState] | None = None

    def _ensure_template(self) -> None:
        if self._made_template:
            return
        with self.server.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        with self.server.admin(self.template, autocommit=False) as conn:
            bootstrap.init(conn, self.roles)
            conn.commit()
        self._made_template = True

    def _ensure_demo_template(self) -> None:
        """The demo school, loaded once: a clone of the schema template plus demo.load()."""
        if self._demo_logins is not None:
            return
        from school_tui.server import demo

        self._ensure_template()
        with self.server.admin() as conn:
            # Made by cloning, not bootstrap.init: init refuses a prefix whose member role can
            # already connect to another database (the schema template and its clones).
            # A load that failed half-way left its database behind: start again.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.demo_template)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(self.demo_template), sql.Identifier(self.template)
                )
            )
        with self.server.admin(self.demo_template) as conn:
            bootstrap.grant_database_access(conn, self.demo_template, self.roles)
            demo.load(conn)
            conn.execute("VACUUM ANALYZE")
            logins = [row[0] for row in conn.execute("SELECT login_role FROM school.users")]
            self._demo_logins = _role_states(conn, logins)

    def create(self, demo: bool = False) -> School:
        if demo:
            self._ensure_demo_template()
        else:
            self._ensure_template()
        template = self.demo_template if demo else self.template
        dbname = f"{self.roles.prefix}_{next(self._counter)}"
        with self.server.admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(dbname), sql.Identifier(template)
                )
            )
        school = School(self.server, dbname, self.roles, demo=demo)
        bootstrap.grant_database_access(school.admin, dbname, self.roles)
        return school

    def drop(self, school: School) -> None:
        """Drop the test's database and the login roles made in it, never the template's."""
        logins = [
            row[0] for row in school.admin.execute("SELECT login_role FROM school.users").fetchall()
        ]
        school.close()
        shared = self._demo_logins or {}
        with self.server.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(school.dbname)
                )
            )
            for login in logins:
                if login not in shared:
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(login)))
            if school.demo:
                self._restore_demo_logins(conn)

    def _restore_demo_logins(self, conn: psycopg.Connection) -> None:
        """Undo what a test did to the shared demo logins (a password reset, deactivation, a
        role change: its group memberships), so the next clone finds them as loaded."""
        assert self._demo_logins is not None
        now = _role_states(conn, list(self._demo_logins))
        for login, (can_login, verifier, groups) in self._demo_logins.items():
            if now.get(login) == (can_login, verifier, groups):
                continue
            if login not in now:
                raise RuntimeError(f"a test dropped the demo template's login role {login}")
            conn.execute(
                sql.SQL("ALTER ROLE {} {} PASSWORD {}").format(
                    sql.Identifier(login),
                    sql.SQL("LOGIN" if can_login else "NOLOGIN"),
                    sql.Literal(verifier),
                )
            )
            held = now[login][2]
            # As the owner, who made them: the school's functions revoke only its own grants.
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(self.roles.owner)))
            try:
                for group in held - groups:
                    conn.execute(
                        sql.SQL("REVOKE {} FROM {}").format(
                            sql.Identifier(group), sql.Identifier(login)
                        )
                    )
                for group in groups - held:
                    conn.execute(
                        sql.SQL("GRANT {} TO {}").format(
                            sql.Identifier(group), sql.Identifier(login)
                        )
                    )
            finally:
                conn.execute("RESET ROLE")

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


RoleState = tuple[bool, str | None, frozenset[str]]


def _role_states(conn: psycopg.Connection, roles: list[str]) -> dict[str, RoleState]:
    """What a test could change about a login role: whether it may log in, its verifier, the
    roles it is a member of."""
    rows = conn.execute(
        "SELECT a.rolname, a.rolcanlogin, a.rolpassword, "
        "array(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "WHERE m.member = a.oid) FROM pg_authid a WHERE a.rolname = ANY(%s)",
        (roles,),
    ).fetchall()
    return {
        name: (can_login, verifier, frozenset(groups)) for name, can_login, verifier, groups in rows
    }


# -- driving the app with Textual's Pilot -------------------------------------------------------

WAIT_TIMEOUT = 30.0  # seconds; generous for a loaded CI machine, never a fixed sleep


async def wait_until(pilot, predicate, what: str, timeout: float = WAIT_TIMEOUT) -> None:
    """Let the app run until `predicate()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await pilot.pause()


async def burst(pilot, *keys: str) -> None:
    """Send `keys` as one burst: every key is queued at the app before it handles the first,
    as a terminal delivers a paste, `tmux send-keys`, or a fast typist's keys arriving
    together over a slow SSH link. (`pilot.press` is not a burst: it waits for the app to go
    idle after each key.) Keys are named as for `pilot.press`; a longer text is typed with
    `*"text"`. Then wait for the outcome with wait_until, never a sleep."""
    import unicodedata

    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    app = pilot.app
    for key in keys:  # built as Pilot builds them (textual.app.App._press_keys)
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        original = REPLACED_KEYS.get(key, key)
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(original))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)  # what the terminal driver does with each key read
    await pilot.pause()


def login_status(app) -> str:
    """The text of the login form's status line ('' when not on the login screen)."""
    from school_tui.screens.auth.login import LoginScreen

    if not isinstance(app.screen, LoginScreen):
        return ""
    return str(app.screen.query_one("#login-status").render()).strip()


def home_loaded(app) -> bool:
    """The app shows a role's home, every one of its tables has its rows and the title bar
    its unread total."""
    from textual.widgets import DataTable

    from school_tui.screens.homes.base import RoleHome
    from school_tui.widgets.title import UnreadBadge

    screen = app.screen
    return (
        isinstance(screen, RoleHome)
        and screen.shows_all_rows()
        and not any(t.loading for t in screen.query(DataTable))
        and all(badge.count is not None for badge in screen.query(UnreadBadge))
    )


async def submit_login(pilot, email: str, password: str, typed: bool = False) -> None:
    """Fill in the login form and press Enter in each field, as a person would.

    `typed=True` presses one key per character (about 60 ms a key under Pilot); otherwise
    each field gets its whole text at once, like a paste.
    """
    from textual.widgets import Input

    from school_tui.screens.auth.login import LoginScreen

    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
    for field_id, text in (("email", email), ("password", password)):
        field = app.screen.query_one(f"#{field_id}", Input)
        await wait_until(pilot, lambda field=field: app.focused is field, f"focus on {field_id}")
        if typed:
            await pilot.press(*text)
        else:
            field.value = text
            field.cursor_position = len(text)
        await pilot.press("enter")


async def log_in(pilot, email: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form and wait until the role's home shows its data."""
    await submit_login(pilot, email, password)
    await wait_until(pilot, lambda: home_loaded(pilot.app), f"the home of {email}")


def table_rows(app, table_id: str) -> list[list[str]]:
    """The rows of a DataTable on the current screen, as the strings shown."""
    from textual.widgets import DataTable

    table = app.screen.query_one(f"#{table_id}", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


# -- the ledger ----------------------------------------------------------------------------------


def assert_ledger_invariants(conn) -> None:
    """The books add up (school_tui.db.ledger.invariant_violations: one query). Call it after
    every test that writes money; `conn` sees every ledger row (the superuser's does)."""
    from school_tui.db import ledger

    violations = ledger.invariant_violations(conn)
    assert violations == [], "the ledger does not add up:\n" + "\n".join(
        f"  {rule} (row {row_id}): {detail}" for rule, row_id, detail in violations
    )


def wait_until_sql(conn, query: str, *params, timeout: float = WAIT_TIMEOUT) -> None:
    """Poll a boolean query (on another connection) until it holds: for states another
    session reaches, such as waiting on a lock."""
    deadline = time.monotonic() + timeout
    while not conn.execute(query, params).fetchone()[0]:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for: {query}")
        time.sleep(0.02)


def screen_lines(app) -> list[str]:
    """The screen as drawn, a line of text per terminal row (what a person reads)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
