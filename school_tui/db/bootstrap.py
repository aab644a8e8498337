"""Creating and upgrading a school database: cluster roles, schema, ordered migrations.

Runs as the server's owner (or a DBA with superuser rights) over an admin connection.
`sql/schema.sql` states the whole current schema: it includes the per-domain files of
`sql/schema/` in order (`\\ir schema/NN_domain.sql`, as psql would) and records its version
in school.schema_version. `sql/migrations/NNNN_name.sql` holds changes made after a release,
applied in order to older databases, each in its own transaction with its version row.

A database made by the first chain of files (schema.sql at version 1 and migrations 0002 to
0013, before the schema was stated whole) is at version 13. `upgrade` recognises it by that
version and carries it forward to version 14 (`carry_forward`): every function is stated
again from the schema files, then `sql/carry_forward_v13.sql` makes the few changes of
tables, triggers and grants that version 14 has beyond 13.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from school_tui.db import deployment
from school_tui.db.connect import PRELOGIN_PASSWORD, RoleNames

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
INCLUDE = re.compile(r"^\\ir\s+(\S+)\s*$")
FUNCTION = re.compile(r"^CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\b", re.IGNORECASE)

# The first chain of files ended at CHAIN_VERSION; SCHEMA_BASE is the version sql/schema.sql
# was first stated whole at. Migrations are numbered after it.
CHAIN_VERSION = 13
SCHEMA_BASE = 14
CARRY_FORWARD = "carry_forward_v13.sql"


class BootstrapError(RuntimeError):
    """The database cannot be set up as asked; the message says why and what to do."""


def sql_dir() -> Path:
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "sql", here.parents[1] / "sql"):
        if (candidate / "schema.sql").exists():
            return candidate
    raise BootstrapError("sql/schema.sql is missing from this installation")


@dataclass(frozen=True)
class Migration:
    version: int
    path: Path


def migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or sql_dir() / "migrations"
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise BootstrapError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise BootstrapError("two migrations share a version number")
    if versions and min(versions) <= SCHEMA_BASE:
        raise BootstrapError(
            f"versions up to {SCHEMA_BASE} are sql/schema.sql's; migrations start at "
            f"{SCHEMA_BASE + 1:04d}"
        )
    return found


def latest_version(directory: Path | None = None) -> int:
    """The version a database is at once made or upgraded: the last migration's, and
    schema.sql records the same (init checks it)."""
    return max([SCHEMA_BASE, *(m.version for m in migrations(directory))])


def pending(version: int | None, directory: Path | None = None) -> list[int]:
    """The versions `upgrade` would apply to a database at `version` (None: not made yet)."""
    found = [m.version for m in migrations(directory) if version is None or m.version > version]
    if version is not None and version < SCHEMA_BASE:
        found.insert(0, SCHEMA_BASE)
    return found


def schema_text(path: Path | None = None) -> str:
    """A schema file with its `\\ir` includes replaced by the files they name (relative to
    the including file, as psql's \\ir), recursively. No other psql command is understood."""
    path = path or sql_dir() / "schema.sql"
    lines = []
    for number, line in enumerate(path.read_text().splitlines(keepends=True), 1):
        if line.startswith("\\"):
            match = INCLUDE.match(line.rstrip("\n"))
            if not match:
                raise BootstrapError(f"{path.name}:{number}: only \\ir is understood here")
            included = (path.parent / match.group(1)).resolve()
            if not included.is_file():
                raise BootstrapError(f"{path.name}:{number}: {match.group(1)} does not exist")
            lines.append(schema_text(included))
            if not lines[-1].endswith("\n"):
                lines.append("\n")
        else:
            lines.append(line)
    return "".join(lines)


def statements(text: str) -> list[str]:
    """SQL text split into statements, each without its `;`, the comments before it kept.

    Knows what may hold a `;` that ends nothing: '...' and E'...' strings, "..." names,
    $tag$...$tag$ bodies, -- and /* */ comments."""
    out = []
    start = i = 0
    n = len(text)
    dollar = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif c == "/" and text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "'":
            escapes = i > 0 and text[i - 1] in "eE" and (i < 2 or not text[i - 2].isalnum())
            i += 1
            while i < n:
                if escapes and text[i] == "\\":
                    i += 2
                elif text[i] == "'":
                    if text.startswith("''", i):
                        i += 2
                    else:
                        break
                else:
                    i += 1
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            i = n if end < 0 else end + 1
        elif (
            c == "$"
            and (match := dollar.match(text, i))
            and not (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_"))
        ):
            end = text.find(match.group(0), match.end())
            i = n if end < 0 else end + len(match.group(0))
        elif c == ";":
            out.append(text[start:i])
            i += 1
            start = i
        else:
            i += 1
    if text[start:].strip():
        out.append(text[start:])
    return [s for s in out if _code(s)]


def _code(statement: str) -> str:
    """The statement without the comments and blank lines before it."""
    lines = statement.splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip()


def function_definitions(text: str) -> list[str]:
    """Every CREATE FUNCTION of the text, as CREATE OR REPLACE FUNCTION."""
    found = []
    for statement in statements(text):
        code = _code(statement)
        if FUNCTION.match(code):
            found.append(FUNCTION.sub("CREATE OR REPLACE FUNCTION", code, count=1))
    return found


def render(text: str, roles: RoleNames, conn: psycopg.Connection) -> str:
    names = {"owner": roles.owner, "member": roles.member, "prelogin": roles.prelogin}
    names.update(roles.groups)

    def substitute(match: re.Match) -> str:
        key = match.group(1)
        if key not in names:
            raise BootstrapError(f"unknown placeholder {{{{{key}}}}} in SQL")
        return sql.Identifier(names[key]).as_string(conn)

    return PLACEHOLDER.sub(substitute, text)


def _role_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is not None


def schema_version(conn: psycopg.Connection) -> int | None:
    exists = conn.execute("SELECT to_regclass('school.schema_version') IS NOT NULL").fetchone()[0]
    if not exists:
        return None
    return conn.execute("SELECT max(version) FROM school.schema_version").fetchone()[0]


def ensure_roles(conn: psycopg.Connection, roles: RoleNames) -> None:
    """Create the school's NOLOGIN owner, its groups and the pre-login role, if missing.

    The groups are created *by the owner* (SET ROLE), so on PostgreSQL 16+ the owner holds
    ADMIN OPTION on them and its SECURITY DEFINER functions can grant them to new logins.
    """
    ident = sql.Identifier
    if not _role_exists(conn, roles.owner):
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN CREATEROLE").format(ident(roles.owner)))
    conn.execute(sql.SQL("SET ROLE {}").format(ident(roles.owner)))
    try:
        if not _role_exists(conn, roles.member):
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(ident(roles.member)))
        for group in roles.groups.values():
            if not _role_exists(conn, group):
                conn.execute(
                    sql.SQL("CREATE ROLE {} NOLOGIN IN ROLE {}").format(
                        ident(group), ident(roles.member)
                    )
                )
        if not _role_exists(conn, roles.prelogin):
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOINHERIT PASSWORD {}").format(
                    ident(roles.prelogin), sql.Literal(PRELOGIN_PASSWORD)
                )
            )
    finally:
        conn.execute("RESET ROLE")


