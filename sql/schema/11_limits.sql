-- =====================================================================================
-- Limits: what no person may hold or write without bound. Serialising points that only the
-- owner's functions can lock, and per-person write rates enforced where the rows are written.
-- =====================================================================================

-- Serialising points: one row each, locked FOR UPDATE by the owner's functions for the rest
-- of their transaction. No school role may read or lock these rows (no grants), unlike an
-- advisory lock key, which any session of the server may take and hold to stop the rest.
-- A wait longer than the function's lock_timeout is refused as "busy, try again".
CREATE TABLE serial_locks (
    name text PRIMARY KEY
);
INSERT INTO serial_locks (name) VALUES
    ('receipts'),       -- the receipt series; posts, reversals and day closes
    ('active admins'),  -- changes that could leave the school without an active Admin
    ('provisioning');   -- loading the demo school into a configured server
SELECT audit_table('school.serial_locks');

CREATE FUNCTION take_serial_lock(p_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = school, pg_catalog, pg_temp SET lock_timeout = '5s' AS $$
BEGIN
    PERFORM 1 FROM school.serial_locks WHERE name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'serial lock % does not exist', p_name USING ERRCODE = 'no_data_found';
    END IF;
EXCEPTION WHEN lock_not_available THEN
    RAISE EXCEPTION 'The school is busy: someone else is changing %; try again in a moment',
        CASE p_name WHEN 'receipts' THEN 'the receipt series'
                    WHEN 'active admins' THEN 'who is an Admin' ELSE p_name END
        USING ERRCODE = 'lock_not_available';
END
$$;

-- Writes a person makes that a school never needs many of a minute: each kind has a limit
-- of rows (and of characters) per person per rolling minute. write_counts is bookkeeping,
-- changed on every counted write: no school data, so not under audit.
CREATE TABLE write_limits (
    kind              text PRIMARY KEY,
    per_minute        int NOT NULL CHECK (per_minute > 0),
    chars_per_minute  int CHECK (chars_per_minute > 0)
);
INSERT INTO write_limits (kind, per_minute, chars_per_minute) VALUES
    ('chat message', 30, 20000);
SELECT audit_table('school.write_limits');

CREATE TABLE write_counts (
    person_id     int NOT NULL,
    kind          text NOT NULL REFERENCES write_limits (kind),
    window_start  timestamptz NOT NULL,
    writes        int NOT NULL,
    chars         bigint NOT NULL,
    PRIMARY KEY (person_id, kind)
);

-- Count one write of `kind` by p_person (p_chars characters), refusing it past the limit.
-- The counter row's lock serialises one person's writes, so parallel sessions share it.
CREATE FUNCTION count_write(p_person int, p_kind text, p_chars int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_limit school.write_limits;
    v_count school.write_counts;
BEGIN
    SELECT * INTO STRICT v_limit FROM school.write_limits WHERE kind = p_kind;
    INSERT INTO school.write_counts AS c (person_id, kind, window_start, writes, chars)
    VALUES (p_person, p_kind, clock_timestamp(), 1, coalesce(p_chars, 0))
    ON CONFLICT (person_id, kind) DO UPDATE SET
        window_start = CASE WHEN c.window_start <= clock_timestamp() - interval '1 minute'
                            THEN clock_timestamp() ELSE c.window_start END,
        writes = CASE WHEN c.window_start <= clock_timestamp() - interval '1 minute'
                      THEN 1 ELSE c.writes + 1 END,
        chars = CASE WHEN c.window_start <= clock_timestamp() - interval '1 minute'
                     THEN coalesce(p_chars, 0) ELSE c.chars + coalesce(p_chars, 0) END
    RETURNING * INTO v_count;
    IF v_count.writes > v_limit.per_minute THEN
        RAISE EXCEPTION '%: at most % a minute; wait a moment and try again', p_kind,
            v_limit.per_minute USING ERRCODE = 'program_limit_exceeded';
    ELSIF v_count.chars > v_limit.chars_per_minute THEN
        RAISE EXCEPTION '%: at most % characters a minute; wait a moment and try again', p_kind,
            v_limit.chars_per_minute USING ERRCODE = 'program_limit_exceeded';
    END IF;
END
$$;

-- Sessions of this school's logins (the pre-login role's too) that sit in an open
-- transaction for longer than p_idle, or whose transaction is older than p_idle and blocks
-- another session, are ended. The server's idle_in_transaction_session_timeout and
-- lock_timeout are settings a session may lift for itself; this is what it cannot lift:
-- every running app's presence sweep calls it (sweep_presence). It sees and ends other
-- logins' sessions only where the owner was granted pg_read_all_stats and
-- pg_signal_backend (`db init`/`db upgrade` as a superuser; `db status` says when not).
CREATE FUNCTION end_stuck_sessions(p_idle interval DEFAULT interval '2 minutes') RETURNS int
LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    -- chosen first (MATERIALIZED), so no other session is ever signalled
    WITH stuck AS MATERIALIZED (
    SELECT a.pid FROM pg_stat_activity a
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
      AND (a.usename IN (SELECT u.login_role FROM school.users u)
           OR a.usename = (SELECT i.role_prefix || '_prelogin' FROM school.instance i))
      -- CASE fixes the order: pg_blocking_pids only for an old transaction, of a waiter
      AND CASE WHEN a.state IN ('idle in transaction', 'idle in transaction (aborted)')
               THEN a.state_change < clock_timestamp() - p_idle
               WHEN a.xact_start < clock_timestamp() - p_idle
               THEN EXISTS (SELECT 1 FROM pg_stat_activity b
                            WHERE CASE WHEN b.wait_event_type = 'Lock'
                                       THEN a.pid = ANY (pg_blocking_pids(b.pid))
                                       ELSE false END)
               ELSE false END
    )
    SELECT count(*)::int FROM stuck WHERE pg_terminate_backend(stuck.pid)
$$;
