"""What counts as a lost connection (db.errors.connection_lost), from real errors of a real
login: a cancelled statement leaves the connection working and must not look like an outage
(the app would show the banner, the cashier would resend by itself)."""

from __future__ import annotations

import psycopg
import pytest

from school_tui.db.errors import connection_lost


def _error_of(conn: psycopg.Connection, statement: str) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(statement)
    return caught.value


def test_a_statement_timeout_is_not_a_lost_connection(school):
    person = school.add_person("Accounting")
    with school.connect_as(person, autocommit=True) as conn:
        conn.execute("SET statement_timeout = '20ms'")
        exc = _error_of(conn, "SELECT pg_sleep(5)")
        assert isinstance(exc, psycopg.errors.QueryCanceled)
        assert not connection_lost(exc)
        assert conn.execute("SELECT 1").fetchone() == (1,)  # it still works


def test_a_lock_timeout_is_not_a_lost_connection(school):
    person = school.add_person("Accounting")
    holder = school.admin
    with holder.transaction():
        holder.execute("LOCK TABLE school.online_status IN ACCESS EXCLUSIVE MODE")
        with school.connect_as(person, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20ms'")
            exc = _error_of(conn, "SELECT count(*) FROM school.online_status")
            assert isinstance(exc, psycopg.errors.LockNotAvailable)
            assert not connection_lost(exc)


def test_a_terminated_backend_is_a_lost_connection(school):
    person = school.add_person("Accounting")
    with school.connect_as(person, autocommit=True) as conn:
        pid = conn.info.backend_pid
        school.admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        exc = _error_of(conn, "SELECT 1")
        assert connection_lost(exc)
        assert conn.broken or conn.closed
