-- Operator accounts: the people who run the waiting room, the quotas and the officer's desk.
-- A role says what each may do (api/operators.py ROLES); passwords are argon2id hashes.
CREATE TABLE operators (
    id              bigserial PRIMARY KEY,
    email           text NOT NULL,
    name            text NOT NULL,
    role            text NOT NULL CHECK (role IN ('viewer', 'operator', 'officer', 'admin')),
    password_hash   text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);
CREATE UNIQUE INDEX operators_email ON operators (lower(email));

-- API tokens for automation (the `antri rooms …` CLI): only a keyed hash is stored, so a copy of
-- the database gives no token.
CREATE TABLE operator_tokens (
    token_hash      bytea PRIMARY KEY,
    operator_id     bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    label           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);

-- Who moved a booking along (an officer's e-mail, or "admin-token"); NULL for older rows and for
-- the steps the system takes itself (paid, expired).
ALTER TABLE booking_events ADD COLUMN actor text;