def grant_database_access(
    conn: psycopg.Connection, dbname: str, roles: RoleNames, lock_down_server: bool = False
) -> None:
    """Only this school's roles may connect to its database, and nobody may make temp tables.

    Database privileges are not copied by CREATE DATABASE ... TEMPLATE, so the test harness
    calls this for each clone too. `lock_down_server` (embedded server only: we own it) also
    closes the maintenance databases to PUBLIC.
    """
    db = sql.Identifier(dbname)
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
    conn.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(
            db, sql.Identifier(roles.member), sql.Identifier(roles.prelogin)
        )
    )
    if lock_down_server:
        for other in ("postgres", "template1"):
            conn.execute(
                sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                    sql.Identifier(other)
                )
            )


# The statistics views that show when each table was written (a guidance report saved, a
# payment posted, a message sent) and the functions under them, which PostgreSQL lets every
# role read. A school database closes them to PUBLIC; its owner and the server's monitoring
# roles (pg_monitor, pg_read_all_stats) still read them.
STATISTICS_VIEWS = tuple(
    f"pg_catalog.{kind}_{scope}_{what}"
    for kind, whats in (
        ("pg_stat", ("tables", "indexes", "functions")),
        ("pg_stat_xact", ("tables", "functions")),
        ("pg_statio", ("tables", "indexes", "sequences")),
    )
    for what in whats
    for scope in ("all", "user", "sys")
    if not (what == "functions" and scope != "user")
)
_STATISTICS_FUNCTIONS = """
    SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
    WHERE p.pronamespace = 'pg_catalog'::regnamespace
      AND (p.proname LIKE 'pg\\_stat\\_get\\_%' OR p.proname LIKE 'pg\\_stat\\_get\\_xact\\_%')
      AND p.pronargs = 1 AND p.proargtypes[0] = 'oid'::regtype
      AND p.proname NOT LIKE 'pg\\_stat\\_get\\_backend%'
      AND p.proname NOT LIKE 'pg\\_stat\\_get\\_db\\_%'
      AND p.proname NOT LIKE 'pg\\_stat\\_get\\_subscription%'
      AND p.proname NOT LIKE 'pg\\_stat\\_get\\_replication%'
    ORDER BY 1
"""


