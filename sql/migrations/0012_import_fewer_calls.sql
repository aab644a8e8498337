-- 0012: the CSV import without the work it repeated (issue #5, import_10k_s, goal 3 s).
--
-- Profiled (pg_stat_user_functions with track_functions = all, auto_explain of the nested
-- statements) on a 10,000-row import: no login role is made (0006: a student's role waits
-- for their first temporary password), but
--   * import_rows(batch), a SECURITY DEFINER SQL function (never inlined), ran five times:
--     40 to 180 ms each (its join with sections gets a nested loop when the staging table's
--     statistics say it is empty);
--   * the "must name a Student" check (check_user_role) ran once per profile and once per
--     enrollment: 20,000 PL/pgSQL calls, each turning the whole row into jsonb, ~0.2 s;
--   * enrollment_starts_pending ran for every new enrollment, although it only ever acts on
--     one that does not start at Pending;
--   * new ids were matched back to their rows by joining on the email;
--   * each new student's login name came from a function call (new_login_name, reading the
--     prefix again), each enrollment's notification to the student from two (notify_user,
--     channel_for_login), each audit entry's row id from a regular expression.
-- The rules are the same; each is checked fewer times or once per statement.

-- =====================================================================================
-- 1. A role check once per INSERT statement (over its transition table), for the two
--    tables an import fills. An UPDATE of the column keeps the row trigger (PostgreSQL
--    allows no transition table on a trigger with a column list). The same message.
-- =====================================================================================
CREATE FUNCTION check_user_role_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_bad int;
BEGIN
    EXECUTE format(
        'SELECT n.%1$I FROM checked_new n '
        'LEFT JOIN school.users u ON u.id = n.%1$I LEFT JOIN school.roles r ON r.id = u.role_id '
        'WHERE n.%1$I IS NOT NULL AND (r.name IS NULL OR NOT (r.name = ANY ($1))) LIMIT 1',
        TG_ARGV[0]) INTO v_bad USING TG_ARGV[1:];
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION '%.% must be a user with role %', TG_TABLE_NAME, TG_ARGV[0],
            array_to_string(TG_ARGV[1:], ' or ')
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION check_user_role_rows() FROM PUBLIC;

DROP TRIGGER profiles_student_is_student ON student_profiles;
CREATE TRIGGER profiles_student_is_student BEFORE UPDATE OF user_id
    ON student_profiles FOR EACH ROW EXECUTE FUNCTION check_user_role('user_id', 'Student');
CREATE TRIGGER profiles_student_is_student_ins AFTER INSERT ON student_profiles
    REFERENCING NEW TABLE AS checked_new
    FOR EACH STATEMENT EXECUTE FUNCTION check_user_role_rows('user_id', 'Student');

DROP TRIGGER enrollment_student_is_student ON enrollment_progress;
CREATE TRIGGER enrollment_student_is_student BEFORE UPDATE OF student_id
    ON enrollment_progress FOR EACH ROW EXECUTE FUNCTION check_user_role('student_id', 'Student');
CREATE TRIGGER enrollment_student_is_student_ins AFTER INSERT ON enrollment_progress
    REFERENCING NEW TABLE AS checked_new
    FOR EACH STATEMENT EXECUTE FUNCTION check_user_role_rows('student_id', 'Student');

-- =====================================================================================
-- 2. enrollment_starts_pending: called only for the rows it can refuse (same rule, 0008).
-- =====================================================================================
DROP TRIGGER enrollment_starts_pending ON enrollment_progress;
CREATE TRIGGER enrollment_starts_pending BEFORE INSERT ON enrollment_progress
    FOR EACH ROW WHEN (NEW.current_status IS DISTINCT FROM 'Pending')
    EXECUTE FUNCTION enrollment_starts_pending();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_starts_pending;

-- =====================================================================================
-- 3. The import reads its staged rows once. import_rows' rows go into an array (with the
--    users.id each new student will get, drawn from the same sequence as users' default),
--    which every later statement reads: no second call, no matching ids back by email.
-- =====================================================================================
CREATE TYPE import_row AS (
    line int, student_number text, first_name text, last_name text, email text,
    grade_level text, section text, section_id int, birth_text text, birth_date date,
    guardian_name text, guardian_phone text, address text, existing_id int,
    new_id int  -- the new student's users.id; NULL for an existing student
);

CREATE OR REPLACE FUNCTION import_students(p_batch uuid, OUT added int, OUT updated int)
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
    -- keeps what the student had (0008).
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
-- 4. import_rows: the staged rows trimmed once, then matched with the current year's sections
--    (names compared in lower case, computed once a section). Its join used to recompute
--    btrim/lower for every (row, section) pair whenever the planner chose a nested loop,
--    which it does when the staging table's statistics say it is empty (it always is
--    between imports): 130 to 450 ms for 10,000 rows, instead of 5. Same rows, same columns.
-- =====================================================================================
CREATE OR REPLACE FUNCTION import_rows(p_batch uuid)
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

