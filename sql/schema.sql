-- school-tui: the schema of a school database, stated whole.
--
-- Run by `school-tui db init` as the school's NOLOGIN owner role (SET ROLE), inside schema
-- `school`, after the cluster-wide roles exist (school_tui/db/bootstrap.py creates them).
-- Words in double braces are role names, filled in by the loader as quoted identifiers: the
-- prefix keeps two school databases on one server (and parallel test databases) apart.
--
-- Each file below holds one domain: its tables, the functions and triggers that keep their
-- rules, and who may read and write them (grants, row-level security), side by side. The
-- loader reads the `\ir` lines as psql does. sql/migrations/ holds changes made after a
-- release; a change is made here too, so a fresh school is the same as an upgraded one.
--
-- Who someone is: each person logs in as their own PostgreSQL login role, a member of their
-- role's group (`{{admin}}`, `{{student}}`, ...), itself a member of `{{member}}`. Passwords
-- are no column: a person's password lives only as the SCRAM verifier of their login
-- (pg_authid, readable by superusers alone) and its argon2 salt in school.credentials (owner
-- only). Timestamps are timestamptz, so terminals in other time zones read them right.

SET search_path = school, pg_catalog;
-- A function's body is checked when it first runs, not when it is made: a domain's
-- functions may name tables of a domain that comes after it.
SET check_function_bodies = off;

\ir schema/00_base.sql
\ir schema/01_audit.sql
\ir schema/02_people.sql
\ir schema/03_sections.sql
\ir schema/04_teaching.sql
\ir schema/05_students.sql
\ir schema/06_enrollment.sql
\ir schema/07_ledger.sql
\ir schema/08_chat.sql
\ir schema/09_guidance.sql
\ir schema/10_notices.sql
\ir schema/11_limits.sql

-- Nobody calls a function but through the grants above (functions are EXECUTE for PUBLIC
-- when made).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA school FROM PUBLIC;

INSERT INTO schema_version (version, description)
VALUES (18, 'the schema stated whole, one file per domain');
