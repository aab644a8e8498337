-- school-tui schema, version 1: the baseline every migration in sql/migrations/ builds on.
--
-- Run by `school-tui db init` as the NOLOGIN owner role (SET ROLE), inside schema `school`,
-- after the cluster-wide roles exist (school_tui/db/bootstrap.py creates them). Words in double
-- braces are role names, substituted by the loader as quoted identifiers: the prefix keeps two
-- school databases on one server (and the parallel test databases) from sharing roles.
--
-- Everything from ../shared/seed-schema.sql is here with its meaning, plus what real use needs.
-- One deliberate change, not a silent one: the seed's users.password_hash is not a column.
-- Each person's password lives only as the SCRAM verifier of their own PostgreSQL login
-- (pg_authid, readable by superusers alone) and the argon2 salt in school.credentials (owner
-- only), so no column a non-superuser can read holds a password or a password-equivalent.
--
-- Timestamps are timestamptz (the seed's TIMESTAMP loses the zone of a terminal elsewhere).

SET search_path = school, pg_catalog;

-- =====================================================================================
-- Bookkeeping
-- =====================================================================================
CREATE TABLE schema_version (
    version     int PRIMARY KEY,
    description text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- One row: which role prefix this database belongs to, and a secret for the pre-login
-- lookup's decoy answers (see prelogin_lookup).
CREATE TABLE instance (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    role_prefix text NOT NULL,
    secret      bytea NOT NULL DEFAULT (uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()))
);

-- =====================================================================================
-- USERS & ROLES
-- =====================================================================================
CREATE TABLE roles (
    id   serial PRIMARY KEY,
    name text UNIQUE NOT NULL CHECK (name IN ('Admin', 'Principal', 'Academic Coordinator',
        'Teacher', 'Student', 'Guidance', 'Registrar', 'Accounting'))
);

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
    last_login    timestamptz
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE INDEX users_role_id_idx ON users (role_id);
CREATE INDEX users_name_idx ON users (last_name, first_name);

-- The argon2id salt each client needs to derive the person's PostgreSQL password.
-- Readable by the owner only; the pre-login role reaches it through prelogin_lookup().
CREATE TABLE credentials (
    user_id int PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    salt    bytea NOT NULL CHECK (length(salt) BETWEEN 16 AND 64),
    set_at  timestamptz NOT NULL DEFAULT now()
);

-- =====================================================================================
-- SCHOOL YEARS (enrollment is per school year; the seed had no notion of it)
-- =====================================================================================
CREATE TABLE school_years (
    id         serial PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name ~ '^[0-9]{4}-[0-9]{4}$'),
    starts_on  date NOT NULL,
    ends_on    date NOT NULL,
    is_current boolean NOT NULL DEFAULT false,
    CHECK (ends_on > starts_on)
);
CREATE UNIQUE INDEX school_years_one_current ON school_years (is_current) WHERE is_current;

-- =====================================================================================
-- SECTIONS & SUBJECTS
-- =====================================================================================
CREATE TABLE sections (
    id             serial PRIMARY KEY,
    name           text NOT NULL CHECK (name ~ '[^[:space:]]' AND length(name) <= 100),
    grade_level    text NOT NULL CHECK (grade_level IN ('Kindergarten', 'Grade 1', 'Grade 2',
        'Grade 3', 'Grade 4', 'Grade 5', 'Grade 6', 'Grade 7', 'Grade 8', 'Grade 9', 'Grade 10',
        'Grade 11', 'Grade 12')),
    school_year_id int NOT NULL REFERENCES school_years(id) ON DELETE RESTRICT,
    adviser_id     int REFERENCES users(id) ON DELETE SET NULL,
    capacity       int CHECK (capacity BETWEEN 1 AND 200),
    UNIQUE (school_year_id, grade_level, name)
);
CREATE INDEX sections_school_year_idx ON sections (school_year_id, grade_level);
CREATE INDEX sections_adviser_idx ON sections (adviser_id);

CREATE TABLE subjects (
    id          serial PRIMARY KEY,
    section_id  int NOT NULL REFERENCES sections(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '[^[:space:]]' AND length(name) <= 100),
    description text CHECK (length(description) <= 2000),
    UNIQUE (section_id, name)
);

