-- =====================================================================================
-- Guidance reports: Guidance records and reads them; the Principal reads; nobody else.
--
-- The text is never read by SELECT, only through two functions, so every read is in the
-- audit trail; the lists see who, about whom and when. Reading a report is two calls, each
-- its own transaction (autocommit does that):
--   SELECT school.open_guidance_report(id);  -- writes the READ entry, which commits
--   SELECT school.read_guidance_report(id);  -- returns the text, only after that commit
-- A single function that logged and returned the text could be read without a trace: roll
-- back the transaction (or make the statement fail after the row was sent) and the entry
-- goes with it, while the text has already reached the client.
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
CREATE TRIGGER guidance_student_is_student BEFORE INSERT OR UPDATE OF student_id
    ON guidance_reports FOR EACH ROW EXECUTE FUNCTION check_user_role('student_id', 'Student');
CREATE TRIGGER guidance_counselor_is_guidance BEFORE INSERT OR UPDATE OF counselor_id
    ON guidance_reports FOR EACH ROW EXECUTE FUNCTION check_user_role('counselor_id', 'Guidance');

-- The report's text is confidential: not copied into the log.
SELECT audit_table('school.guidance_reports', 'report');

-- Step 1: write the READ entry. Returns its id. Commits with the caller's transaction.
CREATE FUNCTION open_guidance_report(p_id int) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_entry bigint;
BEGIN
    IF coalesce(school.my_role(), '') NOT IN ('Guidance', 'Principal') THEN
        RAISE EXCEPTION 'only Guidance and the Principal may read guidance reports'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM 1 FROM school.guidance_reports WHERE id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'guidance report % does not exist', p_id USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO school.audit_log (table_name, row_id, action)
    VALUES ('guidance_reports', p_id, 'READ') RETURNING id INTO v_entry;
    RETURN v_entry;
END
$$;

-- Step 2: the text, if this login opened the report in an earlier transaction that has
-- committed (its txid is not ours, and we can see it), within the last two minutes.
CREATE FUNCTION read_guidance_report(p_id int) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_report text;
BEGIN
    IF coalesce(school.my_role(), '') NOT IN ('Guidance', 'Principal') THEN
        RAISE EXCEPTION 'only Guidance and the Principal may read guidance reports'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM 1 FROM school.audit_log a
     WHERE a.table_name = 'guidance_reports' AND a.row_id = p_id AND a.action = 'READ'
       AND a.login_role = session_user
       AND a.txid IS DISTINCT FROM txid_current_if_assigned()
       AND a.logged_at > clock_timestamp() - interval '2 minutes';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'guidance report %: open it first', p_id
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'SELECT school.open_guidance_report(id) records the read; once that '
                         'has committed, read_guidance_report(id) returns the text';
    END IF;
    SELECT report INTO v_report FROM school.guidance_reports WHERE id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'guidance report % does not exist', p_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN v_report;
END
$$;

GRANT EXECUTE ON FUNCTION open_guidance_report(int), read_guidance_report(int)
    TO {{guidance}}, {{principal}};
GRANT SELECT (id, student_id, counselor_id, report_date) ON guidance_reports
    TO {{guidance}}, {{principal}};
-- Column grants: no table-level UPDATE, which would let LOCK TABLE freeze every reader.
GRANT INSERT, UPDATE (student_id, counselor_id, report, report_date) ON guidance_reports
    TO {{guidance}};
GRANT USAGE ON SEQUENCE guidance_reports_id_seq TO {{guidance}};
ALTER TABLE guidance_reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY guidance_read ON guidance_reports FOR SELECT TO {{guidance}}, {{principal}}
    USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY guidance_write ON guidance_reports FOR INSERT TO {{guidance}}
    WITH CHECK (counselor_id = (SELECT school.me()));
CREATE POLICY guidance_edit_own ON guidance_reports FOR UPDATE TO {{guidance}}
    USING (counselor_id = (SELECT school.me())) WITH CHECK (counselor_id = (SELECT school.me()));
