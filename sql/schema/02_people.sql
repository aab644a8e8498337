-- =====================================================================================
-- People: the eight roles, each person and their login, who the connection is, the
-- Admin's account functions, the pre-login lookup, the login record and failed logins.
--
-- One rule decides what a login may do, and the database keeps it by itself: a person's
-- login role is a member of
--     their role's group    while the person is active and has chosen their own password,
--     {{member}} alone      while they are active but must change a temporary password,
--     nothing, and NOLOGIN  while they are deactivated.
-- A trigger on users applies the rule whenever role_id, is_active or must_change_password
-- change, whoever changes them (the functions below, or a DBA with a plain UPDATE), so a
-- role change moves the login between groups in the same transaction: all or nothing.
--
-- What follows from it:
-- * A person with a temporary password can connect, learn who they are (whoami) and call
--   change_own_password; nothing else. {{member}} therefore holds only what such a person
--   may: CONNECT, USAGE on the schema, the list of role names, and users/messages, which
--   row-level security shows them none of (me() and my_role() give NULL for them). What
--   everyone reads is granted to the eight groups, never to {{member}}.
-- * Deactivation removes the memberships in the same transaction as NOLOGIN and then ends
--   the person's sessions, so a session opened meanwhile can read and call nothing.
-- * The last active Admin can be neither demoted nor deactivated; nobody changes their own
--   role, activity or password through the Admin's functions (ending one's own session
--   would roll the change back with it).
--
-- Students before logins: a student record (create_student, the CSV import) reserves its
-- login's name in users.login_role but has no PostgreSQL role and no credentials yet; the
-- role is made by the first temporary password (set_temporary_password). prelogin_lookup
-- answers such an email with a decoy, so logging in fails like any wrong password.
-- =====================================================================================

CREATE TABLE roles (
    id   serial PRIMARY KEY,
    name text UNIQUE NOT NULL CHECK (name IN ('Admin', 'Principal', 'Academic Coordinator',
        'Teacher', 'Student', 'Guidance', 'Registrar', 'Accounting'))
);
INSERT INTO roles (name) VALUES ('Admin'), ('Principal'), ('Academic Coordinator'), ('Teacher'),
    ('Student'), ('Guidance'), ('Registrar'), ('Accounting');

CREATE TABLE users (
    id            serial PRIMARY KEY,
    role_id       int NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    first_name    text NOT NULL CHECK (first_name ~ '[^[:space:]]' AND length(first_name) <= 100),
    last_name     text NOT NULL CHECK (last_name ~ '[^[:space:]]' AND length(last_name) <= 100),
    email         text NOT NULL CHECK (length(email) <= 254
                      AND email ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@[:space:][:cntrl:]]+$'),
    -- The person's own PostgreSQL login (opaque name; see create_person).
    login_role    text NOT NULL UNIQUE,
    is_active     boolean NOT NULL DEFAULT true,
    must_change_password boolean NOT NULL DEFAULT false,
    profile_image text CHECK (length(profile_image) <= 2048),
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- The login record: the person's last login (record_login) and last logout (their
    -- session going offline, set_my_presence), each change in the audit trail.
    last_login    timestamptz,
    last_logout   timestamptz
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE INDEX users_role_id_idx ON users (role_id);
CREATE INDEX users_name_idx ON users (last_name, first_name);
-- me(), my_role() and the audit stamp look users up by `login_role = session_user`.
-- session_user is a `name`, whose collation is "C", so the comparison is made in "C" and
-- the unique index (default collation) cannot serve it: an index in "C" can.
CREATE INDEX users_login_role_c_idx ON users (login_role COLLATE "C");

-- The argon2id salt each client needs to derive the person's PostgreSQL password.
-- Readable by the owner only; the pre-login role reaches it through prelogin_lookup().
CREATE TABLE credentials (
    user_id int PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    salt    bytea NOT NULL CHECK (length(salt) BETWEEN 16 AND 64),
    set_at  timestamptz NOT NULL DEFAULT now(),
    -- sha256 of the SCRAM verifier the school's functions last set for this login. A login
    -- whose verifier in pg_authid differs (set with ALTER ROLE CURRENT_USER PASSWORD,
    -- skipping argon2 and the policy) is refused by the login guard (bootstrap.LOGIN_GUARD).
    -- NULL: set before the guard existed, not checked until the next password.
    verifier_sha bytea,
    -- sha256 of the argon2-derived PostgreSQL password itself: change_own_password asks
    -- for the current one and checks it here. The derived password is 32 random-looking
    -- bytes, so a plain sha256 of it is as hard to reverse as the SCRAM verifier.
    -- NULL: set before this check existed; the next change_own_password is let through once.
    proof_sha    bytea CHECK (length(proof_sha) = 32)
);

