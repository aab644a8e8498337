-- =====================================================================================
-- Enrollment: one row per student per school year, with the section the student belongs
-- to that year (teaching reaches students through it), and the pipeline it moves along.
--
-- The pipeline. enrollment_progress.current_status may change only along
-- enrollment_transitions; a BEFORE trigger refuses anything else, whoever writes (the
-- registrar's UPDATE, set_enrollment_status, the accounting hook, the owner). A new
-- enrollment starts at Pending for every login (only the owner, in its own functions and
-- the demo loader, may write another first status); an enrollment is never deleted
-- (Withdrawn is the way out) nor moved to another student or school year; its history is
-- never changed or deleted either. These refusals are triggers enabled ALWAYS, so they
-- hold for the owner too.
--
-- History. Every change of status or remark writes an enrollment_history row in the same
-- statement (who: me() of the session, when, from, to, the row's remark; a remark alone:
-- from = to), so the current status is always the latest history row's `to_status` and
-- `remarks` its remark. An insert records the first status the same way (from NULL).
--
-- Payment Complete comes from the ledger's hook once the year's required fees are paid
-- (07_ledger.sql, settle_enrollment). Set by hand while some are unpaid, it needs a remark
-- saying why.
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

-- The student is a Student: row by row on UPDATE, once per statement on INSERT.
CREATE TRIGGER enrollment_student_is_student BEFORE UPDATE OF student_id
    ON enrollment_progress FOR EACH ROW EXECUTE FUNCTION check_user_role('student_id', 'Student');
CREATE TRIGGER enrollment_student_is_student_ins AFTER INSERT ON enrollment_progress
    REFERENCING NEW TABLE AS checked_new
    FOR EACH STATEMENT EXECUTE FUNCTION check_user_role_rows('student_id', 'Student');

-- The allowed moves, in the order the app offers them (forward first).
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
    ('Verified', 'Payment Complete', 1),   -- by accounting's hook, or by the registrar
    ('Verified', 'Pending', 5),            -- documents found lacking
    ('Verified', 'Withdrawn', 9),
    ('Payment Complete', 'Enrolled', 1),
    ('Payment Complete', 'Verified', 5),   -- a payment reversed
    ('Payment Complete', 'Withdrawn', 9),
    ('Enrolled', 'Withdrawn', 9),
    ('Withdrawn', 'Pending', 1);           -- readmitted: the pipeline starts again

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

SELECT audit_table('school.enrollment_progress');
SELECT audit_table('school.enrollment_transitions');
SELECT audit_table('school.enrollment_history');

-- =====================================================================================
-- The pipeline's rules
-- =====================================================================================
-- Refuses a status change the pipeline does not allow, Payment Complete by hand with
-- required fees unpaid and no remark, and a section that is full or of another school
-- year. Locks the section row first, so two registrars filling its last seat at once are
-- serialised: the second one counts the first one's student (a fresh snapshot per statement
-- under READ COMMITTED; rows earlier in the same statement count too). An INSERT is checked
-- only for its section, so its trigger runs for rows that name one.
CREATE FUNCTION enrollment_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_allowed text;
    v_sec record;
    v_taken int;
    v_unpaid numeric;
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
        -- Payment Complete while required fees of the year are unpaid is a decision someone
        -- makes by hand (the ledger's hook waits for them to be paid): the change carries a
        -- remark of its own saying why.
        IF NEW.current_status = 'Payment Complete'
           AND (NEW.remarks IS NULL OR NEW.remarks !~ '[^[:space:]]'
                OR NEW.remarks IS NOT DISTINCT FROM OLD.remarks) THEN
            SELECT sum(ib.open) INTO v_unpaid
              FROM school.installment_balances ib
              JOIN school.fee_types t ON t.name = ib.fee_type
             WHERE ib.student_id = NEW.student_id AND ib.school_year_id = NEW.school_year_id
               AND t.required AND ib.open > 0;
            IF v_unpaid IS NOT NULL THEN
                RAISE EXCEPTION 'remark: % has % of required fees unpaid; a remark saying why is needed to set Payment Complete by hand',
                    school.student_label(NEW.student_id), to_char(v_unpaid, 'FM999,999,990.00')
                    USING ERRCODE = 'check_violation';
            END IF;
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
CREATE TRIGGER enrollment_check BEFORE UPDATE ON enrollment_progress
    FOR EACH ROW EXECUTE FUNCTION enrollment_check();
CREATE TRIGGER enrollment_check_ins BEFORE INSERT ON enrollment_progress
    FOR EACH ROW WHEN (NEW.section_id IS NOT NULL) EXECUTE FUNCTION enrollment_check();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_check;
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_check_ins;

-- "Juan Dela Cruz (2026-00012)" for messages.
CREATE FUNCTION student_label(p_student_id int) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT u.first_name || ' ' || u.last_name
           || coalesce(' (' || p.student_number || ')', '')
    FROM school.users u LEFT JOIN school.student_profiles p ON p.user_id = u.id
    WHERE u.id = p_student_id
$$;

-- A new enrollment starts at Pending. SECURITY INVOKER on purpose: current_user is the role
-- that runs the statement (a person's login, or the owner inside its SECURITY DEFINER
-- functions); a superuser holds every role. Called only for the rows it can refuse.
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
    FOR EACH ROW WHEN (NEW.current_status IS DISTINCT FROM 'Pending')
    EXECUTE FUNCTION enrollment_starts_pending();
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

-- Enrollments and their history are kept for good.
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
CREATE TRIGGER enrollment_history_append_only BEFORE UPDATE ON enrollment_history
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER enrollment_history_kept BEFORE DELETE ON enrollment_history
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_kept();
CREATE TRIGGER enrollment_history_no_truncate BEFORE TRUNCATE ON enrollment_history
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_progress_kept;
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_progress_no_truncate;
ALTER TABLE enrollment_history ENABLE ALWAYS TRIGGER enrollment_history_append_only;
ALTER TABLE enrollment_history ENABLE ALWAYS TRIGGER enrollment_history_kept;
ALTER TABLE enrollment_history ENABLE ALWAYS TRIGGER enrollment_history_no_truncate;

-- =====================================================================================
-- History and live updates
-- =====================================================================================
-- The staff's channel for enrollment changes (ids only).
CREATE FUNCTION enrollment_channel() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT 'st_' || left(encode(sha256(i.secret || convert_to('enrollment', 'UTF8')), 'hex'), 32)
    FROM school.instance i
$$;

-- An UPDATE's history row, in the same statement as the change: who (the session's person),
-- when, from, to, and the row's remark; then the live updates. Row by row: the hook below
-- changes the same row again from inside its row trigger, and the history must record the
-- two steps in that order.
CREATE FUNCTION enrollment_record() RETURNS trigger
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
CREATE TRIGGER enrollment_record AFTER UPDATE ON enrollment_progress
    FOR EACH ROW EXECUTE FUNCTION enrollment_record();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_record;

