-- Ledger fixes (review of issue #6):
--
-- 1. Amounts are refused, never rounded. A numeric(10,2) column rounds 1500.005 to 1500.01
--    before any CHECK or trigger sees it, so the only place an amount can be checked as typed
--    is a function taking unconstrained numeric. Every write of money by Accounting now goes
--    through one: add_fee (an ad-hoc charge, with its plan) and save_fee_schedule (a schedule
--    and its plan), beside 0007's post_payment, add_adjustment and set_installment_plan. Each
--    calls check_amount (> 0, two decimals at most, <= 9,999,999.99). Accounting loses
--    INSERT on fees and INSERT/UPDATE on fee_schedules and fee_schedule_installments (and
--    DELETE of installments: a plan changes with its schedule, in one checked call).
-- 2. save_fee_schedule creates a schedule only when (year, grade level, fee type) has none:
--    a new one no longer replaces an existing one (and its plan) silently. Editing names the
--    schedule by id.
-- 3. The day close: a clerk who closed a day reverses no payment on it afterwards (a reversal
--    changes that day's expected takings), and record_payment looks for the close under the
--    receipt series' advisory lock, the lock close_day takes, so a close cannot land between
--    the check and the payment.
-- 4. An enrollment moved Pending -> Verified whose required fees are already paid goes on to
--    Payment Complete (the payment's hook found it still Pending and left it alone).
--
-- Nothing here depends on migrations after 0007.

-- =====================================================================================
-- Charging through functions (amounts checked as typed)
-- =====================================================================================

-- Who may charge: Accounting (as assign_fees and set_installment_plan).
CREATE FUNCTION require_charging(p_what text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF school.my_role() IS DISTINCT FROM 'Accounting' AND NOT school.may_administer() THEN
        RAISE EXCEPTION 'only Accounting may %', p_what USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;

-- An installment plan as typed: 1 to 24 dues, each with a date and an amount that
-- check_amount accepts, adding up to p_total exactly. Returns the number of dues (0: no plan).
CREATE FUNCTION check_plan(p_total numeric, p_due_dates date[], p_amounts numeric[])
RETURNS int
LANGUAGE plpgsql IMMUTABLE SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_sum numeric := 0;
    v_n int := coalesce(cardinality(p_due_dates), 0);
BEGIN
    IF v_n = 0 AND coalesce(cardinality(p_amounts), 0) = 0 THEN
        RETURN 0;
    END IF;
    IF v_n <> coalesce(cardinality(p_amounts), 0) OR v_n > 24 THEN
        RAISE EXCEPTION 'installments: 1 to 24, each with a due date and an amount'
            USING ERRCODE = 'check_violation';
    END IF;
    FOR i IN 1 .. v_n LOOP
        PERFORM school.check_amount(p_amounts[i], 'installment ' || i);
        IF p_due_dates[i] IS NULL THEN
            RAISE EXCEPTION 'installment %: a due date is required', i
                USING ERRCODE = 'check_violation';
        END IF;
        v_sum := v_sum + p_amounts[i];
    END LOOP;
    IF v_sum <> p_total THEN
        RAISE EXCEPTION 'installments: they add up to %, the fee is %', v_sum, p_total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN v_n;
END
$$;

-- An ad-hoc charge to one student (no schedule), with an optional installment plan.
CREATE FUNCTION add_fee(p_student_id int, p_fee_type text, p_amount numeric,
                        p_school_year_id int, p_due_date date,
                        p_due_dates date[] DEFAULT NULL, p_amounts numeric[] DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_id int;
BEGIN
    PERFORM school.require_charging('charge fees');
    PERFORM school.check_amount(p_amount, 'amount');
    IF NOT EXISTS (SELECT 1 FROM school.users u JOIN school.roles r ON r.id = u.role_id
                    WHERE u.id = p_student_id AND r.name = 'Student') THEN
        RAISE EXCEPTION 'student: % is not a student', p_student_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM school.fee_types WHERE name = p_fee_type) THEN
        RAISE EXCEPTION 'fee type: there is no fee type %', coalesce(p_fee_type, '(none)')
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_school_year_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM school.school_years WHERE id = p_school_year_id) THEN
        RAISE EXCEPTION 'school year: % does not exist', p_school_year_id
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM school.check_plan(p_amount, p_due_dates, p_amounts);
    INSERT INTO school.fees (student_id, fee_type, amount, due_date, school_year_id)
    VALUES (p_student_id, p_fee_type, p_amount, p_due_date, p_school_year_id)
    RETURNING id INTO v_id;
    IF coalesce(cardinality(p_due_dates), 0) > 0 THEN
        -- (fee_default_due gave it one due; the plan replaces it)
        DELETE FROM school.fee_installments WHERE fee_id = v_id;
        INSERT INTO school.fee_installments (fee_id, seq, due_date, amount)
        SELECT v_id, n, d, a FROM unnest(p_due_dates, p_amounts) WITH ORDINALITY AS x(d, a, n);
    END IF;
    RETURN v_id;
END
$$;

-- A fee schedule and its plan (empty: one due, on p_due_date). p_schedule_id NULL makes a
-- new one, refused when (year, grade level, fee type) has one already: that one is changed
-- by naming it (the screen's `e`), never replaced by accident. Changing a schedule changes
-- fees assigned from then on; fees already charged keep their own copy.
CREATE FUNCTION save_fee_schedule(p_schedule_id int, p_school_year_id int, p_grade_level text,
                                  p_fee_type text, p_amount numeric, p_due_date date,
                                  p_due_dates date[] DEFAULT NULL,
                                  p_amounts numeric[] DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_old school.fee_schedules;
    v_id int;
    v_year text;
BEGIN
    PERFORM school.require_charging('keep fee schedules');
    PERFORM school.check_amount(p_amount, 'amount');
    IF p_due_date IS NULL THEN
        RAISE EXCEPTION 'due date: required' USING ERRCODE = 'check_violation';
    END IF;
    PERFORM school.check_plan(p_amount, p_due_dates, p_amounts);

    IF p_schedule_id IS NULL THEN
        SELECT name INTO v_year FROM school.school_years WHERE id = p_school_year_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'school year: % does not exist', p_school_year_id
                USING ERRCODE = 'check_violation';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM school.fee_types WHERE name = p_fee_type) THEN
            RAISE EXCEPTION 'fee type: there is no fee type %', coalesce(p_fee_type, '(none)')
                USING ERRCODE = 'check_violation';
        END IF;
        BEGIN
            INSERT INTO school.fee_schedules (school_year_id, grade_level, fee_type, amount,
                                              due_date)
            VALUES (p_school_year_id, p_grade_level, p_fee_type, p_amount, p_due_date)
            RETURNING id INTO v_id;
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'fee type: % already has a % schedule for %; edit that one (e)',
                p_grade_level, p_fee_type, v_year USING ERRCODE = 'unique_violation';
        END;
    ELSE
        SELECT * INTO v_old FROM school.fee_schedules WHERE id = p_schedule_id FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'fee schedule % does not exist', p_schedule_id
                USING ERRCODE = 'no_data_found';
        END IF;
        IF (p_school_year_id IS NOT NULL AND p_school_year_id <> v_old.school_year_id)
           OR (p_grade_level IS NOT NULL AND p_grade_level <> v_old.grade_level)
           OR (p_fee_type IS NOT NULL AND p_fee_type <> v_old.fee_type) THEN
            RAISE EXCEPTION 'fee type: a schedule''s school year, grade level and fee type stay '
                            'as they are; another one is a new schedule (n)'
                USING ERRCODE = 'check_violation';
        END IF;
        UPDATE school.fee_schedules SET amount = p_amount, due_date = p_due_date
         WHERE id = p_schedule_id;
        DELETE FROM school.fee_schedule_installments WHERE schedule_id = p_schedule_id;
        v_id := p_schedule_id;
    END IF;
    INSERT INTO school.fee_schedule_installments (schedule_id, seq, due_date, amount)
    SELECT v_id, n, d, a FROM unnest(p_due_dates, p_amounts) WITH ORDINALITY AS x(d, a, n);
    RETURN v_id;
END
$$;

-- Money columns are written through the functions above only.
REVOKE INSERT ON fees FROM {{accounting}};
REVOKE USAGE ON SEQUENCE fees_id_seq FROM {{accounting}};
DROP POLICY fees_accounting_write ON fees;
REVOKE INSERT, UPDATE ON fee_schedules FROM {{accounting}};
REVOKE INSERT, UPDATE, DELETE ON fee_schedule_installments FROM {{accounting}};
REVOKE USAGE ON SEQUENCE fee_schedules_id_seq, fee_schedule_installments_id_seq
    FROM {{accounting}};

-- =====================================================================================
-- The day close: posts and reversals look for it under the lock close_day takes
-- =====================================================================================

-- The receipt series' lock (0007's next_receipt_no and close_day take the same one). Posts
-- and reversals take it after the student's dues, close_day without them: one order, no
-- deadlock.
CREATE FUNCTION lock_day_closes() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT pg_advisory_xact_lock(7007001)
$$;

CREATE OR REPLACE FUNCTION record_payment(
    p_student_id int, p_amount numeric, p_method text, p_reference text, p_client_key uuid,
    p_recorded_by int, p_paid_at timestamptz DEFAULT now())
RETURNS TABLE (payment_id int, receipt_no bigint, amount numeric, method text, reference text,
               posted_at timestamptz, balance numeric, replayed boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_ref text := nullif(btrim(p_reference), '');
    v_existing school.payments;
    v_open numeric;
    v_left numeric;
    v_take numeric;
    v_due record;
    v_fees int[];
    v_years int[];
    v_year int;
    v_payment school.payments;
BEGIN
    PERFORM school.check_amount(p_amount, 'amount');
    IF p_method IS NULL OR p_method NOT IN ('Cash', 'Bank Transfer', 'Check', 'Card') THEN
        RAISE EXCEPTION 'method: must be Cash, Bank Transfer, Check or Card'
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_method IN ('Bank Transfer', 'Check') AND v_ref IS NULL THEN
        RAISE EXCEPTION 'reference: a % needs its reference number', lower(p_method)
            USING ERRCODE = 'check_violation';
    END IF;
    IF v_ref IS NOT NULL AND (length(v_ref) > 100 OR v_ref ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION 'reference: at most 100 characters, no control characters'
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_client_key IS NULL THEN
        RAISE EXCEPTION 'client key: required (it makes a retry post once)'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM school.users u JOIN school.roles r ON r.id = u.role_id
                    WHERE u.id = p_student_id AND r.name = 'Student') THEN
        RAISE EXCEPTION 'student: % is not a student', p_student_id
            USING ERRCODE = 'check_violation';
    END IF;

    -- Dues first (in id order), then the key: a retry waiting behind its first attempt sees
    -- the committed payment once the lock is free, and returns it.
    PERFORM school.lock_dues(p_student_id);
    SELECT * INTO v_existing FROM school.payments p WHERE p.client_key = p_client_key;
    IF FOUND THEN
        IF v_existing.student_id <> p_student_id OR v_existing.amount_paid <> p_amount
           OR v_existing.payment_method <> p_method
           OR v_existing.recorded_by IS DISTINCT FROM p_recorded_by THEN
            RAISE EXCEPTION 'client key: already used for another payment (receipt %)',
                v_existing.receipt_no USING ERRCODE = 'unique_violation';
        END IF;
        RETURN QUERY SELECT v_existing.id, v_existing.receipt_no, v_existing.amount_paid,
            v_existing.payment_method, v_existing.reference, v_existing.payment_date,
            (SELECT coalesce(sum(ib.open), 0) FROM school.installment_balances ib
              WHERE ib.student_id = p_student_id)::numeric, true;
        RETURN;
    END IF;

    SELECT coalesce(sum(ib.open), 0) INTO v_open FROM school.installment_balances ib
     WHERE ib.student_id = p_student_id;
    IF v_open = 0 THEN
        RAISE EXCEPTION 'amount: this student owes nothing; overpayment is refused'
            USING ERRCODE = 'check_violation';
    ELSIF p_amount > v_open THEN
        RAISE EXCEPTION 'amount: % is more than the balance of %; overpayment is refused',
            to_char(p_amount, 'FM999,999,990.00'), to_char(v_open, 'FM999,999,990.00')
            USING ERRCODE = 'check_violation';
    END IF;

    SELECT array_agg(DISTINCT ib.fee_id) INTO v_fees FROM (
        SELECT x.fee_id, sum(x.open) OVER (ORDER BY x.due_date NULLS LAST, x.fee_id, x.seq)
               - x.open AS before
          FROM school.installment_balances x
         WHERE x.student_id = p_student_id AND x.open > 0) ib
     WHERE ib.before < p_amount;

    -- The close is looked for under the lock close_day takes (the receipt number's, which the
    -- INSERT below would take anyway): a close committed before this point is seen (READ
    -- COMMITTED: this statement's snapshot is taken after the lock), one started later waits
    -- for this payment and counts it.
    PERFORM school.lock_day_closes();
    IF p_recorded_by IS NOT NULL AND EXISTS (
            SELECT 1 FROM school.day_closes d
             WHERE d.clerk_id = p_recorded_by AND d.business_date = p_paid_at::date) THEN
        RAISE EXCEPTION 'day: you have closed % already; payments are taken on the next day',
            p_paid_at::date USING ERRCODE = 'check_violation';
    END IF;

    INSERT INTO school.payments (fee_id, student_id, amount_paid, payment_date, payment_method,
                                 recorded_by, reference, client_key)
    VALUES (CASE WHEN cardinality(v_fees) = 1 THEN v_fees[1] END, p_student_id, p_amount,
            p_paid_at, p_method, p_recorded_by, v_ref, p_client_key)
    RETURNING * INTO v_payment;

    v_left := p_amount;
    FOR v_due IN
        SELECT ib.installment_id, ib.open, ib.school_year_id FROM school.installment_balances ib
         WHERE ib.student_id = p_student_id AND ib.open > 0
         ORDER BY ib.due_date NULLS LAST, ib.fee_id, ib.seq
    LOOP
        EXIT WHEN v_left = 0;
        v_take := least(v_left, v_due.open);
        INSERT INTO school.allocations (payment_id, installment_id, amount)
        VALUES (v_payment.id, v_due.installment_id, v_take);
        v_left := v_left - v_take;
        v_years := array_append(v_years, v_due.school_year_id);
    END LOOP;

    FOR v_year IN SELECT DISTINCT y FROM unnest(v_years) y LOOP
        PERFORM school.settle_enrollment(p_student_id, v_year);
    END LOOP;

    RETURN QUERY SELECT v_payment.id, v_payment.receipt_no, v_payment.amount_paid,
        v_payment.payment_method, v_payment.reference, v_payment.payment_date,
        v_open - p_amount, false;
END
$$;

-- A reversal of a payment is money handed back: it counts in the reversing clerk's expected
-- takings on the day it is made. Once that clerk has closed the day, they reverse no payment
-- on it (the close would no longer match the books); another clerk whose day is open, or the
-- same clerk the next day, does. Reversing an adjustment moves no money and stays allowed.
CREATE OR REPLACE FUNCTION record_reversal(p_payment_id int, p_adjustment_id int, p_reason text,
                                           p_reversed_by int)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_student int;
    v_done school.reversals;
    v_id int;
BEGIN
    IF p_reason IS NULL OR p_reason !~ '[^[:space:]]' OR length(p_reason) > 500 THEN
        RAISE EXCEPTION 'reason: say why (up to 500 characters)' USING ERRCODE = 'check_violation';
    END IF;
    v_student := CASE WHEN p_payment_id IS NOT NULL
        THEN (SELECT student_id FROM school.payments WHERE id = p_payment_id)
        ELSE (SELECT student_id FROM school.adjustments WHERE id = p_adjustment_id) END;
    IF v_student IS NULL THEN
        RAISE EXCEPTION '% % does not exist',
            CASE WHEN p_payment_id IS NOT NULL THEN 'payment' ELSE 'adjustment' END,
            coalesce(p_payment_id, p_adjustment_id) USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM school.lock_dues(v_student);
    SELECT * INTO v_done FROM school.reversals r
     WHERE r.payment_id = p_payment_id OR r.adjustment_id = p_adjustment_id;
    IF FOUND THEN
        RAISE EXCEPTION 'reversal: already reversed on % (%)', v_done.reversed_at::date,
            v_done.reason USING ERRCODE = 'unique_violation';
    END IF;
    IF p_payment_id IS NOT NULL AND p_reversed_by IS NOT NULL THEN
        PERFORM school.lock_day_closes();  -- as record_payment: a close cannot slip in
        IF EXISTS (SELECT 1 FROM school.day_closes d
                    WHERE d.clerk_id = p_reversed_by AND d.business_date = now()::date) THEN
            RAISE EXCEPTION 'day: you have closed % already; reverse it on the next day or '
                            'ask a clerk whose day is open', now()::date
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    -- (reversals_stamp fills in the student and the amount from the original)
    INSERT INTO school.reversals (payment_id, adjustment_id, reason, reversed_by)
    VALUES (p_payment_id, p_adjustment_id, btrim(p_reason), p_reversed_by)
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- =====================================================================================
-- Verified with the required fees already paid: on to Payment Complete
-- =====================================================================================
-- The payment's hook (settle_enrollment) moves only a Verified enrollment, so a student who
-- paid everything while still Pending stayed Verified for good once the registrar verified
-- them. The registrar's Pending -> Verified now runs the same hook: the history shows
-- Pending -> Verified, then Verified -> Payment Complete ("Required fees paid"), both by the
-- registrar. Only from Pending: a registrar who moves Payment Complete back to Verified
-- means it, and stays there.
CREATE FUNCTION enrollment_verified_settle() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM school.settle_enrollment(NEW.student_id, NEW.school_year_id);
    RETURN NULL;
END
$$;
-- (AFTER triggers run in name order: after enrollment_record has written Pending -> Verified)
CREATE TRIGGER enrollment_verified_settle AFTER UPDATE OF current_status ON enrollment_progress
    FOR EACH ROW WHEN (OLD.current_status = 'Pending' AND NEW.current_status = 'Verified')
    EXECUTE FUNCTION enrollment_verified_settle();

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA school FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    add_fee(int, text, numeric, int, date, date[], numeric[]),
    save_fee_schedule(int, int, text, text, numeric, date, date[], numeric[])
    TO {{accounting}};