SELECT audit_table('school.roles');
SELECT audit_table('school.users');
SELECT audit_table('school.credentials', 'salt', 'verifier_sha', 'proof_sha');

-- =====================================================================================
-- Who is this connection? Keyed on session_user, which neither SET ROLE nor set_config can
-- change; nobody while their password is temporary. SECURITY DEFINER so policies can call
-- them whatever the caller may read; the search_path is pinned so a temp table named
-- `users` cannot stand in for the real one.
-- =====================================================================================
CREATE FUNCTION me() RETURNS int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT id FROM school.users
    WHERE login_role = session_user AND is_active AND NOT must_change_password
$$;

CREATE FUNCTION my_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT r.name FROM school.users u JOIN school.roles r ON r.id = u.role_id
    WHERE u.login_role = session_user AND u.is_active AND NOT u.must_change_password
$$;

-- What the app needs right after login, temporary password or not (me() is NULL then).
CREATE FUNCTION whoami(OUT id int, OUT first_name text, OUT last_name text, OUT email text,
                       OUT role text, OUT must_change_password boolean)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT u.id, u.first_name, u.last_name, u.email, r.name, u.must_change_password
    FROM school.users u JOIN school.roles r ON r.id = u.role_id
    WHERE u.login_role = session_user AND u.is_active
$$;

-- =====================================================================================
-- The membership rule (see the top). Owner only: no grant to anyone.
-- =====================================================================================
-- The group of an application role: '<prefix>_admin', ..., '<prefix>_coordinator'.
CREATE FUNCTION role_group(app_role text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT i.role_prefix || '_' || CASE app_role
        WHEN 'Academic Coordinator' THEN 'coordinator'
        ELSE lower(app_role) END
    FROM school.instance i
$$;

CREATE FUNCTION sync_login(p_user_id int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_login text;
    v_active boolean;
    v_must_change boolean;
    v_role text;
    v_prefix text := (SELECT role_prefix FROM school.instance);
    v_wanted text[];
    v_school_roles text[];
    v_group text;
    v_held boolean;
    v_can_login boolean;
    v_stray text;
BEGIN
    SELECT u.login_role, u.is_active, u.must_change_password, r.name
      INTO v_login, v_active, v_must_change, v_role
      FROM school.users u JOIN school.roles r ON r.id = u.role_id WHERE u.id = p_user_id;
    IF v_login IS NULL THEN
        RAISE EXCEPTION 'person % does not exist', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
    SELECT rolcanlogin INTO v_can_login FROM pg_catalog.pg_roles WHERE rolname = v_login;
    IF NOT FOUND THEN
        RETURN;  -- no login made yet (a student record): nothing to grant or revoke
    END IF;
    v_wanted := CASE
        WHEN NOT v_active THEN ARRAY[]::text[]
        WHEN v_must_change THEN ARRAY[v_prefix || '_member']
        ELSE ARRAY[school.role_group(v_role)] END;
    SELECT array_agg(school.role_group(name)) || (v_prefix || '_member')
      INTO v_school_roles FROM school.roles;

    IF v_can_login IS DISTINCT FROM v_active THEN
        EXECUTE format('ALTER ROLE %I %s', v_login, CASE WHEN v_active THEN 'LOGIN' ELSE 'NOLOGIN' END);
    END IF;
    FOREACH v_group IN ARRAY v_school_roles LOOP
        v_held := EXISTS (
            SELECT 1 FROM pg_catalog.pg_auth_members m
            WHERE m.roleid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = v_group)
              AND m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = v_login));
        IF v_group = ANY (v_wanted) AND NOT v_held THEN
            EXECUTE format('GRANT %I TO %I', v_group, v_login);
        ELSIF v_held AND NOT v_group = ANY (v_wanted) THEN
            EXECUTE format('REVOKE %I FROM %I', v_group, v_login);
        END IF;
    END LOOP;
    SELECT g.rolname INTO v_stray
      FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
     WHERE m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = v_login)
       AND g.rolname = ANY (v_school_roles) AND NOT g.rolname = ANY (v_wanted)
     LIMIT 1;
    IF v_stray IS NOT NULL THEN
        RAISE EXCEPTION 'login % is still a member of % through a grant made outside the app',
            v_login, v_stray
            USING ERRCODE = 'object_in_use',
                  HINT = 'a superuser must revoke that membership by hand';
    END IF;
END
$$;