-- New enrollments' first history rows and notifications, once per INSERT statement (an
-- import inserts 10,000 in one), the student's channel computed in the query
-- (channel_for_login's formula, the secret read once). Same order as row by row: the staff
-- channel, then the student's, enrollment by enrollment in id order. No AFTER INSERT row
-- trigger changes a new enrollment, so a statement's first rows come before any later step.
CREATE FUNCTION enrollment_record_inserted() RETURNS trigger
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
CREATE TRIGGER enrollment_record_inserted AFTER INSERT ON enrollment_progress
    REFERENCING NEW TABLE AS enrollment_new
    FOR EACH STATEMENT EXECUTE FUNCTION enrollment_record_inserted();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_record_inserted;

-- =====================================================================================
-- Moving students
-- =====================================================================================
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

-- The hook for accounting: its SECURITY DEFINER payment functions (running as the owner)
-- call it when a student's required fees for a year are paid. Verified -> Payment Complete;
-- anything else is left alone (Pending: documents are not checked yet, and paying does not
-- check them; the registrar's Verified then finds the payment done). Idempotent.
CREATE FUNCTION enrollment_fees_paid(p_student_id int, p_school_year_id int) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    UPDATE school.enrollment_progress
       SET current_status = 'Payment Complete', remarks = 'Required fees paid'
     WHERE student_id = p_student_id AND school_year_id = p_school_year_id
       AND current_status = 'Verified'
$$;

-- The registrar's Pending -> Verified runs the same hook, for a student who paid everything
-- while still Pending: the history shows Pending -> Verified, then Verified -> Payment
-- Complete ("Required fees paid"), both by the registrar. Only from Pending: a registrar who
-- moves Payment Complete back to Verified means it, and stays there.
CREATE FUNCTION enrollment_verified_settle() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM school.settle_enrollment(NEW.student_id, NEW.school_year_id);
    RETURN NULL;
END
$$;
-- (AFTER triggers run in name order: after enrollment_record has written Pending -> Verified)
CREATE TRIGGER enrollment_verified_settle AFTER UPDATE OF current_status ON enrollment_progress
    FOR EACH ROW WHEN (OLD.current_status = 'Pending' AND NEW.current_status = 'Verified')
    EXECUTE FUNCTION enrollment_verified_settle();

-- =====================================================================================
-- Grants and row-level security
-- =====================================================================================
GRANT EXECUTE ON FUNCTION set_enrollment_status(int[], text, text) TO {{registrar}};
GRANT EXECUTE ON FUNCTION enrollment_channel() TO {{registrar}}, {{principal}}, {{coordinator}},
    {{accounting}}, {{guidance}};
-- enrollment_fees_paid: no grant; only owner-run functions (accounting's) call it.

-- The Registrar inserts (assigning a section makes a Pending enrollment) and updates, never
-- deletes; staff read all; a teacher the sections they advise or teach (assigned by the
-- Registrar and the Coordinator, 04_teaching.sql); a student their own.
GRANT SELECT ON enrollment_progress TO {{registrar}}, {{principal}}, {{coordinator}},
    {{student}}, {{teacher}}, {{accounting}}, {{guidance}};
-- Column grants: no table-level UPDATE, which would let LOCK TABLE freeze every reader.
GRANT INSERT, UPDATE (student_id, school_year_id, section_id, current_status, remarks,
    last_updated) ON enrollment_progress TO {{registrar}};
GRANT USAGE ON SEQUENCE enrollment_progress_id_seq TO {{registrar}};
ALTER TABLE enrollment_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY enrollment_staff_read ON enrollment_progress FOR SELECT
    TO {{registrar}}, {{principal}}, {{coordinator}}, {{accounting}}, {{guidance}}
    USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY enrollment_teacher_read ON enrollment_progress FOR SELECT TO {{teacher}}
    USING (section_id IN (SELECT school.my_teaching_section_ids()));
CREATE POLICY enrollment_own_read ON enrollment_progress FOR SELECT TO {{student}}
    USING (student_id = (SELECT school.me()));
CREATE POLICY enrollment_registrar_insert ON enrollment_progress FOR INSERT TO {{registrar}}
    WITH CHECK ((SELECT school.me()) IS NOT NULL);
CREATE POLICY enrollment_registrar_update ON enrollment_progress FOR UPDATE TO {{registrar}}
    USING ((SELECT school.me()) IS NOT NULL) WITH CHECK ((SELECT school.me()) IS NOT NULL);

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
