-- A turn of the waiting room makes one booking (README: "A turn makes one booking"). The gate
-- lets every request of a live turn through, so requests sent at once all reach create_booking
-- before the first one ends the turn in Redis. The booking records its turn here in the same
-- statement (api/booking/bookings.py): a second booking of the turn waits for the first to
-- commit, then violates the key and is undone with its place. A refused booking (a full slot)
-- records nothing, so the turn may try again.
CREATE TABLE turn_bookings (
    turn        text PRIMARY KEY,
    booking_id  uuid NOT NULL,
    made_at     timestamptz NOT NULL DEFAULT now()
);

-- for the daily clean-up (turns last minutes; a day's rows are kept for the record)
CREATE INDEX turn_bookings_made_at ON turn_bookings (made_at);
