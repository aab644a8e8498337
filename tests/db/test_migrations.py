"""bootstrap.upgrade: ordered migrations, each in its own transaction with its version row.

(A database of the first chain of files, version 13, is carried forward: test_schema_upgrade.)
"""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg import sql

from school_tui.db import bootstrap


def versions(conn: psycopg.Connection) -> list[tuple[int, str]]:
    return conn.execute(
        "SELECT version, description FROM school.schema_version ORDER BY version"
    ).fetchall()


def table_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"school.{name}",)).fetchone()[0]


@pytest.fixture
def base(school) -> int:
    """The version a fresh school is at (sql/migrations/ applied): test migrations follow it."""
    return bootstrap.schema_version(school.admin)


def shipped(*more: int) -> list[int]:
    """The versions a fresh school records: schema.sql's, then `more`. (A fresh school is
    made from schema.sql alone: it states the schema as of the latest migration.)"""
    return [bootstrap.latest_version(), *more]


def mig(version: int, what: str) -> str:
    return f"{version:04d}_{what}.sql"


@pytest.fixture
def migrations_dir(tmp_path, base):
    directory = tmp_path / "migrations"
    directory.mkdir()
    # base+2 needs what base+1 makes: applied out of order, it fails
    (directory / mig(base + 1, "x")).write_text(
        "CREATE TABLE x_notes (id int PRIMARY KEY);\nGRANT SELECT ON x_notes TO {{student}};\n"
    )
    (directory / mig(base + 2, "y")).write_text(
        "ALTER TABLE x_notes ADD COLUMN body text NOT NULL DEFAULT '';\n"
        "INSERT INTO x_notes (id, body) VALUES (1, 'from 0003');\n"
    )
    (directory / "README.txt").write_text("not a migration: ignored\n")
    return directory


def test_upgrade_applies_migrations_in_order_and_records_them(school, migrations_dir, base):
    conn = school.admin
    assert [v for v, _ in versions(conn)] == shipped()
    assert bootstrap.upgrade(conn, school.roles, migrations_dir) == base + 2
    assert [v for v, _ in versions(conn)] == shipped(base + 1, base + 2)
    assert versions(conn)[-2:] == [(base + 1, "x"), (base + 2, "y")]
    assert bootstrap.schema_version(conn) == base + 2
    assert conn.execute("SELECT id, body FROM school.x_notes").fetchall() == [(1, "from 0003")]
    # run as the school's owner, with the placeholders rendered to this school's roles
    owner = conn.execute(
        "SELECT tableowner FROM pg_tables WHERE schemaname = 'school' AND tablename = 'x_notes'"
    ).fetchone()[0]
    assert owner == school.roles.owner
    assert conn.execute(
        "SELECT has_table_privilege(%s, 'school.x_notes', 'SELECT')",
        (school.roles.group("student"),),
    ).fetchone()[0]


def test_upgrade_is_idempotent(school, migrations_dir, base):
    conn = school.admin
    assert bootstrap.upgrade(conn, school.roles, migrations_dir) == base + 2
    before = versions(conn)
    assert bootstrap.upgrade(conn, school.roles, migrations_dir) == base + 2
    assert versions(conn) == before
    assert conn.execute("SELECT count(*) FROM school.x_notes").fetchone()[0] == 1


def test_upgrade_with_nothing_to_apply_keeps_the_version(school, tmp_path, base):
    assert bootstrap.upgrade(school.admin, school.roles, tmp_path) == base
    assert [v for v, _ in versions(school.admin)] == shipped()