def _statistics_objects(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(kind, name) of every view and function STATISTICS_VIEWS names on this server."""
    views = [
        ("TABLE", name)
        for name in STATISTICS_VIEWS
        if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]
    ]
    functions = [("FUNCTION", row[0]) for row in conn.execute(_STATISTICS_FUNCTIONS)]
    return views + functions


def public_statistics(conn: psycopg.Connection) -> list[str]:
    """The statistics views and functions of this database that PUBLIC may still read."""
    public = []
    for kind, name in _statistics_objects(conn):
        query = (
            "SELECT has_table_privilege('public', %s, 'SELECT')"
            if kind == "TABLE"
            else "SELECT has_function_privilege('public', %s, 'EXECUTE')"
        )
        if conn.execute(query, (name,)).fetchone()[0]:
            public.append(name)
    return public


def hide_statistics(conn: psycopg.Connection, roles: RoleNames) -> bool:
    """Close the write-activity statistics of this database to PUBLIC (the school's owner
    keeps them). Only their owner, a superuser, may; returns whether it was done."""
    superuser = conn.execute(
        "SELECT rolsuper FROM pg_roles WHERE rolname = session_user"
    ).fetchone()[0]
    if not superuser:
        return False
    # As the superuser itself: a migration's SET LOCAL ROLE lasts to its transaction's end.
    conn.execute("SET LOCAL ROLE NONE")
    owner = sql.Identifier(roles.owner)
    for kind, name in _statistics_objects(conn):
        target = sql.SQL(name)  # a regclass / regprocedure text: already quoted
        conn.execute(sql.SQL("REVOKE ALL ON {} {} FROM PUBLIC").format(sql.SQL(kind), target))
        privilege = "SELECT" if kind == "TABLE" else "EXECUTE"
        conn.execute(
            sql.SQL("GRANT {} ON {} {} TO {}").format(
                sql.SQL(privilege), sql.SQL(kind), target, owner
            )
        )
    return True


# What would tell the public pre-login role (or anyone outside the school's groups) which
# logins exist, their groups and who is online: readable by PUBLIC in every new database.
# In the school's database only the school's groups and owner may read them (privileges on
# pg_catalog are per database; a clone of it keeps them). See docs/security-model.md,
# "Account enumeration", for what still tells a real login from a decoy.
ACCOUNT_CATALOGS = ("pg_roles", "pg_user", "pg_auth_members", "pg_group", "pg_stat_activity")
ACCOUNT_FUNCTIONS = (
    "pg_get_userbyid(oid)",
    "pg_stat_get_activity(integer)",
    "pg_stat_get_backend_userid(integer)",
)


def hide_accounts(conn: psycopg.Connection, roles: RoleNames) -> bool:
    """As a superuser, in the school's database: the account catalogs for the school only.
    Returns whether it was done (a DBA who is no superuser is told by `db status`)."""
    if conn.execute("SELECT current_setting('is_superuser')").fetchone()[0] != "on":
        return False
    readers = sql.SQL(", ").join([sql.Identifier(roles.member), sql.Identifier(roles.owner)])
    for view in ACCOUNT_CATALOGS:
        name = sql.Identifier("pg_catalog", view)
        conn.execute(sql.SQL("REVOKE SELECT ON {} FROM PUBLIC").format(name))
        conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(name, readers))
    for function in ACCOUNT_FUNCTIONS:
        signature = sql.SQL("pg_catalog." + function)
        conn.execute(sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC").format(signature))
        conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(signature, readers))
    return True


# The login guard (PostgreSQL 17+: login event triggers): a person's session whose password
# verifier is not the one the school's functions last set (credentials.verifier_sha) is
# refused, so ALTER ROLE CURRENT_USER PASSWORD, which skips argon2 and the password policy,
# only locks the person out until an Admin resets their password. Made by a superuser:
# only a superuser reads pg_authid or makes event triggers. Its own schema, owned by the
# superuser, so the school's owner cannot replace it. Any other error lets the login in:
# the guard must never be what stops a school.
LOGIN_GUARD_SCHEMA = "school_login_guard"
LOGIN_GUARD = """
CREATE SCHEMA IF NOT EXISTS school_login_guard;
REVOKE ALL ON SCHEMA school_login_guard FROM PUBLIC;
CREATE OR REPLACE FUNCTION school_login_guard.check_login() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $guard$
DECLARE
    v_recorded bytea;
    v_actual text;
BEGIN
    BEGIN
        SELECT c.verifier_sha INTO v_recorded
          FROM school.users u JOIN school.credentials c ON c.user_id = u.id
         WHERE u.login_role = session_user;
        IF v_recorded IS NULL THEN
            RETURN;
        END IF;
        SELECT rolpassword INTO v_actual FROM pg_catalog.pg_authid WHERE rolname = session_user;
    EXCEPTION WHEN others THEN
        RETURN;
    END;
    IF v_actual IS NULL OR sha256(convert_to(v_actual, 'UTF8')) <> v_recorded THEN
        RAISE EXCEPTION 'password authentication failed for user "%"', session_user
            USING ERRCODE = 'invalid_password',
                  DETAIL = 'the password was not set through the school''s functions';
    END IF;
END
$guard$;
REVOKE ALL ON FUNCTION school_login_guard.check_login() FROM PUBLIC;
"""
LOGIN_GUARD_TRIGGER = "school_login_guard"


def install_login_guard(conn: psycopg.Connection) -> bool:
    """As a superuser, in the school's database. False where the server has no login event
    triggers (before PostgreSQL 17) or the connection is no superuser's."""
    if conn.info.server_version < 170000:
        return False
    if conn.execute("SELECT current_setting('is_superuser')").fetchone()[0] != "on":
        return False
    conn.execute(LOGIN_GUARD)
    exists = conn.execute(
        "SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = %s", (LOGIN_GUARD_TRIGGER,)
    ).fetchone()
    if not exists:
        conn.execute(
            sql.SQL("CREATE EVENT TRIGGER {} ON login EXECUTE FUNCTION {}").format(
                sql.Identifier(LOGIN_GUARD_TRIGGER),
                sql.SQL("school_login_guard.check_login()"),
            )
        )
    return True


def _check_prefix_free(conn: psycopg.Connection, dbname: str, roles: RoleNames) -> None:
    if not _role_exists(conn, roles.member):
        return
    others = conn.execute(
        """
        SELECT d.datname FROM pg_database d, aclexplode(d.datacl) a
        WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = %s)
          AND a.privilege_type = 'CONNECT' AND d.datname <> %s
        """,
        (roles.member, dbname),
    ).fetchall()
    if others:
        raise BootstrapError(
            f"role prefix {roles.prefix!r} already belongs to database {others[0][0]!r}; "
            "give this school its own prefix (--role-prefix) so people of one school cannot "
            "connect to the other"
        )


def init(conn: psycopg.Connection, roles: RoleNames, lock_down_server: bool = False) -> int:
    """Create roles, schema and functions in the connected database. Returns the version.

    Idempotent: on an initialised database it only applies pending migrations.
    """
    dbname = conn.info.dbname
    with conn.transaction():
        _check_prefix_free(conn, dbname, roles)
        ensure_roles(conn, roles)
        grant_database_access(conn, dbname, roles, lock_down_server)
        hide_accounts(conn, roles)
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        if schema_version(conn) is None:
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS school AUTHORIZATION {}").format(
                    sql.Identifier(roles.owner)
                )
            )
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(roles.owner)))
            conn.execute(render(schema_text(), roles, conn))
            conn.execute("INSERT INTO school.instance (role_prefix) VALUES (%s)", (roles.prefix,))
            conn.execute("RESET ROLE")
            conn.execute("RESET search_path")
            conn.execute("RESET check_function_bodies")
            made = schema_version(conn)
            if made != latest_version():
                raise BootstrapError(
                    f"sql/schema.sql records version {made}, but the migrations go to "
                    f"{latest_version()}: a change made by a migration belongs in the schema "
                    "files too, with schema.sql's version raised to the migration's"
                )
    return upgrade(conn, roles)


