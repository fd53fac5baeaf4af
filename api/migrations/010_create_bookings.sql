-- Bookings made together: the app sends the bookings that reach it in one step of its event loop
-- in one statement and one commit (api/booking/booking_batch.py). Each is create_booking's own
-- work, with its turn recorded as in 009, in a subtransaction of its own: one that violates a
-- key (the NIK's active booking, a turn already used) is undone with its place and reported,
-- and the others stand. Measured with pgbench, ten calls in one transaction cost PostgreSQL half
-- the CPU of ten transactions: one commit, one WAL flush, one wake-up instead of ten.
--
-- Locks are taken in one order by every batch: the accounts first, by id, then the slots in the
-- order of the items, which the caller sorts by slot. Two batches then never wait for each other
-- in a circle (anything else that deadlocks one, PostgreSQL breaks; the caller then books its
-- items one by one).
--
-- The arrays are parallel, one item per index; p_turn[i] is NULL for a booking without a turn.
-- Items are at most 32: each writing subtransaction takes a subtransaction id, and a transaction
-- with more than 64 slows every other backend's snapshots.
CREATE FUNCTION create_bookings(
    p_account bigint[], p_office text[], p_day date[], p_session text[], p_lane text[],
    p_max_people int, p_nik_cipher bytea[], p_nik_hash bytea[], p_nik_masked text[],
    p_kind text[], p_passport_type text[], p_validity int[], p_applicant jsonb[],
    p_amount int[], p_fee_lines jsonb[], p_billing_code text[], p_expires_at timestamptz[],
    p_turn text[],
    OUT item int, OUT outcome text, OUT booking_id uuid, OUT remaining int
) RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
    v_constraint text;
BEGIN
    PERFORM 1 FROM accounts WHERE id = ANY (p_account) ORDER BY id FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(p_account, 1), 0) LOOP
        item := i;
        BEGIN
            SELECT c.outcome, c.booking_id, c.remaining INTO outcome, booking_id, remaining
              FROM create_booking(p_account[i], p_office[i], p_day[i], p_session[i], p_lane[i],
                                  p_max_people, p_nik_cipher[i], p_nik_hash[i], p_nik_masked[i],
                                  p_kind[i], p_passport_type[i], p_validity[i], p_applicant[i],
                                  p_amount[i], p_fee_lines[i], p_billing_code[i],
                                  p_expires_at[i]) c;
            IF outcome = 'ok' AND p_turn[i] IS NOT NULL THEN
                INSERT INTO turn_bookings (turn, booking_id) VALUES (p_turn[i], booking_id);
            END IF;
        EXCEPTION WHEN unique_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            IF v_constraint NOT IN ('bookings_one_active_per_nik', 'turn_bookings_pkey') THEN
                RAISE;  -- not a refusal: the whole batch fails, and the caller books one by one
            END IF;
            outcome := v_constraint;
            booking_id := NULL;
            remaining := NULL;
        END;
        RETURN NEXT;
    END LOOP;
END $$;
