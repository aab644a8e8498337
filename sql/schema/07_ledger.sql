-- =====================================================================================
-- The ledger: fee types and schedules, installment plans, adjustments, payments allocated
-- to dues, reversals, numbered receipts and the clerk's day close.
--
-- Shape of the money:
--   fees             a charge to a student for a school year, naming the schedule it came
--                    from, if any; never edited or deleted.
--   fee_installments the dues of a fee: due dates whose amounts add up to the fee exactly
--                    (checked at commit). A fee given no plan has one due, for its amount.
--   payments         money received from a student, with a receipt number and the client's
--                    idempotency key; never edited or deleted.
--   adjustments      discounts, scholarships and waivers of part of a fee, with the reason and
--                    who approved them; never edited or deleted.
--   allocations      which dues a payment (or an adjustment) settled, and how much of each.
--   reversals        a correction: points at the payment or adjustment it cancels, with the
--                    reason and who did it. The original stays; its allocations stop counting.
--   day_closes       a clerk's count of the drawer against what the ledger expects.
-- Balances and statuses are derived (views installment_balances, fee_balances,
-- student_balances), never stored: a stored status could not turn Overdue when a due date
-- passes.
--
-- Money is written only through functions, each taking unconstrained numeric and checking
-- the amount as typed (check_amount): a numeric(10,2) column would round 1500.005 to
-- 1500.01 before any CHECK or trigger saw it. They lock the student's dues in id order:
-- post_payment (idempotent by the client's key), add_adjustment, reverse_*, add_fee,
-- save_fee_schedule, assign_fees, set_installment_plan, close_day.
-- =====================================================================================

-- Amounts: more than zero, two decimals at most, at most 9,999,999.99 (anything bigger at a
-- school's window is a typing accident, not a payment).
CREATE FUNCTION check_amount(p_value numeric, p_field text) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF p_value IS NULL THEN
        RAISE EXCEPTION '%: an amount is required', p_field USING ERRCODE = 'check_violation';
    ELSIF p_value = 'NaN'::numeric THEN
        RAISE EXCEPTION '%: must be a number', p_field USING ERRCODE = 'check_violation';
    ELSIF p_value <= 0 THEN
        RAISE EXCEPTION '%: must be more than zero', p_field USING ERRCODE = 'check_violation';
    ELSIF p_value > 9999999.99 THEN
        RAISE EXCEPTION '%: at most 9,999,999.99', p_field USING ERRCODE = 'check_violation';
    ELSIF p_value <> round(p_value, 2) THEN
        RAISE EXCEPTION '%: at most two decimal places', p_field USING ERRCODE = 'check_violation';
    END IF;
    RETURN p_value;
END
$$;

-- The time a charge or an adjustment is recorded at: now(), except in a superuser's session
-- that set school.ledger_clock (loading a school's history, as the demo does). A statement
-- of account and a receipt's "balance after" order the ledger by these times. People, the
-- Accounting role included, cannot back-date a charge, whatever they SET.
CREATE FUNCTION ledger_clock() RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
                THEN coalesce(nullif(current_setting('school.ledger_clock', true), '')::timestamptz,
                              now())
                ELSE now() END
$$;

-- =====================================================================================
-- Fee types and schedules
-- =====================================================================================
CREATE TABLE fee_types (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '[^[:space:]]' AND name !~ '[[:cntrl:]]'
                                            AND length(name) <= 60),
    -- Required fees are the ones a student must have paid for the year's enrollment to
    -- become 'Payment Complete' (see settle_enrollment).
    required    boolean NOT NULL DEFAULT true,
    description text CHECK (length(description) <= 500)
);
INSERT INTO fee_types (name, required) VALUES
    ('Tuition', true), ('Miscellaneous', true), ('Laboratory', true), ('Library', true),
    ('Books', false), ('Uniform', false), ('Other', false);

-- What a fee type costs for a grade level in a school year, and when it is due: one date
-- (due_date), or the installment plan in fee_schedule_installments.
CREATE TABLE fee_schedules (
    id             serial PRIMARY KEY,
    school_year_id int NOT NULL REFERENCES school_years (id) ON DELETE RESTRICT,
    grade_level    text NOT NULL CHECK (grade_level IN ('Kindergarten', 'Grade 1', 'Grade 2',
        'Grade 3', 'Grade 4', 'Grade 5', 'Grade 6', 'Grade 7', 'Grade 8', 'Grade 9', 'Grade 10',
        'Grade 11', 'Grade 12')),
    fee_type       text NOT NULL REFERENCES fee_types (name) ON UPDATE RESTRICT,
    amount         numeric(10,2) NOT NULL CHECK (amount > 0 AND amount <= 9999999.99),
    due_date       date NOT NULL,
    UNIQUE (school_year_id, grade_level, fee_type)
);

CREATE TABLE fee_schedule_installments (
    id          serial PRIMARY KEY,
    schedule_id int NOT NULL REFERENCES fee_schedules (id) ON DELETE CASCADE,
    seq         smallint NOT NULL CHECK (seq BETWEEN 1 AND 24),
    due_date    date NOT NULL,
    amount      numeric(10,2) NOT NULL CHECK (amount > 0 AND amount <= 9999999.99),
    UNIQUE (schedule_id, seq)
);

-- =====================================================================================
-- Fees and their dues. One fee per (student, schedule), so assigning twice charges once.
-- =====================================================================================
CREATE TABLE fees (
    id             serial PRIMARY KEY,
    student_id     int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    fee_type       text NOT NULL REFERENCES fee_types (name) ON UPDATE RESTRICT ON DELETE RESTRICT,
    amount         numeric(10,2) NOT NULL CHECK (amount > 0),
    due_date       timestamptz,
    school_year_id int REFERENCES school_years (id) ON DELETE RESTRICT,
    schedule_id    int REFERENCES fee_schedules (id) ON DELETE RESTRICT,
    created_at     timestamptz NOT NULL DEFAULT school.ledger_clock(),
    CONSTRAINT fees_amount_limit CHECK (amount <= 9999999.99),
    CONSTRAINT fees_student_schedule_key UNIQUE (student_id, schedule_id)
);
CREATE INDEX fees_student_idx ON fees (student_id, due_date);
CREATE INDEX fees_student_year_idx ON fees (student_id, school_year_id);
CREATE TRIGGER fees_student_is_student BEFORE INSERT OR UPDATE OF student_id
    ON fees FOR EACH ROW EXECUTE FUNCTION check_user_role('student_id', 'Student');

-- The dues of a fee. Never updated (a plan is replaced while nothing was paid on it).
CREATE TABLE fee_installments (
    id       serial PRIMARY KEY,
    fee_id   int NOT NULL REFERENCES fees (id) ON DELETE RESTRICT,
    seq      smallint NOT NULL CHECK (seq BETWEEN 1 AND 24),
    due_date date,
    amount   numeric(10,2) NOT NULL CHECK (amount > 0 AND amount <= 9999999.99),
    UNIQUE (fee_id, seq)
);
CREATE INDEX fee_installments_due_idx ON fee_installments (due_date);

-- =====================================================================================
-- Payments: the student, a receipt number, the method's reference, the client's key.
-- fee_id is set when the whole payment went to one fee, NULL when it was spread over
-- several (allocations say where it went).
-- =====================================================================================
CREATE TABLE payments (
    id             serial PRIMARY KEY,
    fee_id         int REFERENCES fees(id) ON DELETE CASCADE,
    amount_paid    numeric(10,2) NOT NULL CHECK (amount_paid > 0),
    payment_date   timestamptz NOT NULL DEFAULT now(),
    payment_method text NOT NULL CHECK (payment_method IN
        ('Cash', 'Bank Transfer', 'Check', 'Card')),
    recorded_by    int REFERENCES users(id) ON DELETE SET NULL,
    student_id     int NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    receipt_no     bigint NOT NULL UNIQUE,
    reference      text CHECK (reference ~ '[^[:space:]]' AND reference !~ '[[:cntrl:]]'
                               AND length(reference) <= 100),
    client_key     uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    CONSTRAINT payments_amount_limit CHECK (amount_paid <= 9999999.99),
    -- Bank transfers and checks carry their reference.
    CONSTRAINT payments_reference_needed
        CHECK (payment_method IN ('Cash', 'Card') OR reference IS NOT NULL)
);
CREATE INDEX payments_fee_idx ON payments (fee_id);
CREATE INDEX payments_date_idx ON payments (payment_date);
CREATE INDEX payments_recorded_by_idx ON payments (recorded_by);
CREATE INDEX payments_student_idx ON payments (student_id, id);
CREATE INDEX payments_recorded_day_idx ON payments (recorded_by, payment_date);

-- =====================================================================================
-- Adjustments, allocations, reversals, day closes
-- =====================================================================================
CREATE TABLE adjustments (
    id          serial PRIMARY KEY,
    fee_id      int NOT NULL REFERENCES fees (id) ON DELETE RESTRICT,
    student_id  int NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('Discount', 'Scholarship', 'Waiver')),
    percent     numeric(5,2) CHECK (percent > 0 AND percent <= 100),  -- NULL: a fixed amount
    amount      numeric(10,2) NOT NULL CHECK (amount > 0 AND amount <= 9999999.99),
    reason      text NOT NULL CHECK (reason ~ '[^[:space:]]' AND length(reason) <= 500),
    approved_by int NOT NULL REFERENCES users (id),
    recorded_by int REFERENCES users (id),
    recorded_at timestamptz NOT NULL DEFAULT school.ledger_clock(),
    client_key  uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE
);
CREATE INDEX adjustments_fee_idx ON adjustments (fee_id);
CREATE INDEX adjustments_student_idx ON adjustments (student_id);

CREATE TABLE allocations (
    id             bigserial PRIMARY KEY,
    payment_id     int REFERENCES payments (id) ON DELETE RESTRICT,
    adjustment_id  int REFERENCES adjustments (id) ON DELETE RESTRICT,
    installment_id int NOT NULL REFERENCES fee_installments (id) ON DELETE RESTRICT,
    amount         numeric(10,2) NOT NULL CHECK (amount > 0 AND amount <= 9999999.99),
    CHECK (num_nonnulls(payment_id, adjustment_id) = 1),
    UNIQUE (payment_id, installment_id),
    UNIQUE (adjustment_id, installment_id)
);
CREATE INDEX allocations_installment_idx ON allocations (installment_id);

CREATE TABLE reversals (
    id            serial PRIMARY KEY,
    payment_id    int UNIQUE REFERENCES payments (id) ON DELETE RESTRICT,
    adjustment_id int UNIQUE REFERENCES adjustments (id) ON DELETE RESTRICT,
    student_id    int NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amount        numeric(10,2) NOT NULL CHECK (amount > 0 AND amount <= 9999999.99),
    reason        text NOT NULL CHECK (reason ~ '[^[:space:]]' AND length(reason) <= 500),
    reversed_by   int REFERENCES users (id),
    reversed_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(payment_id, adjustment_id) = 1)
);
CREATE INDEX reversals_student_idx ON reversals (student_id);
CREATE INDEX reversals_by_day_idx ON reversals (reversed_by, reversed_at);

