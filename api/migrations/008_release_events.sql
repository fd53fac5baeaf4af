-- Release events (api/releases.py): made from the offices' weekly rules or added by an operator.
-- Each step (arm the pre-queue, start the draw, close) is marked once, by whichever app process
-- took it, in the same transaction as its audit row.
CREATE TABLE release_events (
    id                  bigserial PRIMARY KEY,
    room                text NOT NULL,
    source              text NOT NULL CHECK (source IN ('rule', 'manual')),
    label               text NOT NULL,
    prequeue_opens_at   timestamptz NOT NULL,
    starts_at           timestamptz NOT NULL,
    closes_at           timestamptz,
    rate_per_minute     int NOT NULL CHECK (rate_per_minute > 0),
    max_active          int NOT NULL CHECK (max_active > 0),
    held                boolean NOT NULL DEFAULT false,
    armed_at            timestamptz,
    started_at          timestamptz,
    closed_at           timestamptz,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (prequeue_opens_at <= starts_at),
    CHECK (closes_at IS NULL OR closes_at > starts_at),
    UNIQUE (room, starts_at)
);
-- The scheduler's look-ups: steps not taken yet, by due time.
CREATE INDEX release_events_to_arm ON release_events (prequeue_opens_at) WHERE armed_at IS NULL;
CREATE INDEX release_events_to_start ON release_events (starts_at) WHERE started_at IS NULL;
