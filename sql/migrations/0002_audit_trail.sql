-- Audit trail (issue #3): every INSERT, UPDATE, DELETE and TRUNCATE on every table of the
-- schema, and every read of a guidance report's text, recorded with who, when, from where
-- and with which application. Nobody may change or remove an entry, the owner included.
--
-- Who is session_user, the login the connection authenticated as: SET ROLE, set_config and
-- SECURITY DEFINER do not change it. The log stamps it itself (audit_stamp, a BEFORE INSERT
-- trigger on the log), so not even a direct INSERT by the owner can name someone else.
--
-- What is not copied: secrets (credentials.salt, instance.secret) and confidential text
-- (guidance_reports.report, messages.message). The log is read by the Admin and the
-- Principal; copying a report there would let the Admin read it, and the Principal read it
-- without the READ entry below. Such a field still shows that it changed, as "(not logged)".
--
-- Reading a report is two calls, each its own transaction (autocommit does that):
--   SELECT school.open_guidance_report(id);  -- writes the READ entry, which commits
--   SELECT school.read_guidance_report(id);  -- returns the text, only after that commit
-- A single function that logged and returned the text could be read without a trace: roll
-- back the transaction (or make the statement fail after the row was sent) and the entry
-- goes with it, while the text has already reached the client.

CREATE TABLE audit_log (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    logged_at        timestamptz NOT NULL,
    login_role       text NOT NULL,       -- session_user
    person_id        int,                 -- users.id of login_role then (NULL: the DBA/owner)
    table_name       text NOT NULL,
    row_id           bigint,              -- the row's id (or user_id); NULL for TRUNCATE
    action           text NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',
                                                     'READ')),
    old_values       jsonb,               -- UPDATE: only the changed fields; DELETE: the row
    new_values       jsonb,               -- UPDATE: only the changed fields; INSERT: the row
    client_addr      inet,                -- inet_client_addr(): NULL over a Unix socket
    application_name text,                -- what the client said it is: informative only
    txid             bigint NOT NULL      -- the writing transaction: groups one change's rows
);
-- No foreign key to users on purpose: an entry outlives the person and the row it names.
CREATE INDEX audit_log_person_idx ON audit_log (person_id, id);
CREATE INDEX audit_log_table_idx ON audit_log (table_name, id);
CREATE INDEX audit_log_row_idx ON audit_log (table_name, row_id, id);
CREATE INDEX audit_log_logged_at_idx ON audit_log (logged_at);
CREATE INDEX audit_log_login_role_idx ON audit_log (login_role, id);

-- Every entry says who, when and from where by itself; nothing an inserter passes counts.
CREATE FUNCTION audit_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    NEW.logged_at := clock_timestamp();
    NEW.login_role := session_user;
    -- Active or not: an entry names whoever it was, even one deactivated since.
    NEW.person_id := (SELECT u.id FROM school.users u WHERE u.login_role = session_user);
    NEW.client_addr := inet_client_addr();
    NEW.application_name := current_setting('application_name', true);
    NEW.txid := txid_current();
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_stamp BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_stamp();

-- The log is append-only: refuse_change (schema.sql) for UPDATE and DELETE, and TRUNCATE,
-- for every role. ENABLE ALWAYS: they fire even with session_replication_role = replica.
CREATE FUNCTION refuse_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% may not be truncated: its rows are kept for good', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_stamp;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
-- Payments were append-only for UPDATE and DELETE; TRUNCATE (also by CASCADE from fees) too.
CREATE TRIGGER payments_no_truncate BEFORE TRUNCATE ON payments
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
ALTER TABLE payments ENABLE ALWAYS TRIGGER payments_no_truncate;
ALTER TABLE payments ENABLE ALWAYS TRIGGER payments_append_only;
-- The owner keeps INSERT (its SECURITY DEFINER functions write the log) and SELECT only.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM {{owner}};