def test_a_failing_migration_is_rolled_back_and_the_version_stays(school, migrations_dir, base):
    conn = school.admin
    bootstrap.upgrade(conn, school.roles, migrations_dir)
    (migrations_dir / mig(base + 3, "broken")).write_text(
        "CREATE TABLE half_made (id int);\n"
        "INSERT INTO x_notes (id, body) VALUES (2, 'never');\n"
        "SELECT 1 / 0;\n"
    )
    (migrations_dir / mig(base + 4, "after")).write_text("CREATE TABLE after_broken (id int);\n")
    with pytest.raises(psycopg.errors.DivisionByZero):
        bootstrap.upgrade(conn, school.roles, migrations_dir)
    assert bootstrap.schema_version(conn) == base + 2
    assert [v for v, _ in versions(conn)] == shipped(base + 1, base + 2)
    assert not table_exists(conn, "half_made")
    assert not table_exists(conn, "after_broken")  # nothing after the broken one runs
    assert conn.execute("SELECT count(*) FROM school.x_notes").fetchone()[0] == 1
    # the connection is usable and back to itself (SET LOCAL ROLE went with the rollback)
    assert conn.execute("SELECT current_user = session_user").fetchone()[0]

    (migrations_dir / mig(base + 3, "broken")).write_text("CREATE TABLE half_made (id int);\n")
    assert bootstrap.upgrade(conn, school.roles, migrations_dir) == base + 4
    assert [v for v, _ in versions(conn)] == shipped(base + 1, base + 2, base + 3, base + 4)
    assert table_exists(conn, "half_made") and table_exists(conn, "after_broken")


def test_a_failing_first_migration_leaves_the_version(school, tmp_path, base):
    (tmp_path / mig(base + 1, "bad")).write_text(
        "CREATE TABLE nope (id int); SELECT no_such_column;\n"
    )
    with pytest.raises(psycopg.errors.UndefinedColumn):
        bootstrap.upgrade(school.admin, school.roles, tmp_path)
    assert bootstrap.schema_version(school.admin) == base
    assert not table_exists(school.admin, "nope")


@pytest.mark.parametrize(
    "name",
    [
        "2_x.sql",
        "0002-x.sql",
        "0002_X.sql",
        "0002.sql",
        "00002_x.sql",
        "0002_x y.sql",
        "x_0002.sql",
    ],
)
def test_misnamed_migrations_are_rejected_before_anything_runs(school, migrations_dir, name, base):
    (migrations_dir / name).write_text("CREATE TABLE misnamed (id int);\n")
    with pytest.raises(bootstrap.BootstrapError, match="NNNN_name.sql"):
        bootstrap.upgrade(school.admin, school.roles, migrations_dir)
    assert bootstrap.schema_version(school.admin) == base  # not even the well-named ones ran
    assert not table_exists(school.admin, "x_notes")
    assert not table_exists(school.admin, "misnamed")


def test_duplicate_versions_are_rejected(school, migrations_dir, base):
    (migrations_dir / mig(base + 1, "again")).write_text("SELECT 1;\n")
    with pytest.raises(bootstrap.BootstrapError, match="share a version"):
        bootstrap.upgrade(school.admin, school.roles, migrations_dir)
    assert bootstrap.schema_version(school.admin) == base


@pytest.mark.parametrize("name", ["0001_first.sql", "0013_old_chain.sql", "0014_schema.sql"])
def test_a_migration_numbered_as_the_schema_is_rejected(school, tmp_path, name):
    (tmp_path / name).write_text("SELECT 1;\n")
    with pytest.raises(bootstrap.BootstrapError, match="start at 0015"):
        bootstrap.upgrade(school.admin, school.roles, tmp_path)


def test_unknown_placeholder_is_rejected_and_rolled_back(school, tmp_path, base):
    (tmp_path / mig(base + 1, "typo")).write_text(
        "CREATE TABLE typo (id int);\nGRANT SELECT ON typo TO {{studnet}};\n"
    )
    with pytest.raises(bootstrap.BootstrapError, match="studnet"):
        bootstrap.upgrade(school.admin, school.roles, tmp_path)
    assert bootstrap.schema_version(school.admin) == base
    assert not table_exists(school.admin, "typo")


def test_upgrade_needs_an_initialised_database(pg_server, tmp_path):
    dbname = f"m{secrets.token_hex(4)}_empty"
    with pg_server.admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        with pg_server.admin(dbname) as conn:
            from school_tui.db.connect import RoleNames

            with pytest.raises(bootstrap.BootstrapError, match="db init"):
                bootstrap.upgrade(conn, RoleNames("nobody"), tmp_path)
    finally:
        with pg_server.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
