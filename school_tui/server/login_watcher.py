"""The embedded server's login watcher: one per data directory, in whichever running app
holds its lock (school_tui/db/lockout.py does the work).

Every app that starts the embedded server starts this daemon thread; the first to take the
lock file watches, the others wait for the lock and take over when that app exits, so
lockouts go on while anyone runs the app. `school-tui server watch-logins` does the same
work in the foreground, for a server of your own.
"""

from __future__ import annotations

import fcntl
import logging
import threading

from school_tui.db.connect import Target

log = logging.getLogger(__name__)
LOCK_FILE = "login-watcher.lock"
RETRY_SECONDS = 5.0
_started: set[str] = set()
_started_lock = threading.Lock()


def start(target: Target) -> None:
    """Start the watcher thread for this embedded school (once per process)."""
    server = target.embedded_server
    if server is None or target.dbname is None:
        return
    with _started_lock:
        key = f"{server.data_dir}:{target.dbname}"
        if key in _started:
            return
        _started.add(key)
    threading.Thread(target=_run, args=(target,), name="login watcher", daemon=True).start()


def _run(target: Target) -> None:
    from school_tui.db import lockout

    server = target.embedded_server
    assert server is not None
    stop = threading.Event()  # never set: the thread ends with the process
    with open(server.data_dir / LOCK_FILE, "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                stop.wait(RETRY_SECONDS)  # another app watches
                continue
            try:
                lockout.watch(target.admin(), target.dbname or "", stop)
            except Exception as exc:  # the server restarting, say: follow it again
                log.warning("login watcher: %s; retrying", exc)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
            stop.wait(RETRY_SECONDS)
