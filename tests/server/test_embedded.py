"""The embedded server: its authentication, its life cycle, and the `make run` path.

Every test here starts its own server in a temporary directory (initdb takes about a
second), so they run the same whatever SCHOOL_TUI_TEST_DSN says. They stop what they start.
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from school_tui.server.embedded import SUPERUSER, EmbeddedServer, _bin_dir

REPO = Path(__file__).resolve().parents[2]


def wait_for(condition, what: str, timeout: float = 30.0):
    """Poll `condition` until it is true (returning its value) or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def _process_exists(pid: int) -> bool:
    """True while the process exists and is not a zombie (waiting to be reaped)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] != "Z"


def _processes_in(directory: Path) -> list[int]:
    """Live processes whose working directory is `directory` (every postgres process's is)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == str(directory) and _process_exists(int(entry.name)):
            found.append(int(entry.name))
    return found


def _postmasters(pgdata: Path) -> list[int]:
    """Pids of every postmaster running on this data directory (backends rename themselves)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if argv and os.path.basename(argv[0]) == b"postgres" and str(pgdata).encode() in argv:
            if _process_exists(int(entry.name)):
                found.append(int(entry.name))
    return found


def _new_data_dir() -> Path:
    # Not under pytest's basetemp: another pytest starting meanwhile resets its root to 0700
    # (and prunes old basetemps), which locks the server's own account out of a running server.
    return Path(tempfile.mkdtemp(prefix="school-tui-test-emb-"))


def _shut_down(server: EmbeddedServer) -> None:
    try:
        server.stop()
    finally:
        if not server.socket_dir.is_relative_to(server.data_dir):
            shutil.rmtree(server.socket_dir, ignore_errors=True)
        shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    """One server for the tests that only need it running (each leaves it running)."""
    made = EmbeddedServer(_new_data_dir())
    made.ensure_running()
    yield made
    _shut_down(made)


@pytest.fixture
def fresh_dir():
    """An empty data directory; whatever server a test starts in it is stopped afterwards."""
    directory = _new_data_dir()
    yield directory
    _shut_down(EmbeddedServer(directory))


# -- authentication -------------------------------------------------------------------------


def test_init_makes_a_cluster_where_only_the_owner_skips_passwords(server):
    assert (server.pgdata / "PG_VERSION").exists()
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        assert conn.info.user == SUPERUSER
        rules = conn.execute(
            "SELECT type, database, user_name, auth_method, options "
            "FROM pg_hba_file_rules ORDER BY rule_number"
        ).fetchall()
        errors = conn.execute(
            "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"
        ).fetchone()[0]
        assert errors == 0
        # the owner by peer (through the map), the pre-login roles (public password, one
        # function) without a check, and scram-sha-256 for every other rule
        assert rules[0] == ("local", ["all"], [SUPERUSER], "peer", ["map=owner"])
        assert rules[1] == ("local", ["all"], ["/_prelogin$"], "trust", None)
        assert [row[3] for row in rules[2:]] == ["scram-sha-256"] * (len(rules) - 2)
        assert len(rules) >= 3
        assert conn.execute("SHOW password_encryption").fetchone()[0] == "scram-sha-256"
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
        mapped = conn.execute(
            "SELECT sys_name FROM pg_ident_file_mappings WHERE map_name = 'owner' "
            "AND pg_username = %s",
            (SUPERUSER,),
        ).fetchall()
        assert (getpass.getuser(),) in mapped
        conn.execute("DROP ROLE IF EXISTS probe")
        conn.execute("CREATE ROLE probe LOGIN PASSWORD 'the-right-one'")
        # provisioning on this server closes `postgres` to PUBLIC (see below): not to probe
        conn.execute("GRANT CONNECT ON DATABASE postgres TO probe")
    try:
        probe = make_conninfo(server.conninfo(user="probe"), connect_timeout=10)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(make_conninfo(probe, password="a-wrong-one")).close()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(probe).close()  # no password at all
        with psycopg.connect(make_conninfo(probe, password="the-right-one")) as conn:
            assert conn.execute("SELECT current_user").fetchone()[0] == "probe"
    finally:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute("REVOKE CONNECT ON DATABASE postgres FROM probe")
            conn.execute("DROP ROLE IF EXISTS probe")


def test_psql_reaches_the_owner_by_peer_only_from_the_mapped_os_account(server):
    psql = str(_bin_dir() / "psql")
    argv = [psql, "-w", "-X", "-h", str(server.socket_dir), "-U", SUPERUSER, "-d", "postgres"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    result = subprocess.run(
        [*argv, "-Atc", "SELECT current_user"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == SUPERUSER
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no `nobody` account to try an unmapped OS user with")
    # let the outsider reach the socket (pytest's tmp dirs are 0700), so only pg_hba decides
    mode = server.data_dir.stat().st_mode
    server.data_dir.chmod(mode | 0o055)
    try:
        outsider = subprocess.run(
            [*argv, "-Atc", "SELECT 1"],
            capture_output=True,
            text=True,
            env=env,
            user="nobody",
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
    finally:
        server.data_dir.chmod(mode)
    assert outsider.returncode != 0
    assert 'Peer authentication failed for user "postgres"' in outsider.stderr


# -- life cycle ------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="only as root does the server run as another account")
def test_a_data_directory_the_server_account_cannot_reach_is_an_error(fresh_dir):
    """pg_ctl status failing (exit 4) must not read as "not running": stop() would skip it."""
    from school_tui.server.embedded import EmbeddedServerError

    locked = EmbeddedServer(fresh_dir)  # mkdtemp: root's, 0700, so closed to the server account
    locked.pgdata.mkdir()
    (locked.pgdata / "postmaster.pid").write_text(f"{os.getpid()}\n")
    with pytest.raises(EmbeddedServerError, match="pg_ctl status"):
        locked.is_running()
    with pytest.raises(EmbeddedServerError):
        locked.stop()
    (locked.pgdata / "postmaster.pid").unlink()
    assert not locked.is_running()


def test_data_survives_stop_and_start(server):
    server.ensure_running()
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS kept")
        conn.execute("CREATE TABLE kept (note text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")
    server.stop()
    assert not server.is_running()
    assert server.server_pid() is None
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(make_conninfo(server.conninfo(), connect_timeout=5)).close()
    server.ensure_running()
    assert server.is_running()
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        assert conn.execute("SELECT note FROM kept").fetchall() == [("still here",)]


def test_a_server_killed_with_sigkill_is_restarted_with_its_data(server):
    server.ensure_running()
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS committed")
        conn.execute("CREATE TABLE committed (n int)")
        conn.execute("INSERT INTO committed SELECT generate_series(1, 1000)")
    postmaster = server.server_pid()
    assert postmaster is not None and _process_exists(postmaster)
    assert postmaster in _processes_in(server.pgdata)
    os.kill(postmaster, signal.SIGKILL)
    # The postmaster and the processes it had must be gone before a new one can take the
    # shared memory; postmaster.pid stays behind, as after a crash.
    wait_for(lambda: not _processes_in(server.pgdata), "the killed server's processes to exit")
    wait_for(lambda: not server.is_running(), "pg_ctl to see the server down")
    assert (server.pgdata / "postmaster.pid").exists()

    server.ensure_running()
    assert server.is_running()
    assert server.server_pid() not in (None, postmaster)
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*), sum(n) FROM committed").fetchone() == (1000, 500500)


_RACER = """
import pathlib, sys, time
import psycopg
from school_tui.server.embedded import EmbeddedServer

server = EmbeddedServer(pathlib.Path(sys.argv[1]))
go = pathlib.Path(sys.argv[2])
print("ready", flush=True)
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.005)
server.ensure_running()
with psycopg.connect(server.conninfo(), autocommit=True) as conn:
    started = conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