-- One row change -> one entry. The trigger's arguments name the columns whose values are
-- not copied (secrets, confidential text). The row id is the row's `id`, else `user_id`.
CREATE FUNCTION audit_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_old jsonb;
    v_new jsonb;
    v_key text;
    v_col text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        v_old := to_jsonb(OLD);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        v_new := to_jsonb(NEW);
    END IF;
    v_key := coalesce(coalesce(v_new, v_old) ->> 'id', coalesce(v_new, v_old) ->> 'user_id');
    IF TG_OP = 'UPDATE' THEN
        -- Only the fields that changed, on both sides; an UPDATE that changed nothing is no
        -- change. The comparison comes before hiding, so a secret that changed still shows.
        SELECT jsonb_object_agg(o.key, o.value), jsonb_object_agg(o.key, v_new -> o.key)
          INTO v_old, v_new
          FROM jsonb_each(v_old) o
         WHERE o.value IS DISTINCT FROM v_new -> o.key;
        IF v_old IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_NARGS > 0 THEN
        FOREACH v_col IN ARRAY TG_ARGV LOOP
            IF v_old ? v_col THEN
                v_old := jsonb_set(v_old, ARRAY[v_col], '"(not logged)"');
            END IF;
            IF v_new ? v_col THEN
                v_new := jsonb_set(v_new, ARRAY[v_col], '"(not logged)"');
            END IF;
        END LOOP;
    END IF;
    INSERT INTO school.audit_log (table_name, row_id, action, old_values, new_values)
    VALUES (TG_TABLE_NAME, CASE WHEN v_key ~ '^-?[0-9]{1,18}$' THEN v_key::bigint END,
            TG_OP, v_old, v_new);
    RETURN NULL;
END
$$;

-- TRUNCATE fires no row triggers: record that it happened (only the owner may truncate).
CREATE FUNCTION audit_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO school.audit_log (table_name, action) VALUES (TG_TABLE_NAME, 'TRUNCATE');
    RETURN NULL;
END
$$;

-- Puts a table under audit. A migration that adds a table calls it (tests/test_audit.py
-- fails for any table of the schema without these triggers):
--     SELECT school.audit_table('school.new_table');             -- every column copied
--     SELECT school.audit_table('school.new_table', 'secret');   -- but not `secret`
CREATE FUNCTION audit_table(p_table regclass, VARIADIC p_hidden text[] DEFAULT '{}')
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
    EXECUTE format('CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION school.audit_row(%s)', p_table, v_args);
    EXECUTE format('CREATE TRIGGER audit_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION school.audit_truncate()', p_table);
    -- Fire in replica mode too: switching session_replication_role is no way around the log.
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit', p_table);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_truncate', p_table);
END
$$;

SELECT audit_table('school.credentials', 'salt');
SELECT audit_table('school.instance', 'secret');
SELECT audit_table('school.guidance_reports', 'report');
SELECT audit_table('school.messages', 'message');
-- Every other table of the schema, but the log itself and the bookkeeping.
SELECT audit_table(c.oid::regclass)
FROM pg_class c
WHERE c.relnamespace = 'school'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND c.relname NOT IN ('audit_log', 'schema_version', 'credentials', 'instance',
                        'guidance_reports', 'messages')
ORDER BY c.relname;

GRANT SELECT ON audit_log TO {{admin}}, {{principal}};

-- =====================================================================================
-- Guidance report text: never by SELECT, only through the two functions below. The lists
-- see who, about whom and when.
-- =====================================================================================
REVOKE SELECT ON guidance_reports FROM {{guidance}}, {{principal}};
GRANT SELECT (id, student_id, counselor_id, report_date) ON guidance_reports
    TO {{guidance}}, {{principal}};

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

REVOKE ALL ON FUNCTION audit_stamp(), refuse_truncate(), audit_row(), audit_truncate(),
    audit_table(regclass, text[]), open_guidance_report(int),
    read_guidance_report(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION open_guidance_report(int), read_guidance_report(int)
    TO {{guidance}}, {{principal}};
