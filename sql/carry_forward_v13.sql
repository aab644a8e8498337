-- A database made by the first chain of schema files (version 13) -> version 14.
--
-- Run once by `school-tui db upgrade` (school_tui/db/bootstrap.py, carry_forward) as the
-- schema owner, in the transaction that first states every function again from
-- sql/schema/ (CREATE OR REPLACE). What remains is here: the changes of tables, triggers
-- and grants that version 14 has beyond version 13. Every row is kept.

-- The login record: a logout is stamped on the person's row (set_my_presence('offline')).
ALTER TABLE users ADD COLUMN last_logout timestamptz;
GRANT SELECT (last_logout) ON users TO {{member}};

-- Presence is no school data: online_status leaves the audit trail.
DROP TRIGGER audit ON online_status;
DROP TRIGGER audit_insert ON online_status;
DROP TRIGGER audit_truncate ON online_status;

-- Bank transfers and checks carry their reference: a rule for every row now, unless rows
-- from before the ledger lack one (they are kept as they are, and the rule holds for new
-- rows only, as it did).
DO $$
BEGIN
    ALTER TABLE payments VALIDATE CONSTRAINT payments_reference_needed;
EXCEPTION WHEN check_violation THEN
    RAISE NOTICE 'payments_reference_needed stays NOT VALID: older payments lack a reference';
END
$$;

