"""Release, open-day and reschedule rules, all in the office's local time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from types import MappingProxyType
from zoneinfo import ZoneInfo

from .offices import Office, SessionTemplate


@dataclass(frozen=True)
class Holidays:
    """Days every office is closed: national holidays and cuti bersama."""

    dates: frozenset[date]
    # Names are for display only: two sets with the same dates are the same calendar.
    names: Mapping[date, str] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, hash=False
    )

    @classmethod
    def load(cls) -> Holidays:
        """The packaged holiday list (data/holidays.json)."""
        text = resources.files("api.booking").joinpath("data/holidays.json").read_text("utf-8")
        names = {date.fromisoformat(d["date"]): str(d["name"]) for d in json.loads(text)["days"]}
        return cls(frozenset(names), MappingProxyType(names))


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _require_aware(now: datetime) -> None:
    # A naive datetime would silently be read as the server's local time.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def local_now(office: Office, now: datetime) -> datetime:
    """`now` as the office's wall clock shows it."""
    _require_aware(now)
    return now.astimezone(_zone(office.timezone))


def local_today(office: Office, now: datetime) -> date:
    """The office's local date at the instant `now`."""
    return local_now(office, now).date()


def last_release(office: Office, now: datetime) -> datetime:
    """The latest release instant not after `now`, in the office's time zone."""
    local = local_now(office, now)
    days_back = (local.weekday() - office.release.weekday) % 7
    day = local.date() - timedelta(days=days_back)
    instant = datetime.combine(day, office.release.at, tzinfo=local.tzinfo)
    if instant > local:
        # Release day is today but its hour has not come yet.
        instant = datetime.combine(day - timedelta(days=7), office.release.at, tzinfo=local.tzinfo)
    return instant


def next_release(office: Office, now: datetime) -> datetime:
    """The first release instant after `now`, in the office's time zone."""
    last = last_release(office, now)
    # Combined from the date, not `last + 7 days`, so the wall-clock hour holds across offsets.
    return datetime.combine(
        last.date() + timedelta(days=7), office.release.at, tzinfo=_zone(office.timezone)
    )


def released_until(office: Office, now: datetime) -> date:
    """The last date the releases up to `now` have opened."""
    return last_release(office, now).date() + timedelta(days=office.release.horizon_days)


def is_open_day(office: Office, day: date, holidays: Holidays) -> bool:
    """Whether the office serves applicants on `day`."""
    return day.weekday() not in office.closed_weekdays and day not in holidays.dates


def is_bookable(office: Office, day: date, now: datetime, holidays: Holidays) -> bool:
    """Whether `day` can be booked at `now`: open, after local today, already released."""
    return (
        is_open_day(office, day, holidays)
        and day > local_today(office, now)
        and day <= released_until(office, now)
    )


def session_start(office: Office, day: date, session: SessionTemplate) -> datetime:
    """The aware instant a session starts on `day`."""
    return datetime.combine(day, session.start, tzinfo=_zone(office.timezone))


def reschedule_allowed_until(office: Office, day: date) -> datetime:
    """The end of H-1: the local midnight that starts `day`; reschedule while now is before it."""
    return datetime.combine(day, time(0, 0), tzinfo=_zone(office.timezone))


def iso_utc(moment: datetime) -> str:
    """An aware time as ISO 8601 in UTC with a Z, as the API writes every time."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
