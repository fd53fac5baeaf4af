"""Booking bodies for the benchmark: each a distinct, valid NIK (as in tests/booking_support)."""

from __future__ import annotations

import datetime as dt

import orjson

#: the office every benchmark booking goes to
OFFICE = "tanjung-priok"
LANE = "reguler"
#: NIK serials run 0001..9999 for one birth date; then the birth date moves on a day
SERIALS = 9999
FIRST_BIRTH = dt.date(1960, 1, 1)


def nik(n: int) -> tuple[str, str]:
    """The `n`-th (from 0) distinct NIK of a man of Jakarta Utara (31 72 01) and his birth date."""
    birth = FIRST_BIRTH + dt.timedelta(days=n // SERIALS)
    serial = n % SERIALS + 1
    number = f"317201{birth.day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"
    return number, birth.isoformat()


def booking_body(day: str, session_id: str, n: int) -> bytes:
    """The JSON body of a valid booking of `day`/`session_id` at OFFICE for applicant `n`."""
    number, birth = nik(n)
    return orjson.dumps(
        {
            "office_id": OFFICE,
            "date": day,
            "session_id": session_id,
            "lane": LANE,
            "application_kind": "baru",
            "passport": {"type": "elektronik", "validity_years": 10},
            "applicant": {
                "nik": number,
                "full_name": "Budi Santoso",
                "birth_place": "Jakarta",
                "birth_date": birth,
                "sex": "L",
                "phone": "081234567890",
                "address": "Jl. Enggano No. 10, Tanjung Priok, Jakarta Utara",
                "marital_status": "kawin",
                "purpose": "wisata",
                "destination": "Jepang",
            },
        }
    )
