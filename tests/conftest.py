from __future__ import annotations

import os

import pytest

from tests.harness import SchoolFactory, Server, server_from_env, start_embedded


def _worker_label() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory) -> Server:
    """An embedded server of our own: password checks always run here (scram everywhere)."""
    server = start_embedded(tmp_path_factory.mktemp("pg"))
    yield server
    server.embedded.stop()


@pytest.fixture(scope="session")
def pg_server(request, tmp_path_factory) -> Server:
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
    """Schools on a server that really checks passwords (embedded if the other trusts all)."""
    server = request.getfixturevalue("embedded_server") if pg_server.trusts_everyone else pg_server
    factory = SchoolFactory(server, _worker_label() + "p")
    yield factory
    factory.close()


@pytest.fixture
def school(school_factory):
    made = school_factory.create()
    yield made
    school_factory.drop(made)


@pytest.fixture
def password_school(password_school_factory):
    made = password_school_factory.create()
    yield made
    password_school_factory.drop(made)
