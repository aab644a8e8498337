"""Connection strings for the three kinds of connection the app makes.

- admin: the server's owner or a DBA, for `db init/upgrade/status`, `demo`, `user add`;
- prelogin: the minimal role that may only call prelogin_lookup();
- person: a person's own login role, with the password derived on the client.

The embedded server is reached over its Unix socket; a configured server exactly as the
DSN/libpq settings say, with only user, password and our session options overridden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from school_tui.server.config import EMBEDDED_DBNAME, Config

if TYPE_CHECKING:
    from psycopg import Connection

    from school_tui.server.embedded import EmbeddedServer

__all__ = ["Connection", "Target"]  # Connection: what every db function takes, for UI hints

# The pre-login role's password is public by design: that role can call one function, which
# answers any email with a login name and salt (real or decoy). Knowing it gains nothing.
# Anyone may also change it (every role may change its own password): the embedded server's
# pg_hba trusts the pre-login role, so its password is never checked; on a server of your own
# `db status` says what the DBA must do (docs/security-model.md, "The pre-login role").
PRELOGIN_PASSWORD = "school-tui-prelogin"
APPLICATION_NAME = "school-tui"

# Startup options: settings given at connection start override the role's own defaults
# (ALTER ROLE CURRENT_USER SET ..., which every role may do to itself), so nothing the public
# pre-login role, or a person, sets on their role can make the next login fail or hang.
# Every setting a role could use to refuse or break a connection is named here.
_GUARD_OPTIONS = (
    "-c search_path=school",
    "-c idle_session_timeout=0",
    "-c local_preload_libraries=",
    "-c default_transaction_read_only=off",
    "-c row_security=on",
    "-c plpgsql.extra_errors=none",
    "-c plpgsql.extra_warnings=none",
)
SESSION_OPTIONS = " ".join(_GUARD_OPTIONS)
# The pre-login connection runs one short query: it may take a few seconds, never hang.
PRELOGIN_OPTIONS = " ".join(
    (
        *_GUARD_OPTIONS,
        "-c statement_timeout=5s",
        "-c lock_timeout=5s",
        "-c idle_in_transaction_session_timeout=5s",
    )
)


@dataclass(frozen=True)
class RoleNames:
    """Cluster-wide role names of one school, all derived from its prefix."""

    prefix: str

    @property
    def owner(self) -> str:
        return f"{self.prefix}_owner"

    @property
    def member(self) -> str:
        return f"{self.prefix}_member"

    @property
    def prelogin(self) -> str:
        return f"{self.prefix}_prelogin"

    def group(self, key: str) -> str:
        return f"{self.prefix}_{key}"

    @property
    def groups(self) -> dict[str, str]:
        """Template placeholder -> role name, for every group role."""
        return {key: self.group(key) for key in GROUP_KEYS}


# App role name -> group key (and placeholder in sql/*.sql).
APP_ROLE_GROUP = {
    "Admin": "admin",
    "Principal": "principal",
    "Academic Coordinator": "coordinator",
    "Teacher": "teacher",
    "Student": "student",
    "Guidance": "guidance",
    "Registrar": "registrar",
    "Accounting": "accounting",
}
GROUP_KEYS = tuple(APP_ROLE_GROUP.values())


@dataclass(frozen=True)
class Target:
    """Where one school's database is. Building one opens nothing and imports no psycopg
    (the app builds it before its login form shows); the conninfo methods import it."""

    base_conninfo: str  # host/port/dbname (and, for admin use, user/password)
    roles: RoleNames
    embedded_server: EmbeddedServer | None = None  # when we run our own

    @classmethod
    def from_config(cls, config: Config) -> Target:
        roles = RoleNames(config.role_prefix)
        if config.embedded:
            from school_tui.server.embedded import EmbeddedServer, default_data_dir

            server = EmbeddedServer(config.embedded_data_dir or default_data_dir())
            return cls(server.conninfo(dbname=EMBEDDED_DBNAME), roles, server)
        return cls(config.dsn or "", roles)

    @property
    def dbname(self) -> str | None:
        from psycopg.conninfo import conninfo_to_dict

        return conninfo_to_dict(self.base_conninfo).get("dbname")  # type: ignore[return-value]

    def admin(self, **overrides) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self.base_conninfo, application_name=APPLICATION_NAME, **overrides)

    def prelogin(self) -> str:
        return self.person(self.roles.prelogin, PRELOGIN_PASSWORD, options=PRELOGIN_OPTIONS)

    def person(self, login_role: str, password: str, options: str = SESSION_OPTIONS) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            self.base_conninfo,
            user=login_role,
            password=password,
            application_name=APPLICATION_NAME,
            options=options,
            connect_timeout=10,
        )


def ping(conn: Connection) -> None:
    """One round trip: raises if the connection does not work."""
    conn.execute("SELECT 1")
