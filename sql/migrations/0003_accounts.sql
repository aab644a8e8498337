-- Account administration and the temporary-password rule (issue #3, parts 3 and 4).
--
-- One rule decides what a login may do, and the database keeps it by itself: a person's login
-- role is a member of
--     their role's group    while the person is active and has chosen their own password,
--     {{member}} alone      while they are active but must change a temporary password,
--     nothing, and NOLOGIN  while they are deactivated.
-- A trigger on users applies the rule whenever role_id, is_active or must_change_password
-- change, whoever changes them (these functions, or a DBA with a plain UPDATE), so a role
-- change moves the login between groups in the same transaction: all or nothing.
--
-- What follows from it:
-- * A person with a temporary password can connect, learn who they are (whoami) and call
--   change_own_password; nothing else. {{member}} therefore keeps only what such a person may
--   hold: CONNECT, USAGE on the schema, the list of role names, and users/messages, which
--   row-level security shows them none of (me() and my_role() give NULL for them). What
--   everyone reads moves from {{member}} to the eight groups.
-- * Deactivation ends the person's sessions, but a login made between that and the commit of
--   NOLOGIN used to keep its privileges. Now the membership goes in the same transaction, so
--   such a session, once the deactivation commits, can read and call nothing in the school.
-- * The last active Admin can be neither demoted nor deactivated; nobody changes their own
--   role, activity or password through the Admin's functions (ending one's own session would
--   roll the change back with it).

-- =====================================================================================
-- Who is this connection: nobody, while their password is temporary.
-- =====================================================================================
CREATE OR REPLACE FUNCTION me() RETURNS int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT id FROM school.users
    WHERE login_role = session_user AND is_active AND NOT must_change_password
$$;

CREATE OR REPLACE FUNCTION my_role() RETURNS text
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
-- The membership rule. Owner only: no grant to anyone.
-- =====================================================================================
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
    v_wanted := CASE
        WHEN NOT v_active THEN ARRAY[]::text[]
        WHEN v_must_change THEN ARRAY[v_prefix || '_member']
        ELSE ARRAY[school.role_group(v_role)] END;
    SELECT array_agg(school.role_group(name)) || (v_prefix || '_member')
      INTO v_school_roles FROM school.roles;

    SELECT rolcanlogin INTO v_can_login FROM pg_catalog.pg_roles WHERE rolname = v_login;
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
    -- A membership someone else granted (a DBA, by hand) is not ours to revoke: refuse the
    -- change rather than leave a deactivated or temporary login with a group's privileges.
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
    EXECUTE format('GRANT %I TO %I', p_login, current_user);
    PERFORM pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE usename = p_login;
    EXECUTE format('REVOKE %I FROM %I', p_login, current_user);
END
$$;

