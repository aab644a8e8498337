-- Failed logins (issue #3): repeated wrong passwords against one person, shown to the Admin.
--
-- A refused password never reaches a table: PostgreSQL refuses it before any SQL runs. The one
-- record is the server's log ("password authentication failed for user ...", SQLSTATE 28P01,
-- after auth_delay's wait). These functions read that log where the server allows it:
--
-- - the log must be written as JSON lines (log_destination includes 'jsonlog', PostgreSQL
--   15+, with logging_collector = on): one complete object per line, newlines in messages
--   escaped, so text a person typed cannot pose as an entry;
-- - the owner must be allowed to list and read it: EXECUTE on pg_current_logfile(text),
--   pg_ls_logdir() and pg_read_file(text, bigint, bigint, boolean). The embedded server
--   grants these (school_tui/db/security.py); on a configured server a DBA may, or not, and
--   then failed_login_log_available() says false and failed_logins() returns nothing.
--
-- Failures are counted per login role and mapped to this database's people; decoy logins
-- (unknown emails) and other schools' people map to nobody here and are left out.

-- A log line as jsonb, or NULL when it is not one complete JSON value (a line cut by the
-- tail read below, or one still being written).
CREATE FUNCTION log_line_json(p_line text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN p_line::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

CREATE FUNCTION failed_login_log_available() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT school.may_administer() THEN
        RAISE EXCEPTION 'only an Admin may see failed logins' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- one check at a time: calling pg_current_logfile without the privilege would raise
    IF NOT (has_function_privilege('pg_catalog.pg_current_logfile(text)', 'EXECUTE')
            AND has_function_privilege('pg_catalog.pg_ls_logdir()', 'EXECUTE')
            AND has_function_privilege(
                'pg_catalog.pg_read_file(text, bigint, bigint, boolean)', 'EXECUTE')) THEN
        RETURN false;
    END IF;
    RETURN pg_catalog.pg_current_logfile('jsonlog') IS NOT NULL;
END
$$;

-- Per person: wrong passwords in the last p_hours (1 to 168) and the latest one. Reads the
-- JSON log files changed in that window, each up to its last 64 MB (a week of ordinary use is
-- far less; under a flood of guesses the newest failures are the ones counted).
CREATE FUNCTION failed_logins(p_hours int DEFAULT 24)
RETURNS TABLE (user_id int, full_name text, email text, role text, failures bigint,
               last_failure timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_since timestamptz;
    v_dir text;
    v_max_bytes constant bigint := 64 * 1024 * 1024;
BEGIN
    IF NOT school.may_administer() THEN
        RAISE EXCEPTION 'only an Admin may see failed logins' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_hours IS NULL OR p_hours NOT BETWEEN 1 AND 168 THEN
        RAISE EXCEPTION 'hours: must be between 1 and 168' USING ERRCODE = 'check_violation';
    END IF;
    IF NOT school.failed_login_log_available() THEN
        RETURN;
    END IF;
    v_since := now() - make_interval(hours => p_hours);
    -- the directory as the server names it (relative to the data directory, or absolute)
    v_dir := regexp_replace(pg_catalog.pg_current_logfile('jsonlog'), '/[^/]*$', '');
    RETURN QUERY
    WITH files AS (
        SELECT v_dir || '/' || f.name AS path, f.size
        FROM pg_catalog.pg_ls_logdir() f
        WHERE f.name LIKE '%.json' AND f.modification >= v_since
    ), chunks AS (
        SELECT pg_catalog.pg_read_file(fl.path, greatest(fl.size - v_max_bytes, 0), v_max_bytes,
                                       true) AS chunk,
               fl.size > v_max_bytes AS cut
        FROM files fl
    ), lines AS (
        SELECT school.log_line_json(l.line) AS entry
        FROM chunks c, regexp_split_to_table(c.chunk, E'\n') WITH ORDINALITY AS l(line, n)
        WHERE c.chunk IS NOT NULL
          AND NOT (c.cut AND l.n = 1)  -- the tail read starts inside a line
          AND l.line LIKE '%"state_code":"28P01"%'
    ), failed AS (
        SELECT e.entry ->> 'user' AS login_role, (e.entry ->> 'timestamp')::timestamptz AS at
        FROM lines e
        WHERE e.entry ->> 'state_code' = '28P01' AND e.entry ->> 'error_severity' = 'FATAL'
    )
    SELECT u.id, u.first_name || ' ' || u.last_name, u.email, r.name, count(*), max(fd.at)
    FROM failed fd
    JOIN school.users u ON u.login_role = fd.login_role
    JOIN school.roles r ON r.id = u.role_id
    WHERE fd.at >= v_since
    GROUP BY u.id, u.first_name, u.last_name, u.email, r.name
    ORDER BY max(fd.at) DESC, u.id;
END
$$;

REVOKE ALL ON FUNCTION log_line_json(text), failed_login_log_available(), failed_logins(int)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION failed_login_log_available(), failed_logins(int) TO {{admin}};
