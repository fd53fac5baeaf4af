-- Login sessions written through to PostgreSQL: Redis under `appendfsync everysec` loses the
-- last second of its AOF in a power loss, and with it the sessions opened in that second. Only
-- the SHA-256 of each token is kept (a stolen dump holds no session); Redis is still read
-- first, this table only when Redis does not know a token.
CREATE TABLE login_sessions (
    token_hash  bytea PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX login_sessions_expiry ON login_sessions (expires_at);
