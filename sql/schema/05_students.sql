-- =====================================================================================
-- Students: a student's record (a users row of role Student plus student_profiles), the
-- registrar's search, creating and editing students, and the CSV import.
--
-- A student record can exist without a login (see 02_people.sql): creating a PostgreSQL
-- role costs a catalog write and a SCRAM verifier costs argon2 on the client, which a
-- 10,000-student import could afford neither of.
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
    sort_name      text COLLATE "C" NOT NULL DEFAULT '',  -- "C": LIKE 'abc%' is an index range
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX student_profiles_sort_idx ON student_profiles (sort_name, user_id);
CREATE INDEX student_profiles_grade_idx ON student_profiles (grade_level);

-- A profile is a Student's: checked row by row on UPDATE, once per statement on INSERT.
CREATE TRIGGER profiles_student_is_student BEFORE UPDATE OF user_id
    ON student_profiles FOR EACH ROW EXECUTE FUNCTION check_user_role('user_id', 'Student');
CREATE TRIGGER profiles_student_is_student_ins AFTER INSERT ON student_profiles
    REFERENCING NEW TABLE AS checked_new
    FOR EACH STATEMENT EXECUTE FUNCTION check_user_role_rows('user_id', 'Student');

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

-- =====================================================================================
-- Search
-- =====================================================================================
-- pg_trgm's GIN index makes `search_text LIKE '%word%'` an index search. The extension is
-- created by school_tui.db.bootstrap (as the superuser that runs it) where the server has
-- it; ensure_search_index() adds the index then, here or at any later `db upgrade`. Without
-- it the same query walks student_profiles_sort_idx (the fallback).
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

-- The search itself. Row-level security keeps an index from serving a qual with a
-- non-leakproof operator such as LIKE (it may not run before the policy's), so under the
-- registrar's own login the trigram index would never be used: this function, as the owner,
-- finds the ids (for those who may read every profile), and the caller reads the rows
-- through row-level security as usual. p_patterns: LIKE patterns ('%word%') on search_text,
-- all of which must match. The first p_limit matches come in this order, found the cheapest
-- way each, in one statement:
--   1. names that start with the first word (most typing is a last name): a range of the
--      "C"-collated (sort_name, user_id) index, already in order (its first 3,000);
--   if fewer than p_limit, then every other match by name:
--   2. head: the first 3,000 students by name, filtered; a common word ("a", "2026-") has
--      enough matches there;
--   3. tail: only when the head had too few (a rare word, whose matches are sparse): every
--      match through the trigram index (MATERIALIZED: no order asked of the scan), sorted.
-- The patterns are inlined as literals so each search is planned for its own words.
CREATE FUNCTION search_students(p_patterns text[], p_limit int)
RETURNS TABLE (user_id int, sort_name text)
-- ROWS: a page, not the default 1,000, so the caller's joins are index lookups
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 50 SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_cond text := 'true';
    v_pattern text;
    v_prefix text := 'NULL';
BEGIN
    IF NOT coalesce(school.my_role() IN ('Registrar', 'Principal', 'Academic Coordinator',
                                         'Guidance', 'Accounting'), false) THEN
        RAISE EXCEPTION 'only staff who read student records may search them'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF cardinality(p_patterns) > 8 THEN
        RAISE EXCEPTION 'search: at most 8 words' USING ERRCODE = 'check_violation';
    END IF;
    FOREACH v_pattern IN ARRAY coalesce(p_patterns, '{}') LOOP
        v_cond := v_cond || format(' AND p.search_text LIKE %L', v_pattern);
    END LOOP;
    IF cardinality(p_patterns) > 0 AND p_patterns[1] ~ '^%.+%$' THEN
        v_prefix := quote_literal(substr(p_patterns[1], 2));  -- '%word%' -> 'word%'
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH pre AS (
            SELECT p.user_id, p.sort_name FROM (
                SELECT user_id, sort_name, search_text FROM school.student_profiles
                WHERE sort_name LIKE %1$s ORDER BY sort_name, user_id LIMIT 3000) p
            WHERE %2$s
            ORDER BY p.sort_name, p.user_id LIMIT $1
        ), pre_enough AS (
            SELECT count(*) >= $1 AS yes FROM pre
        ), head AS (
            SELECT p.user_id, p.sort_name FROM (
                SELECT user_id, sort_name, search_text FROM school.student_profiles
                ORDER BY sort_name, user_id LIMIT 3000) p
            WHERE NOT (SELECT yes FROM pre_enough) AND %2$s
            ORDER BY p.sort_name, p.user_id LIMIT $1
        ), enough AS (
            SELECT (SELECT yes FROM pre_enough) OR count(*) >= $1 AS yes FROM head
        ), tail AS MATERIALIZED (
            SELECT p.user_id, p.sort_name FROM school.student_profiles p
            WHERE NOT (SELECT yes FROM enough) AND %2$s
        ), rest AS (
            SELECT user_id, sort_name FROM head WHERE (SELECT yes FROM enough)
            UNION ALL
            (SELECT user_id, sort_name FROM tail ORDER BY sort_name, user_id LIMIT $1)
        )
        SELECT r.user_id, r.sort_name FROM (
            SELECT user_id, sort_name, 0 AS tier FROM pre
            UNION ALL
            SELECT user_id, sort_name, 1 FROM rest
            WHERE NOT (SELECT yes FROM pre_enough)
              AND user_id NOT IN (SELECT user_id FROM pre)) r
        ORDER BY r.tier, r.sort_name, r.user_id LIMIT $1
    $q$, v_prefix, v_cond) USING least(greatest(coalesce(p_limit, 50), 1), 500);
