-- Serialise on rows only the owner can lock (serial_locks), not on advisory keys anyone
-- can hold; limit how many chat messages (and characters) a person writes a minute
-- (write_limits, write_counts). The functions that use them are restated from
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
