-- =====================================================================================
-- Audit trail: every INSERT, UPDATE, DELETE and TRUNCATE on the school's tables, and every
-- read of a guidance report's text (09_guidance.sql), recorded with who, when, from where
-- and with which application. Nobody may change or remove an entry, the owner included.
--
-- Who is session_user, the login the connection authenticated as: SET ROLE, set_config and
-- SECURITY DEFINER do not change it. The log stamps it itself (audit_stamp, a BEFORE INSERT
-- trigger on the log), so not even a direct INSERT by the owner can name someone else.
--
-- What is not copied: secrets (credentials.salt, instance.secret) and confidential text
-- (guidance_reports.report, messages.message). The log is read by the Admin and the
-- Principal; copying a report there would let the Admin read it, and the Principal read it
-- without the READ entry. Such a field still shows that it changed, as "(not logged)".
--
-- Every table of the schema is under audit but the log itself, the bookkeeping
-- (schema_version), the import's staging rows (05_students.sql) and presence
-- (online_status, 08_chat.sql): each domain file calls audit_table() for its tables.
-- tests/ui/test_audit.py fails for a table left out.
-- =====================================================================================

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

-- The log is append-only: no UPDATE, DELETE or TRUNCATE, for every role, in replica mode too.
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_stamp;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;

-- Read by the Admin and the Principal. The owner keeps INSERT (its SECURITY DEFINER
-- functions write the log) and SELECT only.
GRANT SELECT ON audit_log TO {{admin}}, {{principal}};
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM {{owner}};

-- The log keeps every entry, but a reader sees only the entries about what they may read in
-- the table itself: a table they may SELECT (any column: the Admin reads no payments,
-- fees, student details, enrollment or guidance reports, so none of their entries), and in
-- it a row their row-level security shows. The readers of the log read every row of the
-- tables they may SELECT but messages, whose entries they see only as one of its two ends
-- (nobody reads others' chat metadata); tests/db/test_access.py checks each entry against
-- the table. The owner's functions (read_guidance_report) read the whole log.
--
-- The tables the caller may SELECT, run as the caller: once per query (an InitPlan).
CREATE FUNCTION audit_readable_tables() RETURNS text[]
LANGUAGE sql STABLE SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(c.relname::text), '{}') FROM pg_catalog.pg_class c
    WHERE c.relnamespace = 'school'::regnamespace AND c.relkind IN ('r', 'p')
      AND has_any_column_privilege(c.oid, 'SELECT')
      -- as every policy: a login that is nobody yet (a temporary password) reads nothing
      AND school.me() IS NOT NULL
$$;
-- A message's entry, for the caller: one of its ends, by the entry's own copy of the row
-- (an INSERT's or a DELETE's), else (an UPDATE names only what changed) by the message
-- itself as the caller's row-level security shows it.
CREATE FUNCTION audit_message_visible(p_row bigint, p_image jsonb) RETURNS boolean
LANGUAGE sql STABLE SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT CASE WHEN p_image ? 'sender_id' AND p_image ? 'receiver_id'
                THEN school.me() IN ((p_image ->> 'sender_id')::int,
                                     (p_image ->> 'receiver_id')::int)
                ELSE EXISTS (SELECT 1 FROM school.messages m WHERE m.id = p_row) END
$$;
GRANT EXECUTE ON FUNCTION audit_readable_tables(), audit_message_visible(bigint, jsonb)
    TO {{admin}}, {{principal}};
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT TO {{admin}}, {{principal}} USING (
    table_name = ANY ((SELECT school.audit_readable_tables())::text[])
    AND (table_name <> 'messages'
         OR coalesce(school.audit_message_visible(row_id, coalesce(new_values, old_values)),
                     false)));

-- An UPDATE or DELETE of one row -> one entry. The trigger's arguments name the columns
-- whose values are not copied (secrets, confidential text). The row id is the row's `id`,
-- else `user_id`.
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

-- The INSERTs of one statement -> their entries, in one INSERT ... SELECT over the
-- statement's transition table `audit_new`: the same table, row id, action and values as a
-- row trigger would write, the hidden columns replaced by "(not logged)", at a fraction of
-- the cost (a 10,000-student import writes 40,000 rows). Inserted rows have no old values
-- to compare, so nothing is lost by not going row by row. audit_log's own BEFORE INSERT
-- trigger still stamps each entry. The entries are written when the statement ends, after
-- those its row triggers wrote meanwhile.
CREATE FUNCTION audit_rows_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_hidden jsonb := '{}';
    v_col text;
    v_key text;  -- the integer key column, when the row id is simply that column
BEGIN
    FOREACH v_col IN ARRAY coalesce(TG_ARGV, '{}') LOOP
        v_hidden := v_hidden || jsonb_build_object(v_col, '(not logged)');
    END LOOP;
    -- The row id is the `id` column when it is an integer NOT NULL one, `user_id` when the
    -- table has no `id` (read straight from the column, found once per statement); any other
    -- key is taken when it is an integer of up to 18 digits, as audit_row takes it.
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

-- TRUNCATE fires no row triggers: record that it happened (only the owner may truncate).
CREATE FUNCTION audit_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO school.audit_log (table_name, action) VALUES (TG_TABLE_NAME, 'TRUNCATE');
    RETURN NULL;
END
$$;

-- Puts a table under audit: a row trigger for UPDATE and DELETE, a statement trigger for
-- INSERT, one for TRUNCATE, all firing in replica mode too.
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

-- The instance row (00_base.sql), its secret not copied.
SELECT audit_table('school.instance', 'secret');
