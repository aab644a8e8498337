from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.harness import (
    SchoolFactory,
    Server,
    assert_ledger_invariants,
    server_from_env,
    start_embedded,
)

# Times are shown in the local timezone: pin it, so snapshots are the same on every machine.
os.environ["TZ"] = "UTC"
time.tzset()


def _worker_label() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")


@pytest.fixture(scope="session")
def embedded_server() -> Server:
    """An embedded server of our own: password checks always run here (scram everywhere).

    Its directory is not under pytest's basetemp: pytest deletes all but the newest three
    basetemps, so another pytest started meanwhile would remove a running server's socket.
    """
    directory = Path(tempfile.mkdtemp(prefix="school-tui-test-pg-"))
    server = start_embedded(directory)
    yield server
    server.embedded.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(request) -> Server:
    """The server under test: SCHOOL_TUI_TEST_DSN's, or the embedded one."""
    configured = server_from_env()
    if configured is not None:
        return configured
    return request.getfixturevalue("embedded_server")


@pytest.fixture(scope="session")
def school_factory(pg_server) -> SchoolFactory:
    factory = SchoolFactory(pg_server, _worker_label())
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def password_school_factory(request, pg_server) -> SchoolFactory:
    """Schools on a server that really checks passwords (embedded if the other trusts all).

    When the server under test checks passwords itself, this is the session's own factory,
    so its templates (the demo one especially) are made only once.
    """
    if not pg_server.trusts_everyone:
        yield request.getfixturevalue("school_factory")
        return
    factory = SchoolFactory(request.getfixturevalue("embedded_server"), _worker_label() + "p")
    yield factory
    factory.close()


LEDGER_MARK = "ledger_may_not_add_up"


def _made(request, factory: SchoolFactory, demo: bool = False):
    """A school for one test; afterwards its books must add up (the invariant query), unless
    the test is marked `ledger_may_not_add_up` (it breaks the books on purpose, and says why
    in a comment). Checked before the drop, also after a failed test: a test that failed
    half-way through a post must not have left the books wrong either."""
    made = factory.create(demo=demo)
    try:
        yield made
        if request.node.get_closest_marker(LEDGER_MARK) is None:
            assert_ledger_invariants(made.admin)
    finally:
        factory.drop(made)


@pytest.fixture
def school(request, school_factory):
    yield from _made(request, school_factory)


@pytest.fixture
def password_school(request, password_school_factory):
    yield from _made(request, password_school_factory)


@pytest.fixture
def demo_school(request, school_factory):
    """A clone of the demo school (loaded once per session): 8 demo logins, 240 students."""
    yield from _made(request, school_factory, demo=True)


@pytest.fixture
def password_demo_school(request, password_school_factory):
    """The demo school on a server that really checks passwords."""
    yield from _made(request, password_school_factory, demo=True)
