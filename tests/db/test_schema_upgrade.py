"""A school made by the first chain of schema files (version 13, as `make run` left it, with
the demo school in it) is carried forward by `db upgrade`: afterwards its catalog is that of a
fresh install (functions, policies, privileges, columns, constraints, indexes, triggers) and
every row it had is still there."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from school_tui.db import bootstrap
from school_tui.db.connect import RoleNames
from tests.db import catalog, old_chain


@pytest.fixture
def old_school(pg_server):
    """A version-13 database of its own prefix, with the demo school loaded."""
    from school_tui.server import demo

    roles = RoleNames("v" + secrets.token_hex(3))
    dbname = f"{roles.prefix}_old"
    with pg_server.admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    conn = psycopg.connect(make_conninfo(pg_server.admin_conninfo, dbname=dbname), autocommit=True)
    try:
        old_chain.build(conn, roles)
        demo.load(conn)
        yield conn, roles
    finally:
        conn.close()
        _drop(pg_server, dbname, roles)


def _drop(pg_server, dbname: str, roles: RoleNames) -> None:
    like = roles.prefix + "\\_%"
    with pg_server.admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        # logins, then groups and the pre-login role, then member, then owner
        for (role,) in conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s "
            "ORDER BY rolname NOT LIKE %s, rolname = %s, rolname = %s, rolname",
            (like, roles.prefix + "\\_u\\_%", roles.member, roles.owner),
        ).fetchall():
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def rows(conn: psycopg.Connection, columns: dict[str, list[str]] | None = None) -> dict:
    """Per table: (row count, a digest of every row over `columns`, else all its columns)."""
    if columns is None:
        columns = {}
        for table, column in conn.execute(
            "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE c.relnamespace = 'school'::regnamespace AND c.relkind = 'r' "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
        ):
            columns.setdefault(table, []).append(column)
    found = {}
    for table, names in columns.items():
        row = sql.SQL("md5(ROW({})::text)").format(sql.SQL(", ").join(map(sql.Identifier, names)))
        found[table] = conn.execute(
            sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg({0}, ',' ORDER BY {0}), '')) FROM {1}"
            ).format(row, sql.Identifier("school", table))
        ).fetchone()
    return found, columns


def test_an_old_chain_school_upgrades_to_the_fresh_catalog_keeping_its_rows(old_school, school):
    conn, roles = old_school
    assert bootstrap.schema_version(conn) == old_chain.VERSION
    assert bootstrap.pending(old_chain.VERSION)[0] == bootstrap.SCHEMA_BASE
    before, columns = rows(conn)
    assert before["users"][0] > 240 and before["payments"][0] > 0  # the demo school is there
    old_catalog = catalog.snapshot(conn, roles.prefix)
    fresh = catalog.snapshot(school.admin, school.roles.prefix)
    assert catalog.differences(old_catalog, fresh)  # the test compares something

    assert bootstrap.upgrade(conn, roles) == bootstrap.latest_version()

    assert catalog.differences(catalog.snapshot(conn, roles.prefix), fresh) == {}
    after, _ = rows(conn, columns)
    versions = before.pop("schema_version"), after.pop("schema_version")
    assert after == before
    # one row per step: the carry-forward (SCHEMA_BASE), then each migration after it
    steps = bootstrap.pending(old_chain.VERSION)
    assert versions[1][0] == versions[0][0] + len(steps)
    recorded = [v for (v,) in conn.execute("SELECT version FROM school.schema_version ORDER BY 1")]
    assert recorded == [*range(1, old_chain.VERSION + 1), *steps]
    # the new column is there, empty: nobody has logged out since
    assert conn.execute("SELECT count(last_logout) FROM school.users").fetchone()[0] == 0


def test_upgrading_a_carried_forward_school_again_changes_nothing(old_school):
    conn, roles = old_school
    assert bootstrap.upgrade(conn, roles) == bootstrap.latest_version()
    state = catalog.snapshot(conn, roles.prefix), rows(conn)[0]
    assert bootstrap.pending(bootstrap.schema_version(conn)) == []
    assert bootstrap.upgrade(conn, roles) == bootstrap.latest_version()
    assert (catalog.snapshot(conn, roles.prefix), rows(conn)[0]) == state


def test_a_database_older_than_the_chain_is_refused(old_school):
    conn, roles = old_school
    conn.execute("DELETE FROM school.schema_version WHERE version > 12")
    with pytest.raises(bootstrap.BootstrapError, match="version 12"):
        bootstrap.upgrade(conn, roles)
    assert bootstrap.schema_version(conn) == 12


def test_schema_sql_defines_every_function_once():
    """The schema's text, its includes expanded: each function is stated exactly once."""
    text = bootstrap.schema_text()
    names = [d.split("(", 1)[0].split()[-1].lower() for d in bootstrap.function_definitions(text)]
    assert len(names) > 100
    assert sorted({n for n in names if names.count(n) > 1}) == []
    # and nothing else under sql/ (but the archive of the old chain, in tests/) defines one
    others = [
        path.name
        for path in bootstrap.sql_dir().rglob("*.sql")
        if path.name != "schema.sql"
        and path.parent.name != "schema"
        and bootstrap.function_definitions(path.read_text())
    ]
    assert others == []
