-- =====================================================================================
-- Announcements and events: everyone reads them; the Admin, the Principal and the
-- Academic Coordinator post them.
-- =====================================================================================

CREATE TABLE announcements (
    id         serial PRIMARY KEY,
    title      text NOT NULL CHECK (title ~ '[^[:space:]]' AND length(title) <= 200),
    content    text NOT NULL CHECK (content ~ '[^[:space:]]' AND length(content) <= 10000),
    posted_by  int REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX announcements_created_idx ON announcements (created_at DESC);
CREATE INDEX announcements_posted_by_idx ON announcements (posted_by);

CREATE TABLE events (
    id          serial PRIMARY KEY,
    title       text NOT NULL CHECK (title ~ '[^[:space:]]' AND length(title) <= 200),
    description text CHECK (length(description) <= 4000),
    start_date  timestamptz NOT NULL,
    end_date    timestamptz,
    created_by  int REFERENCES users(id) ON DELETE SET NULL,
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX events_start_idx ON events (start_date);
CREATE INDEX events_created_by_idx ON events (created_by);

SELECT audit_table('school.announcements');
SELECT audit_table('school.events');

GRANT SELECT ON announcements, events
    TO {{admin}}, {{principal}}, {{coordinator}}, {{teacher}}, {{student}}, {{guidance}},
       {{registrar}}, {{accounting}};
-- No school role holds table-level UPDATE or DELETE on a table others read: with either,
-- LOCK TABLE ... ACCESS EXCLUSIVE would freeze every reader. Edits go through column
-- grants (which allow no lock beyond ACCESS SHARE), deletes through delete_<thing>(id).
-- An announcement deleted by one who may post.
CREATE FUNCTION delete_announcement(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.announcements WHERE id = p_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
-- An event deleted by one who may post.
CREATE FUNCTION delete_event(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.events WHERE id = p_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
GRANT INSERT, UPDATE (title, content, posted_by, created_at) ON announcements
    TO {{admin}}, {{principal}}, {{coordinator}};
GRANT INSERT, UPDATE (title, description, start_date, end_date, created_by) ON events
    TO {{admin}}, {{principal}}, {{coordinator}};
GRANT EXECUTE ON FUNCTION delete_announcement(int), delete_event(int)
    TO {{admin}}, {{principal}}, {{coordinator}};
GRANT USAGE ON SEQUENCE announcements_id_seq, events_id_seq
    TO {{admin}}, {{principal}}, {{coordinator}};