-- =====================================================================================
-- ENROLLMENT PROGRESS (STUDENT): one row per student per school year; the section the
-- student belongs to that year lives here too (modules, tasks and meetings reach students
-- through it).
-- =====================================================================================
CREATE TABLE enrollment_progress (
    id             serial PRIMARY KEY,
    student_id     int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    school_year_id int NOT NULL REFERENCES school_years(id) ON DELETE RESTRICT,
    section_id     int REFERENCES sections(id) ON DELETE SET NULL,
    current_status text NOT NULL DEFAULT 'Pending' CHECK (current_status IN
        ('Pending', 'Verified', 'Payment Complete', 'Enrolled', 'Withdrawn')),
    remarks        text CHECK (length(remarks) <= 2000),
    last_updated   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (student_id, school_year_id)
);
CREATE INDEX enrollment_progress_section_idx ON enrollment_progress (section_id);
CREATE INDEX enrollment_progress_year_status_idx
    ON enrollment_progress (school_year_id, current_status);

-- =====================================================================================
-- TEACHER MODULE UPLOADS, TASKS, MEETINGS
-- =====================================================================================
CREATE TABLE modules (
    id          serial PRIMARY KEY,
    teacher_id  int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    section_id  int NOT NULL REFERENCES sections(id) ON DELETE CASCADE,
    title       text NOT NULL CHECK (title ~ '[^[:space:]]' AND length(title) <= 200),
    description text CHECK (length(description) <= 4000),
    file_url    text NOT NULL CHECK (file_url ~ '[^[:space:]]' AND length(file_url) <= 2048),
    uploaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX modules_teacher_idx ON modules (teacher_id, uploaded_at DESC);
CREATE INDEX modules_section_idx ON modules (section_id, uploaded_at DESC);

CREATE TABLE tasks (
    id            serial PRIMARY KEY,
    teacher_id    int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    section_id    int NOT NULL REFERENCES sections(id) ON DELETE CASCADE,
    title         text NOT NULL CHECK (title ~ '[^[:space:]]' AND length(title) <= 200),
    description   text CHECK (length(description) <= 4000),
    task_type     text NOT NULL CHECK (task_type IN ('Assignment', 'Quiz', 'Test')),
    timer_minutes int CHECK (timer_minutes BETWEEN 1 AND 1440),
    due_date      timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (due_date IS NULL OR due_date >= created_at)
);
CREATE INDEX tasks_teacher_idx ON tasks (teacher_id, due_date);
CREATE INDEX tasks_section_idx ON tasks (section_id, due_date);

CREATE TABLE meetings (
    id           serial PRIMARY KEY,
    host_id      int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    section_id   int REFERENCES sections(id) ON DELETE CASCADE,
    title        text NOT NULL CHECK (title ~ '[^[:space:]]' AND length(title) <= 200),
    meeting_link text NOT NULL CHECK (meeting_link ~ '^https?://[^[:space:]]+$'
                                      AND length(meeting_link) <= 2048),
    scheduled_at timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meetings_host_idx ON meetings (host_id, scheduled_at);
CREATE INDEX meetings_section_idx ON meetings (section_id, scheduled_at);

-- =====================================================================================
-- CHAT SYSTEM (the NOTIFY triggers arrive with issue #4)
-- =====================================================================================
CREATE TABLE messages (
    id          bigserial PRIMARY KEY,
    sender_id   int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    receiver_id int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message     text NOT NULL CHECK (message ~ '[^[:space:]]' AND length(message) <= 4000),
    sent_at     timestamptz NOT NULL DEFAULT now(),
    is_read     boolean NOT NULL DEFAULT false,
    CHECK (sender_id <> receiver_id)
);
CREATE INDEX messages_receiver_idx ON messages (receiver_id, id);
CREATE INDEX messages_sender_idx ON messages (sender_id, id);
CREATE INDEX messages_unread_idx ON messages (receiver_id) WHERE NOT is_read;

CREATE TABLE online_status (
    user_id   int PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    is_online boolean NOT NULL DEFAULT false,
    last_seen timestamptz
);

-- =====================================================================================
-- ANNOUNCEMENTS & EVENTS
-- =====================================================================================
CREATE TABLE announcements (
    id         serial PRIMARY KEY,
    title      text NOT NULL CHECK (title ~ '[^[:space:]]' AND length(title) <= 200),
    content    text NOT NULL CHECK (content ~ '[^[:space:]]' AND length(content) <= 10000),
    posted_by  int REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX announcements_created_idx ON announcements (created_at DESC);
CREATE INDEX announcements_posted_by_idx ON announcements (posted_by);

CREATE TABLE events (
    id          serial PRIMARY KEY,
    title       text NOT NULL CHECK (title ~ '[^[:space:]]' AND length(title) <= 200),
    description text CHECK (length(description) <= 4000),
    start_date  timestamptz NOT NULL,
    end_date    timestamptz,
    created_by  int REFERENCES users(id) ON DELETE SET NULL,
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX events_start_idx ON events (start_date);
CREATE INDEX events_created_by_idx ON events (created_by);

-- =====================================================================================
-- ACCOUNTING (ledger rules grow in issue #6; payments are append-only from day one)
-- =====================================================================================
CREATE TABLE fees (
    id         serial PRIMARY KEY,
    student_id int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    fee_type   text NOT NULL CHECK (fee_type IN ('Tuition', 'Miscellaneous', 'Laboratory',
        'Library', 'Books', 'Uniform', 'Other')),
    amount     numeric(10,2) NOT NULL CHECK (amount > 0),
    due_date   timestamptz,
    status     text NOT NULL DEFAULT 'Unpaid'
               CHECK (status IN ('Unpaid', 'Partial', 'Paid', 'Overdue'))
);
CREATE INDEX fees_student_idx ON fees (student_id, due_date);

CREATE TABLE payments (
    id             serial PRIMARY KEY,
    fee_id         int NOT NULL REFERENCES fees(id) ON DELETE CASCADE,
    amount_paid    numeric(10,2) NOT NULL CHECK (amount_paid > 0),
    payment_date   timestamptz NOT NULL DEFAULT now(),
    payment_method text NOT NULL CHECK (payment_method IN
        ('Cash', 'Bank Transfer', 'Check', 'Card')),
    recorded_by    int REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX payments_fee_idx ON payments (fee_id);
CREATE INDEX payments_date_idx ON payments (payment_date);
CREATE INDEX payments_recorded_by_idx ON payments (recorded_by);

-- =====================================================================================
-- GUIDANCE
-- =====================================================================================
CREATE TABLE guidance_reports (
    id           serial PRIMARY KEY,
    student_id   int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    counselor_id int REFERENCES users(id) ON DELETE SET NULL,
    report       text NOT NULL CHECK (report ~ '[^[:space:]]' AND length(report) <= 20000),
    report_date  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX guidance_reports_student_idx ON guidance_reports (student_id, report_date DESC);
CREATE INDEX guidance_reports_counselor_idx ON guidance_reports (counselor_id);

-- =====================================================================================
-- Who is this connection? Keyed on session_user, which neither SET ROLE nor set_config can
-- change. SECURITY DEFINER so policies can call them whatever the caller may read; the
-- search_path is pinned so a temp table named `users` cannot stand in for the real one.
-- =====================================================================================
CREATE FUNCTION me() RETURNS int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT id FROM school.users WHERE login_role = session_user AND is_active
$$;

CREATE FUNCTION my_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT r.name FROM school.users u JOIN school.roles r ON r.id = u.role_id
    WHERE u.login_role = session_user AND u.is_active
$$;

-- The sections a student belongs to, in any school year.
CREATE FUNCTION my_section_ids() RETURNS SETOF int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT section_id FROM school.enrollment_progress
    WHERE student_id = school.me() AND section_id IS NOT NULL
$$;

-- A row that names a student must name a Student (and a teacher column a Teacher).
CREATE FUNCTION check_user_role() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    uid int := (to_jsonb(NEW) ->> TG_ARGV[0])::int;
    actual text;
BEGIN
    IF uid IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT r.name INTO actual FROM school.users u JOIN school.roles r ON r.id = u.role_id
    WHERE u.id = uid;
    IF actual IS NULL OR NOT (actual = ANY (TG_ARGV[1:])) THEN
        RAISE EXCEPTION '%.% must be a user with role %', TG_TABLE_NAME, TG_ARGV[0],
            array_to_string(TG_ARGV[1:], ' or ')
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER enrollment_student_is_student BEFORE INSERT OR UPDATE OF student_id
    ON enrollment_progress FOR EACH ROW EXECUTE FUNCTION check_user_role('student_id', 'Student');
CREATE TRIGGER fees_student_is_student BEFORE INSERT OR UPDATE OF student_id
    ON fees FOR EACH ROW EXECUTE FUNCTION check_user_role('student_id', 'Student');
CREATE TRIGGER guidance_student_is_student BEFORE INSERT OR UPDATE OF student_id
    ON guidance_reports FOR EACH ROW EXECUTE FUNCTION check_user_role('student_id', 'Student');
CREATE TRIGGER guidance_counselor_is_guidance BEFORE INSERT OR UPDATE OF counselor_id
    ON guidance_reports FOR EACH ROW EXECUTE FUNCTION check_user_role('counselor_id', 'Guidance');
CREATE TRIGGER modules_teacher_is_teacher BEFORE INSERT OR UPDATE OF teacher_id
    ON modules FOR EACH ROW EXECUTE FUNCTION check_user_role('teacher_id', 'Teacher');
CREATE TRIGGER tasks_teacher_is_teacher BEFORE INSERT OR UPDATE OF teacher_id
    ON tasks FOR EACH ROW EXECUTE FUNCTION check_user_role('teacher_id', 'Teacher');
CREATE TRIGGER sections_adviser_is_teacher BEFORE INSERT OR UPDATE OF adviser_id
    ON sections FOR EACH ROW EXECUTE FUNCTION check_user_role('adviser_id', 'Teacher');

-- Money rows are appended, never edited or deleted: for every role, the owner included.
CREATE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: record a correcting entry instead', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER payments_append_only BEFORE UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- =====================================================================================
-- Accounts: SECURITY DEFINER functions, because creating a login is several steps that must
-- happen together and need CREATEROLE, which no person has. The password verifier arrives
-- already computed by the client (libpq's PQencryptPasswordConn), so the server never sees
-- even the derived password.
-- =====================================================================================
CREATE FUNCTION role_group(app_role text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT i.role_prefix || '_' || CASE app_role
        WHEN 'Academic Coordinator' THEN 'coordinator'
        ELSE lower(app_role) END
    FROM school.instance i
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
    v_login := (SELECT role_prefix FROM school.instance) || '_u_'
               || encode(substr(uuid_send(gen_random_uuid()), 1, 8), 'hex');
    INSERT INTO school.users (role_id, first_name, last_name, email, login_role,
                              must_change_password)
    VALUES (v_role_id, p_first_name, p_last_name, p_email, v_login, p_must_change)
    RETURNING id INTO v_id;
    INSERT INTO school.credentials (user_id, salt) VALUES (v_id, p_salt);
    INSERT INTO school.online_status (user_id) VALUES (v_id);
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT PASSWORD %L IN ROLE %I',
                   v_login, p_verifier, school.role_group(p_role));
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
    UPDATE school.users SET is_active = p_active WHERE id = p_user_id RETURNING login_role INTO v_login;
    IF v_login IS NULL THEN
        RAISE EXCEPTION 'person % does not exist', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
    EXECUTE format('ALTER ROLE %I %s', v_login, CASE WHEN p_active THEN 'LOGIN' ELSE 'NOLOGIN' END);
    IF NOT p_active THEN
        -- Ending another role's sessions takes that role's privileges: the owner holds them
        -- just for this (without, a person who is logged in could not be deactivated at all).
        EXECUTE format('GRANT %I TO %I', v_login, current_user);
        PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = v_login;
        EXECUTE format('REVOKE %I FROM %I', v_login, current_user);
    END IF;
END
$$;

CREATE FUNCTION set_temporary_password(p_user_id int, p_salt bytea, p_verifier text) RETURNS void
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
    UPDATE school.users SET must_change_password = true WHERE id = p_user_id
    RETURNING login_role INTO v_login;
    IF v_login IS NULL THEN
        RAISE EXCEPTION 'person % does not exist', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE school.credentials SET salt = p_salt, set_at = now() WHERE user_id = p_user_id;
    EXECUTE format('ALTER ROLE %I PASSWORD %L', v_login, p_verifier);
END
$$;

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

-- Called by the app right after a successful login: stamps last_login for the caller only.
CREATE FUNCTION record_login() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    UPDATE school.users SET last_login = now() WHERE login_role = session_user AND is_active
$$;

-- =====================================================================================
-- Grants and row-level security. `{{member}}` is every group; each group adds its duties.
-- Policies read my_role()/me() in a sub-select so they run once per statement, not per row.
-- =====================================================================================
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA school FROM PUBLIC;
GRANT USAGE ON SCHEMA school TO {{member}}, {{prelogin}};
GRANT EXECUTE ON FUNCTION me(), my_role(), my_section_ids(), record_login() TO {{member}};
GRANT EXECUTE ON FUNCTION prelogin_lookup(text) TO {{prelogin}};
GRANT EXECUTE ON FUNCTION create_person(text, text, text, text, bytea, text, boolean),
    set_person_active(int, boolean), set_temporary_password(int, bytea, text),
    role_group(text) TO {{admin}};

-- Everyone reads: the role list, school years, sections, subjects, announcements, events,
-- presence. Everyone reads people (chat needs names), students only staff and themselves.
GRANT SELECT ON roles, school_years, sections, subjects, announcements, events, online_status
    TO {{member}};
GRANT SELECT (id, role_id, first_name, last_name, email, is_active, must_change_password,
              profile_image, created_at, last_login) ON users TO {{member}};
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_read ON users FOR SELECT TO {{member}} USING (
    (SELECT school.my_role()) IS DISTINCT FROM 'Student'
    OR id = (SELECT school.me())
    OR role_id <> (SELECT id FROM school.roles WHERE name = 'Student'));

-- Admin: announcements and events (Principal and Coordinator post them too).
GRANT INSERT, UPDATE, DELETE ON announcements, events TO {{admin}}, {{principal}}, {{coordinator}};
GRANT USAGE ON SEQUENCE announcements_id_seq, events_id_seq
    TO {{admin}}, {{principal}}, {{coordinator}};

-- Registrar: sections, school years, enrollment.
GRANT INSERT, UPDATE, DELETE ON sections, school_years, enrollment_progress TO {{registrar}};
GRANT USAGE ON SEQUENCE sections_id_seq, school_years_id_seq, enrollment_progress_id_seq
    TO {{registrar}};

-- Academic Coordinator: subjects.
GRANT INSERT, UPDATE, DELETE ON subjects TO {{coordinator}};
GRANT USAGE ON SEQUENCE subjects_id_seq TO {{coordinator}};

-- enrollment_progress: the registrar all; principal and coordinator read; a student their own.
GRANT SELECT ON enrollment_progress TO {{registrar}}, {{principal}}, {{coordinator}},
    {{student}}, {{teacher}}, {{accounting}}, {{guidance}};
ALTER TABLE enrollment_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY enrollment_staff_read ON enrollment_progress FOR SELECT
    TO {{registrar}}, {{principal}}, {{coordinator}}, {{accounting}}, {{guidance}} USING (true);
CREATE POLICY enrollment_teacher_read ON enrollment_progress FOR SELECT TO {{teacher}} USING (
    section_id IN (SELECT id FROM school.sections WHERE adviser_id = (SELECT school.me()))
    OR section_id IN (SELECT section_id FROM school.tasks WHERE teacher_id = (SELECT school.me()))
    OR section_id IN (SELECT section_id FROM school.modules WHERE teacher_id = (SELECT school.me())));
CREATE POLICY enrollment_own_read ON enrollment_progress FOR SELECT TO {{student}}
    USING (student_id = (SELECT school.me()));
CREATE POLICY enrollment_registrar_write ON enrollment_progress FOR ALL TO {{registrar}}
    USING (true) WITH CHECK (true);

-- modules, tasks, meetings: a teacher manages their own; students read their sections';
-- principal and coordinator read all.
GRANT SELECT ON modules, tasks, meetings TO {{teacher}}, {{student}}, {{principal}}, {{coordinator}};
GRANT INSERT, UPDATE, DELETE ON modules, tasks, meetings TO {{teacher}};
GRANT USAGE ON SEQUENCE modules_id_seq, tasks_id_seq, meetings_id_seq TO {{teacher}};
ALTER TABLE modules ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE meetings ENABLE ROW LEVEL SECURITY;
CREATE POLICY modules_overseers ON modules FOR SELECT TO {{principal}}, {{coordinator}} USING (true);
CREATE POLICY modules_teacher ON modules FOR ALL TO {{teacher}}
    USING (teacher_id = (SELECT school.me())) WITH CHECK (teacher_id = (SELECT school.me()));
CREATE POLICY modules_student ON modules FOR SELECT TO {{student}}
    USING (section_id IN (SELECT school.my_section_ids()));
CREATE POLICY tasks_overseers ON tasks FOR SELECT TO {{principal}}, {{coordinator}} USING (true);
CREATE POLICY tasks_teacher ON tasks FOR ALL TO {{teacher}}
    USING (teacher_id = (SELECT school.me())) WITH CHECK (teacher_id = (SELECT school.me()));
CREATE POLICY tasks_student ON tasks FOR SELECT TO {{student}}
    USING (section_id IN (SELECT school.my_section_ids()));
CREATE POLICY meetings_overseers ON meetings FOR SELECT TO {{principal}}, {{coordinator}} USING (true);
CREATE POLICY meetings_teacher ON meetings FOR ALL TO {{teacher}}
    USING (host_id = (SELECT school.me())) WITH CHECK (host_id = (SELECT school.me()));
CREATE POLICY meetings_student ON meetings FOR SELECT TO {{student}}
    USING (section_id IN (SELECT school.my_section_ids()));

-- messages: the two ends read; the sender writes as themself; the receiver marks read (#4).
GRANT SELECT ON messages TO {{member}};
GRANT INSERT (sender_id, receiver_id, message) ON messages TO {{member}};
GRANT UPDATE (is_read) ON messages TO {{member}};
GRANT USAGE ON SEQUENCE messages_id_seq TO {{member}};
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY messages_ends_read ON messages FOR SELECT TO {{member}}
    USING ((SELECT school.me()) IN (sender_id, receiver_id));
CREATE POLICY messages_send ON messages FOR INSERT TO {{member}}
    WITH CHECK (sender_id = (SELECT school.me()));
CREATE POLICY messages_mark_read ON messages FOR UPDATE TO {{member}}
    USING (receiver_id = (SELECT school.me())) WITH CHECK (receiver_id = (SELECT school.me()));

-- fees and payments: Accounting writes; a student reads their own; the principal reads all.
GRANT SELECT ON fees, payments TO {{accounting}}, {{principal}}, {{student}};
GRANT INSERT, UPDATE ON fees TO {{accounting}};
GRANT INSERT ON payments TO {{accounting}};
GRANT USAGE ON SEQUENCE fees_id_seq, payments_id_seq TO {{accounting}};
ALTER TABLE fees ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
CREATE POLICY fees_staff ON fees FOR SELECT TO {{accounting}}, {{principal}} USING (true);
CREATE POLICY fees_accounting_write ON fees FOR ALL TO {{accounting}} USING (true) WITH CHECK (true);
CREATE POLICY fees_own ON fees FOR SELECT TO {{student}} USING (student_id = (SELECT school.me()));
CREATE POLICY payments_staff ON payments FOR SELECT TO {{accounting}}, {{principal}} USING (true);
CREATE POLICY payments_accounting_insert ON payments FOR INSERT TO {{accounting}}
    WITH CHECK (recorded_by = (SELECT school.me()));
CREATE POLICY payments_own ON payments FOR SELECT TO {{student}}
    USING (fee_id IN (SELECT id FROM school.fees WHERE student_id = (SELECT school.me())));

-- guidance_reports: Guidance records and reads; the Principal reads; nobody else.
GRANT SELECT ON guidance_reports TO {{guidance}}, {{principal}};
GRANT INSERT, UPDATE ON guidance_reports TO {{guidance}};
GRANT USAGE ON SEQUENCE guidance_reports_id_seq TO {{guidance}};
ALTER TABLE guidance_reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY guidance_read ON guidance_reports FOR SELECT TO {{guidance}}, {{principal}} USING (true);
CREATE POLICY guidance_write ON guidance_reports FOR INSERT TO {{guidance}}
    WITH CHECK (counselor_id = (SELECT school.me()));
CREATE POLICY guidance_edit_own ON guidance_reports FOR UPDATE TO {{guidance}}
    USING (counselor_id = (SELECT school.me())) WITH CHECK (counselor_id = (SELECT school.me()));

-- The eight roles of the design.
INSERT INTO roles (name) VALUES ('Admin'), ('Principal'), ('Academic Coordinator'), ('Teacher'),
    ('Student'), ('Guidance'), ('Registrar'), ('Accounting');

INSERT INTO schema_version (version, description) VALUES (1, 'baseline: seed tables, school years, accounts, grants and row-level security');
