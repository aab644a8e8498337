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
GRANT INSERT, UPDATE, DELETE ON announcements, events TO {{admin}}, {{principal}}, {{coordinator}};
GRANT USAGE ON SEQUENCE announcements_id_seq, events_id_seq
    TO {{admin}}, {{principal}}, {{coordinator}};
