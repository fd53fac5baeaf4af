"""The bookings the crowd sends (people from testkit.people: distinct across runs and
workers), and the choice of a place from an office's availability (no Locust import here)."""

from __future__ import annotations

import json
import random
from typing import Any

from testkit.people import Person
from testkit.people import booking_body as kit_body


def booking_body(office: str, day: str, session_id: str, who: Person) -> dict[str, Any]:
    """A valid booking of a reguler place at `office` for `who` (see testkit.people)."""
    return kit_body(day, session_id, who, office=office)


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
