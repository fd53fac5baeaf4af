"""Query and path parameters as models: one declaration gives the OpenAPI document its
parameters (api/openapi.py `query_parameters`, `path_parameter`) and the handler its typed,
checked values (`read_query`, `read_path`), so the two cannot drift.

A query string holds only text, so the models are validated the way the bodies are (strict,
from JSON) after one conversion: a `WholeNumber` written in ASCII digits becomes a number;
anything else stays text and is refused as "not a whole number". Dates are read as JSON
strings, so only `YYYY-MM-DD` is a date (not `20260105`, not a week date). A refusal is the
bodies' 422, with `fields` and `codes` by parameter name. Unknown query parameters are ignored
(pages and caches add their own), never an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Final, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from queue_engine.validation import Problems, validated

from .audit import MAX_ROWS
from .booking.application import Day

#: what a free text may hold: anything but NUL, which PostgreSQL cannot store
NUL_FREE: Final = r"^[^\x00]*$"

#: the longest range of dates availability answers for at once
MAX_DAYS = 62
#: the last millisecond a datetime holds (9999-12-31T23:59:59.999Z)
LAST_MILLISECOND = 253_402_300_799_999


def _digits(value: Any) -> Any:
    """A text of ASCII digits as its number; anything else as it was (then refused). isdigit
    alone would let other scripts' digits through (int() takes some, not "²")."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


#: a whole number in a query string or a path: ASCII digits only (no sign, space, _ or .0)
WholeNumber = Annotated[int, BeforeValidator(_digits)]
#: a text parameter: no NUL
Text = Annotated[str, Field(pattern=NUL_FREE)]


class Parameters(BaseModel):
    """Base of the parameter models: strict, immutable, unknown parameters ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


P = TypeVar("P", bound=Parameters)


def read_query(query: Mapping[str, str], model: type[P]) -> P:
    """The query string as a `model`; Problems (422, every parameter refused) otherwise."""
    return validated(model, dict(query))


def read_path(match_info: Mapping[str, str], model: type[P]) -> P:
    """The path's parameters as a `model`; Problems otherwise (the caller may answer 404)."""
    return validated(model, dict(match_info))


# -- the query strings ------------------------------------------------------------------------


class AvailabilityQuery(Parameters):
    """GET /api/v1/offices/{id}/availability."""

    start: Day | None = Field(
        default=None, alias="from", description="First date (default: today, office-local)."
    )
    days: WholeNumber = Field(default=14, ge=1, le=MAX_DAYS, description="How many dates.")

    @model_validator(mode="after")
    def _within_the_calendar(self) -> AvailabilityQuery:
        if self.start is not None and self.start > dt.date.max - dt.timedelta(days=self.days):
            raise PydanticCustomError("range", "is too far in the future", {"at": "from"})
        return self


class LookupQuery(Parameters):
    """GET /api/v1/admin/bookings."""

    code: Text = Field(description="XXXX-XXXX-XXXXX, or ANTRI:<code>:<tag>.")


#: a time in Unix milliseconds, as far as a datetime goes (the bounds before the conversion:
#: after it, pydantic would write them into the schema as "ge" and "le", which JSON Schema
#: does not know)
Millis = Annotated[int, Field(ge=0, le=LAST_MILLISECOND), BeforeValidator(_digits)]


class AnnotationsQuery(Parameters):
    """GET /api/v1/admin/audit/annotations: Grafana's `$__from` and `$__to`."""

    start: Millis | None = Field(default=None, alias="from", description="Unix milliseconds.")
    end: Millis | None = Field(default=None, alias="to", description="Unix milliseconds.")
    target: Text | None = Field(default=None, description="Only this target, e.g. room:antri.")
    limit: WholeNumber = Field(default=100, ge=1, le=MAX_ROWS, description="At most this many.")

    @staticmethod
    def moment(millis: int | None) -> dt.datetime | None:
        """A parameter in Unix milliseconds as a time (UTC)."""
        return None if millis is None else dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


# -- the paths --------------------------------------------------------------------------------


class RoomPath(Parameters):
    room: str = Field(description="Waiting-room name (a-z, 0-9, -), e.g. paspor.")


class BookingPath(Parameters):
    id: str = Field(description="Booking id (a UUID; anything else is 404).")


class OfficePath(Parameters):
    id: str = Field(description="Office slug.")


class BatchPath(Parameters):
    prefix: str = Field(description="The batch: its accounts are <prefix><n>@antri.test.")


class EventPath(Parameters):
    id: WholeNumber = Field(description="The release event's number.")


def event_id(match_info: Mapping[str, str]) -> int | None:
    """The release event a path names, or None when it names none (a 404, not a 422)."""
    try:
        return read_path(match_info, EventPath).id
    except Problems:
        return None