-- =====================================================================================
-- 5. enrollment_check: an INSERT is checked only for its section (0006's function does
--    nothing else for an insert), so the insert trigger runs for rows that name one. An
--    UPDATE is checked as before. (BEFORE INSERT triggers still fire in the same order:
--    enrollment_check_ins, then enrollment_starts_pending.)
-- =====================================================================================
DROP TRIGGER enrollment_check ON enrollment_progress;
CREATE TRIGGER enrollment_check BEFORE UPDATE ON enrollment_progress
    FOR EACH ROW EXECUTE FUNCTION enrollment_check();
CREATE TRIGGER enrollment_check_ins BEFORE INSERT ON enrollment_progress
    FOR EACH ROW WHEN (NEW.section_id IS NOT NULL) EXECUTE FUNCTION enrollment_check();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_check;
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_check_ins;

-- =====================================================================================
-- 6. An enrollment's first history row and its notifications, once per statement (0011),
--    the student's channel computed in the same query (channel_for_login's formula, the
--    secret read once) instead of two function calls per enrollment. Same order: the staff
--    channel, then the student's, enrollment by enrollment in id order.
-- =====================================================================================
CREATE OR REPLACE FUNCTION enrollment_record_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_me int := school.me();
    v_channel text := school.enrollment_channel();
    v_secret bytea := (SELECT secret FROM school.instance);
BEGIN
    INSERT INTO school.enrollment_history (enrollment_id, from_status, to_status, remark,
                                           changed_by)
    SELECT n.id, NULL, n.current_status, n.remarks, v_me FROM enrollment_new n ORDER BY n.id;
    -- Live updates: ids only, to the staff channel and to the student's own (as
    -- channel_for_login(login) makes it).
    PERFORM pg_notify(v_channel, 'e:' || n.id),
            pg_notify('st_' || left(encode(sha256(v_secret || convert_to('chan:' || u.login_role,
                                                                          'UTF8')), 'hex'), 32),
                      'e:' || n.id)
    FROM enrollment_new n JOIN school.users u ON u.id = n.student_id ORDER BY n.id;
    RETURN NULL;
END
$$;

-- =====================================================================================
-- 7. The audit of INSERTs (0011): the row id read straight from an integer `id` (or, with
--    no `id` column, `user_id`), the table's columns looked up once per statement, instead
--    of a regular expression on every entry. Any other key type goes the 0011 way. Same
--    entries.
-- =====================================================================================
CREATE OR REPLACE FUNCTION audit_rows_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_hidden jsonb := '{}';
    v_col text;
    v_key text;  -- the integer key column, when the row id is simply that column
BEGIN
    FOREACH v_col IN ARRAY coalesce(TG_ARGV, '{}') LOOP
        v_hidden := v_hidden || jsonb_build_object(v_col, '(not logged)');
    END LOOP;
    -- coalesce(id, user_id) is the id when `id` is an integer NOT NULL column, user_id when
    -- the table has no `id`; 0011's pattern (up to 18 digits) accepts every int2/int4.
    SELECT CASE WHEN i.attname IS NOT NULL THEN
                     CASE WHEN i.attnotnull AND i.atttypid IN ('int2'::regtype, 'int4'::regtype)
                          THEN 'id' END
                WHEN u.atttypid IN ('int2'::regtype, 'int4'::regtype) THEN 'user_id' END
      INTO v_key
      FROM (SELECT 1) one
      LEFT JOIN pg_attribute i ON i.attrelid = TG_RELID AND i.attname = 'id'
                              AND i.attnum > 0 AND NOT i.attisdropped
      LEFT JOIN pg_attribute u ON u.attrelid = TG_RELID AND u.attname = 'user_id'
                              AND u.attnum > 0 AND NOT u.attisdropped;
    INSERT INTO school.audit_log (table_name, row_id, action, new_values)
    SELECT TG_TABLE_NAME,
           CASE WHEN v_key IS NOT NULL THEN (r.j ->> v_key)::bigint
                WHEN coalesce(r.j ->> 'id', r.j ->> 'user_id') ~ '^-?[0-9]{1,18}$'
                    THEN coalesce(r.j ->> 'id', r.j ->> 'user_id')::bigint END,
           'INSERT', CASE WHEN TG_NARGS = 0 THEN r.j ELSE r.j || v_hidden END
    FROM (SELECT to_jsonb(n) AS j FROM audit_new n) r;
    RETURN NULL;
END
$$;
