"""The calendar of bookable dates and sessions that the pages show: one office, one lane.

Built from `Slots.availability` (the same numbers the JSON API gives), reduced to what a visitor
chooses from: each day is open (some session has places), full, not yet released (with the moment
it opens), or closed (weekend, holiday, or too soon to book). The template macro
`_calendar.html` renders it; `parse_slot` reads the chosen radio's value back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ..booking import calendar as rules
from ..booking.offices import Office
from ..booking.slots import Slots
from ..views import Availability, AvailableDate, SessionPlaces

DayState = Literal["open", "full", "unreleased", "closed"]
#: why a closed day is closed
ClosedReason = Literal["weekend", "holiday", "past"]

#: how many days the pages show by default: three weeks covers every office's next release
DEFAULT_DAYS = 21

#: a form value "YYYY-MM-DD/s1": the date and the session's id
_SLOT_VALUE = re.compile(r"^(\d{4}-\d{2}-\d{2})/([a-z0-9]{1,16})$")


@dataclass(frozen=True)
class Session:
    """One session of a day in the chosen lane, in office-local time."""

    id: str
    start: str  # "08:00"
    end: str  # "10:00"
    capacity: int
    remaining: int
    state: DayState
    #: the radio's form value, "YYYY-MM-DD/s1"
    value: str


@dataclass(frozen=True)
class Day:
    """One date of the calendar."""

    day: date
    state: DayState
    sessions: tuple[Session, ...]
    #: for a closed day: weekend, holiday or past (today and before cannot be booked)
    closed_reason: ClosedReason | None = None
    #: the holiday's name (Indonesian, as the government publishes it)
    holiday: str | None = None
    #: for an unreleased day: the release moment that opens it (office-local, aware)
    opens_at: datetime | None = None

    @property
    def remaining(self) -> int:
        """Places left over all of this day's sessions (in the lane)."""
        return sum(s.remaining for s in self.sessions if s.state == "open")

    @property
    def iso(self) -> str:
        return self.day.isoformat()


@dataclass(frozen=True)
class Calendar:
    """An office's dates and sessions for one lane."""

    office_id: str
    office_name: str
    lane: str
    #: WIB, WITA or WIT
    zone: str
    #: the office's IANA zone, for formatting moments (`date_time(moment, cal.timezone)`)
    timezone: str
    released_until: date
    #: the next weekly release (office-local, aware)
    next_release: datetime
    days: tuple[Day, ...]

    @property
    def has_open(self) -> bool:
        """Whether any session can be chosen."""
        return any(d.state == "open" for d in self.days)

    def contains(self, day: date, session_id: str) -> bool:
        """Whether (day, session) is an open session of this calendar."""
        return any(
            d.day == day and any(s.id == session_id and s.state == "open" for s in d.sessions)
            for d in self.days
        )


def parse_slot(value: str | None) -> tuple[date, str] | None:
    """The (date, session id) of a form value "YYYY-MM-DD/s1", or None if it is not one."""
    match = _SLOT_VALUE.match((value or "").strip())
    if match is None:
        return None
    try:
        return date.fromisoformat(match[1]), match[2]
    except ValueError:
        return None


def slot_value(day: date, session_id: str) -> str:
    """The form value of a session: what `parse_slot` reads."""
    return f"{day.isoformat()}/{session_id}"


async def office_calendar(
    slots: Slots,
    office: Office | str,
    lane: str,
    now: datetime,
    days: int = DEFAULT_DAYS,
    start: date | None = None,
) -> Calendar:
    """`days` dates of `office` from `start` (default: the office's local tomorrow, the first
    bookable date) with their sessions' places in `lane`. Raises NotFound for an unknown office."""
    office = slots.office(office if isinstance(office, str) else office.id)
    today = rules.local_today(office, now)
    first = start or today + timedelta(days=1)
    availability = Availability.model_validate(
        await slots.availability(office.id, first, days, now)
    )
    last_release = rules.last_release(office, now)
    built = tuple(
        _day(entry, lane, today, slots.holidays.names, office, last_release)
        for entry in availability.dates
    )
    return Calendar(
        office_id=office.id,
        office_name=office.name,
        lane=lane,
        zone=office.zone_label,
        timezone=office.timezone,
        released_until=availability.released_until,
        next_release=rules.next_release(office, now),
        days=built,
    )


def _day(
    entry: AvailableDate,
    lane: str,
    today: date,
    holidays: Mapping[date, str],
    office: Office,
    last_release: datetime,
) -> Day:
    day = entry.date
    if not entry.open or day <= today:
        reason: ClosedReason = (
            "past" if day <= today else "holiday" if day in holidays else "weekend"
        )
        return Day(day, "closed", (), closed_reason=reason, holiday=holidays.get(day))
    if not entry.released:
        sessions = tuple(_session(day, s, lane, "unreleased") for s in entry.sessions)
        return Day(day, "unreleased", sessions, opens_at=_opens_at(office, day, last_release))
    sessions = tuple(_session(day, s, lane, None) for s in entry.sessions)
    state: DayState = "open" if any(s.state == "open" for s in sessions) else "full"
    return Day(day, state, sessions)


def _session(day: date, raw: SessionPlaces, lane: str, forced: DayState | None) -> Session:
    # A lane the office does not serve counts as a session without places.
    places = next((quota for name, quota in raw.lanes.items() if name == lane), None)
    capacity, remaining = (places.capacity, max(0, places.remaining)) if places else (0, 0)
    state: DayState = forced or ("open" if remaining > 0 else "full")
    return Session(
        id=raw.id,
        start=raw.start,
        end=raw.end,
        capacity=capacity,
        remaining=remaining,
        state=state,
        value=slot_value(day, raw.id),
    )


def _opens_at(office: Office, day: date, last_release: datetime) -> datetime:
    """The weekly release that first covers `day`: each opens `horizon_days` past its own date."""
    covered = last_release.date() + timedelta(days=office.release.horizon_days)
    weeks = max(1, math.ceil((day - covered).days / 7))
    return datetime.combine(
        last_release.date() + timedelta(days=7 * weeks),
        office.release.at,
        tzinfo=ZoneInfo(office.timezone),
    )