print(server.server_pid(), started.isoformat(), flush=True)
"""


def test_two_processes_starting_at_once_share_one_server(fresh_dir, tmp_path):
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(fresh_dir), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for _ in range(2)
    ]
    try:
        for racer in racers:
            assert racer.stdout.readline().strip() == "ready"
        go.touch()  # both are past their imports: release them together
        outcomes = [racer.communicate(timeout=110) for racer in racers]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()
    for racer, (_, err) in zip(racers, outcomes, strict=True):
        assert racer.returncode == 0, err
    reports = {out.strip() for out, _ in outcomes}
    assert len(reports) == 1, reports  # same postmaster pid and start time for both
    server = EmbeddedServer(fresh_dir)
    assert server.is_running()
    assert _postmasters(server.pgdata) == [server.server_pid()]
    assert reports.pop().split()[0] == str(server.server_pid())


def test_a_stale_session_marker_does_not_keep_the_server_alive(fresh_dir):
    server = EmbeddedServer(fresh_dir)
    server.ensure_running()
    mine = server.register_session()
    assert mine.name == str(os.getpid())

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = server.sessions_dir / str(dead.pid)
    stale.touch()

    # another app that is still running keeps the server up; the dead one's marker goes
    other = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        (server.sessions_dir / str(other.pid)).touch()
        server.release_session()
        assert server.is_running()
        assert not mine.exists()
        assert not stale.exists()
    finally:
        other.stdin.close()
        other.wait(timeout=60)

    # now the only marker left is a dead process's: releasing again stops the server
    stale.touch()
    server.release_session()
    assert not server.is_running()
    assert list(server.sessions_dir.iterdir()) == []


# -- `make run`: an empty data directory to a demo school you can log into ----------------


def test_make_run_path_from_an_empty_data_directory(fresh_dir):
    from school_tui.auth import login as auth
    from school_tui.db import accounting, bootstrap
    from school_tui.db.connect import Target
    from school_tui.server import demo
    from school_tui.server.config import load
    from school_tui.server.provision import prepare, release

    data_dir = fresh_dir
    config = load(environ={"SCHOOL_TUI_DATA_DIR": str(data_dir)}, toml_path=data_dir / "none.toml")
    assert config.embedded and config.embedded_data_dir == data_dir
    target = Target.from_config(config)
    server = target.embedded_server
    assert server.data_dir == data_dir and not server.pgdata.exists()
    try:
        prepare(target, demo_if_empty=True)
        assert server.is_running()
        with psycopg.connect(target.admin(), autocommit=True) as admin:
            assert bootstrap.schema_version(admin) == bootstrap.latest_version()
            people_before = admin.execute("SELECT count(*) FROM school.users").fetchone()[0]
            student_id, all_fees = admin.execute(
                "SELECT (SELECT id FROM school.users WHERE email = 'student@demo.school'), "
                "(SELECT count(*) FROM school.fees)"
            ).fetchone()
            own_fees = admin.execute(
                "SELECT fee_type, amount FROM school.fees WHERE student_id = %s ORDER BY id",
                (student_id,),
            ).fetchall()
        assert people_before > len(demo.DEMO_LOGINS)
        assert own_fees and all_fees > len(own_fees)

        session = auth.login(target, "student@demo.school", demo.DEMO_PASSWORD)
        try:
            assert session.person.id == student_id
            assert session.person.role == "Student"
            fees = session.run(accounting.my_fees)
            assert sorted((row[0], row[1]) for row in fees) == sorted(own_fees)
            # row-level security, not the WHERE clause, keeps other students' fees out
            visible = session.run(
                lambda conn: conn.execute(
                    "SELECT DISTINCT student_id, count(*) OVER () FROM school.fees"
                ).fetchall()
            )
            assert visible == [(student_id, len(own_fees))]
        finally:
            session.close()
        with pytest.raises(auth.LoginFailed):
            auth.login(target, "student@demo.school", "not-the-password")
        # the embedded server closes its maintenance database to the school's roles
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(make_conninfo(target.prelogin(), dbname="postgres")).close()

        prepare(target, demo_if_empty=True)  # the second `make run`: nothing new
        with psycopg.connect(target.admin(), autocommit=True) as admin:
            assert admin.execute("SELECT count(*) FROM school.users").fetchone()[0] == (
                people_before
            )
            assert (
                admin.execute(
                    "SELECT count(*) FROM school.users WHERE email = 'student@demo.school'"
                ).fetchone()[0]
                == 1
            )
            assert admin.execute("SELECT count(*) FROM school.school_years").fetchone()[0] == 1

        release(target)
        assert not server.is_running()
        assert list(server.sessions_dir.iterdir()) == []
    finally:
        _shut_down(server)


def _embedded_target(data_dir: Path):
    from school_tui.db.connect import Target
    from school_tui.server.config import load

    config = load(environ={"SCHOOL_TUI_DATA_DIR": str(data_dir)}, toml_path=data_dir / "none.toml")
    return Target.from_config(config)


_OTHER_APP_EXITS = """
import pathlib, sys
from school_tui.server.embedded import EmbeddedServer

