"""Nothing done with the public pre-login role, or with a person's own login, stops anyone
else logging in; passwords are normalised before the key derivation.

Each attack is made as the real login, over a real connection, then a person logs in
through the app's own login code.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from school_tui.auth import login as auth
from school_tui.db.connect import PRELOGIN_PASSWORD

# What a role may set on itself that would break or hang a connection made as it.
ROLE_SETTINGS_THAT_BREAK_LOGINS = {
    "statement_timeout": "1ms",
    "idle_session_timeout": "1ms",
    "local_preload_libraries": "no_such_library",
    "default_transaction_read_only": "on",
    "search_path": "pg_temp",
    "plpgsql.extra_errors": "all",
}


def _embedded_only(school) -> None:
    if school.server.embedded is None:
        pytest.skip("the pg_hba rule for the pre-login role is the embedded server's")


def _attack_own_role(conn: psycopg.Connection) -> None:
    conn.execute("DO $$ BEGIN END $$")  # loads plpgsql, so its settings may be set
    for name, value in ROLE_SETTINGS_THAT_BREAK_LOGINS.items():
        conn.execute(
            sql.SQL("ALTER ROLE CURRENT_USER SET {} = {}").format(
                sql.Identifier(*name.split(".")), sql.Literal(value)
            )
        )


def _undo(school, role: str, password: str | None = None) -> None:
    school.admin.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(sql.Identifier(role)))
    if password is not None:
        school.admin.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
        )


def test_the_prelogin_role_cannot_lock_the_school_out(password_school):
    school = password_school
    _embedded_only(school)
    email = "ada.reyes@test.school"
    school.add_person("Teacher", email=email)
    prelogin = school.roles.prelogin
    try:
        with psycopg.connect(school.target.prelogin(), autocommit=True) as conn:
            conn.execute("ALTER ROLE CURRENT_USER PASSWORD 'only-i-know-it-now'")
            _attack_own_role(conn)
        session = auth.login(school.target, email, school.passwords[email])
        session.close()
        # Unknown emails still fail as a wrong password does, not as an outage.
        with pytest.raises(auth.LoginFailed):
            auth.login(school.target, "nobody@test.school", "a-guess")
    finally:
        _undo(school, prelogin, PRELOGIN_PASSWORD)


def test_the_prelogin_connection_cannot_hang(password_school):
    school = password_school
    _embedded_only(school)
    with psycopg.connect(school.target.prelogin(), autocommit=True) as conn:
        for name in ("statement_timeout", "lock_timeout", "idle_session_timeout"):
            assert conn.execute(f"SHOW {name}").fetchone()[0] in {"5s", "0"}
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "5s"


def test_a_persons_role_settings_stop_nobody(password_school):
    school = password_school
    email = "sam.cruz@test.school"
    victim = "lee.tan@test.school"
    attacker_id = school.add_person("Teacher", email=email)
    school.add_person("Registrar", email=victim)
    login_role = school.login_role(attacker_id)
    try:
        with school.connect_as(attacker_id, autocommit=True) as conn:
            _attack_own_role(conn)
        # What they set on their own role binds only their own sessions.
        session = auth.login(school.target, victim, school.passwords[victim])
        session.close()
    finally:
        _undo(school, login_role)


@pytest.mark.parametrize(
    ("chosen", "typed"),
    [
        # a precomposed "é" set, "e" + combining acute typed (another keyboard, or a Mac)
        ("caf\u00e9 lantern quietly sings 42", "cafe\u0301 lantern quietly sings 42"),
        # full-width digits and letters from an East Asian input method
        ("ribbon harbor oxide 2718 \uff21", "ribbon harbor oxide \uff12\uff17\uff11\uff18 A"),
    ],
)
def test_the_same_password_from_two_keyboards_logs_in(password_school, chosen, typed):
    school = password_school
    email = "noor.ali@test.school"
    school.add_person("Teacher", email=email, password=chosen)
    session = auth.login(school.target, email, typed)
    session.close()
    with pytest.raises(auth.LoginFailed):
        auth.login(school.target, email, typed + "x")


def test_the_prelogin_role_cannot_list_accounts(password_school):
    school = password_school
    email = "vera.holm@test.school"
    user_id = school.add_person("Guidance", email=email)
    with psycopg.connect(school.target.prelogin(), autocommit=True) as conn:
        for query in (
            "SELECT rolname FROM pg_catalog.pg_roles",
            "SELECT usename FROM pg_catalog.pg_user",
            "SELECT roleid FROM pg_catalog.pg_auth_members",
            "SELECT groname FROM pg_catalog.pg_group",
            "SELECT usename FROM pg_catalog.pg_stat_activity",
            "SELECT pg_catalog.pg_get_userbyid(oid) FROM generate_series(16384, 20000) oid",
            "SELECT * FROM pg_catalog.pg_stat_get_activity(NULL)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(query)
        # An unknown email's answer has the shape of a real one: a login name of the same
        # form and a salt of the same length, the same each time it is asked.
        real = conn.execute("SELECT * FROM school.prelogin_lookup(%s)", (email,)).fetchone()
        decoy = conn.execute(
            "SELECT * FROM school.prelogin_lookup('no.one@test.school')"
        ).fetchone()
        again = conn.execute(
            "SELECT * FROM school.prelogin_lookup('NO.ONE@test.school ')"
        ).fetchone()
    assert real[0] == school.login_role(user_id)
    assert decoy == again
    assert len(decoy[0]) == len(real[0]) and decoy[0][:-16] == real[0][:-16]
    assert len(bytes(decoy[1])) == len(bytes(real[1]))
    # A person still reads what the app needs (names of roles, who is online).
    with school.connect_as(user_id, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_catalog.pg_stat_activity").fetchone()[0]


def test_a_password_set_around_the_functions_opens_nothing(password_school):
    """ALTER ROLE CURRENT_USER PASSWORD skips argon2 and the policy: the login guard refuses
    the next login, with the new password as with the old."""
    school = password_school
    if school.server.major_version < 17:
        pytest.skip("login event triggers are PostgreSQL 17+")
    email = "omar.haddad@test.school"
    user_id = school.add_person("Teacher", email=email)
    login_role = school.login_role(user_id)
    with school.connect_as(user_id, autocommit=True) as conn:
        conn.execute("ALTER ROLE CURRENT_USER PASSWORD 'weak'")
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(school.target.person(login_role, "weak")).close()
    assert "password authentication failed" in str(refused.value)
    with pytest.raises(auth.LoginFailed):
        auth.login(school.target, email, school.passwords[email])
    # An Admin's temporary password (through the functions) lets them in again.
    from school_tui.db import people

    temporary = people.reset_password(school.admin, user_id)
    auth.login(school.target, email, temporary).close()


def _sql_change(conn: psycopg.Connection, current: bytes, new_password: str) -> None:
    """school.change_own_password called as psql would: the new salt, verifier and proof made
    by hand, the current password given as derived bytes."""
    import hashlib

    from school_tui.auth.passwords import derive_db_password, new_salt
    from school_tui.db import people

    salt = new_salt()
    derived = derive_db_password(new_password, salt)
    conn.execute(
        "SELECT school.change_own_password(%s, %s, %s, %s)",
        (
            current,
            salt,
            people.scram_verifier(conn, "", derived),
            hashlib.sha256(derived.encode()).digest(),
        ),
    )


def test_changing_ones_password_needs_the_current_one(password_school):
    """The database checks the current password: a wrong one is refused with a message
    naming the field and changes nothing (the old password still logs in); the right one
    changes it."""
    from school_tui.auth.passwords import derive_db_password

    school = password_school
    email = "ines.moreau@test.school"
    user_id = school.add_person("Teacher", email=email, password="the old one, still good")
    before = school.admin.execute(
        "SELECT c.salt, c.verifier_sha, c.proof_sha, a.rolpassword FROM school.credentials c "
        "JOIN school.users u ON u.id = c.user_id JOIN pg_authid a ON a.rolname = u.login_role "
        "WHERE c.user_id = %s",
        (user_id,),
    ).fetchone()
    assert before[2] is not None and len(bytes(before[2])) == 32
    salt = bytes(before[0])
    with school.connect_as(user_id, autocommit=True) as conn:
        for wrong in (
            derive_db_password("not the old one at all", salt).encode(),
            b"",
            None,
            conn.info.password.encode() + b"x",
        ):
            with pytest.raises(psycopg.errors.CheckViolation) as refused:
                _sql_change(conn, wrong, "a new one nobody asked for")
            assert refused.value.diag.message_primary == "current password: it is not right"
    after = school.admin.execute(
        "SELECT c.salt, c.verifier_sha, c.proof_sha, a.rolpassword FROM school.credentials c "
        "JOIN school.users u ON u.id = c.user_id JOIN pg_authid a ON a.rolname = u.login_role "
        "WHERE c.user_id = %s",
        (user_id,),
    ).fetchone()
    assert after == before
    auth.login(school.target, email, "the old one, still good").close()
    with pytest.raises(auth.LoginFailed):
        auth.login(school.target, email, "a new one nobody asked for")

    with school.connect_as(user_id, autocommit=True) as conn:
        _sql_change(conn, conn.info.password.encode(), "a new one I chose myself")
    auth.login(school.target, email, "a new one I chose myself").close()
    with pytest.raises(auth.LoginFailed):
        auth.login(school.target, email, "the old one, still good")
    # The proof is a secret: the audit log says it changed, not what it is.
    logged = school.admin.execute(
        "SELECT old_values ->> 'proof_sha', new_values ->> 'proof_sha' FROM school.audit_log "
        "WHERE table_name = 'credentials' AND row_id = %s AND action = 'UPDATE'",
        (user_id,),
    ).fetchall()
    assert logged and set(logged) == {("(not logged)", "(not logged)")}


def test_a_password_set_before_the_proof_is_changed_once_without_it(password_school):
    """A credentials row with no proof yet (set before the check existed) lets the next change
    through whatever current password is given; that change stores the proof."""
    school = password_school
    email = "tomas.lind@test.school"
    user_id = school.add_person("Teacher", email=email, password="from before the proof")
    school.admin.execute(
        "UPDATE school.credentials SET proof_sha = NULL WHERE user_id = %s", (user_id,)
    )
    with school.connect_as(user_id, autocommit=True) as conn:
        _sql_change(conn, b"anything", "the first one with a proof")
        with pytest.raises(psycopg.errors.CheckViolation):
            _sql_change(conn, b"anything", "a second one without it")
    assert school.admin.execute(
        "SELECT proof_sha IS NOT NULL FROM school.credentials WHERE user_id = %s", (user_id,)
    ).fetchone()[0]
    auth.login(school.target, email, "the first one with a proof").close()