def upgrade(conn: psycopg.Connection, roles: RoleNames, directory: Path | None = None) -> int:
    """Apply every migration newer than the database's version, in order. Returns the version.

    A database of the first chain (version 13) is carried forward to version 14 first."""
    current = schema_version(conn)
    if current is None:
        raise BootstrapError("this database has no school schema yet: run `school-tui db init`")
    ensure_trigram(conn)
    # Per database, so at every init and upgrade (a DBA who is no superuser is told by
    # `db status` that they stay open).
    deployment.close_large_objects(conn)
    deployment.let_the_owner_end_stuck_sessions(conn, roles)
    # as the connected superuser, before any migration's SET LOCAL ROLE (which, inside a
    # caller's transaction, lasts to its end)
    hide_accounts(conn, roles)
    install_login_guard(conn)
    if current < SCHEMA_BASE:
        if current != CHAIN_VERSION:
            raise BootstrapError(
                f"this database is at schema version {current}, older than the last version "
                f"({CHAIN_VERSION}) of the files that made it; upgrade it to {CHAIN_VERSION} "
                "with an earlier school-tui first"
            )
        carry_forward(conn, roles)
        current = SCHEMA_BASE
    for migration in migrations(directory):
        if migration.version <= current:
            continue
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(roles.owner)))
            conn.execute("SET LOCAL search_path = school, pg_catalog")
            restate_functions(conn, roles)
            conn.execute(render(migration.path.read_text(), roles, conn))
            # as schema.sql ends: a function made above is nobody's but through its grants
            conn.execute("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA school FROM PUBLIC")
            conn.execute(
                "INSERT INTO school.schema_version (version, description) VALUES (%s, %s)",
                (migration.version, migration.path.stem.split("_", 1)[1].replace("_", " ")),
            )
        current = migration.version
    with conn.transaction():
        hide_statistics(conn, roles)
    _ensure_search_index(conn, roles)
    return current


