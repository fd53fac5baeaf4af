-- The applicant count in create_booking reads an account's active bookings. With only
-- bookings_by_account and the NIK index to choose from, a plan made while the statistics said
-- there were few active bookings (a quiet week, or a table just emptied) ANDs in a scan of the
-- whole NIK index, reading every active booking on each call. An index whose predicate is the
-- query's own makes the account's few rows the cheapest path whatever the statistics say.
CREATE INDEX bookings_active_by_account ON bookings (account_id) WHERE booking_is_active(status);
