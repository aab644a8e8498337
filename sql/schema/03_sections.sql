-- =====================================================================================
-- School years, sections and subjects. Enrollment is per school year; a section belongs to
-- one year and grade level, with an adviser (a Teacher) and an optional capacity.
-- =====================================================================================

CREATE TABLE school_years (
    id         serial PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name ~ '^[0-9]{4}-[0-9]{4}$'),
    starts_on  date NOT NULL,
    ends_on    date NOT NULL,
    is_current boolean NOT NULL DEFAULT false,
    CHECK (ends_on > starts_on)
);
CREATE UNIQUE INDEX school_years_one_current ON school_years (is_current) WHERE is_current;

CREATE TABLE sections (
    id             serial PRIMARY KEY,
    name           text NOT NULL CHECK (name ~ '[^[:space:]]' AND length(name) <= 100),
    grade_level    text NOT NULL CHECK (grade_level IN ('Kindergarten', 'Grade 1', 'Grade 2',
        'Grade 3', 'Grade 4', 'Grade 5', 'Grade 6', 'Grade 7', 'Grade 8', 'Grade 9', 'Grade 10',
        'Grade 11', 'Grade 12')),
    school_year_id int NOT NULL REFERENCES school_years(id) ON DELETE RESTRICT,
    adviser_id     int REFERENCES users(id) ON DELETE SET NULL,
    capacity       int CHECK (capacity BETWEEN 1 AND 200),
    UNIQUE (school_year_id, grade_level, name)
);
CREATE INDEX sections_school_year_idx ON sections (school_year_id, grade_level);
CREATE INDEX sections_adviser_idx ON sections (adviser_id);

CREATE TRIGGER sections_adviser_is_teacher BEFORE INSERT OR UPDATE OF adviser_id
    ON sections FOR EACH ROW EXECUTE FUNCTION check_user_role('adviser_id', 'Teacher');

-- A section's capacity cannot drop below the students already in it (enrollments that are
-- not Withdrawn; 06_enrollment.sql keeps new ones within it).
CREATE FUNCTION sections_capacity_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_taken int;
BEGIN
    IF NEW.capacity IS NOT NULL THEN
        SELECT count(*) INTO v_taken FROM school.enrollment_progress
         WHERE section_id = NEW.id AND current_status <> 'Withdrawn';
        IF v_taken > NEW.capacity THEN
            RAISE EXCEPTION 'capacity: % - % already has % students; capacity must be at least that',
                NEW.grade_level, NEW.name, v_taken USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER sections_capacity_check BEFORE UPDATE OF capacity ON sections
    FOR EACH ROW EXECUTE FUNCTION sections_capacity_check();

-- teacher_id: who teaches the subject in that section, set by the Academic Coordinator. It
-- is what a teacher's view of the section follows from (04_teaching.sql,
-- my_teaching_section_ids), never rows a teacher writes themself.
CREATE TABLE subjects (
    id          serial PRIMARY KEY,
    section_id  int NOT NULL REFERENCES sections(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '[^[:space:]]' AND length(name) <= 100),
    description text CHECK (length(description) <= 2000),
    teacher_id  int REFERENCES users(id) ON DELETE SET NULL,
    UNIQUE (section_id, name)
);
CREATE INDEX subjects_teacher_idx ON subjects (teacher_id);
CREATE TRIGGER subjects_teacher_is_teacher BEFORE INSERT OR UPDATE OF teacher_id
    ON subjects FOR EACH ROW EXECUTE FUNCTION check_user_role('teacher_id', 'Teacher');

-- A section is deleted only once it holds nothing: its foreign keys would otherwise take the
-- Coordinator's subjects and the teachers' modules, tasks and meetings with it (and leave its
-- students without a section). The refusal counts what it still holds, whoever deletes (the
-- Registrar cannot see all of it: the counts are read as the owner).
CREATE FUNCTION sections_delete_if_empty() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_held text;
BEGIN
    v_held := concat_ws(', ',
        nullif((SELECT count(*) FROM school.enrollment_progress
                 WHERE section_id = OLD.id), 0) || ' student(s)',
        nullif((SELECT count(*) FROM school.subjects WHERE section_id = OLD.id), 0)
            || ' subject(s) of the Academic Coordinator',
        nullif((SELECT count(*) FROM school.modules WHERE section_id = OLD.id), 0)
            || ' module(s)',
        nullif((SELECT count(*) FROM school.tasks WHERE section_id = OLD.id), 0) || ' task(s)',
        nullif((SELECT count(*) FROM school.meetings WHERE section_id = OLD.id), 0)
            || ' meeting(s)');
    IF v_held <> '' THEN
        RAISE EXCEPTION 'section: % - % still holds %; it can be deleted once they are moved '
            'or removed', OLD.grade_level, OLD.name, v_held
            USING ERRCODE = 'object_in_use';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER sections_delete_if_empty BEFORE DELETE ON sections
    FOR EACH ROW EXECUTE FUNCTION sections_delete_if_empty();

SELECT audit_table('school.school_years');
SELECT audit_table('school.sections');
SELECT audit_table('school.subjects');

-- Everyone reads them; the Registrar keeps school years and sections, the Academic
-- Coordinator subjects and who teaches each.
GRANT SELECT ON school_years, sections, subjects
    TO {{admin}}, {{principal}}, {{coordinator}}, {{teacher}}, {{student}}, {{guidance}},
       {{registrar}}, {{accounting}};
-- No school role holds table-level UPDATE or DELETE on a table others read: with either,
-- LOCK TABLE ... ACCESS EXCLUSIVE would freeze every reader. Edits go through column
-- grants (which allow no lock beyond ACCESS SHARE), deletes through delete_<thing>(id).
-- The Registrar deletes a school year (the rows that need it refuse or cascade as declared).
CREATE FUNCTION delete_school_year(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.school_years WHERE id = p_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
-- The Registrar deletes a section.
CREATE FUNCTION delete_section(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.sections WHERE id = p_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
-- The Academic Coordinator deletes a subject.
CREATE FUNCTION delete_subject(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.subjects WHERE id = p_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
GRANT INSERT, UPDATE (name, starts_on, ends_on, is_current) ON school_years TO {{registrar}};
GRANT INSERT, UPDATE (name, grade_level, school_year_id, adviser_id, capacity) ON sections
    TO {{registrar}};
GRANT USAGE ON SEQUENCE sections_id_seq, school_years_id_seq TO {{registrar}};
GRANT EXECUTE ON FUNCTION delete_school_year(int), delete_section(int) TO {{registrar}};
GRANT INSERT, UPDATE (section_id, name, description, teacher_id) ON subjects TO {{coordinator}};
GRANT USAGE ON SEQUENCE subjects_id_seq TO {{coordinator}};
GRANT EXECUTE ON FUNCTION delete_subject(int) TO {{coordinator}};