END
$$;

-- =====================================================================================
-- Creating and editing students
-- =====================================================================================
-- Who may do the registrar's work: the Registrar; the Admin too for student records.
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

-- A student record, with no usable login yet, and their enrollment for the section's school
-- year (else the current one), Pending, when there is such a year.
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

-- Names, email and details of a student (the section is the enrollment's).
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
-- CSV import: the rows a registrar COPYs in, read by import_students in the same
-- transaction and deleted by it.
-- =====================================================================================
-- Not under audit: its rows never outlive the transaction that COPYs them, and every write
-- they cause (users, student_profiles, enrollment_progress, enrollment_history) is audited;
-- logging them too doubled an import's cost for entries that repeat those. UNLOGGED:
-- nothing here survives.
CREATE UNLOGGED TABLE import_staging (
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

-- A batch's staged rows as the import reads them: trimmed (once per row), empty cells NULL,
-- the student number in capitals, the section resolved in the current school year (names
-- compared in lower case, computed once per section), and the existing student with that
-- number. Only the caller's own rows (session_user loaded them).
CREATE FUNCTION import_rows(p_batch uuid)
RETURNS TABLE (line int, student_number text, first_name text, last_name text, email text,
               grade_level text, section text, section_id int, birth_text text, birth_date date,
               guardian_name text, guardian_phone text, address text, existing_id int)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    WITH s AS MATERIALIZED (
        SELECT s.line, upper(nullif(btrim(s.student_number), '')) AS student_number,
               nullif(btrim(s.first_name), '') AS first_name,
               nullif(btrim(s.last_name), '') AS last_name, nullif(btrim(s.email), '') AS email,
               nullif(btrim(s.grade_level), '') AS grade_level,
               nullif(btrim(s.section), '') AS section,
               nullif(btrim(s.birth_date), '') AS birth_text,
               nullif(btrim(s.guardian_name), '') AS guardian_name,
               nullif(btrim(s.guardian_phone), '') AS guardian_phone,
               nullif(btrim(s.address), '') AS address
        FROM school.import_staging s
        WHERE s.batch = p_batch AND s.loaded_by = session_user),
    sec AS MATERIALIZED (
        SELECT sec.id, sec.grade_level, lower(sec.name) AS name_key
        FROM school.sections sec
        WHERE sec.school_year_id = (SELECT id FROM school.school_years WHERE is_current))
    SELECT s.line, s.student_number, s.first_name, s.last_name, s.email, s.grade_level,
           s.section, sec.id, s.birth_text, school.try_date(s.birth_text), s.guardian_name,
           s.guardian_phone, s.address, p.user_id
    FROM s
    LEFT JOIN sec ON sec.grade_level = s.grade_level AND sec.name_key = lower(s.section)
    LEFT JOIN school.student_profiles p ON p.student_number = s.student_number
$$;

-- One row of an import as import_students holds them, with the users.id a new student gets.
CREATE TYPE import_row AS (
    line int, student_number text, first_name text, last_name text, email text,
    grade_level text, section text, section_id int, birth_text text, birth_date date,
    guardian_name text, guardian_phone text, address text, existing_id int,
    new_id int  -- the new student's users.id; NULL for an existing student
);

-- One batch of staged rows into students, all or nothing: a row whose student number exists
-- updates that student (an absent column or an empty cell leaves that field as it was), any
-- other adds one (no login yet) with a Pending enrollment in the current school year. The
-- rules are checked again here; the first broken one aborts the whole import with its line
-- and field. The staged rows are read once, into an array that every later statement reads,
-- with the ids new students get drawn from users' own sequence. The staged rows are deleted.
CREATE FUNCTION import_students(p_batch uuid, OUT added int, OUT updated int)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_year int := (SELECT id FROM school.school_years WHERE is_current);
    v_role int := (SELECT id FROM school.roles WHERE name = 'Student');
    v_prefix text := (SELECT role_prefix FROM school.instance);
    v_bad record;
    v_rows school.import_row[];
BEGIN
    IF NOT school.may_register(true) THEN
        RAISE EXCEPTION 'only the Registrar or an Admin may import students'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- In line order; the ids follow it. (A refused import rolls back; its ids are skipped.)
    v_rows := ARRAY(
        SELECT ROW(r.*, CASE WHEN r.existing_id IS NULL
                             THEN nextval('school.users_id_seq')::int END)::school.import_row
          FROM (SELECT * FROM school.import_rows(p_batch) ORDER BY line) r);

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
        FROM unnest(v_rows) r) b
     WHERE b.reason IS NOT NULL ORDER BY b.line LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'line %: %; nothing was imported', v_bad.line, v_bad.reason
            USING ERRCODE = 'check_violation';
    END IF;

    -- Existing students: names and email (required in every row), and each detail the file
    -- gives (import_rows makes an empty cell NULL, and an absent column is NULL too): NULL
    -- keeps what the student had.
    updated := 0;
    IF EXISTS (SELECT 1 FROM unnest(v_rows) r WHERE r.existing_id IS NOT NULL) THEN
        UPDATE school.users u SET first_name = r.first_name, last_name = r.last_name, email = r.email
          FROM unnest(v_rows) r
         WHERE u.id = r.existing_id
           AND (u.first_name, u.last_name, u.email) IS DISTINCT FROM (r.first_name, r.last_name, r.email);
        UPDATE school.student_profiles p
           SET grade_level = coalesce(r.grade_level, p.grade_level),
               birth_date = coalesce(r.birth_date, p.birth_date),
               guardian_name = coalesce(r.guardian_name, p.guardian_name),
               guardian_phone = coalesce(r.guardian_phone, p.guardian_phone),
               address = coalesce(r.address, p.address)
          FROM unnest(v_rows) r
         WHERE p.user_id = r.existing_id;
        GET DIAGNOSTICS updated = ROW_COUNT;
    END IF;

    -- New students: the person, then the profile (two statements: the profile's triggers read
    -- the new users rows).
    INSERT INTO school.users (id, role_id, first_name, last_name, email, login_role,
                              must_change_password)
    -- The login's name as new_login_name() makes it, the prefix read once, not 10,000 times.
    SELECT r.new_id, v_role, r.first_name, r.last_name, r.email,
           v_prefix || '_u_' || encode(substr(uuid_send(gen_random_uuid()), 1, 8), 'hex'), true
      FROM unnest(v_rows) r WHERE r.new_id IS NOT NULL ORDER BY r.line;
    GET DIAGNOSTICS added = ROW_COUNT;
    INSERT INTO school.student_profiles (user_id, student_number, grade_level, birth_date,
        guardian_name, guardian_phone, address)
    SELECT r.new_id, r.student_number, r.grade_level, r.birth_date, r.guardian_name,
           r.guardian_phone, r.address
      FROM unnest(v_rows) r WHERE r.new_id IS NOT NULL ORDER BY r.line;

    -- Enrollment in the current year: new students always (Pending), the section where the
    -- file names one (the capacity rule applies row by row).
    IF v_year IS NOT NULL THEN
        INSERT INTO school.enrollment_progress AS e (student_id, school_year_id, section_id)
        SELECT coalesce(r.new_id, r.existing_id), v_year, r.section_id
          FROM unnest(v_rows) r
         WHERE r.new_id IS NOT NULL OR r.section_id IS NOT NULL
         ORDER BY r.line
        ON CONFLICT (student_id, school_year_id) DO UPDATE SET section_id = EXCLUDED.section_id
         WHERE e.section_id IS DISTINCT FROM EXCLUDED.section_id;
    END IF;
    DELETE FROM school.import_staging WHERE batch = p_batch AND loaded_by = session_user;
END
$$;

-- =====================================================================================
-- Grants and row-level security
-- =====================================================================================
GRANT EXECUTE ON FUNCTION create_student(text, text, text, text, text, date, text, text, text, int),
    update_student(int, text, text, text, text, text, date, text, text, text),
    import_students(uuid) TO {{registrar}}, {{admin}};
GRANT EXECUTE ON FUNCTION search_students(text[], int) TO {{registrar}}, {{principal}},
    {{coordinator}}, {{guidance}}, {{accounting}};

-- Staff who read enrollment read all profiles; a student their own row. Writes go through
-- create_student/update_student/import_students only.
GRANT SELECT ON student_profiles TO {{registrar}}, {{principal}}, {{coordinator}},
    {{guidance}}, {{accounting}}, {{student}};
ALTER TABLE student_profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY profiles_staff_read ON student_profiles FOR SELECT
    TO {{registrar}}, {{principal}}, {{coordinator}}, {{guidance}}, {{accounting}}
    USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY profiles_own_read ON student_profiles FOR SELECT TO {{student}}
    USING (user_id = (SELECT school.me()));
