"""Two schools on one server: role names never collide, and people of one cannot connect
to the other's database (nor to the server's maintenance database on the embedded one)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from school_tui.auth.passwords import derive_db_password
from tests.harness import DEMO_PASSWORD, SchoolFactory


@pytest.fixture
def other_school(pg_server):
    factory = SchoolFactory(pg_server, "other")
    made = factory.create()
    yield made
    factory.drop(made)
    factory.close()


def test_person_of_one_school_cannot_connect_to_another(school, other_school):
    assert school.roles.prefix != other_school.roles.prefix
    teacher = school.add_person("Teacher")
    with school.connect_as(teacher) as conn:
        assert conn.execute("SELECT school.my_role()").fetchone()[0] == "Teacher"
    login_role, salt = school.admin.execute(
        "SELECT u.login_role, c.salt FROM school.users u "
        "JOIN school.credentials c ON c.user_id = u.id WHERE u.id = %s",
        (teacher,),
    ).fetchone()
    password = derive_db_password(DEMO_PASSWORD, bytes(salt))
    # Same login and password, the other school's database.
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(other_school.target.person(login_role, password))


def test_prelogin_of_one_school_cannot_connect_to_another(school, other_school):
    prelogin = make_conninfo(school.target.prelogin(), dbname=other_school.dbname)
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(prelogin)