def restate_functions(conn: psycopg.Connection, roles: RoleNames) -> None:
    """State every function again from the schema files (CREATE OR REPLACE keeps its owner,
    grants and the triggers that call it), in the current transaction, as the owner.

    Functions are code, defined once, in sql/schema/: a migration holds the changes of
    tables, triggers, grants and rows, and finds the functions as the schema states them (a
    new one without grants: the migration grants it). A function whose arguments change is
    made beside the old one, which the migration drops; one whose result type changes needs
    the old one dropped first, which this order cannot do yet."""
    conn.execute("SET LOCAL check_function_bodies = off")
    for definition in function_definitions(render(schema_text(), roles, conn)):
        conn.execute(definition)
    conn.execute("RESET check_function_bodies")


def carry_forward(conn: psycopg.Connection, roles: RoleNames) -> None:
    """Bring a version-13 database to version 14, in one transaction, keeping every row.

    Version 14's catalog is version 13's but for a few changes. Functions are code: each is
    stated again from the schema files (CREATE OR REPLACE keeps its owner, grants and the
    triggers that call it). The rest of the difference is `sql/carry_forward_v13.sql`."""
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(roles.owner)))
        conn.execute("SET LOCAL search_path = school, pg_catalog")
        restate_functions(conn, roles)
        conn.execute(render((sql_dir() / CARRY_FORWARD).read_text(), roles, conn))
        conn.execute(
            "INSERT INTO school.schema_version (version, description) VALUES (%s, %s)",
            (SCHEMA_BASE, "carried forward from the first chain of files (version 13)"),
        )


