-- Per-account lockout after repeated wrong passwords (see "Lockout" in
-- sql/schema/02_people.sql; its functions are stated again from there by `db upgrade`).
CREATE TABLE login_lockouts (
    user_id      int PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    failures     int NOT NULL DEFAULT 0 CHECK (failures >= 0),
    lockouts     int NOT NULL DEFAULT 0 CHECK (lockouts >= 0),
    locked_until timestamptz,
    last_failure timestamptz
);
SELECT audit_table('school.login_lockouts');

GRANT EXECUTE ON FUNCTION unlock_login(int), locked_logins() TO {{admin}};

-- The login guard's record of each verifier the school's functions set (NULL until the
-- person's next password: such logins are not checked until then).
ALTER TABLE credentials ADD COLUMN verifier_sha bytea;
DROP TRIGGER audit ON credentials;
DROP TRIGGER audit_insert ON credentials;
DROP TRIGGER audit_truncate ON credentials;
SELECT audit_table('school.credentials', 'salt', 'verifier_sha');
