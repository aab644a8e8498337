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

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from school_tui.server.config import EMBEDDED_DBNAME, Config

if TYPE_CHECKING:
    from school_tui.server.embedded import EmbeddedServer

# The pre-login role's password is public by design: that role can call one function, which
# answers any email with a login name and salt (real or decoy). Knowing it gains nothing.
PRELOGIN_PASSWORD = "school-tui-prelogin"
APPLICATION_NAME = "school-tui"
SESSION_OPTIONS = "-c search_path=school"


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
    """Where one school's database is. Building one opens nothing."""

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
        return conninfo_to_dict(self.base_conninfo).get("dbname")  # type: ignore[return-value]

    def admin(self, **overrides) -> str:
        return make_conninfo(self.base_conninfo, application_name=APPLICATION_NAME, **overrides)

    def prelogin(self) -> str:
        return self.person(self.roles.prelogin, PRELOGIN_PASSWORD)

    def person(self, login_role: str, password: str) -> str:
        return make_conninfo(
            self.base_conninfo,
            user=login_role,
            password=password,
            application_name=APPLICATION_NAME,
            options=SESSION_OPTIONS,
            connect_timeout=10,
        )
