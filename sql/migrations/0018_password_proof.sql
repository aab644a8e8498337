-- change_own_password asks for the current password: credentials.proof_sha is what it is
-- checked against (see "credentials" and change_own_password in sql/schema/02_people.sql).
-- NULL for every existing row: each person's next change is let through once and sets it.
ALTER TABLE credentials ADD COLUMN proof_sha bytea CHECK (length(proof_sha) = 32);
DROP TRIGGER audit ON credentials;
DROP TRIGGER audit_insert ON credentials;
DROP TRIGGER audit_truncate ON credentials;
SELECT audit_table('school.credentials', 'salt', 'verifier_sha', 'proof_sha');

-- The password setters take the proof: their former signatures go.
DROP FUNCTION create_person(text, text, text, text, bytea, text, boolean);
DROP FUNCTION set_temporary_password(int, bytea, text);
DROP FUNCTION change_own_password(bytea, text);
GRANT EXECUTE ON FUNCTION change_own_password(bytea, bytea, text, bytea) TO {{member}};
GRANT EXECUTE ON FUNCTION create_person(text, text, text, text, bytea, text, bytea, boolean),
    set_temporary_password(int, bytea, text, bytea) TO {{admin}};
