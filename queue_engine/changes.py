"""Validation of an operator's changes to a room, with an error per field."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import EngineError
from .proof import MAX_DIFFICULTY
from .settings import RoomState


class InvalidChanges(EngineError):
    """Some fields were refused; `fields` maps each to the reason."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True, slots=True)
class RoomChanges:
    """Validated changes: Redis fields to set, and whether they open a new pre-queue cohort."""

    fields: dict[str, str]
    new_cohort: bool


def _whole(low: int, high: int) -> Callable[[object], int]:
    def parse(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value

    return parse


def _minutes(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 240:
        raise ValueError("must be a number of minutes from 1 to 240")
    return round(value * 60)


def _state(value: object) -> str:
    if not isinstance(value, str) or value not in {s.value for s in RoomState}:
        raise ValueError("must be one of " + ", ".join(s.value for s in RoomState))
    return str(value)


def _instant(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time with a zone, or null")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 time with a zone, or null") from None
    if moment.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-12-01T09:00:00+07:00")
    try:
        year = moment.astimezone(UTC).year
    except OverflowError:  # e.g. 0001-01-01T00:00:00+00:01, before the year 1 in UTC
        year = 0
    if not 2000 <= year <= 2100:
        raise ValueError("must be between the years 2000 and 2100")
    return str(int(moment.timestamp() * 1000))


#: public name -> (Redis field, parser)
_FIELDS: dict[str, tuple[str, Callable[[object], object]]] = {
    "rate_per_minute": ("rate_per_minute", _whole(1, 1_000_000)),
    "burst": ("burst", _whole(1, 100_000)),
    "max_active": ("max_active", _whole(1, 10_000_000)),
    "session_minutes": ("session_seconds", _minutes),
    "keep_place_seconds": ("keep_place_seconds", _whole(30, 86_400)),
    "turns_per_account": ("turns_per_account", _whole(0, 1000)),
    "state": ("state", _state),
    "event_starts_at": ("event_starts_at", _instant),
    "pow_difficulty": ("pow_difficulty", _whole(0, MAX_DIFFICULTY)),
    "joins_per_minute_per_client": ("joins_per_minute_per_client", _whole(0, 100_000)),
}

EDITABLE = tuple(_FIELDS)
#: Redis field -> the public name an operator edits it by
PUBLIC_NAMES = {field: name for name, (field, _) in _FIELDS.items()}


def parse_changes(raw: Mapping[str, object]) -> RoomChanges:
    """Validate `raw`; raises InvalidChanges naming every bad or unknown field."""
    errors: dict[str, str] = {}
    fields: dict[str, str] = {}
    for name, value in raw.items():
        if name not in _FIELDS:
            errors[name] = "unknown field; editable: " + ", ".join(EDITABLE)
            continue
        redis_field, parse = _FIELDS[name]
        try:
            fields[redis_field] = str(parse(value))
        except ValueError as exc:
            errors[name] = str(exc)
    if not raw:
        errors["body"] = "name at least one field to change"
    if errors:
        raise InvalidChanges(errors)
    starts = fields.get("event_starts_at")
    # A release set in the future opens a new cohort: who joins before it is shuffled at T-0.
    new_cohort = starts is not None and starts != "" and int(starts) > time.time() * 1000
    return RoomChanges(fields, new_cohort)
