-- The booking system of record: offices, their quota slots, accounts, bookings, payments.

CREATE TABLE offices (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    city        text NOT NULL,
    province    text NOT NULL,
    timezone    text NOT NULL               -- IANA name; dates and sessions are local to it
);

-- One row per office, day, session and lane: the quota. `booked` only moves by conditional
-- UPDATEs, and the CHECK makes overbooking impossible even for a buggy statement.
CREATE TABLE slots (
    id          bigserial PRIMARY KEY,
    office_id   text NOT NULL REFERENCES offices (id),
    day         date NOT NULL,
    session_id  text NOT NULL,
    lane        text NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    capacity    int NOT NULL CHECK (capacity >= 0),
    booked      int NOT NULL DEFAULT 0,
    CONSTRAINT slots_within_capacity CHECK (booked >= 0 AND booked <= capacity),
    UNIQUE (office_id, day, session_id, lane)
);
CREATE INDEX slots_by_day ON slots (day, office_id);

CREATE TABLE accounts (
    id              bigserial PRIMARY KEY,
    email           text NOT NULL,
    name            text NOT NULL,
    phone           text NOT NULL,
    password_hash   text NOT NULL,
    verified_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));

CREATE TABLE email_verifications (
    account_id  bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash   bytea NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    int NOT NULL DEFAULT 0
);

CREATE TABLE bookings (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id          bigint NOT NULL REFERENCES accounts (id),
    slot_id             bigint NOT NULL REFERENCES slots (id),
    status              text NOT NULL,
    application_kind    text NOT NULL,
    passport_type       text NOT NULL,
    validity_years      int NOT NULL,
    -- the NIK: AES-GCM ciphertext, a keyed hash for uniqueness and a masked form for display
    nik_cipher          bytea NOT NULL,
    nik_hash            bytea NOT NULL,
    nik_masked          text NOT NULL,
    applicant           jsonb NOT NULL,     -- name, birth, address, purpose... (never the NIK)
    amount              int NOT NULL CHECK (amount >= 0),
    fee_lines           jsonb NOT NULL,
    billing_code        text NOT NULL UNIQUE,
    expires_at          timestamptz NOT NULL,
    paid_at             timestamptz,
    booking_code        text UNIQUE,
    reschedules         int NOT NULL DEFAULT 0 CHECK (reschedules <= 1),
    -- set by the job that mailed the confirmation; the sweeper re-sends where it is missing
    notified_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bookings_by_account ON bookings (account_id, created_at DESC);
CREATE INDEX bookings_by_slot ON bookings (slot_id) WHERE status = 'awaiting_payment';
CREATE INDEX bookings_due ON bookings (expires_at) WHERE status = 'awaiting_payment';
CREATE INDEX bookings_unnotified ON bookings (paid_at) WHERE notified_at IS NULL AND paid_at IS NOT NULL;
-- The statuses of a booking that is still under way (api/booking/bookings.py ACTIVE): one
-- definition for the index and the functions below.
CREATE FUNCTION booking_is_active(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT status IN ('awaiting_payment', 'confirmed', 'checked_in', 'interviewed', 'approved',
                      'printing', 'ready')
$$;

-- One active booking per person, whatever the account: the keyed hash of the NIK is unique
-- among bookings that are still under way.
CREATE UNIQUE INDEX bookings_one_active_per_nik ON bookings (nik_hash)
    WHERE booking_is_active(status);

-- The timeline shown to the applicant: every status with its time.
CREATE TABLE booking_events (
    id          bigserial PRIMARY KEY,
    booking_id  uuid NOT NULL REFERENCES bookings (id),
    status      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    note        text
);
CREATE INDEX booking_events_by_booking ON booking_events (booking_id, id);

CREATE TABLE payments (
    transaction_id  text PRIMARY KEY,
    booking_id      uuid NOT NULL REFERENCES bookings (id),
    amount          int NOT NULL,
    paid_at         timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payments_one_per_booking ON payments (booking_id);

CREATE TABLE documents (
    booking_id  uuid NOT NULL REFERENCES bookings (id),
    kind        text NOT NULL,
    media_type  text NOT NULL,
    size        int NOT NULL,
    sha256      text NOT NULL,
    path        text NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (booking_id, kind)
);

-- Idempotency-Key: the first response for (account, key) is kept 24 hours and replayed.
CREATE TABLE idempotency_keys (
    account_id      bigint NOT NULL REFERENCES accounts (id),
    key             text NOT NULL,
    request_hash    bytea NOT NULL,
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);

-- Take a place and write the booking in one statement-per-step function, so that a booking
-- costs one round trip. Each statement of a VOLATILE plpgsql function sees a fresh snapshot,
-- so the applicant count below is read after the account's row lock is held.
CREATE FUNCTION create_booking(
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
               WHERE nik_hash = p_nik_hash AND booking_is_active(status)) THEN
        outcome := 'nik_has_active_booking';
        RETURN;
    END IF;
    IF (SELECT count(DISTINCT nik_hash) FROM bookings
        WHERE account_id = p_account AND nik_hash <> p_nik_hash
          AND booking_is_active(status)) >= p_max_people THEN
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

-- Expire unpaid bookings past their deadline and give their places back, atomically; used
-- by the scheduled expiry jobs, the check on read and the sweepers.
CREATE FUNCTION expire_unpaid(p_booking uuid, p_slot bigint, p_limit int)
RETURNS SETOF uuid LANGUAGE sql AS $$
    WITH due AS (
        SELECT id FROM bookings
         WHERE status = 'awaiting_payment' AND expires_at <= now()
           AND (p_booking IS NULL OR id = p_booking)
           AND (p_slot IS NULL OR slot_id = p_slot)
         ORDER BY expires_at
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    ), gone AS (
        UPDATE bookings b SET status = 'expired', updated_at = now()
          FROM due WHERE b.id = due.id AND b.status = 'awaiting_payment'
        RETURNING b.id, b.slot_id
    ), freed AS (
        UPDATE slots s SET booked = s.booked - c.n
          FROM (SELECT slot_id, count(*) AS n FROM gone GROUP BY slot_id) c
         WHERE s.id = c.slot_id
        RETURNING s.id
    ), logged AS (
        INSERT INTO booking_events (booking_id, status)
        SELECT id, 'expired' FROM gone
        RETURNING booking_id
    )
    SELECT booking_id FROM logged;
$$;
