"""Booking bodies for the benchmark: each a distinct, valid NIK (from testkit.people)."""

from __future__ import annotations

import orjson

from testkit.people import booking_body as kit_body
from testkit.people import person

#: the office every benchmark booking goes to
OFFICE = "tanjung-priok"
LANE = "reguler"


def booking_body(day: str, session_id: str, n: int) -> bytes:
    """The JSON body of a valid booking of `day`/`session_id` at OFFICE for applicant `n`."""
    return orjson.dumps(kit_body(day, session_id, person(n), office=OFFICE))
