"""Validation of an operator's changes to a room, with an error per field."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from .errors import EngineError
from .proof import MAX_DIFFICULTY
from .settings import RoomState
from .validation import Problems, Strict, optional, validated


class InvalidChanges(Problems, EngineError):
    """Some fields were refused; `fields` maps each to the reason, `codes` to a machine code."""


@dataclass(frozen=True, slots=True)
class RoomChanges:
    """Validated changes: Redis fields to set, and whether they open a new pre-queue cohort."""

    fields: dict[str, str]
    new_cohort: bool


def _whole(low: int, high: int, description: str | None = None) -> Any:
    """An optional whole number from `low` to `high` (optional, but never null)."""
    return optional(ge=low, le=high, description=description)


def _release_year(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    try:
        year = moment.astimezone(UTC).year
    except OverflowError:  # e.g. 0001-01-01T00:00:00+00:01, before the year 1 in UTC
        year = 0
    if not 2000 <= year <= 2100:
        raise PydanticCustomError("range", "must be between the years 2000 and 2100")
    return moment


class Changes(Strict):
    """At least one setting of a room to change; the others stay as they are."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    rate_per_minute: int = _whole(1, 1_000_000)
    burst: int = _whole(
        1,
        100_000,
        "How many admissions may start at once beyond the rate; any value delivers"
        " rate_per_minute (claims beyond the bucket are booked for its next tokens).",
    )
    max_active: int = _whole(1, 10_000_000)
    session_minutes: float = optional(ge=1, le=240)
    keep_place_seconds: int = _whole(30, 86_400)
    turns_per_account: int = _whole(
        0, 1000, "Turns one account may take per room epoch; 0: no cap."
    )
    state: RoomState = optional()
    event_starts_at: Annotated[AwareDatetime | None, AfterValidator(_release_year)] = Field(
        default=None, description="With a zone; a future instant opens a new shuffled cohort."
    )
    pow_difficulty: int = _whole(0, MAX_DIFFICULTY, "Zero bits of a join's proof of work (0: off).")
    joins_per_minute_per_client: int = _whole(
        0, 100_000, "Joins per client address a minute (0: off)."
    )

    @model_validator(mode="after")
    def _something(self) -> Changes:
        if not self.model_fields_set:
            raise PydanticCustomError("required", "name at least one field to change")
        return self


EDITABLE = tuple(Changes.model_fields)
#: the settings whose Redis field has another name (or unit)
_STORED_AS = {"session_minutes": "session_seconds"}
#: Redis field -> the public name an operator edits it by
PUBLIC_NAMES = {_STORED_AS.get(name, name): name for name in EDITABLE}


def _stored(name: str, value: object) -> str:
    """A setting's value as its Redis field holds it."""
    if name == "session_minutes":
        return str(round(float(str(value)) * 60))
    if isinstance(value, datetime):
        return str(int(value.timestamp() * 1000))
    return "" if value is None else str(value)


def parse_changes(raw: bytes | Mapping[str, object]) -> RoomChanges:
    """Validate `raw`; raises InvalidChanges naming every bad or unknown field."""
    try:
        changes = validated(Changes, raw)
    except Problems as problems:
        raise InvalidChanges(problems.fields, problems.codes) from None
    given = changes.model_dump(include=changes.model_fields_set)
    fields = {_STORED_AS.get(name, name): _stored(name, value) for name, value in given.items()}
    starts = fields.get("event_starts_at")
    # A release set in the future opens a new cohort: who joins before it is shuffled at T-0.
    new_cohort = starts is not None and starts != "" and int(starts) > time.time() * 1000
    return RoomChanges(fields, new_cohort)
