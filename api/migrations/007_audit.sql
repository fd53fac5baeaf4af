-- The audit trail (api/audit.py): every change an operator, officer or the scheduler makes.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL,          -- an operator's e-mail, "admin-token" or "scheduler"
    actor_role  text NOT NULL,
    action      text NOT NULL,          -- e.g. room.configure, quota.set, booking.status
    target      text NOT NULL,          -- e.g. room:antri, office:jakarta-selatan, booking:<id>
    before      jsonb,
    after       jsonb,
    reason      text,
    -- a room's change number in Redis (room changes are recorded after Redis applied them, and
    -- concurrent ones may be written out of order: this orders them as Redis did)
    sequence    bigint
);
CREATE INDEX audit_log_by_time ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_by_target ON audit_log (target, at DESC);
