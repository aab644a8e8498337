-- Serialise on rows only the owner can lock (serial_locks), not on advisory keys anyone
-- can hold; limit how many chat messages (and characters) a person writes a minute
-- (write_limits, write_counts); no table-level UPDATE or DELETE on shared tables. The functions that use them are restated from
-- sql/schema/ by the upgrade (11_limits.sql, 07_ledger.sql, 02_people.sql, 08_chat.sql).

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

CREATE TRIGGER messages_rate BEFORE INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_rate();

-- No school role holds table-level UPDATE or DELETE on a table others read (LOCK TABLE ...
-- ACCESS EXCLUSIVE needs one): edits through column grants, deletes through functions.
REVOKE UPDATE, DELETE ON school_years, sections FROM {{registrar}};
GRANT UPDATE (name, starts_on, ends_on, is_current) ON school_years TO {{registrar}};
GRANT UPDATE (name, grade_level, school_year_id, adviser_id, capacity) ON sections
    TO {{registrar}};
GRANT EXECUTE ON FUNCTION delete_school_year(int), delete_section(int) TO {{registrar}};
REVOKE UPDATE, DELETE ON subjects FROM {{coordinator}};
GRANT UPDATE (section_id, name, description) ON subjects TO {{coordinator}};
GRANT EXECUTE ON FUNCTION delete_subject(int) TO {{coordinator}};

REVOKE UPDATE, DELETE ON modules, tasks, meetings FROM {{teacher}};
GRANT UPDATE (teacher_id, section_id, title, description, file_url, uploaded_at)
    ON modules TO {{teacher}};
GRANT UPDATE (teacher_id, section_id, title, description, task_type, timer_minutes,
    due_date, created_at) ON tasks TO {{teacher}};
GRANT UPDATE (host_id, section_id, title, meeting_link, scheduled_at, created_at)
    ON meetings TO {{teacher}};
GRANT EXECUTE ON FUNCTION delete_module(int), delete_task(int), delete_meeting(int)
    TO {{teacher}};

REVOKE UPDATE ON enrollment_progress FROM {{registrar}};
GRANT UPDATE (student_id, school_year_id, section_id, current_status, remarks,
    last_updated) ON enrollment_progress TO {{registrar}};

REVOKE UPDATE, DELETE ON fee_types FROM {{accounting}};
REVOKE DELETE ON fee_schedules FROM {{accounting}};
GRANT UPDATE (name, required, description) ON fee_types TO {{accounting}};
GRANT EXECUTE ON FUNCTION delete_fee_type(int), delete_fee_schedule(int) TO {{accounting}};

REVOKE UPDATE ON guidance_reports FROM {{guidance}};
GRANT UPDATE (student_id, counselor_id, report, report_date) ON guidance_reports
    TO {{guidance}};

REVOKE UPDATE, DELETE ON announcements, events FROM {{admin}}, {{principal}}, {{coordinator}};
GRANT UPDATE (title, content, posted_by, created_at) ON announcements
    TO {{admin}}, {{principal}}, {{coordinator}};
GRANT UPDATE (title, description, start_date, end_date, created_by) ON events
    TO {{admin}}, {{principal}}, {{coordinator}};
GRANT EXECUTE ON FUNCTION delete_announcement(int), delete_event(int)
    TO {{admin}}, {{principal}}, {{coordinator}};
