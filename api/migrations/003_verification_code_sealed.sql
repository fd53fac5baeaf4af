-- The verification code sealed (AES-GCM, key derived from the app secret) beside its hash, so
-- that the mail job carries only the account id: the code is never in Redis, its AOF or a log.
ALTER TABLE email_verifications ADD COLUMN code_sealed bytea;