def ensure_trigram(conn: psycopg.Connection) -> bool:
    """Create pg_trgm (in schema public) where the server has it, as the connected user.

    pg_trgm is a trusted extension (PostgreSQL 13+), but the school's owner has no CREATE on
    the database, so the superuser who runs migrations creates it, before SET ROLE. Where it
    cannot be created (not available, no right), student search works without its index.
    """
    row = conn.execute(
        "SELECT installed_version IS NOT NULL FROM pg_available_extensions WHERE name = 'pg_trgm'"
    ).fetchone()
    if row is None:
        return False
    if row[0]:
        return True
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    except psycopg.Error:
        return False
    return True


def _ensure_search_index(conn: psycopg.Connection, roles: RoleNames) -> None:
    """The trigram index of student search, once pg_trgm is there (a later upgrade adds it
    when a DBA installs the extension after the schema was made)."""
    exists = conn.execute(
        "SELECT to_regprocedure('school.ensure_search_index()') IS NOT NULL"
    ).fetchone()[0]
    if not exists:
        return
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(roles.owner)))
        conn.execute("SELECT school.ensure_search_index()")


def status(conn: psycopg.Connection, roles: RoleNames | None = None) -> dict:
    """The server, the schema's version, people per role and, given the school's `roles`,
    what the server allows that it should not (`deployment.check`)."""
    version = schema_version(conn)
    info = {
        "server": conn.execute("SHOW server_version").fetchone()[0],
        "database": conn.info.dbname,
        "schema_version": version,
        "pending_migrations": pending(version),
    }
    if version is not None:
        info["role_prefix"] = conn.execute("SELECT role_prefix FROM school.instance").fetchone()[0]
        # What PUBLIC can still read of when each table was written: a DBA revokes it
        # (`db upgrade` as a superuser does).
        info["statistics_open_to_everyone"] = public_statistics(conn)
        info["people_by_role"] = dict(
            conn.execute(
                "SELECT r.name, count(u.id) FROM school.roles r "
                "LEFT JOIN school.users u ON u.role_id = r.id GROUP BY r.id, r.name ORDER BY r.id"
            ).fetchall()
        )
        from school_tui.db import security

        info["prelogin_role"] = security.prelogin_deployment(
            conn, RoleNames(info["role_prefix"]).prelogin
        )
    if roles is not None:
        info["deployment_problems"] = [str(f) for f in deployment.check(conn, roles)]
    return info
