-- =====================================================================================
-- Teaching: a teacher's modules (uploads), tasks and meetings for a section. A teacher
-- manages their own, for the sections they teach; students read their sections'; the
-- Principal and the Academic Coordinator read all.
-- =====================================================================================

CREATE TABLE modules (
    id          serial PRIMARY KEY,
    teacher_id  int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    section_id  int NOT NULL REFERENCES sections(id) ON DELETE CASCADE,
    title       text NOT NULL CHECK (title ~ '[^[:space:]]' AND length(title) <= 200),
    description text CHECK (length(description) <= 4000),
    file_url    text NOT NULL CHECK (file_url ~ '[^[:space:]]' AND length(file_url) <= 2048),
    uploaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX modules_teacher_idx ON modules (teacher_id, uploaded_at DESC);
CREATE INDEX modules_section_idx ON modules (section_id, uploaded_at DESC);
CREATE TRIGGER modules_teacher_is_teacher BEFORE INSERT OR UPDATE OF teacher_id
    ON modules FOR EACH ROW EXECUTE FUNCTION check_user_role('teacher_id', 'Teacher');

CREATE TABLE tasks (
    id            serial PRIMARY KEY,
    teacher_id    int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    section_id    int NOT NULL REFERENCES sections(id) ON DELETE CASCADE,
    title         text NOT NULL CHECK (title ~ '[^[:space:]]' AND length(title) <= 200),
    description   text CHECK (length(description) <= 4000),
    task_type     text NOT NULL CHECK (task_type IN ('Assignment', 'Quiz', 'Test')),
    timer_minutes int CHECK (timer_minutes BETWEEN 1 AND 1440),
    due_date      timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (due_date IS NULL OR due_date >= created_at)
);
CREATE INDEX tasks_teacher_idx ON tasks (teacher_id, due_date);
CREATE INDEX tasks_section_idx ON tasks (section_id, due_date);
CREATE TRIGGER tasks_teacher_is_teacher BEFORE INSERT OR UPDATE OF teacher_id
    ON tasks FOR EACH ROW EXECUTE FUNCTION check_user_role('teacher_id', 'Teacher');

CREATE TABLE meetings (
    id           serial PRIMARY KEY,
    host_id      int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    section_id   int REFERENCES sections(id) ON DELETE CASCADE,
    title        text NOT NULL CHECK (title ~ '[^[:space:]]' AND length(title) <= 200),
    meeting_link text NOT NULL CHECK (meeting_link ~ '^https?://[^[:space:]]+$'
                                      AND length(meeting_link) <= 2048),
    scheduled_at timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meetings_host_idx ON meetings (host_id, scheduled_at);
CREATE INDEX meetings_section_idx ON meetings (section_id, scheduled_at);

SELECT audit_table('school.modules');
SELECT audit_table('school.tasks');
SELECT audit_table('school.meetings');

-- The sections a student belongs to, in any school year (their enrollments').
CREATE FUNCTION my_section_ids() RETURNS SETOF int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT section_id FROM school.enrollment_progress
    WHERE student_id = school.me() AND section_id IS NOT NULL
$$;
GRANT EXECUTE ON FUNCTION my_section_ids() TO {{member}};

-- The sections a teacher teaches: those they advise (the Registrar's sections.adviser_id)
-- and those where they teach a subject (the Coordinator's subjects.teacher_id). Both are
-- assignments someone else makes: nothing a teacher writes widens what they see.
CREATE FUNCTION my_teaching_section_ids() RETURNS SETOF int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT id FROM school.sections WHERE adviser_id = school.me()
    UNION
    SELECT section_id FROM school.subjects WHERE teacher_id = school.me()
$$;
GRANT EXECUTE ON FUNCTION my_teaching_section_ids() TO {{member}};

-- A person writes a module, task or meeting only for a section they teach (a meeting may
-- name no section). The owner's own loaders (the demo) are not people and pass.
CREATE FUNCTION teaching_section_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_label text;
BEGIN
    IF NEW.section_id IS NULL OR school.me() IS NULL
       OR NEW.section_id IN (SELECT school.my_teaching_section_ids()) THEN
        RETURN NEW;
    END IF;
    SELECT grade_level || ' - ' || name INTO v_label FROM school.sections
     WHERE id = NEW.section_id;
    RAISE EXCEPTION 'section: you do not teach % (section %); % are written only for the '
        'sections you advise or teach a subject in', coalesce(v_label, 'it'), NEW.section_id,
        TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER modules_section_taught BEFORE INSERT OR UPDATE OF section_id ON modules
    FOR EACH ROW EXECUTE FUNCTION teaching_section_check();
CREATE TRIGGER tasks_section_taught BEFORE INSERT OR UPDATE OF section_id ON tasks
    FOR EACH ROW EXECUTE FUNCTION teaching_section_check();
CREATE TRIGGER meetings_section_taught BEFORE INSERT OR UPDATE OF section_id ON meetings
    FOR EACH ROW EXECUTE FUNCTION teaching_section_check();

GRANT SELECT ON modules, tasks, meetings TO {{teacher}}, {{student}}, {{principal}}, {{coordinator}};
-- No school role holds table-level UPDATE or DELETE on a table others read: with either,
-- LOCK TABLE ... ACCESS EXCLUSIVE would freeze every reader. Edits go through column
-- grants (which allow no lock beyond ACCESS SHARE), deletes through delete_<thing>(id).
-- A teacher deletes a module of their own.
CREATE FUNCTION delete_module(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.modules WHERE id = p_id AND teacher_id = school.me();
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
-- A teacher deletes a task of their own.
CREATE FUNCTION delete_task(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.tasks WHERE id = p_id AND teacher_id = school.me();
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
-- A teacher deletes a meeting they host.
CREATE FUNCTION delete_meeting(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.meetings WHERE id = p_id AND host_id = school.me();
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
GRANT INSERT, UPDATE (teacher_id, section_id, title, description, file_url, uploaded_at)
    ON modules TO {{teacher}};
GRANT INSERT, UPDATE (teacher_id, section_id, title, description, task_type, timer_minutes,
    due_date, created_at) ON tasks TO {{teacher}};
GRANT INSERT, UPDATE (host_id, section_id, title, meeting_link, scheduled_at, created_at)
    ON meetings TO {{teacher}};
GRANT EXECUTE ON FUNCTION delete_module(int), delete_task(int), delete_meeting(int)
    TO {{teacher}};
GRANT USAGE ON SEQUENCE modules_id_seq, tasks_id_seq, meetings_id_seq TO {{teacher}};
ALTER TABLE modules ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE meetings ENABLE ROW LEVEL SECURITY;
CREATE POLICY modules_overseers ON modules FOR SELECT TO {{principal}}, {{coordinator}}
    USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY modules_teacher ON modules FOR ALL TO {{teacher}}
    USING (teacher_id = (SELECT school.me())) WITH CHECK (teacher_id = (SELECT school.me()));
CREATE POLICY modules_student ON modules FOR SELECT TO {{student}}
    USING (section_id IN (SELECT school.my_section_ids()));
CREATE POLICY tasks_overseers ON tasks FOR SELECT TO {{principal}}, {{coordinator}}
    USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY tasks_teacher ON tasks FOR ALL TO {{teacher}}
    USING (teacher_id = (SELECT school.me())) WITH CHECK (teacher_id = (SELECT school.me()));
CREATE POLICY tasks_student ON tasks FOR SELECT TO {{student}}
    USING (section_id IN (SELECT school.my_section_ids()));
CREATE POLICY meetings_overseers ON meetings FOR SELECT TO {{principal}}, {{coordinator}}
    USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY meetings_teacher ON meetings FOR ALL TO {{teacher}}
    USING (host_id = (SELECT school.me())) WITH CHECK (host_id = (SELECT school.me()));
CREATE POLICY meetings_student ON meetings FOR SELECT TO {{student}}
    USING (section_id IN (SELECT school.my_section_ids()));
