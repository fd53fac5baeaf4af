"""The people the crowd books for: valid, unique NIKs and booking bodies, and the choice of a
place from an office's availability (no Locust import here)."""

from __future__ import annotations

import itertools
import json
import random
from datetime import date, timedelta
from typing import Any

#: Jakarta Utara, Koja (31 72 01): the NIK's region, near the Tanjung Priok office
REGION = "317201"
#: NIK serials run 0001..9999 per birth date and sex
SERIALS = 9999
FIRST_BIRTH = date(1970, 1, 1)

_people = itertools.count()


def person(n: int) -> tuple[str, date, str]:
    """The NIK, birth date and sex of the n-th applicant (n >= 0): unique for every n, adult."""
    serial, rest = n % SERIALS + 1, n // SERIALS
    sex = "P" if rest % 2 else "L"
    birth = FIRST_BIRTH + timedelta(days=rest // 2)
    day = birth.day + (40 if sex == "P" else 0)
    return f"{REGION}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}", birth, sex


def booking_body(office: str, day: str, session_id: str, n: int | None = None) -> dict[str, Any]:
    """A valid booking of a reguler place for a new applicant (the next one unless `n`)."""
    nik, birth, sex = person(next(_people) if n is None else n)
    return {
        "office_id": office,
        "date": day,
        "session_id": session_id,
        "lane": "reguler",
        "application_kind": "baru",
        "passport": {"type": "elektronik", "validity_years": 10},
        "applicant": {
            "nik": nik,
            "full_name": "Siti Rahayu" if sex == "P" else "Budi Santoso",
            "birth_place": "Jakarta",
            "birth_date": birth.isoformat(),
            "sex": sex,
            "phone": "081234567890",
            "address": "Jl. Enggano No. 10, Tanjung Priok, Jakarta Utara",
            "marital_status": "kawin",
            "purpose": "wisata",
            "destination": "Jepang",
        },
    }


class BadAvailability(ValueError):
    """An availability answer that is not what the API promises."""


def open_places(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The (date, session_id) pairs of released dates whose reguler lane has places left,
    earliest first."""
    try:
        return [
            (d["date"], s["id"])
            for d in body["dates"]
            if d["released"]
            for s in d["sessions"]
            if s["lanes"]["reguler"]["remaining"] > 0
        ]
    except (KeyError, TypeError) as exc:
        raise BadAvailability(f"availability without {exc}") from None


def pick(places: list[tuple[str, str]], among: int = 3) -> tuple[str, str]:
    """One of the earliest places left, as people take the first dates offered: the crowd
    presses on the same few slots."""
    return random.choice(places[:among])


def error_code(content: bytes | None) -> str:
    """The `error` of an error answer's JSON body ("?" when there is none)."""
    try:
        body = json.loads(content or b"")
    except ValueError:
        return "?"
    return str(body.get("error", "?")) if isinstance(body, dict) else "?"