CREATE TABLE day_closes (
    id                     serial PRIMARY KEY,
    clerk_id               int NOT NULL REFERENCES users (id),
    business_date          date NOT NULL,
    payments_count         int NOT NULL,
    reversals_count        int NOT NULL,
    expected_cash          numeric(12,2) NOT NULL,
    expected_bank_transfer numeric(12,2) NOT NULL,
    expected_check         numeric(12,2) NOT NULL,
    expected_card          numeric(12,2) NOT NULL,
    counted_cash           numeric(12,2) NOT NULL CHECK (counted_cash >= 0
                                                         AND counted_cash <= 999999999.99),
    cash_difference        numeric(12,2) GENERATED ALWAYS AS (counted_cash - expected_cash) STORED,
    note                   text CHECK (length(note) <= 500),
    closed_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clerk_id, business_date)
);

SELECT audit_table('school.fee_types');
SELECT audit_table('school.fee_schedules');
SELECT audit_table('school.fee_schedule_installments');
SELECT audit_table('school.fees');
SELECT audit_table('school.fee_installments');
SELECT audit_table('school.payments');
SELECT audit_table('school.adjustments');
SELECT audit_table('school.allocations');
SELECT audit_table('school.reversals');
SELECT audit_table('school.day_closes');

-- =====================================================================================
-- Derived balances. security_invoker: each reader sees through their own grants and
-- row-level security (a student, their own rows).
-- An allocation counts unless its payment or adjustment was reversed.
-- =====================================================================================
CREATE VIEW installment_balances WITH (security_invoker = true) AS
SELECT i.id AS installment_id, i.fee_id, f.student_id, f.school_year_id, f.fee_type, i.seq,
       i.due_date, i.amount,
       coalesce(a.paid, 0)::numeric(10,2) AS paid,
       coalesce(a.adjusted, 0)::numeric(10,2) AS adjusted,
       (i.amount - coalesce(a.paid, 0) - coalesce(a.adjusted, 0))::numeric(10,2) AS open,
       CASE WHEN i.amount = coalesce(a.paid, 0) + coalesce(a.adjusted, 0) THEN 'Paid'
            WHEN i.due_date < current_date THEN 'Overdue'
            WHEN coalesce(a.paid, 0) > 0 THEN 'Partial'
            ELSE 'Unpaid' END AS status