server = EmbeddedServer(pathlib.Path(sys.argv[1]))
server.register_session()
server.release_session()
"""


def test_another_app_exiting_during_start_up_does_not_stop_the_server(fresh_dir):
    """An app that exits while this one is still creating its database must see this one."""
    from school_tui.db import bootstrap
    from school_tui.server.provision import prepare, release

    target = _embedded_target(fresh_dir)
    seen = []

    def progress(text: str) -> None:
        seen.append(text)
        if text.startswith("Creating the school database"):  # the server is up, we are busy
            subprocess.run(
                [sys.executable, "-c", _OTHER_APP_EXITS, str(fresh_dir)],
                check=True,
                cwd=REPO,
                timeout=100,
            )
            assert target.embedded_server.is_running()

    prepare(target, progress=progress)
    assert any(text.startswith("Creating the school database") for text in seen)
    with psycopg.connect(target.admin(), autocommit=True) as conn:
        assert bootstrap.schema_version(conn) == bootstrap.latest_version()
    release(target)
    assert not target.embedded_server.is_running()


_MAKE_RUN = """
import pathlib, sys, time
from school_tui.server.config import load
from school_tui.db.connect import Target
from school_tui.server.provision import prepare

data_dir, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
target = Target.from_config(load(environ={"SCHOOL_TUI_DATA_DIR": str(data_dir)},
                                 toml_path=data_dir / "none.toml"))
