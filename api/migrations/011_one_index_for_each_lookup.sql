-- A booking must read a few rows whatever the planner's statistics say. plpgsql caches a
-- generic plan of each statement after five calls, per backend. Made while the bookings table
-- is empty or nearly (launch day, the first minute after a clean-up, before autovacuum analyses
-- it again), a generic plan costs every path at about nothing and may pick a sequential scan,
-- or the *other* partial index read whole: the NIK's check and the account's count both match
-- `booking_is_active(status)`, the predicate of both the NIK's and the account's index. The plan
-- stays in use while thousands of bookings arrive, and every booking then reads every active
-- one: the booking bench's second round read 14 million rows for 6,000 bookings (1.4 ms of
-- PostgreSQL's CPU a booking against 0.4 in its first; tests/test_query_plans.py).
--
-- The same held for the unpaid bookings expired when a slot looks full (expire_unpaid):
-- `status = 'awaiting_payment'` implies the NIK index's predicate, and its plan read that index
-- whole, every active booking for each refusal.
--
-- So each lookup matches the predicate of its own index only. The NIK's index and check use
-- `booking_holds_nik(status)`, the account's index and count `booking_holds_applicant(status)`:
-- the same test as booking_is_active, in functions the planner does not inline, so that no other
-- condition proves them. (Planning each call with the values instead, by EXECUTE or
-- plan_cache_mode, cost 0.3-0.5 ms of CPU a booking with pgbench.) And no function of the
-- booking path may scan a table sequentially.

CREATE FUNCTION booking_holds_nik(status text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN booking_is_active(status);
END $$;

CREATE FUNCTION booking_holds_applicant(status text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN booking_is_active(status);
END $$;

DROP INDEX bookings_one_active_per_nik;
CREATE UNIQUE INDEX bookings_one_active_per_nik ON bookings (nik_hash)
    WHERE booking_holds_nik(status);

DROP INDEX bookings_active_by_account;
CREATE INDEX bookings_active_by_account ON bookings (account_id)
    WHERE booking_holds_applicant(status);

CREATE OR REPLACE FUNCTION create_booking(
    p_account bigint, p_office text, p_day date, p_session text, p_lane text,
    p_max_people int, p_nik_cipher bytea, p_nik_hash bytea, p_nik_masked text,
    p_kind text, p_passport_type text, p_validity int, p_applicant jsonb,
    p_amount int, p_fee_lines jsonb, p_billing_code text, p_expires_at timestamptz,
    OUT outcome text, OUT booking_id uuid, OUT remaining int
) LANGUAGE plpgsql AS $$
DECLARE
    v_slot bigint;
BEGIN
    PERFORM 1 FROM accounts WHERE id = p_account FOR UPDATE;
    -- The most useful refusal first. (The unique index is what guarantees it: two bookings of
    -- one person racing past this check still cannot both be inserted.)
    IF EXISTS (SELECT 1 FROM bookings
               WHERE nik_hash = p_nik_hash AND booking_holds_nik(status)) THEN
        outcome := 'nik_has_active_booking';
        RETURN;
    END IF;
    IF (SELECT count(DISTINCT nik_hash) FROM bookings
        WHERE account_id = p_account AND nik_hash <> p_nik_hash
          AND booking_holds_applicant(status)) >= p_max_people THEN
        outcome := 'too_many_applicants';
        RETURN;
    END IF;
    UPDATE slots SET booked = booked + 1
     WHERE office_id = p_office AND day = p_day AND session_id = p_session AND lane = p_lane
       AND booked < capacity
    RETURNING id, capacity - booked INTO v_slot, remaining;
    IF v_slot IS NULL THEN
        -- Full, unless unpaid bookings past their deadline still hold places: the check on
        -- read gives those back first, so a dead scheduler never keeps a slot shut.
        PERFORM expire_unpaid(NULL, s.id, 100) FROM slots s
         WHERE s.office_id = p_office AND s.day = p_day AND s.session_id = p_session
           AND s.lane = p_lane;
        UPDATE slots SET booked = booked + 1
         WHERE office_id = p_office AND day = p_day AND session_id = p_session
           AND lane = p_lane AND booked < capacity
        RETURNING id, capacity - booked INTO v_slot, remaining;
    END IF;
    IF v_slot IS NULL THEN
        outcome := 'slot_full';
        RETURN;
    END IF;
    INSERT INTO bookings (account_id, slot_id, status, application_kind, passport_type,
                          validity_years, nik_cipher, nik_hash, nik_masked, applicant, amount,
                          fee_lines, billing_code, expires_at)
    VALUES (p_account, v_slot, 'awaiting_payment', p_kind, p_passport_type, p_validity,
            p_nik_cipher, p_nik_hash, p_nik_masked, p_applicant, p_amount, p_fee_lines,
            p_billing_code, p_expires_at)
    RETURNING id INTO booking_id;
    INSERT INTO booking_events (booking_id, status) VALUES (booking_id, 'awaiting_payment');
    outcome := 'ok';
END $$;

ALTER FUNCTION create_booking(bigint, text, date, text, text, int, bytea, bytea, text, text, text,
                              int, jsonb, int, jsonb, text, timestamptz)
    SET enable_seqscan = off;
ALTER FUNCTION create_bookings(bigint[], text[], date[], text[], text[], int, bytea[], bytea[],
                               text[], text[], text[], int[], jsonb[], int[], jsonb[], text[],
                               timestamptz[], text[])
    SET enable_seqscan = off;
ALTER FUNCTION expire_unpaid(uuid, bigint, int) SET enable_seqscan = off;
