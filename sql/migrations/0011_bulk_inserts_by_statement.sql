-- 0011: what every inserted row used to cost one trigger call for, once per statement.
--
-- A CSV import of 10,000 students writes 40,000 rows (users, profiles, enrollments and their
-- first history rows). 0002's audit trigger ran a PL/pgSQL function and an INSERT for each
-- row, and 0006's enrollment_record a history INSERT (with its own audit entry) and two
-- notifications for each enrollment: about 2.8 s of a 5.5 s import (benchmarks/registrar.py,
-- import_10k_s, goal 3 s).
--
-- =====================================================================================
-- The audit of INSERTs. Inserted rows have no old values to compare, so one INSERT ...
-- SELECT over the statement's transition table writes the same entries: the same table, row
-- id, action and values, the secret columns replaced by "(not logged)". audit_log's own
-- BEFORE INSERT trigger still stamps each entry (session_user, time, address, transaction).
-- UPDATE and DELETE stay row by row (an UPDATE logs only the fields that changed). The
-- entries of a statement's inserts are written when the statement ends, after those that
-- its row triggers wrote meanwhile.
-- =====================================================================================
CREATE FUNCTION audit_rows_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_hidden jsonb := '{}';
    v_col text;
BEGIN
    IF TG_NARGS = 0 THEN
        INSERT INTO school.audit_log (table_name, row_id, action, new_values)
        SELECT TG_TABLE_NAME, CASE WHEN k.key ~ '^-?[0-9]{1,18}$' THEN k.key::bigint END,
               'INSERT', r.j
        FROM (SELECT to_jsonb(n) AS j FROM audit_new n) r,
             LATERAL (SELECT coalesce(r.j ->> 'id', r.j ->> 'user_id') AS key) k;
        RETURN NULL;
    END IF;
    -- The secret columns: present in every row of the table, so overwritten in each.
    FOREACH v_col IN ARRAY TG_ARGV LOOP
        v_hidden := v_hidden || jsonb_build_object(v_col, '(not logged)');
    END LOOP;
    INSERT INTO school.audit_log (table_name, row_id, action, new_values)
    SELECT TG_TABLE_NAME, CASE WHEN k.key ~ '^-?[0-9]{1,18}$' THEN k.key::bigint END,
           'INSERT', r.j || v_hidden
    FROM (SELECT to_jsonb(n) AS j FROM audit_new n) r,
         LATERAL (SELECT coalesce(r.j ->> 'id', r.j ->> 'user_id') AS key) k;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION audit_rows_inserted() FROM PUBLIC;

-- Every audited table: the row trigger keeps UPDATE and DELETE, a statement trigger takes
-- INSERT, both with the table's hidden columns, both firing in replica mode too.
DO $$
DECLARE
    t record;
    v_args text;
BEGIN
    FOR t IN
        SELECT tg.tgrelid::regclass AS tbl,
               array_remove(string_to_array(encode(tg.tgargs, 'escape'), E'\\000'), '') AS args
        FROM pg_trigger tg
        WHERE tg.tgname = 'audit' AND tg.tgfoid = 'school.audit_row()'::regprocedure
    LOOP
        SELECT coalesce(string_agg(quote_literal(a), ', '), '') INTO v_args
        FROM unnest(t.args) a;
        EXECUTE format('DROP TRIGGER audit ON %s', t.tbl);
        EXECUTE format('CREATE TRIGGER audit AFTER UPDATE OR DELETE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION school.audit_row(%s)', t.tbl, v_args);
        EXECUTE format('CREATE TRIGGER audit_insert AFTER INSERT ON %s '
                       'REFERENCING NEW TABLE AS audit_new '
                       'FOR EACH STATEMENT EXECUTE FUNCTION school.audit_rows_inserted(%s)',
                       t.tbl, v_args);
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit', t.tbl);
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_insert', t.tbl);
    END LOOP;
END
$$;

-- Tables added later get the same three triggers.
CREATE OR REPLACE FUNCTION audit_table(p_table regclass, VARIADIC p_hidden text[] DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_col text;
    v_args text := '';
BEGIN
    FOREACH v_col IN ARRAY p_hidden LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = p_table AND attname = v_col
                       AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION '%: no column %', p_table, v_col;
        END IF;
        v_args := v_args || CASE WHEN v_args = '' THEN '' ELSE ', ' END || quote_literal(v_col);
    END LOOP;
    EXECUTE format('CREATE TRIGGER audit AFTER UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION school.audit_row(%s)', p_table, v_args);
    EXECUTE format('CREATE TRIGGER audit_insert AFTER INSERT ON %s '
                   'REFERENCING NEW TABLE AS audit_new '
                   'FOR EACH STATEMENT EXECUTE FUNCTION school.audit_rows_inserted(%s)',
                   p_table, v_args);
    EXECUTE format('CREATE TRIGGER audit_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION school.audit_truncate()', p_table);
    -- Fire in replica mode too: switching session_replication_role is no way around the log.
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit', p_table);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_insert', p_table);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_truncate', p_table);
END
$$;

-- =====================================================================================
-- An enrollment's first history row, likewise once per statement: an import inserts
-- 10,000 enrollments in one statement, and a row trigger wrote 10,000 history rows one
-- INSERT at a time (each with its audit entry and its two notifications). Updates stay row
-- by row: an UPDATE's hook (0009: Verified -> Payment Complete) changes the same row again
-- from inside its row trigger, and the history must record the two steps in that order.
-- No AFTER INSERT row trigger changes a new enrollment, so a statement's first rows still
-- come before any later step's.
-- =====================================================================================
CREATE FUNCTION enrollment_record_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_me int := school.me();
    v_channel text := school.enrollment_channel();
BEGIN
    INSERT INTO school.enrollment_history (enrollment_id, from_status, to_status, remark,
                                           changed_by)
    SELECT n.id, NULL, n.current_status, n.remarks, v_me FROM enrollment_new n ORDER BY n.id;
    -- Live updates: ids only, to the staff channel and to the student's own.
    PERFORM pg_notify(v_channel, 'e:' || n.id), school.notify_user(n.student_id, 'e:' || n.id)
    FROM enrollment_new n ORDER BY n.id;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION enrollment_record_inserted() FROM PUBLIC;

DROP TRIGGER enrollment_record ON enrollment_progress;
CREATE TRIGGER enrollment_record AFTER UPDATE ON enrollment_progress
    FOR EACH ROW EXECUTE FUNCTION enrollment_record();
CREATE TRIGGER enrollment_record_inserted AFTER INSERT ON enrollment_progress
    REFERENCING NEW TABLE AS enrollment_new
    FOR EACH STATEMENT EXECUTE FUNCTION enrollment_record_inserted();
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_record;
ALTER TABLE enrollment_progress ENABLE ALWAYS TRIGGER enrollment_record_inserted;