CREATE FUNCTION users_sync_login() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM school.sync_login(NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER users_sync_login AFTER UPDATE OF role_id, is_active, must_change_password
    ON users FOR EACH ROW
    WHEN (OLD.role_id IS DISTINCT FROM NEW.role_id OR OLD.is_active IS DISTINCT FROM NEW.is_active
          OR OLD.must_change_password IS DISTINCT FROM NEW.must_change_password)
    EXECUTE FUNCTION users_sync_login();
-- Replication mode is no way around it either.
ALTER TABLE users ENABLE ALWAYS TRIGGER users_sync_login;

-- Ending another role's sessions takes that role's privileges: the owner holds them just for
-- this (without, a person who is logged in could not be deactivated at all).
CREATE FUNCTION end_sessions(p_login text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = p_login) THEN
        RETURN;  -- no login, no sessions
    END IF;
    EXECUTE format('GRANT %I TO %I', p_login, current_user);
    PERFORM pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE usename = p_login;
    EXECUTE format('REVOKE %I FROM %I', p_login, current_user);
END
$$;

-- Refuses a change that would leave the school without an active Admin. The serial lock
-- 'active admins' (11_limits.sql) serialises such changes, so two Admins cannot demote each other at the same moment.
CREATE FUNCTION keep_an_admin(p_user_id int, p_field text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM school.take_serial_lock('active admins');
    IF EXISTS (SELECT 1 FROM school.users u JOIN school.roles r ON r.id = u.role_id
               WHERE u.id = p_user_id AND r.name = 'Admin' AND u.is_active)
       AND NOT EXISTS (SELECT 1 FROM school.users u JOIN school.roles r ON r.id = u.role_id
                       WHERE u.id <> p_user_id AND r.name = 'Admin' AND u.is_active) THEN
        RAISE EXCEPTION '%: this is the last active Admin; make someone else an Admin first',
            p_field USING ERRCODE = 'check_violation';
    END IF;
END
$$;

-- Names and email, with messages that name the field (the table's CHECKs stay the last word).
CREATE FUNCTION check_person_fields(p_user_id int, p_first_name text, p_last_name text,
                                    p_email text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF p_first_name IS NULL OR p_first_name !~ '[^[:space:]]' THEN
        RAISE EXCEPTION 'first name: required' USING ERRCODE = 'check_violation';
    ELSIF length(p_first_name) > 100 THEN
        RAISE EXCEPTION 'first name: at most 100 characters' USING ERRCODE = 'check_violation';
    ELSIF p_last_name IS NULL OR p_last_name !~ '[^[:space:]]' THEN
        RAISE EXCEPTION 'last name: required' USING ERRCODE = 'check_violation';
    ELSIF length(p_last_name) > 100 THEN
        RAISE EXCEPTION 'last name: at most 100 characters' USING ERRCODE = 'check_violation';
    ELSIF p_email IS NULL OR length(p_email) > 254
          OR p_email !~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@[:space:][:cntrl:]]+$' THEN
        RAISE EXCEPTION 'email: must look like name@school.example (at most 254 characters)'
            USING ERRCODE = 'check_violation';
    ELSIF EXISTS (SELECT 1 FROM school.users WHERE lower(email) = lower(p_email)
                  AND id IS DISTINCT FROM p_user_id) THEN
        RAISE EXCEPTION 'email: % is already used by another person', p_email
            USING ERRCODE = 'unique_violation';
    END IF;
END
$$;

-- =====================================================================================
-- The Admin's account functions: SECURITY DEFINER, because creating a login is several
-- steps that must happen together and need CREATEROLE, which no person has. The password
-- verifier arrives already computed by the client (libpq's PQencryptPasswordConn), so the
-- server never sees even the derived password.
-- =====================================================================================
-- The proof every password setter stores (credentials.proof_sha): sha256 of the new derived
-- password, computed by the client like the verifier.
CREATE FUNCTION check_proof(p_proof bytea) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF p_proof IS NULL OR length(p_proof) <> 32 THEN
        RAISE EXCEPTION 'password: the proof must be the 32-byte sha256 of the derived password'
            USING ERRCODE = 'check_violation';
    END IF;
END
$$;

-- An Admin, or whoever runs the CLI as the server's superuser or the schema owner.
CREATE FUNCTION may_administer() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT coalesce(school.my_role() = 'Admin', false)
        OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user)
        OR pg_has_role(session_user, (SELECT role_prefix || '_owner' FROM school.instance), 'MEMBER')
$$;

CREATE FUNCTION create_person(
    p_role text, p_first_name text, p_last_name text, p_email text,
    p_salt bytea, p_verifier text, p_proof bytea, p_must_change boolean DEFAULT true
) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_role_id int;
    v_login text;
    v_id int;
BEGIN
    IF NOT school.may_administer() THEN
        RAISE EXCEPTION 'only an Admin may create people' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT id INTO v_role_id FROM school.roles WHERE name = p_role;
    IF v_role_id IS NULL THEN
        RAISE EXCEPTION 'role: % is not one of the school''s roles', p_role
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_verifier IS NULL OR p_verifier NOT LIKE 'SCRAM-SHA-256$%' THEN
        RAISE EXCEPTION 'password: a SCRAM-SHA-256 verifier is required'
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM school.check_proof(p_proof);
    PERFORM school.check_person_fields(NULL, p_first_name, p_last_name, p_email);
    v_login := (SELECT role_prefix FROM school.instance) || '_u_'
               || encode(substr(uuid_send(gen_random_uuid()), 1, 8), 'hex');
    INSERT INTO school.users (role_id, first_name, last_name, email, login_role,
                              must_change_password)
    VALUES (v_role_id, p_first_name, p_last_name, p_email, v_login, coalesce(p_must_change, true))
    RETURNING id INTO v_id;
    INSERT INTO school.credentials (user_id, salt, verifier_sha, proof_sha)
    VALUES (v_id, p_salt, sha256(convert_to(p_verifier, 'UTF8')), p_proof);
    INSERT INTO school.online_status (user_id) VALUES (v_id);
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT PASSWORD %L', v_login, p_verifier);
    PERFORM school.sync_login(v_id);
    RETURN v_id;
END
$$;

CREATE FUNCTION set_person_active(p_user_id int, p_active boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_login text;
BEGIN
    IF NOT school.may_administer() THEN
        RAISE EXCEPTION 'only an Admin may deactivate people' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_active IS NULL THEN
        RAISE EXCEPTION 'active: true or false' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_user_id = school.me() THEN
        RAISE EXCEPTION 'account: you cannot deactivate yourself; ask another Admin'
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT login_role INTO v_login FROM school.users WHERE id = p_user_id FOR UPDATE;
    IF v_login IS NULL THEN
        RAISE EXCEPTION 'person % does not exist', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT p_active THEN
        PERFORM school.keep_an_admin(p_user_id, 'account');
    END IF;
    -- The trigger sets LOGIN/NOLOGIN and the memberships; then the open sessions end.
    UPDATE school.users SET is_active = p_active WHERE id = p_user_id;
    IF NOT p_active THEN
        PERFORM school.end_sessions(v_login);
    END IF;
END
$$;

-- A new temporary password: the person must change it at their next login, and whoever was
-- logged in with the old one is logged out. A student record's first one makes its login.
CREATE FUNCTION set_temporary_password(
    p_user_id int, p_salt bytea, p_verifier text, p_proof bytea
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_login text;
BEGIN
    IF NOT school.may_administer() THEN
        RAISE EXCEPTION 'only an Admin may reset passwords' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_verifier IS NULL OR p_verifier NOT LIKE 'SCRAM-SHA-256$%' THEN
        RAISE EXCEPTION 'password: a SCRAM-SHA-256 verifier is required'
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM school.check_proof(p_proof);
    IF p_user_id = school.me() THEN
        RAISE EXCEPTION 'password: change your own password yourself, not by a reset'
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT login_role INTO v_login FROM school.users WHERE id = p_user_id FOR UPDATE;
    IF v_login IS NULL THEN
        RAISE EXCEPTION 'person % does not exist', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_login) THEN
        -- A student record's first login (create_student, the import): made now, NOLOGIN
        -- until sync_login applies the membership rule below.
        EXECUTE format('CREATE ROLE %I NOLOGIN INHERIT', v_login);
    END IF;
    UPDATE school.users SET must_change_password = true WHERE id = p_user_id;
    PERFORM school.sync_login(p_user_id);
    INSERT INTO school.credentials (user_id, salt, verifier_sha, proof_sha)
    VALUES (p_user_id, p_salt, sha256(convert_to(p_verifier, 'UTF8')), p_proof)
    ON CONFLICT (user_id) DO UPDATE
        SET salt = EXCLUDED.salt, verifier_sha = EXCLUDED.verifier_sha,
            proof_sha = EXCLUDED.proof_sha, set_at = now();
    EXECUTE format('ALTER ROLE %I PASSWORD %L', v_login, p_verifier);
    PERFORM school.end_sessions(v_login);
END
$$;

CREATE FUNCTION change_person_role(p_user_id int, p_role text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_role_id int;
    v_old text;
    v_name text;
    v_records text;
BEGIN
    IF NOT school.may_administer() THEN
        RAISE EXCEPTION 'only an Admin may change roles' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT id INTO v_role_id FROM school.roles WHERE name = p_role;
    IF v_role_id IS NULL THEN
        RAISE EXCEPTION 'role: % is not one of the school''s roles', p_role
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_user_id = school.me() THEN
        RAISE EXCEPTION 'role: you cannot change your own role; ask another Admin'
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT r.name, u.first_name || ' ' || u.last_name INTO v_old, v_name
      FROM school.users u JOIN school.roles r ON r.id = u.role_id
     WHERE u.id = p_user_id FOR UPDATE OF u;
    IF v_old IS NULL THEN
        RAISE EXCEPTION 'person % does not exist', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_old = p_role THEN
        RETURN;
    END IF;
    IF v_old = 'Admin' THEN
        PERFORM school.keep_an_admin(p_user_id, 'role');
    END IF;
    -- Rows that name the person in a column only their present role may fill.
    v_records := concat_ws(', ',
        CASE WHEN v_old = 'Student' THEN nullif((SELECT count(*) FROM school.enrollment_progress
            WHERE student_id = p_user_id), 0) || ' enrollment record(s)' END,
        CASE WHEN v_old = 'Student' THEN nullif((SELECT count(*) FROM school.fees
            WHERE student_id = p_user_id), 0) || ' fee(s)' END,
        CASE WHEN v_old = 'Student' THEN nullif((SELECT count(*) FROM school.guidance_reports
            WHERE student_id = p_user_id), 0) || ' guidance report(s)' END,
        CASE WHEN v_old = 'Teacher' THEN nullif((SELECT count(*) FROM school.sections
            WHERE adviser_id = p_user_id), 0) || ' advised section(s)' END,
        CASE WHEN v_old = 'Teacher' THEN nullif((SELECT count(*) FROM school.modules
            WHERE teacher_id = p_user_id), 0) || ' module(s)' END,
        CASE WHEN v_old = 'Teacher' THEN nullif((SELECT count(*) FROM school.tasks
            WHERE teacher_id = p_user_id), 0) || ' task(s)' END,
        CASE WHEN v_old = 'Guidance' THEN nullif((SELECT count(*) FROM school.guidance_reports
            WHERE counselor_id = p_user_id), 0) || ' guidance report(s) written' END);
    IF v_records <> '' THEN
        RAISE EXCEPTION 'role: % has % as a %, which need that role; reassign them first',
            v_name, v_records, v_old USING ERRCODE = 'check_violation';
    END IF;
    -- The trigger moves the login from the old group to the new one.
    UPDATE school.users SET role_id = v_role_id WHERE id = p_user_id;
END
$$;

CREATE FUNCTION update_person(p_user_id int, p_first_name text, p_last_name text, p_email text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT school.may_administer() THEN
        RAISE EXCEPTION 'only an Admin may edit people' USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM 1 FROM school.users WHERE id = p_user_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % does not exist', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM school.check_person_fields(p_user_id, p_first_name, p_last_name, p_email);
    UPDATE school.users SET first_name = p_first_name, last_name = p_last_name, email = p_email
     WHERE id = p_user_id;
END
$$;

-- Any person, for themself only (session_user), temporary password or not, and only with
-- their current password: p_current is its argon2-derived PostgreSQL password (the one the
-- session logged in with), checked against credentials.proof_sha, so a session left open is
-- no way to take over its account. A wrong one writes nothing. A row whose proof_sha is
-- NULL (a password set before this check existed) is let through once: the change sets it.
-- The new verifier, salt and proof are computed on the client, as for create_person.
CREATE FUNCTION change_own_password(
    p_current bytea, p_salt bytea, p_verifier text, p_proof bytea
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_id int;
    v_proof bytea;
BEGIN
    SELECT id INTO v_id FROM school.users WHERE login_role = session_user AND is_active FOR UPDATE;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'only an active person of this school may change their password'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT proof_sha INTO v_proof FROM school.credentials WHERE user_id = v_id;
    IF v_proof IS NOT NULL AND (p_current IS NULL OR sha256(p_current) <> v_proof) THEN
        RAISE EXCEPTION 'current password: it is not right' USING ERRCODE = 'check_violation';
    END IF;
    PERFORM school.check_proof(p_proof);
    IF p_verifier IS NULL OR p_verifier NOT LIKE 'SCRAM-SHA-256$%' THEN
        RAISE EXCEPTION 'password: a SCRAM-SHA-256 verifier is required'
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_salt IS NULL OR length(p_salt) NOT BETWEEN 16 AND 64 THEN
        RAISE EXCEPTION 'password: the salt must be 16 to 64 bytes' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE school.credentials
       SET salt = p_salt, verifier_sha = sha256(convert_to(p_verifier, 'UTF8')),
           proof_sha = p_proof, set_at = now()
     WHERE user_id = v_id;
    EXECUTE format('ALTER ROLE %I PASSWORD %L', session_user, p_verifier);
    -- The trigger gives the login its group back.
    UPDATE school.users SET must_change_password = false WHERE id = v_id;
END
$$;

-- =====================================================================================
-- Logging in
-- =====================================================================================
-- What the pre-login role may learn: the login name and salt for an email. An unknown email
-- gets a decoy of the same shape, stable per email, so the client then spends the same KDF
-- time and fails with the same error as for a wrong password.
CREATE FUNCTION prelogin_lookup(p_email text, OUT login_role text, OUT salt bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_secret bytea;
    v_prefix text;
BEGIN
    SELECT u.login_role, c.salt INTO login_role, salt
    FROM school.users u JOIN school.credentials c ON c.user_id = u.id
    WHERE lower(u.email) = lower(btrim(p_email));
    IF login_role IS NULL THEN
        SELECT i.secret, i.role_prefix INTO v_secret, v_prefix FROM school.instance i;
        login_role := v_prefix || '_u_' || encode(substr(sha256(v_secret || convert_to(
            'role:' || lower(btrim(p_email)), 'UTF8')), 1, 8), 'hex');
        salt := substr(sha256(v_secret || convert_to('salt:' || lower(btrim(p_email)), 'UTF8')), 1, 16);
    END IF;
END
$$;

-- Called by the app right after a successful login: stamps last_login for the caller only,
-- at most once a minute (each stamp is an audit row: calls in a loop must not grow the log).
CREATE FUNCTION record_login() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    UPDATE school.users SET last_login = now() WHERE login_role = session_user AND is_active
       AND (last_login IS NULL OR last_login <= now() - interval '1 minute')
$$;

-- =====================================================================================
-- Failed logins: repeated wrong passwords against one person, shown to the Admin.
--
-- A refused password never reaches a table: PostgreSQL refuses it before any SQL runs. The
-- one record is the server's log ("password authentication failed for user ...", SQLSTATE
-- 28P01, after auth_delay's wait). These functions read that log where the server allows:
--
-- - the log must be written as JSON lines (log_destination includes 'jsonlog', PostgreSQL
--   15+, with logging_collector = on): one complete object per line, newlines in messages
--   escaped, so text a person typed cannot pose as an entry;
-- - the owner must be allowed to list and read it: EXECUTE on pg_current_logfile(text),
--   pg_ls_logdir() and pg_read_file(text, bigint, bigint, boolean). The embedded server
--   grants these (school_tui/db/security.py); on a configured server a DBA may, or not, and
--   then failed_login_log_available() says false and failed_logins() returns nothing.
--
-- Failures are counted per login role and mapped to this database's people; decoy logins
-- (unknown emails) and other schools' people map to nobody here and are left out.
-- =====================================================================================
-- A log line as jsonb, or NULL when it is not one complete JSON value (a line cut by the
-- tail read below, or one still being written).
CREATE FUNCTION log_line_json(p_line text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN p_line::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

CREATE FUNCTION failed_login_log_available() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT school.may_administer() THEN
        RAISE EXCEPTION 'only an Admin may see failed logins' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- one check at a time: calling pg_current_logfile without the privilege would raise
    IF NOT (has_function_privilege('pg_catalog.pg_current_logfile(text)', 'EXECUTE')
            AND has_function_privilege('pg_catalog.pg_ls_logdir()', 'EXECUTE')
            AND has_function_privilege(
                'pg_catalog.pg_read_file(text, bigint, bigint, boolean)', 'EXECUTE')) THEN
        RETURN false;
    END IF;
    RETURN pg_catalog.pg_current_logfile('jsonlog') IS NOT NULL;
END
$$;

-- Per person: wrong passwords in the last p_hours (1 to 168) and the latest one. Reads the
-- JSON log files changed in that window, each up to its last 64 MB (a week of ordinary use is
-- far less; under a flood of guesses the newest failures are the ones counted).
CREATE FUNCTION failed_logins(p_hours int DEFAULT 24)
RETURNS TABLE (user_id int, full_name text, email text, role text, failures bigint,
               last_failure timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_since timestamptz;
    v_dir text;
    v_max_bytes constant bigint := 64 * 1024 * 1024;
BEGIN
    IF NOT school.may_administer() THEN
        RAISE EXCEPTION 'only an Admin may see failed logins' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_hours IS NULL OR p_hours NOT BETWEEN 1 AND 168 THEN
        RAISE EXCEPTION 'hours: must be between 1 and 168' USING ERRCODE = 'check_violation';
    END IF;
    IF NOT school.failed_login_log_available() THEN
        RETURN;
    END IF;
    v_since := now() - make_interval(hours => p_hours);
    -- the directory as the server names it (relative to the data directory, or absolute)
    v_dir := regexp_replace(pg_catalog.pg_current_logfile('jsonlog'), '/[^/]*$', '');
    RETURN QUERY
    WITH files AS (
        SELECT v_dir || '/' || f.name AS path, f.size
        FROM pg_catalog.pg_ls_logdir() f
        WHERE f.name LIKE '%.json' AND f.modification >= v_since
    ), chunks AS (
        SELECT pg_catalog.pg_read_file(fl.path, greatest(fl.size - v_max_bytes, 0), v_max_bytes,
                                       true) AS chunk,
               fl.size > v_max_bytes AS cut
        FROM files fl
    ), lines AS (
        SELECT school.log_line_json(l.line) AS entry
        FROM chunks c, regexp_split_to_table(c.chunk, E'\n') WITH ORDINALITY AS l(line, n)
        WHERE c.chunk IS NOT NULL
          AND NOT (c.cut AND l.n = 1)  -- the tail read starts inside a line
          AND l.line LIKE '%"state_code":"28P01"%'
    ), failed AS (
        SELECT e.entry ->> 'user' AS login_role, (e.entry ->> 'timestamp')::timestamptz AS at
        FROM lines e
        WHERE e.entry ->> 'state_code' = '28P01' AND e.entry ->> 'error_severity' = 'FATAL'
    )
    SELECT u.id, u.first_name || ' ' || u.last_name, u.email, r.name, count(*), max(fd.at)
    FROM failed fd
    JOIN school.users u ON u.login_role = fd.login_role
    JOIN school.roles r ON r.id = u.role_id
    WHERE fd.at >= v_since
    GROUP BY u.id, u.first_name, u.last_name, u.email, r.name
    ORDER BY max(fd.at) DESC, u.id;
END
$$;

-- =====================================================================================
-- Lockout: after 3 consecutive wrong passwords an account refuses every
-- password, the right one too, for a cooldown of 15 minutes that doubles with each lockout
-- up to a day (long enough that parallel guessing gets one window in ten minutes); a successful login ends the streak. Enforced by PostgreSQL itself: the
-- login's VALID UNTIL is set to '-infinity', so the server checks no password for it at all,
-- whoever connects and however.
--
-- Failures are refused before any SQL runs, so they are counted from the server's log by a
-- watcher (school_tui/db/lockout.py, `school-tui server watch-logins`), which the embedded
-- server runs and a DBA runs as a service beside a server of their own. It calls
-- login_failed / login_succeeded / end_lockouts as a superuser or the owner. The Admin sees
-- locked accounts (locked_logins; every lock and unlock, end_lockouts' too, sends
-- NOTIFY school_lockouts, 'l:<user id>', which the Admin's listener follows) and may unlock
-- one (unlock_login).
-- =====================================================================================
CREATE TABLE login_lockouts (
    user_id      int PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    failures     int NOT NULL DEFAULT 0 CHECK (failures >= 0),
    lockouts     int NOT NULL DEFAULT 0 CHECK (lockouts >= 0),
    locked_until timestamptz,
    last_failure timestamptz
);
SELECT audit_table('school.login_lockouts');

CREATE FUNCTION may_watch_logins() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user)
        OR pg_has_role(session_user, (SELECT role_prefix || '_owner' FROM school.instance), 'MEMBER')
$$;

-- A wrong password for this login, as the server logged it at p_at. Returns true when it
-- locked the account.
CREATE FUNCTION login_failed(p_login text, p_at timestamptz) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_id int;
    v_row school.login_lockouts;
BEGIN
    IF NOT school.may_watch_logins() THEN
        RAISE EXCEPTION 'only the login watcher may record failed logins'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT id INTO v_id FROM school.users WHERE login_role = p_login;
    IF v_id IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = p_login) THEN
        RETURN false;  -- a decoy (unknown email), or another school's person
    END IF;
    INSERT INTO school.login_lockouts (user_id) VALUES (v_id) ON CONFLICT DO NOTHING;
    SELECT * INTO v_row FROM school.login_lockouts WHERE user_id = v_id FOR UPDATE;
    IF v_row.locked_until IS NOT NULL THEN
        RETURN false;  -- refused while locked: no password was checked
    END IF;
    IF v_row.failures + 1 < 3 THEN
        UPDATE school.login_lockouts SET failures = failures + 1, last_failure = p_at
         WHERE user_id = v_id;
        RETURN false;
    END IF;
    UPDATE school.login_lockouts
       SET failures = 0, lockouts = lockouts + 1, last_failure = p_at,
           locked_until = now() + least(interval '15 minutes' * power(2, least(lockouts, 7)),
                                        interval '1 day')
     WHERE user_id = v_id;
    EXECUTE format('ALTER ROLE %I VALID UNTIL %L', p_login, '-infinity');
    PERFORM pg_notify('school_lockouts', 'l:' || v_id);
    RETURN true;
END
$$;

-- A successful login: the streak of failures, and the growth of the cooldown, start again.
CREATE FUNCTION login_succeeded(p_login text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT school.may_watch_logins() THEN
        RAISE EXCEPTION 'only the login watcher may record logins'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE school.login_lockouts l SET failures = 0, lockouts = 0
      FROM school.users u
     WHERE u.id = l.user_id AND u.login_role = p_login AND l.locked_until IS NULL
       AND (l.failures > 0 OR l.lockouts > 0);
END
$$;

CREATE FUNCTION release_login(p_user_id int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_login text := (SELECT login_role FROM school.users WHERE id = p_user_id);
BEGIN
    UPDATE school.login_lockouts SET locked_until = NULL, failures = 0 WHERE user_id = p_user_id;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_login) THEN
        EXECUTE format('ALTER ROLE %I VALID UNTIL %L', v_login, 'infinity');
    END IF;
    PERFORM pg_notify('school_lockouts', 'l:' || p_user_id);
END
$$;

-- Cooldowns that are over: the accounts take passwords again. Returns how many.
CREATE FUNCTION end_lockouts() RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_id int;
    v_count int := 0;
BEGIN
    IF NOT school.may_watch_logins() THEN
        RAISE EXCEPTION 'only the login watcher may end lockouts'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR v_id IN SELECT user_id FROM school.login_lockouts
                 WHERE locked_until <= now() FOR UPDATE LOOP
        PERFORM school.release_login(v_id);
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END
$$;

-- The Admin: unlock now (and forget the growth of the cooldown).
CREATE FUNCTION unlock_login(p_user_id int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT school.may_administer() THEN
        RAISE EXCEPTION 'only an Admin may unlock an account' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM school.login_lockouts WHERE user_id = p_user_id
                   AND locked_until IS NOT NULL) THEN
        RAISE EXCEPTION 'account: this account is not locked' USING ERRCODE = 'check_violation';
    END IF;
    PERFORM school.release_login(p_user_id);
    UPDATE school.login_lockouts SET lockouts = 0 WHERE user_id = p_user_id;
END
$$;

-- The Admin: who is locked, and until when.
CREATE FUNCTION locked_logins(OUT user_id int, OUT locked_until timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT school.may_administer() THEN
        RAISE EXCEPTION 'only an Admin may see locked accounts' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY SELECT l.user_id, l.locked_until FROM school.login_lockouts l
                  WHERE l.locked_until IS NOT NULL ORDER BY l.user_id;
END
$$;

GRANT EXECUTE ON FUNCTION unlock_login(int), locked_logins() TO {{admin}};

-- =====================================================================================
-- Grants and row-level security. Policies read my_role()/me() in a sub-select so they run
-- once per statement, not per row.
-- =====================================================================================
GRANT EXECUTE ON FUNCTION me(), my_role(), whoami(), record_login(),
    change_own_password(bytea, bytea, text, bytea) TO {{member}};
GRANT EXECUTE ON FUNCTION prelogin_lookup(text) TO {{prelogin}};
GRANT EXECUTE ON FUNCTION create_person(text, text, text, text, bytea, text, bytea, boolean),
    set_person_active(int, boolean), set_temporary_password(int, bytea, text, bytea),
    change_person_role(int, text), update_person(int, text, text, text),
    role_group(text), failed_login_log_available(), failed_logins(int) TO {{admin}};

-- The eight role names are no school data (and users_read reads them).
GRANT SELECT ON roles TO {{member}};
-- Everyone reads people (chat needs names); students only staff and themselves.
GRANT SELECT (id, role_id, first_name, last_name, email, is_active, must_change_password,
              profile_image, created_at, last_login, last_logout) ON users TO {{member}};
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_read ON users FOR SELECT TO {{member}} USING (
    (SELECT school.me()) IS NOT NULL AND (
        (SELECT school.my_role()) <> 'Student'
        OR id = (SELECT school.me())
        OR role_id <> (SELECT id FROM school.roles WHERE name = 'Student')));