FROM fee_installments i
JOIN fees f ON f.id = i.fee_id
LEFT JOIN LATERAL (
    SELECT sum(al.amount) FILTER (WHERE al.payment_id IS NOT NULL) AS paid,
           sum(al.amount) FILTER (WHERE al.adjustment_id IS NOT NULL) AS adjusted
    FROM allocations al
    WHERE al.installment_id = i.id
      AND NOT EXISTS (SELECT 1 FROM reversals r WHERE r.payment_id = al.payment_id)
      AND NOT EXISTS (SELECT 1 FROM reversals r WHERE r.adjustment_id = al.adjustment_id)
) a ON true;

-- A fee's status: Paid when nothing is open; Overdue when an open due's date has passed;
-- Partial when something was paid; else Unpaid.
CREATE VIEW fee_balances WITH (security_invoker = true) AS
SELECT f.id AS fee_id, f.student_id, f.school_year_id, f.fee_type, f.amount, f.due_date,
       f.schedule_id,
       sum(ib.adjusted)::numeric(10,2) AS adjusted,
       sum(ib.paid)::numeric(10,2) AS paid,
       sum(ib.open)::numeric(10,2) AS balance,
       min(ib.due_date) FILTER (WHERE ib.open > 0) AS next_due,
       CASE WHEN sum(ib.open) = 0 THEN 'Paid'
            WHEN bool_or(ib.open > 0 AND ib.due_date < current_date) THEN 'Overdue'
            WHEN sum(ib.paid) > 0 THEN 'Partial'
            ELSE 'Unpaid' END AS status
FROM fees f
JOIN installment_balances ib ON ib.fee_id = f.id
GROUP BY f.id;

-- A student's balance from the money rows themselves: charges - adjustments - payments
-- + reversals. (ledger.invariant_violations checks it against the dues' open amounts.)
CREATE VIEW student_balances WITH (security_invoker = true) AS
SELECT c.student_id, c.charged::numeric(12,2) AS charged,
       coalesce(a.adjusted, 0)::numeric(12,2) AS adjusted,
       coalesce(p.paid, 0)::numeric(12,2) AS paid,
       coalesce(r.reversed, 0)::numeric(12,2) AS reversed,
       (c.charged - coalesce(a.adjusted, 0) - coalesce(p.paid, 0)
        + coalesce(r.reversed, 0))::numeric(12,2) AS balance
FROM (SELECT student_id, sum(amount) AS charged FROM fees GROUP BY student_id) c
LEFT JOIN LATERAL (SELECT sum(amount) AS adjusted FROM adjustments x
                   WHERE x.student_id = c.student_id) a ON true
LEFT JOIN LATERAL (SELECT sum(amount_paid) AS paid FROM payments x
                   WHERE x.student_id = c.student_id) p ON true
LEFT JOIN LATERAL (SELECT sum(amount) AS reversed FROM reversals x
                   WHERE x.student_id = c.student_id) r ON true;

-- =====================================================================================
-- Integrity triggers
-- =====================================================================================

-- A fee given no plan is due in one installment, for its amount, on its due date: made at
-- once (AFTER the INSERT), so a payment in the same transaction finds it. A plan replaces
-- it; assign_fees writes a schedule's plan in the same statement as the fees, so those fees
-- already have their dues when this runs.
CREATE FUNCTION fee_default_due() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM school.fee_installments WHERE fee_id = NEW.id) THEN
        INSERT INTO school.fee_installments (fee_id, seq, due_date, amount)
        VALUES (NEW.id, 1, NEW.due_date::date, NEW.amount);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER fees_default_due AFTER INSERT ON fees
    FOR EACH ROW EXECUTE FUNCTION fee_default_due();

-- At commit: a fee's installments add up to the fee (a plan is written as several rows).
CREATE FUNCTION check_fee_plan() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_fee int;
    v_amount numeric;
    v_sum numeric;
BEGIN
    -- (separate statements: NEW has a fee_id only on fee_installments)
    IF TG_TABLE_NAME = 'fees' THEN
        v_fee := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        v_fee := OLD.fee_id;
    ELSE
        v_fee := NEW.fee_id;
    END IF;
    SELECT amount INTO v_amount FROM school.fees WHERE id = v_fee;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(sum(amount), 0) INTO v_sum FROM school.fee_installments WHERE fee_id = v_fee;
    IF v_sum <> v_amount THEN
        RAISE EXCEPTION 'installments: they add up to %, the fee is %', v_sum, v_amount
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER fees_plan AFTER INSERT ON fees
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_fee_plan();
CREATE CONSTRAINT TRIGGER fee_installments_plan AFTER INSERT OR DELETE ON fee_installments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_fee_plan();

-- At commit: a schedule's plan, when it has one, adds up to the schedule's amount.
CREATE FUNCTION check_schedule_plan() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_schedule int;
    v_amount numeric;
    v_sum numeric;
BEGIN
    IF TG_TABLE_NAME = 'fee_schedules' THEN
        v_schedule := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        v_schedule := OLD.schedule_id;
    ELSE
        v_schedule := NEW.schedule_id;
    END IF;
    SELECT amount INTO v_amount FROM school.fee_schedules WHERE id = v_schedule;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT sum(amount) INTO v_sum FROM school.fee_schedule_installments
     WHERE schedule_id = v_schedule;
    IF v_sum IS DISTINCT FROM NULL AND v_sum <> v_amount THEN
        RAISE EXCEPTION 'installments: they add up to %, the fee is %', v_sum, v_amount
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER fee_schedules_plan AFTER INSERT OR UPDATE OF amount ON fee_schedules
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_schedule_plan();
CREATE CONSTRAINT TRIGGER fee_schedule_installments_plan
    AFTER INSERT OR UPDATE OR DELETE ON fee_schedule_installments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_schedule_plan();

