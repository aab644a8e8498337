-- =====================================================================================
-- Base: the schema's bookkeeping and the guards every domain's tables use.
-- =====================================================================================

GRANT USAGE ON SCHEMA school TO {{member}}, {{prelogin}};

-- The versions this database went through; the latest is what it is.
CREATE TABLE schema_version (
    version     int PRIMARY KEY,
    description text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- One row: which role prefix this database belongs to, and a secret for the pre-login
-- lookup's decoy answers and the private notification channels (see prelogin_lookup,
-- channel_for_login).
CREATE TABLE instance (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    role_prefix text NOT NULL,
    secret      bytea NOT NULL DEFAULT (uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()))
);

-- Rows that are appended, never edited or deleted (money, history, the audit log): for
-- every role, the owner included. Such tables enable these triggers ALWAYS, so they fire
-- in replica mode (session_replication_role) too.
CREATE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: record a correcting entry instead', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION refuse_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% may not be truncated: its rows are kept for good', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- A row that names a student must name a Student (and a teacher column a Teacher):
-- check_user_role('column', 'Role', ...) as a BEFORE row trigger.
CREATE FUNCTION check_user_role() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    uid int := (to_jsonb(NEW) ->> TG_ARGV[0])::int;
    actual text;
BEGIN
    IF uid IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT r.name INTO actual FROM school.users u JOIN school.roles r ON r.id = u.role_id
    WHERE u.id = uid;
    IF actual IS NULL OR NOT (actual = ANY (TG_ARGV[1:])) THEN
        RAISE EXCEPTION '%.% must be a user with role %', TG_TABLE_NAME, TG_ARGV[0],
            array_to_string(TG_ARGV[1:], ' or ')
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

-- The same check once per INSERT statement, over its transition table `checked_new`, for
-- tables filled many rows at a time (the CSV import). An UPDATE of the column keeps the row
-- trigger: PostgreSQL allows no transition table on a trigger with a column list.
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
