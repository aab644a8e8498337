-- =====================================================================================
-- Announcements and events: everyone reads them; the Admin, the Principal and the
-- Academic Coordinator post them, each post naming its poster; the poster or an Admin edits
-- or deletes it.
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

-- The poster is whoever posts: a person's post names them (posted_by / created_by filled
-- in when left out, refused when it names someone else) and keeps naming them. The owner's
-- loaders (the demo) are no person and may name anyone.
CREATE FUNCTION notice_poster() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_me int := school.me();
    v_column text := TG_ARGV[0];
    v_given int := (to_jsonb(NEW) ->> v_column)::int;
BEGIN
    IF v_me IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF v_given IS NOT NULL AND v_given <> v_me THEN
            RAISE EXCEPTION '%: a post names its poster; you may not post as someone else',
                replace(v_column, '_', ' ') USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF v_given IS DISTINCT FROM (to_jsonb(OLD) ->> v_column)::int THEN
        RAISE EXCEPTION '%: a post keeps naming who posted it', replace(v_column, '_', ' ')
            USING ERRCODE = 'insufficient_privilege';
    ELSE
        RETURN NEW;
    END IF;
    RETURN jsonb_populate_record(NEW, jsonb_build_object(v_column, v_me));
END
$$;
CREATE TRIGGER announcements_poster BEFORE INSERT OR UPDATE ON announcements
    FOR EACH ROW EXECUTE FUNCTION notice_poster('posted_by');
CREATE TRIGGER events_poster BEFORE INSERT OR UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION notice_poster('created_by');

GRANT SELECT ON announcements, events
    TO {{admin}}, {{principal}}, {{coordinator}}, {{teacher}}, {{student}}, {{guidance}},
       {{registrar}}, {{accounting}};
-- No school role holds table-level UPDATE or DELETE on a table others read: with either,
-- LOCK TABLE ... ACCESS EXCLUSIVE would freeze every reader. Edits go through column
-- grants (which allow no lock beyond ACCESS SHARE), deletes through delete_<thing>(id).
-- An announcement deleted by its poster or an Admin (as the policies below say for edits).
CREATE FUNCTION delete_announcement(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.announcements
    WHERE id = p_id AND (posted_by = school.me() OR school.my_role() = 'Admin');
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
-- An event deleted by whoever made it or an Admin.
CREATE FUNCTION delete_event(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.events
    WHERE id = p_id AND (created_by = school.me() OR school.my_role() = 'Admin');
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
ALTER TABLE announcements ENABLE ROW LEVEL SECURITY;
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY announcements_read ON announcements FOR SELECT TO {{member}} USING (true);
CREATE POLICY announcements_post ON announcements FOR INSERT
    TO {{admin}}, {{principal}}, {{coordinator}}
    WITH CHECK (posted_by = (SELECT school.me()));
CREATE POLICY announcements_edit ON announcements FOR UPDATE
    TO {{admin}}, {{principal}}, {{coordinator}}
    USING (posted_by = (SELECT school.me()) OR (SELECT school.my_role()) = 'Admin');
CREATE POLICY announcements_remove ON announcements FOR DELETE
    TO {{admin}}, {{principal}}, {{coordinator}}
    USING (posted_by = (SELECT school.me()) OR (SELECT school.my_role()) = 'Admin');
CREATE POLICY events_read ON events FOR SELECT TO {{member}} USING (true);
CREATE POLICY events_post ON events FOR INSERT TO {{admin}}, {{principal}}, {{coordinator}}
    WITH CHECK (created_by = (SELECT school.me()));
CREATE POLICY events_edit ON events FOR UPDATE TO {{admin}}, {{principal}}, {{coordinator}}
    USING (created_by = (SELECT school.me()) OR (SELECT school.my_role()) = 'Admin');
CREATE POLICY events_remove ON events FOR DELETE TO {{admin}}, {{principal}}, {{coordinator}}
    USING (created_by = (SELECT school.me()) OR (SELECT school.my_role()) = 'Admin');