-- Receipt numbers: one school-wide series 1, 2, 3, ... without gaps. The number is taken
-- inside the posting transaction under the 'receipts' serial lock (11_limits.sql), so a
-- post that rolls back gives its number back and two posts never take the same one (READ COMMITTED:
-- the statement after the lock wait sees the other's committed row). The lock is held from
-- the payment's INSERT to COMMIT: posts are serialised for that short moment only.
CREATE FUNCTION next_receipt_no() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM school.take_serial_lock('receipts');
    RETURN (SELECT coalesce(max(receipt_no), 0) + 1 FROM school.payments);
END
$$;

-- The receipt series' lock, which close_day takes too. Posts and reversals take it after
-- the student's dues, close_day without them: one order, no deadlock.
CREATE FUNCTION lock_day_closes() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT school.take_serial_lock('receipts')
$$;

-- Every payment row: the student (from its fee, when only the fee is given) and the next
-- receipt number, whatever the inserter passed.
CREATE FUNCTION payments_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_fee_student int;
BEGIN
    IF NEW.fee_id IS NOT NULL THEN
        SELECT student_id INTO v_fee_student FROM school.fees WHERE id = NEW.fee_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'payments: fee % does not exist', NEW.fee_id
                USING ERRCODE = 'foreign_key_violation';
        ELSIF NEW.student_id IS NULL THEN
            NEW.student_id := v_fee_student;
        ELSIF v_fee_student IS DISTINCT FROM NEW.student_id THEN
            RAISE EXCEPTION 'payments: fee % is not a fee of student %', NEW.fee_id,
                NEW.student_id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    NEW.receipt_no := school.next_receipt_no();
    RETURN NEW;
END
$$;
CREATE TRIGGER payments_stamp BEFORE INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_stamp();
CREATE TRIGGER payments_student_is_student BEFORE INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION check_user_role('student_id', 'Student');
CREATE TRIGGER adjustments_student_is_student BEFORE INSERT ON adjustments
    FOR EACH ROW EXECUTE FUNCTION check_user_role('student_id', 'Student');

-- Allocate a payment that names its fee and has no allocations of its own (an INSERT that
-- gave fee_id only) to that fee's dues, oldest first.
CREATE FUNCTION allocate_to_fee(p_payment_id int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_fee int;
    v_left numeric;
    v_due record;
    v_take numeric;
BEGIN
    SELECT fee_id, amount_paid INTO v_fee, v_left FROM school.payments WHERE id = p_payment_id;
    PERFORM 1 FROM school.fee_installments WHERE fee_id = v_fee ORDER BY id FOR UPDATE;
    FOR v_due IN
        SELECT installment_id, open FROM school.installment_balances
         WHERE fee_id = v_fee AND open > 0 ORDER BY due_date NULLS LAST, seq
    LOOP
        EXIT WHEN v_left = 0;
        v_take := least(v_left, v_due.open);
        INSERT INTO school.allocations (payment_id, installment_id, amount)
        VALUES (p_payment_id, v_due.installment_id, v_take);
        v_left := v_left - v_take;
    END LOOP;
    IF v_left > 0 THEN
        RAISE EXCEPTION 'amount: payment % is % more than fee % has left to pay',
            p_payment_id, v_left, v_fee USING ERRCODE = 'check_violation';
    END IF;
END
$$;

-- At commit: a payment's allocations add up to it (one that names only its fee is
-- allocated here).
CREATE FUNCTION check_payment_allocated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_sum numeric;
BEGIN
    SELECT sum(amount) INTO v_sum FROM school.allocations WHERE payment_id = NEW.id;
    IF v_sum IS NULL AND NEW.fee_id IS NOT NULL THEN
        PERFORM school.allocate_to_fee(NEW.id);
        SELECT sum(amount) INTO v_sum FROM school.allocations WHERE payment_id = NEW.id;
    END IF;
    IF v_sum IS DISTINCT FROM NEW.amount_paid THEN
        RAISE EXCEPTION 'payments: payment % of % has % allocated to dues', NEW.id,
            NEW.amount_paid, coalesce(v_sum, 0) USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER payments_allocated AFTER INSERT ON payments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_payment_allocated();

CREATE FUNCTION check_adjustment_allocated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF (SELECT sum(amount) FROM school.allocations WHERE adjustment_id = NEW.id)
       IS DISTINCT FROM NEW.amount THEN
        RAISE EXCEPTION 'adjustments: adjustment % is not allocated to its fee''s dues', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER adjustments_allocated AFTER INSERT ON adjustments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_adjustment_allocated();

CREATE FUNCTION adjustments_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    NEW.student_id := (SELECT student_id FROM school.fees WHERE id = NEW.fee_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER adjustments_stamp BEFORE INSERT ON adjustments
    FOR EACH ROW EXECUTE FUNCTION adjustments_stamp();

-- An allocation settles a due of the same student (and, for an adjustment, of its fee),
-- and never more than the due has open.
CREATE FUNCTION check_allocation() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_due record;
BEGIN
    SELECT ib.student_id, ib.fee_id, ib.open INTO v_due
      FROM school.installment_balances ib WHERE ib.installment_id = NEW.installment_id;
    IF NEW.payment_id IS NOT NULL AND v_due.student_id IS DISTINCT FROM
            (SELECT student_id FROM school.payments WHERE id = NEW.payment_id) THEN
        RAISE EXCEPTION 'allocations: a payment settles its own student''s dues only'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.adjustment_id IS NOT NULL AND v_due.fee_id IS DISTINCT FROM
            (SELECT fee_id FROM school.adjustments WHERE id = NEW.adjustment_id) THEN
        RAISE EXCEPTION 'allocations: an adjustment settles its own fee''s dues only'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.amount > v_due.open THEN
        RAISE EXCEPTION 'allocations: % is more than the % open on due %', NEW.amount,
            v_due.open, NEW.installment_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER allocations_check BEFORE INSERT ON allocations
    FOR EACH ROW EXECUTE FUNCTION check_allocation();

-- A reversal names the student and the amount of what it reverses.
CREATE FUNCTION reversals_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.payment_id IS NOT NULL THEN
        SELECT student_id, amount_paid INTO NEW.student_id, NEW.amount
          FROM school.payments WHERE id = NEW.payment_id;
    ELSE
        SELECT student_id, amount INTO NEW.student_id, NEW.amount
          FROM school.adjustments WHERE id = NEW.adjustment_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER reversals_stamp BEFORE INSERT ON reversals
    FOR EACH ROW EXECUTE FUNCTION reversals_stamp();

-- Money rows are appended only, for every role, in replica mode too.
CREATE TRIGGER fees_append_only BEFORE UPDATE OR DELETE ON fees
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER fee_installments_no_update BEFORE UPDATE ON fee_installments
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER payments_append_only BEFORE UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER adjustments_append_only BEFORE UPDATE OR DELETE ON adjustments
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER allocations_append_only BEFORE UPDATE OR DELETE ON allocations
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER reversals_append_only BEFORE UPDATE OR DELETE ON reversals
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER day_closes_append_only BEFORE UPDATE OR DELETE ON day_closes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
ALTER TABLE fees ENABLE ALWAYS TRIGGER fees_append_only;
ALTER TABLE fee_installments ENABLE ALWAYS TRIGGER fee_installments_no_update;
ALTER TABLE payments ENABLE ALWAYS TRIGGER payments_append_only;
ALTER TABLE adjustments ENABLE ALWAYS TRIGGER adjustments_append_only;
ALTER TABLE allocations ENABLE ALWAYS TRIGGER allocations_append_only;
ALTER TABLE reversals ENABLE ALWAYS TRIGGER reversals_append_only;
ALTER TABLE day_closes ENABLE ALWAYS TRIGGER day_closes_append_only;
CREATE TRIGGER fees_no_truncate BEFORE TRUNCATE ON fees
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER fee_installments_no_truncate BEFORE TRUNCATE ON fee_installments
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
-- (also a TRUNCATE of fees CASCADE)
CREATE TRIGGER payments_no_truncate BEFORE TRUNCATE ON payments
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER adjustments_no_truncate BEFORE TRUNCATE ON adjustments
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER allocations_no_truncate BEFORE TRUNCATE ON allocations
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER reversals_no_truncate BEFORE TRUNCATE ON reversals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER day_closes_no_truncate BEFORE TRUNCATE ON day_closes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
ALTER TABLE fees ENABLE ALWAYS TRIGGER fees_no_truncate;
ALTER TABLE fee_installments ENABLE ALWAYS TRIGGER fee_installments_no_truncate;
ALTER TABLE payments ENABLE ALWAYS TRIGGER payments_no_truncate;
ALTER TABLE adjustments ENABLE ALWAYS TRIGGER adjustments_no_truncate;
ALTER TABLE allocations ENABLE ALWAYS TRIGGER allocations_no_truncate;
ALTER TABLE reversals ENABLE ALWAYS TRIGGER reversals_no_truncate;
ALTER TABLE day_closes ENABLE ALWAYS TRIGGER day_closes_no_truncate;

-- =====================================================================================
-- Posting
-- =====================================================================================

-- The caller must be an Accounting clerk (the owner/superuser, for the CLI and the demo,
-- calls the record_* functions directly).
CREATE FUNCTION require_accounting() RETURNS int
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF school.my_role() IS DISTINCT FROM 'Accounting' THEN
        RAISE EXCEPTION 'only Accounting may change the ledger'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN school.me();
END
$$;

-- Lock a student's dues, in id order (two posts for one student queue; posts for different
-- students never wait on each other here).
-- (plpgsql's PERFORM reads every row; a sql function would lock only the first.)
CREATE FUNCTION lock_dues(p_student_id int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM 1 FROM school.fee_installments i JOIN school.fees f ON f.id = i.fee_id
     WHERE f.student_id = p_student_id ORDER BY i.id FOR UPDATE OF i;
END
$$;

-- When every required fee of the student's school year is settled, the enrollment's hook
-- (enrollment_fees_paid) moves a Verified enrollment to Payment Complete (a no-op
-- otherwise).
CREATE FUNCTION settle_enrollment(p_student_id int, p_school_year_id int) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF p_school_year_id IS NULL THEN
        RETURN false;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM school.fees f JOIN school.fee_types t ON t.name = f.fee_type
                    WHERE f.student_id = p_student_id AND f.school_year_id = p_school_year_id
                      AND t.required)
       OR EXISTS (SELECT 1 FROM school.installment_balances ib
                  JOIN school.fee_types t ON t.name = ib.fee_type
                  WHERE ib.student_id = p_student_id AND ib.school_year_id = p_school_year_id
                    AND t.required AND ib.open > 0) THEN
        RETURN false;
    END IF;
    PERFORM school.enrollment_fees_paid(p_student_id, p_school_year_id);
    RETURN true;
END
$$;

-- A payment: checked, allocated to the student's open dues (earliest due first), settling
-- the enrollment of each school year it paid into. The day close is looked for under the
-- lock close_day takes, so a close cannot land between the check and the payment.
CREATE FUNCTION record_payment(
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

-- The cashier's post: as the calling clerk, now. Idempotent by p_client_key: the same key
-- again (a double Enter, a retry after a timeout or a lost reply) returns the first payment
-- with replayed = true and posts nothing.
CREATE FUNCTION post_payment(p_student_id int, p_amount numeric, p_method text,
                             p_reference text, p_client_key uuid)
RETURNS TABLE (payment_id int, receipt_no bigint, amount numeric, method text, reference text,
               posted_at timestamptz, balance numeric, replayed boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY SELECT * FROM school.record_payment(p_student_id, p_amount, p_method,
        p_reference, p_client_key, school.require_accounting(), now());
END
$$;

-- A reversal of a payment is money handed back: it counts in the reversing clerk's expected
-- takings on the day it is made. Once that clerk has closed the day, they reverse no payment
-- on it (the close would no longer match the books); another clerk whose day is open, or the
-- same clerk the next day, does. Reversing an adjustment moves no money and stays allowed.
CREATE FUNCTION record_reversal(p_payment_id int, p_adjustment_id int, p_reason text,
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

-- A correction: the payment stays, a reversal row points at it and its allocations stop
-- counting (the dues it paid are open again).
CREATE FUNCTION reverse_payment(p_payment_id int, p_reason text) RETURNS int
LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT school.record_reversal(p_payment_id, NULL, p_reason, school.require_accounting())
$$;

CREATE FUNCTION reverse_adjustment(p_adjustment_id int, p_reason text) RETURNS int
LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT school.record_reversal(NULL, p_adjustment_id, p_reason, school.require_accounting())
$$;

-- A discount, scholarship or waiver of part of a fee: a fixed amount or a percentage of the
-- fee, never more than the fee has open (it is no refund). It settles the fee's latest dues
-- first, so the next due stays as planned.
CREATE FUNCTION record_adjustment(p_fee_id int, p_kind text, p_amount numeric, p_percent numeric,
                                  p_reason text, p_approved_by int, p_client_key uuid,
                                  p_recorded_by int)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_fee school.fees;
    v_amount numeric;
    v_open numeric;
    v_left numeric;
    v_take numeric;
    v_due record;
    v_id int;
BEGIN
    SELECT * INTO v_fee FROM school.fees WHERE id = p_fee_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'fee % does not exist', p_fee_id USING ERRCODE = 'no_data_found';
    END IF;
    IF p_kind IS NULL OR p_kind NOT IN ('Discount', 'Scholarship', 'Waiver') THEN
        RAISE EXCEPTION 'kind: must be Discount, Scholarship or Waiver'
            USING ERRCODE = 'check_violation';
    END IF;
    IF (p_amount IS NULL) = (p_percent IS NULL) THEN
        RAISE EXCEPTION 'amount: give a fixed amount or a percentage, not both'
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_percent IS NOT NULL THEN
        IF p_percent <= 0 OR p_percent > 100 OR p_percent <> round(p_percent, 2) THEN
            RAISE EXCEPTION 'percent: more than 0, at most 100, two decimals at most'
                USING ERRCODE = 'check_violation';
        END IF;
        v_amount := round(v_fee.amount * p_percent / 100, 2);
    ELSE
        v_amount := school.check_amount(p_amount, 'amount');
    END IF;
    IF p_reason IS NULL OR p_reason !~ '[^[:space:]]' OR length(p_reason) > 500 THEN
        RAISE EXCEPTION 'reason: say why (up to 500 characters)' USING ERRCODE = 'check_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM school.users u JOIN school.roles r ON r.id = u.role_id
                    WHERE u.id = p_approved_by AND u.is_active
                      AND r.name IN ('Principal', 'Admin', 'Accounting')) THEN
        RAISE EXCEPTION 'approved by: must be an active Principal, Admin or Accounting person'
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_client_key IS NULL THEN
        RAISE EXCEPTION 'client key: required' USING ERRCODE = 'check_violation';
    END IF;

    PERFORM school.lock_dues(v_fee.student_id);
    SELECT id INTO v_id FROM school.adjustments WHERE client_key = p_client_key;
    IF FOUND THEN
        RETURN v_id;
    END IF;
    SELECT coalesce(sum(open), 0) INTO v_open FROM school.installment_balances
     WHERE fee_id = p_fee_id;
    IF v_amount > v_open THEN
        RAISE EXCEPTION 'amount: % is more than the % this fee has open',
            to_char(v_amount, 'FM999,999,990.00'), to_char(v_open, 'FM999,999,990.00')
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO school.adjustments (fee_id, student_id, kind, percent, amount, reason,
                                    approved_by, recorded_by, client_key)
    VALUES (p_fee_id, v_fee.student_id, p_kind, p_percent, v_amount, btrim(p_reason),
            p_approved_by, p_recorded_by, p_client_key)
    RETURNING id INTO v_id;
    v_left := v_amount;
    FOR v_due IN
        SELECT installment_id, open FROM school.installment_balances
         WHERE fee_id = p_fee_id AND open > 0 ORDER BY due_date DESC NULLS FIRST, seq DESC
    LOOP
        EXIT WHEN v_left = 0;
        v_take := least(v_left, v_due.open);
        INSERT INTO school.allocations (adjustment_id, installment_id, amount)
        VALUES (v_id, v_due.installment_id, v_take);
        v_left := v_left - v_take;
    END LOOP;
    PERFORM school.settle_enrollment(v_fee.student_id, v_fee.school_year_id);
    RETURN v_id;
END
$$;

CREATE FUNCTION add_adjustment(p_fee_id int, p_kind text, p_amount numeric, p_percent numeric,
                               p_reason text, p_approved_by int, p_client_key uuid)
RETURNS int
LANGUAGE sql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT school.record_adjustment(p_fee_id, p_kind, p_amount, p_percent, p_reason,
                                    p_approved_by, p_client_key, school.require_accounting())
$$;

-- =====================================================================================
-- Charging: schedules to students, ad-hoc fees, installment plans
-- =====================================================================================

-- Who may charge: Accounting (or whoever may administer, for the CLI and the demo).
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

-- Charge every schedule of the school year to the students it applies to (enrolled that
-- year, not Withdrawn, of the schedule's grade level: their section's, else their
-- profile's), optionally only one grade level, section or student. A (student, schedule)
-- already charged is skipped, so running it again charges nothing twice. Returns the number
-- of fees created.
CREATE FUNCTION assign_fees(p_school_year_id int, p_grade_level text DEFAULT NULL,
                            p_section_id int DEFAULT NULL, p_student_id int DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    IF school.my_role() IS DISTINCT FROM 'Accounting' AND NOT school.may_administer() THEN
        RAISE EXCEPTION 'only Accounting may charge fees' USING ERRCODE = 'insufficient_privilege';
    END IF;
    WITH targets AS (
        SELECT e.student_id, s.id AS schedule_id, s.fee_type, s.amount,
               coalesce((SELECT max(si.due_date) FROM school.fee_schedule_installments si
                          WHERE si.schedule_id = s.id), s.due_date) AS due_date
          FROM school.enrollment_progress e
          LEFT JOIN school.sections sec ON sec.id = e.section_id
          LEFT JOIN school.student_profiles sp ON sp.user_id = e.student_id
          JOIN school.fee_schedules s ON s.school_year_id = e.school_year_id
                                     AND s.grade_level = coalesce(sec.grade_level, sp.grade_level)
         WHERE e.school_year_id = p_school_year_id AND e.current_status <> 'Withdrawn'
           AND (p_grade_level IS NULL OR s.grade_level = p_grade_level)
           AND (p_section_id IS NULL OR e.section_id = p_section_id)
           AND (p_student_id IS NULL OR e.student_id = p_student_id)
    ), created AS (
        INSERT INTO school.fees (student_id, fee_type, amount, due_date, school_year_id,
                                 schedule_id)
        SELECT student_id, fee_type, amount, due_date, p_school_year_id, schedule_id
          FROM targets ORDER BY student_id, schedule_id
        ON CONFLICT (student_id, schedule_id) DO NOTHING
        RETURNING id, schedule_id
    ), plans AS (
        INSERT INTO school.fee_installments (fee_id, seq, due_date, amount)
        SELECT c.id, si.seq, si.due_date, si.amount
          FROM created c JOIN school.fee_schedule_installments si ON si.schedule_id = c.schedule_id
        RETURNING fee_id
    )
    SELECT count(*) INTO v_count FROM created;
    RETURN v_count;
END
$$;

-- Replace a fee's installment plan while nothing has been paid or adjusted on the fee.
CREATE FUNCTION set_installment_plan(p_fee_id int, p_due_dates date[], p_amounts numeric[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_fee school.fees;
    v_sum numeric := 0;
    i int;
BEGIN
    IF school.my_role() IS DISTINCT FROM 'Accounting' AND NOT school.may_administer() THEN
        RAISE EXCEPTION 'only Accounting may set installment plans'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO v_fee FROM school.fees WHERE id = p_fee_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'fee % does not exist', p_fee_id USING ERRCODE = 'no_data_found';
    END IF;
    IF coalesce(cardinality(p_due_dates), 0) = 0
       OR cardinality(p_due_dates) <> coalesce(cardinality(p_amounts), 0)
       OR cardinality(p_due_dates) > 24 THEN
        RAISE EXCEPTION 'installments: 1 to 24, each with a due date and an amount'
            USING ERRCODE = 'check_violation';
    END IF;
    FOR i IN 1 .. cardinality(p_amounts) LOOP
        PERFORM school.check_amount(p_amounts[i], 'installment ' || i);
        IF p_due_dates[i] IS NULL THEN
            RAISE EXCEPTION 'installment %: a due date is required', i
                USING ERRCODE = 'check_violation';
        END IF;
        v_sum := v_sum + p_amounts[i];
    END LOOP;
    IF v_sum <> v_fee.amount THEN
        RAISE EXCEPTION 'installments: they add up to %, the fee is %', v_sum, v_fee.amount
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM school.lock_dues(v_fee.student_id);
    IF EXISTS (SELECT 1 FROM school.allocations a JOIN school.fee_installments i
                 ON i.id = a.installment_id WHERE i.fee_id = p_fee_id) THEN
        RAISE EXCEPTION 'installments: this fee has payments or adjustments; its plan stays'
            USING ERRCODE = 'check_violation';
    END IF;
    DELETE FROM school.fee_installments WHERE fee_id = p_fee_id;
    INSERT INTO school.fee_installments (fee_id, seq, due_date, amount)
    SELECT p_fee_id, n, d, a FROM unnest(p_due_dates, p_amounts) WITH ORDINALITY AS x(d, a, n);
END
$$;

-- A student's fees in totals, for the registrar's student page too (balance net of
-- adjustments and reversals; overdue = fees whose status is Overdue).
CREATE FUNCTION student_fee_summary(p_student_id int,
    OUT fees bigint, OUT billed numeric, OUT paid numeric, OUT balance numeric,
    OUT overdue bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (school.my_role() IN ('Registrar', 'Accounting', 'Principal')
            OR p_student_id = school.me()) THEN
        RAISE EXCEPTION 'only the Registrar, Accounting, the Principal or the student may see this'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT count(*), coalesce(sum(fb.amount), 0), coalesce(sum(fb.paid), 0),
           coalesce(sum(fb.balance), 0), count(*) FILTER (WHERE fb.status = 'Overdue')
      INTO fees, billed, paid, balance, overdue
      FROM school.fee_balances fb
     WHERE fb.student_id = p_student_id;
END
$$;

-- =====================================================================================
-- The day close
-- =====================================================================================

-- What a clerk's drawer should hold for a day, by method: their payments that day minus the
-- payments they reversed that day (money handed back), in the server's time zone.
CREATE FUNCTION expected_takings(p_clerk_id int, p_business_date date)
RETURNS TABLE (method text, payments int, reversals int, collected numeric, reversed numeric,
               expected numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
    SELECT m.method,
           coalesce(p.n, 0)::int, coalesce(r.n, 0)::int,
           coalesce(p.total, 0)::numeric(12,2), coalesce(r.total, 0)::numeric(12,2),
           (coalesce(p.total, 0) - coalesce(r.total, 0))::numeric(12,2)
      FROM unnest(ARRAY['Cash', 'Bank Transfer', 'Check', 'Card']) WITH ORDINALITY AS m(method, o)
      LEFT JOIN (SELECT payment_method, count(*) AS n, sum(amount_paid) AS total
                   FROM school.payments
                  WHERE recorded_by = p_clerk_id
                    AND payment_date >= p_business_date::timestamptz
                    AND payment_date < (p_business_date + 1)::timestamptz
                  GROUP BY payment_method) p ON p.payment_method = m.method
      LEFT JOIN (SELECT x.payment_method, count(*) AS n, sum(rv.amount) AS total
                   FROM school.reversals rv JOIN school.payments x ON x.id = rv.payment_id
                  WHERE rv.reversed_by = p_clerk_id
                    AND rv.reversed_at >= p_business_date::timestamptz
                    AND rv.reversed_at < (p_business_date + 1)::timestamptz
                  GROUP BY x.payment_method) r ON r.payment_method = m.method
     ORDER BY m.o
$$;

-- The calling clerk closes a day (today or an earlier one) with the cash they counted. Once
-- per clerk and day; afterwards that clerk posts and reverses nothing more on that day.
CREATE FUNCTION close_day(p_business_date date, p_counted_cash numeric, p_note text)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_me int := school.require_accounting();
    v_id int;
BEGIN
    IF p_business_date IS NULL OR p_business_date > current_date THEN
        RAISE EXCEPTION 'date: today or an earlier day' USING ERRCODE = 'check_violation';
    END IF;
    IF p_counted_cash IS NULL OR p_counted_cash < 0 OR p_counted_cash > 999999999.99
       OR p_counted_cash <> round(p_counted_cash, 2) THEN
        RAISE EXCEPTION 'counted cash: zero or more, two decimals at most'
            USING ERRCODE = 'check_violation';
    END IF;
    IF length(p_note) > 500 THEN
        RAISE EXCEPTION 'note: at most 500 characters' USING ERRCODE = 'check_violation';
    END IF;
    -- Posts of this clerk take the receipt lock; taking it here too means none is half-way.
    PERFORM school.take_serial_lock('receipts');
    IF EXISTS (SELECT 1 FROM school.day_closes WHERE clerk_id = v_me
                AND business_date = p_business_date) THEN
        RAISE EXCEPTION 'date: you have closed % already', p_business_date
            USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO school.day_closes (clerk_id, business_date, payments_count, reversals_count,
        expected_cash, expected_bank_transfer, expected_check, expected_card, counted_cash, note)
    SELECT v_me, p_business_date, sum(t.payments), sum(t.reversals),
           sum(t.expected) FILTER (WHERE t.method = 'Cash'),
           sum(t.expected) FILTER (WHERE t.method = 'Bank Transfer'),
           sum(t.expected) FILTER (WHERE t.method = 'Check'),
           sum(t.expected) FILTER (WHERE t.method = 'Card'),
           p_counted_cash, nullif(btrim(p_note), '')
      FROM school.expected_takings(v_me, p_business_date) t
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- =====================================================================================
-- Grants and row-level security. Accounting and the Principal read the ledger, a student
-- their own rows; nobody writes money but through the functions above.
-- =====================================================================================
GRANT EXECUTE ON FUNCTION post_payment(int, numeric, text, text, uuid),
    reverse_payment(int, text), reverse_adjustment(int, text),
    add_adjustment(int, text, numeric, numeric, text, int, uuid),
    assign_fees(int, text, int, int), set_installment_plan(int, date[], numeric[]),
    close_day(date, numeric, text),
    add_fee(int, text, numeric, int, date, date[], numeric[]),
    save_fee_schedule(int, int, text, text, numeric, date, date[], numeric[])
    TO {{accounting}};
GRANT EXECUTE ON FUNCTION expected_takings(int, date) TO {{accounting}}, {{principal}};
GRANT EXECUTE ON FUNCTION student_fee_summary(int) TO {{registrar}}, {{accounting}},
    {{principal}}, {{student}};

-- Fee types: Accounting keeps them. Schedules are saved through save_fee_schedule;
-- Accounting may delete one.
GRANT SELECT ON fee_types, fee_schedules, fee_schedule_installments TO {{accounting}}, {{principal}};
-- No school role holds table-level UPDATE or DELETE on a table others read: with either,
-- LOCK TABLE ... ACCESS EXCLUSIVE would freeze every reader. Edits go through column
-- grants (which allow no lock beyond ACCESS SHARE), deletes through delete_<thing>(id).
-- Accounting deletes a fee type no fee or schedule uses (the references refuse).
CREATE FUNCTION delete_fee_type(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.fee_types WHERE id = p_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
-- Accounting deletes a fee schedule.
CREATE FUNCTION delete_fee_schedule(p_id int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = school, pg_catalog, pg_temp AS $$
DECLARE
    v_count int;
BEGIN
    DELETE FROM school.fee_schedules WHERE id = p_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
GRANT INSERT, UPDATE (name, required, description) ON fee_types TO {{accounting}};
GRANT USAGE ON SEQUENCE fee_types_id_seq TO {{accounting}};
GRANT EXECUTE ON FUNCTION delete_fee_type(int), delete_fee_schedule(int) TO {{accounting}};

GRANT SELECT ON fees, payments, fee_installments, adjustments, allocations, reversals
    TO {{accounting}}, {{principal}}, {{student}};
GRANT SELECT ON installment_balances, fee_balances, student_balances
    TO {{accounting}}, {{principal}}, {{student}};
GRANT SELECT ON day_closes TO {{accounting}}, {{principal}};
ALTER TABLE fees ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE fee_installments ENABLE ROW LEVEL SECURITY;
ALTER TABLE adjustments ENABLE ROW LEVEL SECURITY;
ALTER TABLE allocations ENABLE ROW LEVEL SECURITY;
ALTER TABLE reversals ENABLE ROW LEVEL SECURITY;
ALTER TABLE day_closes ENABLE ROW LEVEL SECURITY;
CREATE POLICY fees_staff ON fees FOR SELECT TO {{accounting}}, {{principal}}
    USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY fees_own ON fees FOR SELECT TO {{student}} USING (student_id = (SELECT school.me()));
CREATE POLICY payments_staff ON payments FOR SELECT TO {{accounting}}, {{principal}}
    USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY payments_own ON payments FOR SELECT TO {{student}}
    USING (student_id = (SELECT school.me()));
CREATE POLICY fee_installments_staff ON fee_installments FOR SELECT
    TO {{accounting}}, {{principal}} USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY fee_installments_own ON fee_installments FOR SELECT TO {{student}}
    USING (fee_id IN (SELECT id FROM school.fees WHERE student_id = (SELECT school.me())));
CREATE POLICY adjustments_staff ON adjustments FOR SELECT
    TO {{accounting}}, {{principal}} USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY adjustments_own ON adjustments FOR SELECT TO {{student}}
    USING (student_id = (SELECT school.me()));
CREATE POLICY allocations_staff ON allocations FOR SELECT
    TO {{accounting}}, {{principal}} USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY allocations_own ON allocations FOR SELECT TO {{student}}
    USING (payment_id IN (SELECT id FROM school.payments WHERE student_id = (SELECT school.me()))
        OR adjustment_id IN (SELECT id FROM school.adjustments
                              WHERE student_id = (SELECT school.me())));
CREATE POLICY reversals_staff ON reversals FOR SELECT
    TO {{accounting}}, {{principal}} USING ((SELECT school.me()) IS NOT NULL);
CREATE POLICY reversals_own ON reversals FOR SELECT TO {{student}}
    USING (student_id = (SELECT school.me()));
CREATE POLICY day_closes_staff ON day_closes FOR SELECT
    TO {{accounting}}, {{principal}} USING ((SELECT school.me()) IS NOT NULL);
