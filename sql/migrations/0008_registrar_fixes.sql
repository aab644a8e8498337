-- The registrar's gaps found in review (issue #5):
--
-- 1. The pipeline could be bypassed through the Registrar's own table rights. An INSERT
--    could start an enrollment at any status (enrollment_check looked at status changes
--    only), and a DELETE removed an enrollment and, by cascade, its history. Now a new
--    enrollment starts at Pending for every login (only the owner, in its own functions and
--    the demo loader, which run as the owner or a superuser, may write another first status);
--    an enrollment is never deleted (Withdrawn is the way out) nor moved to another student
--    or school year; its history is never deleted either. Those refusals are triggers
--    enabled ALWAYS, so they hold for the owner too, and the Registrar loses DELETE.
-- 2. A change of the remark alone wrote no history, so the current remark and the latest
--    history row disagreed. It is recorded now: from = to = the status, with the remark.
-- 3. The CSV import set an existing student's grade level, birth date, guardian and address
--    from the file even where the file had no such column or an empty cell, erasing them.
--    Now an absent column or an empty cell leaves the field as it was. And a new student
--    whose row named no section got no enrollment at all (the enrollment statement took
--    the students just added for existing ones): every new student is Pending now.

-- =====================================================================================
-- 1. A new enrollment starts at Pending; enrollments and their history are kept.
-- =====================================================================================
-- SECURITY INVOKER on purpose: current_user is the role that runs the statement (a person's
-- login, or the owner inside its SECURITY DEFINER functions); a superuser holds every role.
CREATE FUNCTION enrollment_starts_pending() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.current_status IS DISTINCT FROM 'Pending'
       AND NOT pg_has_role(current_user,
                           (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        RAISE EXCEPTION 'status: a new enrollment starts at Pending, not %', NEW.current_status
            USING ERRCODE = 'check_violation',
                  HINT = 'move it along the pipeline: Pending, Verified, Payment Complete, Enrolled';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER enrollment_starts_pending BEFORE INSERT ON enrollment_progress
    FOR EACH ROW EXECUTE FUNCTION enrollment_starts_pending();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_starts_pending;

-- An enrollment belongs to one student and one school year for good: moving a row to another
-- student would hand them its status without the pipeline.
CREATE FUNCTION enrollment_keeps_owner() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.student_id IS DISTINCT FROM OLD.student_id
       OR NEW.school_year_id IS DISTINCT FROM OLD.school_year_id THEN
        RAISE EXCEPTION 'enrollment: its student and school year never change (withdraw it and enroll anew)'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER enrollment_keeps_owner BEFORE UPDATE OF student_id, school_year_id
    ON enrollment_progress FOR EACH ROW EXECUTE FUNCTION enrollment_keeps_owner();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_keeps_owner;

CREATE FUNCTION refuse_delete_kept() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% rows are kept for good: %', TG_TABLE_NAME,
        CASE TG_TABLE_NAME WHEN 'enrollment_progress'
             THEN 'withdraw the student (status Withdrawn) instead'
             ELSE 'the history of an enrollment is never removed' END
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER enrollment_progress_kept BEFORE DELETE ON enrollment_progress
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_kept();
CREATE TRIGGER enrollment_progress_no_truncate BEFORE TRUNCATE ON enrollment_progress
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER enrollment_history_kept BEFORE DELETE ON enrollment_history
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_kept();
CREATE TRIGGER enrollment_history_no_truncate BEFORE TRUNCATE ON enrollment_history
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_progress_kept;
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_progress_no_truncate;
ALTER TABLE enrollment_history ENABLE ALWAYS TRIGGER enrollment_history_kept;
ALTER TABLE enrollment_history ENABLE ALWAYS TRIGGER enrollment_history_no_truncate;

-- The Registrar inserts (assigning a section makes a Pending enrollment) and updates; no more
-- DELETE, and the write policy no longer covers it.
REVOKE DELETE ON enrollment_progress FROM {{registrar}};
DROP POLICY enrollment_registrar_write ON enrollment_progress;
CREATE POLICY enrollment_registrar_insert ON enrollment_progress FOR INSERT TO {{registrar}}
    WITH CHECK ((SELECT school.me()) IS NOT NULL);
CREATE POLICY enrollment_registrar_update ON enrollment_progress FOR UPDATE TO {{registrar}}
    USING ((SELECT school.me()) IS NOT NULL) WITH CHECK ((SELECT school.me()) IS NOT NULL);

-- =====================================================================================
-- 2. History for every change of status or remark (a remark alone: from = to).
-- =====================================================================================
CREATE OR REPLACE FUNCTION enrollment_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.current_status IS DISTINCT FROM OLD.current_status
       OR NEW.remarks IS DISTINCT FROM OLD.remarks THEN
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

-- =====================================================================================
-- 3. The import leaves a field alone where the file says nothing (no column, empty cell).
-- =====================================================================================
CREATE OR REPLACE FUNCTION import_students(p_batch uuid, OUT added int, OUT updated int)
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

    -- Existing students: names and email (required in every row), and each detail the file
    -- gives (import_rows makes an empty cell NULL, and an absent column is NULL too): NULL
    -- keeps what the student had. (Skipped when there are none: joined with the function's
    -- rows, the planner would scan all of users and profiles for nothing.)
    updated := 0;
    IF EXISTS (SELECT 1 FROM school.import_rows(p_batch) r WHERE r.existing_id IS NOT NULL) THEN
        UPDATE school.users u SET first_name = r.first_name, last_name = r.last_name, email = r.email
          FROM school.import_rows(p_batch) r
         WHERE u.id = r.existing_id
           AND (u.first_name, u.last_name, u.email) IS DISTINCT FROM (r.first_name, r.last_name, r.email);
        UPDATE school.student_profiles p
           SET grade_level = coalesce(r.grade_level, p.grade_level),
               birth_date = coalesce(r.birth_date, p.birth_date),
               guardian_name = coalesce(r.guardian_name, p.guardian_name),
               guardian_phone = coalesce(r.guardian_phone, p.guardian_phone),
               address = coalesce(r.address, p.address)
          FROM school.import_rows(p_batch) r
         WHERE p.user_id = r.existing_id;
        GET DIAGNOSTICS updated = ROW_COUNT;
    END IF;

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
    -- file names one (the capacity rule applies row by row). New students are those just
    -- made (m): import_rows, read again now, finds their profiles, so its existing_id no
    -- longer tells them apart (0006 enrolled only those whose row named a section).
    IF v_year IS NOT NULL THEN
        INSERT INTO school.enrollment_progress AS e (student_id, school_year_id, section_id)
        SELECT coalesce(m.id, r.existing_id), v_year, r.section_id
          FROM school.import_rows(p_batch) r
          LEFT JOIN unnest(v_ids, v_emails) AS m(id, email) ON m.email = lower(r.email)
         WHERE m.id IS NOT NULL OR r.section_id IS NOT NULL
         ORDER BY r.line
        ON CONFLICT (student_id, school_year_id) DO UPDATE SET section_id = EXCLUDED.section_id
         WHERE e.section_id IS DISTINCT FROM EXCLUDED.section_id;
    END IF;
    DELETE FROM school.import_staging WHERE batch = p_batch AND loaded_by = session_user;
END
$$;

REVOKE ALL ON FUNCTION enrollment_starts_pending(), enrollment_keeps_owner(),
    refuse_delete_kept() FROM PUBLIC;
