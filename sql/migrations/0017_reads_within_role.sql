-- Reading past one's role, closed:
-- - the audit log shows a reader only the entries about what they may read in the table
--   itself (row-level security on audit_log, 01_audit.sql);
-- - what a teacher sees follows from the sections they advise or teach a subject in
--   (subjects.teacher_id, set by the Academic Coordinator), never from rows they write, and
--   they write modules, tasks and meetings only for those sections (04_teaching.sql);
-- - a post names its poster, and only the poster or an Admin edits or deletes it
--   (10_notices.sql);
-- - a section that still holds students, subjects or teaching work is not deleted
--   (03_sections.sql).
-- Its functions are stated by the schema files (db upgrade restates them first).
-- The statistics views are closed to PUBLIC by `db upgrade` itself (db/bootstrap.py).

-- The audit log: a reader sees the entries about what they may read in the table itself.
GRANT EXECUTE ON FUNCTION audit_readable_tables(), audit_message_visible(bigint, jsonb)
    TO {{admin}}, {{principal}};
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT TO {{admin}}, {{principal}} USING (
    table_name = ANY ((SELECT school.audit_readable_tables())::text[])
    AND (table_name <> 'messages'
         OR coalesce(school.audit_message_visible(row_id, coalesce(new_values, old_values)),
                     false)));

ALTER TABLE subjects ADD COLUMN teacher_id int REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX subjects_teacher_idx ON subjects (teacher_id);
CREATE TRIGGER subjects_teacher_is_teacher BEFORE INSERT OR UPDATE OF teacher_id
    ON subjects FOR EACH ROW EXECUTE FUNCTION check_user_role('teacher_id', 'Teacher');
GRANT UPDATE (teacher_id) ON subjects TO {{coordinator}};

CREATE TRIGGER sections_delete_if_empty BEFORE DELETE ON sections
    FOR EACH ROW EXECUTE FUNCTION sections_delete_if_empty();

-- The sections a teacher teaches: those they advise (the Registrar's sections.adviser_id)
-- and those where they teach a subject (the Coordinator's subjects.teacher_id). Both are
-- assignments someone else makes: nothing a teacher writes widens what they see.
GRANT EXECUTE ON FUNCTION my_teaching_section_ids() TO {{member}};

CREATE TRIGGER modules_section_taught BEFORE INSERT OR UPDATE OF section_id ON modules
    FOR EACH ROW EXECUTE FUNCTION teaching_section_check();
CREATE TRIGGER tasks_section_taught BEFORE INSERT OR UPDATE OF section_id ON tasks
    FOR EACH ROW EXECUTE FUNCTION teaching_section_check();
CREATE TRIGGER meetings_section_taught BEFORE INSERT OR UPDATE OF section_id ON meetings
    FOR EACH ROW EXECUTE FUNCTION teaching_section_check();

DROP POLICY enrollment_teacher_read ON enrollment_progress;
CREATE POLICY enrollment_teacher_read ON enrollment_progress FOR SELECT TO {{teacher}}
    USING (section_id IN (SELECT school.my_teaching_section_ids()));

-- A post names its poster.
CREATE TRIGGER announcements_poster BEFORE INSERT OR UPDATE ON announcements
    FOR EACH ROW EXECUTE FUNCTION notice_poster('posted_by');
CREATE TRIGGER events_poster BEFORE INSERT OR UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION notice_poster('created_by');

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

