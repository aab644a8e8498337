-- 0013: the time a charge or an adjustment is recorded at, which a superuser may set.
--
-- Fees (created_at) and adjustments (recorded_at) were stamped now() by their column
-- defaults. A statement of account and a receipt's "balance after" order the ledger by
-- these times, so a school whose history is loaded afterwards (the demo, with its payments
-- dated through record_payment's p_paid_at over the months before) showed every payment
-- before the charges it paid, with negative running balances. ledger_clock() is now() for
-- everyone, except a superuser's session that set school.ledger_clock (a superuser can
-- rewrite any row anyway): people, the Accounting role included, cannot back-date a charge,
-- whatever they SET.
CREATE FUNCTION ledger_clock() RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
                THEN coalesce(nullif(current_setting('school.ledger_clock', true), '')::timestamptz,
                              now())
                ELSE now() END
$$;
REVOKE ALL ON FUNCTION ledger_clock() FROM PUBLIC;  -- run by the owner's functions only

ALTER TABLE fees ALTER COLUMN created_at SET DEFAULT school.ledger_clock();
ALTER TABLE adjustments ALTER COLUMN recorded_at SET DEFAULT school.ledger_clock();
