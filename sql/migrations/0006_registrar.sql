-- The registrar's day (issue #5): student records, the enrollment pipeline with its rules and
-- history, section capacity, live enrollment notifications, and the CSV import's staging.
--
-- Students before logins. A student record (users row, role Student, plus student_profiles)
-- can exist without a PostgreSQL login role: create_student and the CSV import reserve the
-- login's name in users.login_role but create no role and no credentials. prelogin_lookup then
-- answers their email with a decoy, so logging in fails like any wrong password. The role is
-- created the first time someone issues them a temporary password (set_temporary_password,
-- the Admin's existing path); sync_login has nothing to sync for a login not made yet.
-- Creating a role costs a catalog write and a SCRAM verifier costs argon2 on the client: a
-- 10,000-student import could afford neither.
--
-- The pipeline. enrollment_progress.current_status may change only along
-- enrollment_transitions; a BEFORE trigger refuses anything else, whoever writes (the
-- registrar's UPDATE, set_enrollment_status, the accounting hook, the owner). An AFTER trigger
-- writes enrollment_history (who: me() of the session, when, from, to, the row's remark), in
-- the same statement, so the current status is always the latest history row's `to_status`
-- and `remarks` its remark. Insert records the initial status the same way (from NULL).

-- =====================================================================================
-- Finding the session's person: me(), my_role() and the audit stamp look users up by
-- `login_role = session_user`. session_user is a `name`, whose collation is "C", so the
-- comparison is made in "C" and the unique index (default collation) cannot serve it: every
-- call scanned all of users (1.4 ms per audited row at 20,000 people). An index in "C" can.
-- =====================================================================================
CREATE INDEX users_login_role_c_idx ON users (login_role COLLATE "C");

-- =====================================================================================
-- Student details
-- =====================================================================================
CREATE TABLE student_profiles (
    user_id        int PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    student_number text NOT NULL UNIQUE
                   CHECK (student_number ~ '^[A-Z0-9][A-Z0-9-]{0,31}$'),
    grade_level    text CHECK (grade_level IN ('Kindergarten', 'Grade 1', 'Grade 2', 'Grade 3',
        'Grade 4', 'Grade 5', 'Grade 6', 'Grade 7', 'Grade 8', 'Grade 9', 'Grade 10',
        'Grade 11', 'Grade 12')),
    birth_date     date CHECK (birth_date BETWEEN DATE '1900-01-01' AND DATE '2200-01-01'),
    guardian_name  text CHECK (length(guardian_name) <= 200 AND guardian_name ~ '[^[:space:]]'),
    guardian_phone text CHECK (guardian_phone ~ '^\+?[0-9][0-9 ()./-]{4,29}$'),
    address        text CHECK (length(address) <= 500 AND address ~ '[^[:space:]]'),
    -- Derived, kept by triggers (profiles_derive, users_profile_names): what search matches
    -- (lower-case names, email, number) and the order results come in.
    search_text    text NOT NULL DEFAULT '',
    sort_name      text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX student_profiles_sort_idx ON student_profiles (sort_name, user_id);
CREATE INDEX student_profiles_grade_idx ON student_profiles (grade_level);

CREATE TRIGGER profiles_student_is_student BEFORE INSERT OR UPDATE OF user_id
    ON student_profiles FOR EACH ROW EXECUTE FUNCTION check_user_role('user_id', 'Student');

CREATE FUNCTION profile_search_text(p_first text, p_last text, p_email text, p_number text)
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT lower(p_first || ' ' || p_last || ' ' || p_email || ' ' || p_number)
$$;

CREATE FUNCTION profiles_derive() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    u record;
BEGIN
    SELECT first_name, last_name, email INTO u FROM school.users WHERE id = NEW.user_id;
    NEW.search_text := school.profile_search_text(u.first_name, u.last_name, u.email,
                                                  NEW.student_number);
    NEW.sort_name := lower(u.last_name || ', ' || u.first_name);
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER profiles_derive BEFORE INSERT OR UPDATE ON student_profiles
    FOR EACH ROW EXECUTE FUNCTION profiles_derive();

CREATE FUNCTION users_profile_names() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    -- profiles_derive recomputes from the new names
    UPDATE school.student_profiles SET student_number = student_number WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_profile_names AFTER UPDATE OF first_name, last_name, email ON users
    FOR EACH ROW
    WHEN (OLD.first_name IS DISTINCT FROM NEW.first_name OR OLD.last_name IS DISTINCT FROM NEW.last_name
          OR OLD.email IS DISTINCT FROM NEW.email)
    EXECUTE FUNCTION users_profile_names();

SELECT audit_table('school.student_profiles');

-- Search index: pg_trgm's GIN index makes `search_text LIKE '%word%'` an index search. The
-- extension is created by school_tui.db.bootstrap (as the superuser that runs migrations)
-- where the server has it; ensure_search_index() adds the index then, here or at any later
-- `db upgrade`. Without it the same query walks student_profiles_sort_idx (the fallback).
CREATE FUNCTION ensure_search_index() RETURNS boolean
LANGUAGE plpgsql SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_schema text;
BEGIN
    SELECT n.nspname INTO v_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    IF v_schema IS NULL THEN
        RETURN false;
    END IF;
    IF to_regclass('school.student_profiles_search_trgm') IS NULL THEN
        EXECUTE format('CREATE INDEX student_profiles_search_trgm ON school.student_profiles '
                       'USING gin (search_text %I.gin_trgm_ops)', v_schema);
    END IF;
    RETURN true;
END
$$;
SELECT ensure_search_index();

-- =====================================================================================
-- Who may do the registrar's work: the Registrar; the Admin too for student records.
-- =====================================================================================
CREATE FUNCTION may_register(p_admin_too boolean DEFAULT false) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT coalesce(school.my_role() = 'Registrar', false)
        OR (p_admin_too AND school.may_administer())
$$;

-- Field rules with messages that name the field (the table's CHECKs stay the last word).
CREATE FUNCTION check_profile_fields(p_user_id int, p_student_number text, p_grade_level text,
    p_birth_date date, p_guardian_name text, p_guardian_phone text, p_address text)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF p_student_number IS NULL OR p_student_number !~ '^[A-Z0-9][A-Z0-9-]{0,31}$' THEN
        RAISE EXCEPTION 'student number: 1 to 32 capital letters, digits or dashes, like 2026-00123'
            USING ERRCODE = 'check_violation';
    ELSIF EXISTS (SELECT 1 FROM school.student_profiles WHERE student_number = p_student_number
                  AND user_id IS DISTINCT FROM p_user_id) THEN
        RAISE EXCEPTION 'student number: % already belongs to another student', p_student_number
            USING ERRCODE = 'unique_violation';
    ELSIF p_grade_level IS NOT NULL AND p_grade_level NOT IN ('Kindergarten', 'Grade 1',
          'Grade 2', 'Grade 3', 'Grade 4', 'Grade 5', 'Grade 6', 'Grade 7', 'Grade 8',
          'Grade 9', 'Grade 10', 'Grade 11', 'Grade 12') THEN
        RAISE EXCEPTION 'grade level: must be Kindergarten or Grade 1 to Grade 12'
            USING ERRCODE = 'check_violation';
    ELSIF p_birth_date IS NOT NULL AND (p_birth_date < DATE '1900-01-01' OR p_birth_date > current_date) THEN
        RAISE EXCEPTION 'birth date: must be a past date like 2012-05-31'
            USING ERRCODE = 'check_violation';
    ELSIF p_guardian_name IS NOT NULL AND (length(p_guardian_name) > 200 OR p_guardian_name !~ '[^[:space:]]') THEN
        RAISE EXCEPTION 'guardian name: at most 200 characters, not only spaces'
            USING ERRCODE = 'check_violation';
    ELSIF p_guardian_phone IS NOT NULL AND p_guardian_phone !~ '^\+?[0-9][0-9 ()./-]{4,29}$' THEN
        RAISE EXCEPTION 'guardian phone: digits with spaces, dashes or brackets, like +63 912 345 6789'
            USING ERRCODE = 'check_violation';
    ELSIF p_address IS NOT NULL AND (length(p_address) > 500 OR p_address !~ '[^[:space:]]') THEN
        RAISE EXCEPTION 'address: at most 500 characters, not only spaces'
            USING ERRCODE = 'check_violation';
    END IF;
END
$$;

-- A new login name: the school's prefix and 16 random hex digits (the role is made later).
CREATE FUNCTION new_login_name() RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT (SELECT role_prefix FROM school.instance) || '_u_'
           || encode(substr(uuid_send(gen_random_uuid()), 1, 8), 'hex')
$$;

-- A student record, with no usable login yet (see the top), and their enrollment for the
-- section's school year (else the current one), Pending, when there is such a year.
CREATE FUNCTION create_student(
    p_first_name text, p_last_name text, p_email text, p_student_number text,
    p_grade_level text DEFAULT NULL, p_birth_date date DEFAULT NULL,
    p_guardian_name text DEFAULT NULL, p_guardian_phone text DEFAULT NULL,
    p_address text DEFAULT NULL, p_section_id int DEFAULT NULL
) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_id int;
    v_year int;
BEGIN
    IF NOT school.may_register(true) THEN
        RAISE EXCEPTION 'only the Registrar or an Admin may create students'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM school.check_person_fields(NULL, p_first_name, p_last_name, p_email);
    PERFORM school.check_profile_fields(NULL, p_student_number, p_grade_level, p_birth_date,
        p_guardian_name, p_guardian_phone, p_address);
    IF p_section_id IS NOT NULL THEN
        SELECT school_year_id INTO v_year FROM school.sections WHERE id = p_section_id;
        IF v_year IS NULL THEN
            RAISE EXCEPTION 'section: section % does not exist', p_section_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    ELSE
        SELECT id INTO v_year FROM school.school_years WHERE is_current;
    END IF;
    INSERT INTO school.users (role_id, first_name, last_name, email, login_role,
                              must_change_password)
    VALUES ((SELECT id FROM school.roles WHERE name = 'Student'), p_first_name, p_last_name,
            p_email, school.new_login_name(), true)
    RETURNING id INTO v_id;
    INSERT INTO school.student_profiles (user_id, student_number, grade_level, birth_date,
        guardian_name, guardian_phone, address)
    VALUES (v_id, p_student_number, p_grade_level, p_birth_date, p_guardian_name,
            p_guardian_phone, p_address);
    IF v_year IS NOT NULL THEN
        INSERT INTO school.enrollment_progress (student_id, school_year_id, section_id)
        VALUES (v_id, v_year, p_section_id);
    END IF;
    RETURN v_id;
END
$$;

-- Names, email and details of a student (the section is the enrollment's: see assign).
CREATE FUNCTION update_student(
    p_user_id int, p_first_name text, p_last_name text, p_email text, p_student_number text,
    p_grade_level text DEFAULT NULL, p_birth_date date DEFAULT NULL,
    p_guardian_name text DEFAULT NULL, p_guardian_phone text DEFAULT NULL,
    p_address text DEFAULT NULL
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT school.may_register(true) THEN
        RAISE EXCEPTION 'only the Registrar or an Admin may edit students'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM 1 FROM school.users u JOIN school.roles r ON r.id = u.role_id
     WHERE u.id = p_user_id AND r.name = 'Student' FOR UPDATE OF u;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'student % does not exist', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM school.check_person_fields(p_user_id, p_first_name, p_last_name, p_email);
    PERFORM school.check_profile_fields(p_user_id, p_student_number, p_grade_level, p_birth_date,
        p_guardian_name, p_guardian_phone, p_address);
    UPDATE school.users SET first_name = p_first_name, last_name = p_last_name, email = p_email
     WHERE id = p_user_id;
    INSERT INTO school.student_profiles AS p (user_id, student_number, grade_level, birth_date,
        guardian_name, guardian_phone, address)
    VALUES (p_user_id, p_student_number, p_grade_level, p_birth_date, p_guardian_name,
            p_guardian_phone, p_address)
    ON CONFLICT (user_id) DO UPDATE SET student_number = EXCLUDED.student_number,
        grade_level = EXCLUDED.grade_level, birth_date = EXCLUDED.birth_date,
        guardian_name = EXCLUDED.guardian_name, guardian_phone = EXCLUDED.guardian_phone,
        address = EXCLUDED.address;
END
$$;

-- =====================================================================================
-- Logins made later: sync_login skips a login that does not exist yet; a temporary password
-- creates it. (Otherwise as in 0003_accounts.sql.)
-- =====================================================================================
CREATE OR REPLACE FUNCTION sync_login(p_user_id int) RETURNS void
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

CREATE OR REPLACE FUNCTION end_sessions(p_login text) RETURNS void
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
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_login) THEN
        -- A student record's first login (create_student, the import): made now, NOLOGIN
        -- until sync_login applies the membership rule below.
        EXECUTE format('CREATE ROLE %I NOLOGIN INHERIT', v_login);
    END IF;
    UPDATE school.users SET must_change_password = true WHERE id = p_user_id;
    PERFORM school.sync_login(p_user_id);
    INSERT INTO school.credentials (user_id, salt) VALUES (p_user_id, p_salt)
    ON CONFLICT (user_id) DO UPDATE SET salt = EXCLUDED.salt, set_at = now();
    EXECUTE format('ALTER ROLE %I PASSWORD %L', v_login, p_verifier);
    PERFORM school.end_sessions(v_login);
END
$$;

-- =====================================================================================
-- The enrollment pipeline
-- =====================================================================================
CREATE TABLE enrollment_transitions (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    position    int NOT NULL,  -- the order the app offers them in: forward first
    PRIMARY KEY (from_status, to_status),
    CHECK (from_status <> to_status)
);
INSERT INTO enrollment_transitions (from_status, to_status, position) VALUES
    ('Pending', 'Verified', 1),            -- documents checked
    ('Pending', 'Withdrawn', 9),
    ('Verified', 'Payment Complete', 1),   -- by the registrar, or by accounting's hook
    ('Verified', 'Pending', 5),            -- documents found lacking
    ('Verified', 'Withdrawn', 9),
    ('Payment Complete', 'Enrolled', 1),
    ('Payment Complete', 'Verified', 5),   -- a payment reversed
    ('Payment Complete', 'Withdrawn', 9),
    ('Enrolled', 'Withdrawn', 9),
    ('Withdrawn', 'Pending', 1);           -- readmitted: the pipeline starts again
SELECT audit_table('school.enrollment_transitions');

CREATE TABLE enrollment_history (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrollment_id int NOT NULL REFERENCES enrollment_progress(id) ON DELETE CASCADE,
    from_status   text,  -- NULL: the enrollment's first status
    to_status     text NOT NULL,
    remark        text CHECK (length(remark) <= 2000),
    changed_by    int REFERENCES users(id) ON DELETE SET NULL,  -- NULL: the owner or a DBA
    changed_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX enrollment_history_enrollment_idx ON enrollment_history (enrollment_id, id);
SELECT audit_table('school.enrollment_history');
-- History is kept: nobody edits or removes a row (the enrollment's own deletion cascades).
CREATE TRIGGER enrollment_history_append_only BEFORE UPDATE ON enrollment_history
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
ALTER TABLE enrollment_history ENABLE ALWAYS TRIGGER enrollment_history_append_only;

-- Refuses a status change the pipeline does not allow, and a section that is full or of
-- another school year. Locks the section row first, so two registrars filling its last seat
-- at once are serialised: the second one counts the first one's student (a fresh snapshot
-- per statement under READ COMMITTED; rows earlier in the same statement count too).
CREATE FUNCTION enrollment_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_allowed text;
    v_sec record;
    v_taken int;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.current_status IS DISTINCT FROM OLD.current_status THEN
        IF NOT EXISTS (SELECT 1 FROM school.enrollment_transitions
                       WHERE from_status = OLD.current_status AND to_status = NEW.current_status) THEN
            SELECT string_agg(to_status, ', ' ORDER BY position) INTO v_allowed
              FROM school.enrollment_transitions WHERE from_status = OLD.current_status;
            RAISE EXCEPTION 'status: % cannot go from % to % (allowed: %)',
                school.student_label(NEW.student_id), OLD.current_status, NEW.current_status,
                coalesce(v_allowed, 'none') USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.current_status IS DISTINCT FROM OLD.current_status
                             OR NEW.remarks IS DISTINCT FROM OLD.remarks) THEN
        NEW.last_updated := now();
    END IF;
    IF NEW.section_id IS NOT NULL AND NEW.current_status <> 'Withdrawn'
       AND (TG_OP = 'INSERT' OR NEW.section_id IS DISTINCT FROM OLD.section_id
            OR OLD.current_status = 'Withdrawn') THEN
        SELECT id, name, grade_level, capacity, school_year_id INTO v_sec
          FROM school.sections WHERE id = NEW.section_id FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'section: section % does not exist', NEW.section_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF v_sec.school_year_id <> NEW.school_year_id THEN
            RAISE EXCEPTION 'section: % - % belongs to another school year', v_sec.grade_level,
                v_sec.name USING ERRCODE = 'check_violation';
        END IF;
        IF v_sec.capacity IS NOT NULL THEN
            SELECT count(*) INTO v_taken FROM school.enrollment_progress
             WHERE section_id = NEW.section_id AND current_status <> 'Withdrawn' AND id <> NEW.id;
            IF v_taken >= v_sec.capacity THEN
                RAISE EXCEPTION 'section: % - % is full (% of % seats taken)', v_sec.grade_level,
                    v_sec.name, v_taken, v_sec.capacity USING ERRCODE = 'check_violation';
            END IF;
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- "Juan Dela Cruz (2026-00012)" for messages.
CREATE FUNCTION student_label(p_student_id int) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT u.first_name || ' ' || u.last_name
           || coalesce(' (' || p.student_number || ')', '')
    FROM school.users u LEFT JOIN school.student_profiles p ON p.user_id = u.id
    WHERE u.id = p_student_id
$$;

CREATE TRIGGER enrollment_check BEFORE INSERT OR UPDATE ON enrollment_progress
    FOR EACH ROW EXECUTE FUNCTION enrollment_check();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_check;

-- A section's capacity cannot drop below the students already in it.
CREATE FUNCTION sections_capacity_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_taken int;
BEGIN
    IF NEW.capacity IS NOT NULL THEN
        SELECT count(*) INTO v_taken FROM school.enrollment_progress
         WHERE section_id = NEW.id AND current_status <> 'Withdrawn';
        IF v_taken > NEW.capacity THEN
            RAISE EXCEPTION 'capacity: % - % already has % students; capacity must be at least that',
                NEW.grade_level, NEW.name, v_taken USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER sections_capacity_check BEFORE UPDATE OF capacity ON sections
    FOR EACH ROW EXECUTE FUNCTION sections_capacity_check();

-- The history row, in the same statement as the change: who (the session's person), when,
-- from, to, and the row's remark.
CREATE FUNCTION enrollment_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.current_status IS DISTINCT FROM OLD.current_status THEN
        INSERT INTO school.enrollment_history (enrollment_id, from_status, to_status, remark,
                                               changed_by)
        VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.current_status END,
                NEW.current_status, NEW.remarks,
                school.me());
    END IF;
    -- Live updates: ids only, to the staff channel and to the student's own.
    IF TG_OP = 'INSERT' OR NEW.current_status IS DISTINCT FROM OLD.current_status
       OR NEW.section_id IS DISTINCT FROM OLD.section_id OR NEW.remarks IS DISTINCT FROM OLD.remarks
       OR NEW.student_id IS DISTINCT FROM OLD.student_id THEN
        PERFORM pg_notify(school.enrollment_channel(), 'e:' || NEW.id);
        PERFORM school.notify_user(NEW.student_id, 'e:' || NEW.id);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION enrollment_channel() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT 'st_' || left(encode(sha256(i.secret || convert_to('enrollment', 'UTF8')), 'hex'), 32)
    FROM school.instance i
$$;

CREATE TRIGGER enrollment_record AFTER INSERT OR UPDATE ON enrollment_progress
    FOR EACH ROW EXECUTE FUNCTION enrollment_record();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_record;

-- Enrollments made before this migration get their first history row now.
INSERT INTO enrollment_history (enrollment_id, from_status, to_status, remark, changed_by,
                                changed_at)
SELECT id, NULL, current_status, remarks, NULL, last_updated FROM enrollment_progress ORDER BY id;

-- The registrar's bulk transition: every row or none. Rows are locked in id order (two
-- registrars moving overlapping sets cannot deadlock) and checked before any is changed, so
-- the message names the first student who cannot move.
CREATE FUNCTION set_enrollment_status(p_enrollment_ids int[], p_to text, p_remark text DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_ids int[];
    v_found int;
    v_bad record;
    v_allowed text;
    v_count int;
BEGIN
    IF NOT school.may_register() THEN
        RAISE EXCEPTION 'only the Registrar may change enrollment status'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_to IS NULL OR p_to NOT IN (SELECT to_status FROM school.enrollment_transitions) THEN
        RAISE EXCEPTION 'status: % is not a status of the pipeline', coalesce(p_to, 'nothing')
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_remark IS NOT NULL AND length(p_remark) > 2000 THEN
        RAISE EXCEPTION 'remark: at most 2000 characters' USING ERRCODE = 'check_violation';
    END IF;
    SELECT array_agg(DISTINCT i ORDER BY i) INTO v_ids FROM unnest(p_enrollment_ids) i WHERE i IS NOT NULL;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM 1 FROM school.enrollment_progress WHERE id = ANY (v_ids) ORDER BY id FOR UPDATE;
    GET DIAGNOSTICS v_found = ROW_COUNT;
    IF v_found <> cardinality(v_ids) THEN
        RAISE EXCEPTION 'enrollment: % of the % chosen no longer exist; nothing was changed',
            cardinality(v_ids) - v_found, cardinality(v_ids) USING ERRCODE = 'no_data_found';
    END IF;
    SELECT e.student_id, e.current_status INTO v_bad FROM school.enrollment_progress e
     WHERE e.id = ANY (v_ids) AND e.current_status <> p_to
       AND NOT EXISTS (SELECT 1 FROM school.enrollment_transitions t
                       WHERE t.from_status = e.current_status AND t.to_status = p_to)
     ORDER BY e.id LIMIT 1;
    IF FOUND THEN
        SELECT string_agg(to_status, ', ' ORDER BY position) INTO v_allowed
          FROM school.enrollment_transitions WHERE from_status = v_bad.current_status;
        RAISE EXCEPTION 'status: % is %, which cannot go to % (allowed: %); nothing was changed',
            school.student_label(v_bad.student_id), v_bad.current_status, p_to,
            coalesce(v_allowed, 'none') USING ERRCODE = 'check_violation';
    END IF;
    UPDATE school.enrollment_progress SET current_status = p_to, remarks = p_remark
     WHERE id = ANY (v_ids) AND current_status <> p_to;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;

-- THE HOOK for accounting: their SECURITY DEFINER payment function (running as the owner)
-- calls it when a student's required fees for a year are paid. Verified -> Payment Complete;
-- anything else is left alone (Pending: documents are not checked yet, and paying does not
-- check them; the registrar's Verified then finds the payment done). Idempotent.
CREATE FUNCTION enrollment_fees_paid(p_student_id int, p_school_year_id int) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    UPDATE school.enrollment_progress
       SET current_status = 'Payment Complete', remarks = 'Required fees paid'
     WHERE student_id = p_student_id AND school_year_id = p_school_year_id
       AND current_status = 'Verified'
$$;

-- =====================================================================================
-- Fee summary for a student's page (read-only): totals, not rows.
-- =====================================================================================
CREATE FUNCTION student_fee_summary(p_student_id int,
    OUT fees bigint, OUT billed numeric, OUT paid numeric, OUT balance numeric,
    OUT overdue bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (school.my_role() IN ('Registrar', 'Accounting', 'Principal')
            OR p_student_id = school.me()) THEN
        RAISE EXCEPTION 'only the Registrar, Accounting, the Principal or the student may see this'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT count(*), coalesce(sum(f.amount), 0), coalesce(sum(pd.paid), 0),
           coalesce(sum(f.amount), 0) - coalesce(sum(pd.paid), 0),
           count(*) FILTER (WHERE f.due_date < now() AND f.amount > pd.paid)
      INTO fees, billed, paid, balance, overdue
      FROM school.fees f
      CROSS JOIN LATERAL (SELECT coalesce(sum(p.amount_paid), 0) AS paid
                          FROM school.payments p WHERE p.fee_id = f.id) pd
     WHERE f.student_id = p_student_id;
END
$$;

-- =====================================================================================
-- CSV import: the rows a registrar COPYs in, read by import_students in the same
-- transaction and deleted by it.
-- =====================================================================================
CREATE TABLE import_staging (
    batch          uuid NOT NULL,
    line           int NOT NULL,
    loaded_by      text NOT NULL DEFAULT session_user,
    student_number text,
    first_name     text,
    last_name      text,
    email          text,
    grade_level    text,
    section        text,
    birth_date     text,
    guardian_name  text,
    guardian_phone text,
    address        text,
    PRIMARY KEY (batch, line)
);
SELECT audit_table('school.import_staging');
-- COPY refuses a table under row-level security, so: INSERT only (nobody reads or deletes
-- these rows but import_students, as the owner), and each row is stamped with the login that
-- loaded it, whatever the inserter said; import_students takes only the caller's own rows.
CREATE FUNCTION import_staging_stamp() RETURNS trigger
LANGUAGE plpgsql SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    NEW.loaded_by := session_user;
    RETURN NEW;
END
$$;
CREATE TRIGGER import_staging_stamp BEFORE INSERT ON import_staging
    FOR EACH ROW EXECUTE FUNCTION import_staging_stamp();
ALTER TABLE import_staging ENABLE ALWAYS TRIGGER import_staging_stamp;
GRANT INSERT ON import_staging TO {{registrar}}, {{admin}};

-- text -> date, NULL when it is not one (a CSV cell is text; the preview said which are bad).
CREATE FUNCTION try_date(p_text text) RETURNS date
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_text !~ '^\d{4}-\d{2}-\d{2}$' THEN
        RETURN NULL;
    END IF;
    RETURN p_text::date;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- A batch's staged rows as the import reads them: trimmed, empty cells NULL, the student
-- number in capitals, the section resolved in the current school year, and the existing
-- student with that number. Only the caller's own rows (session_user loaded them).
CREATE FUNCTION import_rows(p_batch uuid)
RETURNS TABLE (line int, student_number text, first_name text, last_name text, email text,
               grade_level text, section text, section_id int, birth_text text, birth_date date,
               guardian_name text, guardian_phone text, address text, existing_id int)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT s.line, upper(nullif(btrim(s.student_number), '')), nullif(btrim(s.first_name), ''),
           nullif(btrim(s.last_name), ''), nullif(btrim(s.email), ''),
           nullif(btrim(s.grade_level), ''), nullif(btrim(s.section), ''), sec.id,
           nullif(btrim(s.birth_date), ''), school.try_date(nullif(btrim(s.birth_date), '')),
           nullif(btrim(s.guardian_name), ''), nullif(btrim(s.guardian_phone), ''),
           nullif(btrim(s.address), ''), p.user_id
    FROM school.import_staging s
    LEFT JOIN school.sections sec
           ON sec.school_year_id = (SELECT id FROM school.school_years WHERE is_current)
          AND sec.grade_level = nullif(btrim(s.grade_level), '')
          AND lower(sec.name) = lower(nullif(btrim(s.section), ''))
    LEFT JOIN school.student_profiles p ON p.student_number = upper(nullif(btrim(s.student_number), ''))
    WHERE s.batch = p_batch AND s.loaded_by = session_user
$$;

-- One batch of staged rows into students, all or nothing: a row whose student number exists
-- updates that student, any other adds one (no login yet: see the top) with a Pending
-- enrollment in the current school year. The rules are checked again here; the first broken
-- one aborts the whole import with its line and field. The staged rows are deleted.
CREATE FUNCTION import_students(p_batch uuid, OUT added int, OUT updated int)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_year int := (SELECT id FROM school.school_years WHERE is_current);
    v_role int := (SELECT id FROM school.roles WHERE name = 'Student');
    v_bad record;
    v_ids int[];
    v_emails text[];
BEGIN
    IF NOT school.may_register(true) THEN
        RAISE EXCEPTION 'only the Registrar or an Admin may import students'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT b.line, b.reason INTO v_bad FROM (
        SELECT r.line, CASE
            WHEN r.student_number IS NULL OR r.student_number !~ '^[A-Z0-9][A-Z0-9-]{0,31}$'
                THEN 'student number: 1 to 32 capital letters, digits or dashes'
            WHEN r.first_name IS NULL OR length(r.first_name) > 100 THEN 'first name: required, at most 100 characters'
            WHEN r.last_name IS NULL OR length(r.last_name) > 100 THEN 'last name: required, at most 100 characters'
            WHEN r.email IS NULL OR length(r.email) > 254
                 OR r.email !~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@[:space:][:cntrl:]]+$'
                THEN 'email: must look like name@school.example'
            WHEN r.grade_level IS NOT NULL AND r.grade_level NOT IN ('Kindergarten', 'Grade 1',
                 'Grade 2', 'Grade 3', 'Grade 4', 'Grade 5', 'Grade 6', 'Grade 7', 'Grade 8',
                 'Grade 9', 'Grade 10', 'Grade 11', 'Grade 12')
                THEN 'grade level: must be Kindergarten or Grade 1 to Grade 12'
            WHEN r.section IS NOT NULL AND r.section_id IS NULL
                THEN 'section: no such section in that grade this school year'
            WHEN r.birth_text IS NOT NULL AND (r.birth_date IS NULL OR r.birth_date > current_date
                                               OR r.birth_date < DATE '1900-01-01')
                THEN 'birth date: must be a date like 2012-05-31'
            WHEN r.guardian_name IS NOT NULL AND length(r.guardian_name) > 200
                THEN 'guardian name: at most 200 characters'
            WHEN r.guardian_phone IS NOT NULL AND r.guardian_phone !~ '^\+?[0-9][0-9 ()./-]{4,29}$'
                THEN 'guardian phone: digits with spaces, dashes or brackets'
            WHEN r.address IS NOT NULL AND length(r.address) > 500 THEN 'address: at most 500 characters'
            WHEN count(*) OVER (PARTITION BY r.student_number) > 1
                THEN 'student number: appears more than once in the file'
            WHEN count(*) OVER (PARTITION BY lower(r.email)) > 1
                THEN 'email: appears more than once in the file'
            WHEN EXISTS (SELECT 1 FROM school.users u WHERE lower(u.email) = lower(r.email)
                         AND u.id IS DISTINCT FROM r.existing_id)
                THEN 'email: already used by another person'
            END AS reason
        FROM school.import_rows(p_batch) r) b
     WHERE b.reason IS NOT NULL ORDER BY b.line LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'line %: %; nothing was imported', v_bad.line, v_bad.reason
            USING ERRCODE = 'check_violation';
    END IF;

    -- Existing students: names, email, details.
    UPDATE school.users u SET first_name = r.first_name, last_name = r.last_name, email = r.email
      FROM school.import_rows(p_batch) r
     WHERE u.id = r.existing_id
       AND (u.first_name, u.last_name, u.email) IS DISTINCT FROM (r.first_name, r.last_name, r.email);
    UPDATE school.student_profiles p SET grade_level = r.grade_level, birth_date = r.birth_date,
           guardian_name = r.guardian_name, guardian_phone = r.guardian_phone, address = r.address
      FROM school.import_rows(p_batch) r
     WHERE p.user_id = r.existing_id;
    GET DIAGNOSTICS updated = ROW_COUNT;

    -- New students: the person, then the profile (two statements: the profile's triggers read
    -- the new users rows).
    WITH made AS (
        INSERT INTO school.users (role_id, first_name, last_name, email, login_role,
                                  must_change_password)
        SELECT v_role, r.first_name, r.last_name, r.email, school.new_login_name(), true
          FROM school.import_rows(p_batch) r WHERE r.existing_id IS NULL ORDER BY r.line
        RETURNING id, lower(email) AS email)
    SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(email), '{}') INTO v_ids, v_emails
      FROM made;
    added := cardinality(v_ids);
    INSERT INTO school.student_profiles (user_id, student_number, grade_level, birth_date,
        guardian_name, guardian_phone, address)
    SELECT m.id, r.student_number, r.grade_level, r.birth_date, r.guardian_name,
           r.guardian_phone, r.address
      FROM unnest(v_ids, v_emails) AS m(id, email)
      JOIN school.import_rows(p_batch) r ON lower(r.email) = m.email AND r.existing_id IS NULL;

    -- Enrollment in the current year: new students always (Pending), the section where the
    -- file names one (the capacity rule applies row by row).
    IF v_year IS NOT NULL THEN
        INSERT INTO school.enrollment_progress AS e (student_id, school_year_id, section_id)
        SELECT coalesce(r.existing_id, m.id), v_year, r.section_id
          FROM school.import_rows(p_batch) r
          LEFT JOIN unnest(v_ids, v_emails) AS m(id, email) ON m.email = lower(r.email)
         WHERE r.existing_id IS NULL OR r.section_id IS NOT NULL
         ORDER BY r.line
        ON CONFLICT (student_id, school_year_id) DO UPDATE SET section_id = EXCLUDED.section_id
         WHERE e.section_id IS DISTINCT FROM EXCLUDED.section_id;
    END IF;
    DELETE FROM school.import_staging WHERE batch = p_batch AND loaded_by = session_user;
END
$$;

-- =====================================================================================
-- Grants
-- =====================================================================================
REVOKE ALL ON FUNCTION profile_search_text(text, text, text, text), profiles_derive(),
    users_profile_names(), ensure_search_index(), may_register(boolean),
    check_profile_fields(int, text, text, date, text, text, text), new_login_name(),
    create_student(text, text, text, text, text, date, text, text, text, int),
    update_student(int, text, text, text, text, text, date, text, text, text),
    enrollment_check(), student_label(int), sections_capacity_check(), enrollment_record(),
    enrollment_channel(), set_enrollment_status(int[], text, text),
    enrollment_fees_paid(int, int), student_fee_summary(int), try_date(text),
    import_staging_stamp(),
    import_rows(uuid), import_students(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION create_student(text, text, text, text, text, date, text, text, text, int),
    update_student(int, text, text, text, text, text, date, text, text, text),
    import_students(uuid) TO {{registrar}}, {{admin}};
GRANT EXECUTE ON FUNCTION set_enrollment_status(int[], text, text) TO {{registrar}};
GRANT EXECUTE ON FUNCTION student_fee_summary(int) TO {{registrar}}, {{accounting}},
    {{principal}}, {{student}};
GRANT EXECUTE ON FUNCTION enrollment_channel() TO {{registrar}}, {{principal}}, {{coordinator}},
    {{accounting}}, {{guidance}};
-- enrollment_fees_paid: no grant; only owner-run functions (accounting's) call it.

-- student_profiles: staff who read enrollment read all; a student their own row. Writes go
-- through create_student/update_student/import_students only.
GRANT SELECT ON student_profiles TO {{registrar}}, {{principal}}, {{coordinator}},
    {{guidance}}, {{accounting}}, {{student}};
ALTER TABLE student_profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY profiles_staff_read ON student_profiles FOR SELECT
    TO {{registrar}}, {{principal}}, {{coordinator}}, {{guidance}}, {{accounting}}
    USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY profiles_own_read ON student_profiles FOR SELECT TO {{student}}
    USING (user_id = (SELECT school.me()));

-- The pipeline's rules: read by whoever reads enrollment; nobody changes them.
GRANT SELECT ON enrollment_transitions TO {{registrar}}, {{principal}}, {{coordinator}},
    {{guidance}}, {{accounting}}, {{teacher}}, {{student}};

-- History: as enrollment_progress is read (a teacher not: they see the current status).
GRANT SELECT ON enrollment_history TO {{registrar}}, {{principal}}, {{coordinator}},
    {{guidance}}, {{accounting}}, {{student}};
ALTER TABLE enrollment_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY history_staff_read ON enrollment_history FOR SELECT
    TO {{registrar}}, {{principal}}, {{coordinator}}, {{guidance}}, {{accounting}}
    USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY history_own_read ON enrollment_history FOR SELECT TO {{student}}
    USING (enrollment_id IN (SELECT id FROM school.enrollment_progress
                             WHERE student_id = (SELECT school.me())));
