"""A school database as the first chain of SQL files made it: version 13, the state a user's
`make run` left before the schema was stated whole in sql/schema.sql.

The chain (schema.sql at version 1, then sql/migrations/0002..0013) is kept as a compressed
archive, tests/db/fixtures/chain_v13.tar.gz, so the tree's SQL text defines each function once.
`build` applies it the way bootstrap applied it then: the roles, the database's privileges,
schema.sql as the owner, the instance row, then each migration as the owner in its own
transaction with its row in school.schema_version.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import psycopg
from psycopg import sql

from school_tui.db import bootstrap
from school_tui.db.connect import RoleNames

ARCHIVE = Path(__file__).parent / "fixtures" / "chain_v13.tar.gz"
MIGRATION_NAME = re.compile(r"^sql/migrations/(\d{4})_([a-z0-9_]+)\.sql$")
VERSION = 13


def chain() -> tuple[str, list[tuple[int, str, str]]]:
    """schema.sql's text, and (version, description, text) of each migration in order."""
    schema = ""
    migrations = []
    with tarfile.open(ARCHIVE, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            text = archive.extractfile(member).read().decode()
            if member.name == "sql/schema.sql":
                schema = text
            elif match := MIGRATION_NAME.match(member.name):
                migrations.append((int(match.group(1)), match.group(2).replace("_", " "), text))
    migrations.sort()
    assert schema and [v for v, _, _ in migrations] == list(range(2, VERSION + 1))
    return schema, migrations


def build(conn: psycopg.Connection, roles: RoleNames, upto: int = VERSION) -> None:
    """Make the connected (empty) database a school of the old chain at version `upto`, as
    the old bootstrap did."""
    schema, _ = chain()
    owner = sql.Identifier(roles.owner)
    with conn.transaction():
        bootstrap.ensure_roles(conn, roles)
        bootstrap.grant_database_access(conn, conn.info.dbname, roles)
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS school AUTHORIZATION {}").format(owner))
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(owner))
        conn.execute(bootstrap.render(schema, roles, conn))
        conn.execute("INSERT INTO school.instance (role_prefix) VALUES (%s)", (roles.prefix,))
        conn.execute("RESET ROLE")
        conn.execute("RESET search_path")
    migrate(conn, roles, upto)


def migrate(conn: psycopg.Connection, roles: RoleNames, upto: int = VERSION) -> None:
    """Apply the old chain's migrations after the database's version, up to `upto`."""
    _, migrations = chain()
    owner = sql.Identifier(roles.owner)
    current = bootstrap.schema_version(conn)
    bootstrap.ensure_trigram(conn)
    for version, description, text in migrations:
        if not current < version <= upto:
            continue
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(owner))
            conn.execute("SET LOCAL search_path = school, pg_catalog")
            conn.execute(bootstrap.render(text, roles, conn))
            conn.execute(
                "INSERT INTO school.schema_version (version, description) VALUES (%s, %s)",
                (version, description),
            )
    if conn.execute("SELECT to_regprocedure('school.ensure_search_index()')").fetchone()[0]:
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(owner))
            conn.execute("SELECT school.ensure_search_index()")
