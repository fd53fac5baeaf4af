-- A paid booking owes its receipt until the receipt job has written it: the sweep re-queues
-- receipts still owed (a job that failed all its retries, or was lost with Redis), whether or
-- not the confirmation e-mail went out. Receipts of bookings paid before this column existed
-- are taken as written.
ALTER TABLE bookings ADD COLUMN receipt_written_at timestamptz;
UPDATE bookings SET receipt_written_at = paid_at WHERE paid_at IS NOT NULL;
CREATE INDEX bookings_receipt_owed ON bookings (paid_at)
    WHERE receipt_written_at IS NULL AND paid_at IS NOT NULL;