print("ready", flush=True)
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.005)
prepare(target, demo_if_empty=True)
"""


def test_two_make_runs_at_once_on_an_empty_directory_make_one_demo_school(fresh_dir, tmp_path):
    from school_tui.server import demo

    go = tmp_path / "go"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _MAKE_RUN, str(fresh_dir), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for _ in range(2)
    ]
    try:
        for run in runs:
            assert run.stdout.readline().strip() == "ready"
        go.touch()
        outcomes = [run.communicate(timeout=110) for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    for run, (_, err) in zip(runs, outcomes, strict=True):
        assert run.returncode == 0, err
    target = _embedded_target(fresh_dir)
    with psycopg.connect(target.admin(), autocommit=True) as conn:
        demo_people = conn.execute(
            "SELECT count(*) FROM school.users WHERE email = ANY(%s)", (list(demo.DEMO_LOGINS),)
        ).fetchone()[0]
        assert demo_people == len(demo.DEMO_LOGINS)
        assert conn.execute("SELECT count(*) FROM school.school_years").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM school.instance").fetchone()[0] == 1


def test_provisioning_commits_each_migration_on_its_own(server, tmp_path, monkeypatch):
    """A failing migration at start-up keeps the ones before it (as `db upgrade` does)."""
    from school_tui.db import bootstrap
    from school_tui.db.connect import RoleNames, Target
    from school_tui.server.provision import ensure_embedded_database

    sql_dir = tmp_path / "sql"
    shutil.copytree(bootstrap.sql_dir(), sql_dir)  # the real migrations stay: schema.sql's
    base = bootstrap.latest_version(sql_dir / "migrations")  # version is the latest one
    monkeypatch.setattr(bootstrap, "sql_dir", lambda: sql_dir)
    prefix = "p" + os.urandom(3).hex()
    target = Target(server.conninfo(dbname=f"{prefix}_school"), RoleNames(prefix), server)
    try:
        ensure_embedded_database(target)
        with psycopg.connect(target.admin(), autocommit=True) as conn:
            assert bootstrap.schema_version(conn) == base
        (sql_dir / "migrations" / f"{base + 1:04d}_good.sql").write_text(
            "CREATE TABLE good (id int);\n"
        )
        (sql_dir / "migrations" / f"{base + 2:04d}_bad.sql").write_text("SELECT 1 / 0;\n")
        with pytest.raises(psycopg.errors.DivisionByZero):
            ensure_embedded_database(target)
        with psycopg.connect(target.admin(), autocommit=True) as conn:
            assert bootstrap.schema_version(conn) == base + 1
            assert conn.execute("SELECT to_regclass('school.good') IS NOT NULL").fetchone()[0]
    finally:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(target.dbname)
                )
            )
            roles = RoleNames(prefix)
            for role in [*roles.groups.values(), roles.prelogin, roles.member, roles.owner]:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _ensure_and_report_uid(name: str) -> int:
    from school_tui.server.embedded import _ensure_os_user

    _ensure_os_user(name)
    return pwd.getpwnam(name).pw_uid


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a system account needs root")
def test_apps_starting_at_once_as_root_create_the_server_account_once():
    # On a new machine every process that starts first as root wants the server's account at
    # the same moment (pytest-xdist's workers did): all must end up with one and the same uid.
    import multiprocessing

    name = f"stui_t{os.getpid() % 100000}"
    try:
        with multiprocessing.get_context("spawn").Pool(6) as pool:
            uids = pool.map(_ensure_and_report_uid, [name] * 6)
        assert len(set(uids)) == 1
        assert pwd.getpwnam(name).pw_uid == uids[0]
        with open("/etc/passwd") as passwd:
            assert sum(line.startswith(name + ":") for line in passwd) == 1
    finally:
        subprocess.run(["userdel", name], capture_output=True)