-- Refuses a change that would leave the school without an active Admin. The advisory lock
-- serialises such changes, so two Admins cannot demote each other at the same moment.
CREATE FUNCTION keep_an_admin(p_user_id int, p_field text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('school_tui.active_admins'));
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
-- The Admin's account functions.
-- =====================================================================================
CREATE OR REPLACE FUNCTION create_person(
    p_role text, p_first_name text, p_last_name text, p_email text,
    p_salt bytea, p_verifier text, p_must_change boolean DEFAULT true
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
    PERFORM school.check_person_fields(NULL, p_first_name, p_last_name, p_email);
    v_login := (SELECT role_prefix FROM school.instance) || '_u_'
               || encode(substr(uuid_send(gen_random_uuid()), 1, 8), 'hex');
    INSERT INTO school.users (role_id, first_name, last_name, email, login_role,
                              must_change_password)
    VALUES (v_role_id, p_first_name, p_last_name, p_email, v_login, coalesce(p_must_change, true))
    RETURNING id INTO v_id;
    INSERT INTO school.credentials (user_id, salt) VALUES (v_id, p_salt);
    INSERT INTO school.online_status (user_id) VALUES (v_id);
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT PASSWORD %L', v_login, p_verifier);
    PERFORM school.sync_login(v_id);
    RETURN v_id;
END
$$;

CREATE OR REPLACE FUNCTION set_person_active(p_user_id int, p_active boolean) RETURNS void
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

CREATE OR REPLACE FUNCTION set_temporary_password(p_user_id int, p_salt bytea, p_verifier text)
RETURNS void
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
    IF p_user_id = school.me() THEN
        RAISE EXCEPTION 'password: change your own password yourself, not by a reset'
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT login_role INTO v_login FROM school.users WHERE id = p_user_id FOR UPDATE;
    IF v_login IS NULL THEN
        RAISE EXCEPTION 'person % does not exist', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE school.users SET must_change_password = true WHERE id = p_user_id;
    UPDATE school.credentials SET salt = p_salt, set_at = now() WHERE user_id = p_user_id;
    EXECUTE format('ALTER ROLE %I PASSWORD %L', v_login, p_verifier);
    -- Whoever was logged in with the old password is logged out.
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

-- Any person, for themself only (session_user), temporary password or not. The new verifier
-- and salt are computed on the client, as for create_person.
CREATE FUNCTION change_own_password(p_salt bytea, p_verifier text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_id int;
BEGIN
    SELECT id INTO v_id FROM school.users WHERE login_role = session_user AND is_active FOR UPDATE;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'only an active person of this school may change their password'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_verifier IS NULL OR p_verifier NOT LIKE 'SCRAM-SHA-256$%' THEN
        RAISE EXCEPTION 'password: a SCRAM-SHA-256 verifier is required'
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_salt IS NULL OR length(p_salt) NOT BETWEEN 16 AND 64 THEN
        RAISE EXCEPTION 'password: the salt must be 16 to 64 bytes' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE school.credentials SET salt = p_salt, set_at = now() WHERE user_id = v_id;
    EXECUTE format('ALTER ROLE %I PASSWORD %L', session_user, p_verifier);
    -- The trigger gives the login its group back.
    UPDATE school.users SET must_change_password = false WHERE id = v_id;
END
$$;

-- =====================================================================================
-- Policies: with me() and my_role() NULL, every policy must deny. The ones that said
-- USING (true) relied on group membership alone; they now ask for a person too.
-- =====================================================================================
DROP POLICY users_read ON users;
CREATE POLICY users_read ON users FOR SELECT TO {{member}} USING (
    (SELECT school.me()) IS NOT NULL AND (
        (SELECT school.my_role()) <> 'Student'
        OR id = (SELECT school.me())
        OR role_id <> (SELECT id FROM school.roles WHERE name = 'Student')));

DROP POLICY enrollment_staff_read ON enrollment_progress;
CREATE POLICY enrollment_staff_read ON enrollment_progress FOR SELECT
    TO {{registrar}}, {{principal}}, {{coordinator}}, {{accounting}}, {{guidance}}
    USING ((SELECT school.me()) IS NOT NULL);
DROP POLICY enrollment_registrar_write ON enrollment_progress;
CREATE POLICY enrollment_registrar_write ON enrollment_progress FOR ALL TO {{registrar}}
    USING ((SELECT school.me()) IS NOT NULL) WITH CHECK ((SELECT school.me()) IS NOT NULL);
DROP POLICY modules_overseers ON modules;
CREATE POLICY modules_overseers ON modules FOR SELECT TO {{principal}}, {{coordinator}}
    USING ((SELECT school.me()) IS NOT NULL);
DROP POLICY tasks_overseers ON tasks;
CREATE POLICY tasks_overseers ON tasks FOR SELECT TO {{principal}}, {{coordinator}}
    USING ((SELECT school.me()) IS NOT NULL);
DROP POLICY meetings_overseers ON meetings;
CREATE POLICY meetings_overseers ON meetings FOR SELECT TO {{principal}}, {{coordinator}}
    USING ((SELECT school.me()) IS NOT NULL);
DROP POLICY fees_staff ON fees;
CREATE POLICY fees_staff ON fees FOR SELECT TO {{accounting}}, {{principal}}
    USING ((SELECT school.me()) IS NOT NULL);
DROP POLICY fees_accounting_write ON fees;
CREATE POLICY fees_accounting_write ON fees FOR ALL TO {{accounting}}
    USING ((SELECT school.me()) IS NOT NULL) WITH CHECK ((SELECT school.me()) IS NOT NULL);
DROP POLICY payments_staff ON payments;
CREATE POLICY payments_staff ON payments FOR SELECT TO {{accounting}}, {{principal}}
    USING ((SELECT school.me()) IS NOT NULL);
DROP POLICY guidance_read ON guidance_reports;
CREATE POLICY guidance_read ON guidance_reports FOR SELECT TO {{guidance}}, {{principal}}
    USING ((SELECT school.me()) IS NOT NULL);

-- =====================================================================================
-- Grants. What everyone reads is granted to each group, not to {{member}} (see the top).
-- =====================================================================================
-- (roles stays: the eight names are no school data, and users_read reads them.)
REVOKE SELECT ON school_years, sections, subjects, announcements, events, online_status
    FROM {{member}};
GRANT SELECT ON school_years, sections, subjects, announcements, events, online_status
    TO {{admin}}, {{principal}}, {{coordinator}}, {{teacher}}, {{student}}, {{guidance}},
       {{registrar}}, {{accounting}};

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA school FROM PUBLIC;
GRANT EXECUTE ON FUNCTION whoami(), change_own_password(bytea, text) TO {{member}};
GRANT EXECUTE ON FUNCTION change_person_role(int, text), update_person(int, text, text, text)
    TO {{admin}};

-- People made before this migration: memberships by the rule above.
SELECT sync_login(id) FROM users ORDER BY id;
