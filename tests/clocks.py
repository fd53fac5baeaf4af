"""Fixed clocks for the tests that depend on today's date.

Releases, H-1, weekends and holidays make a booking test pass on one day and fail on another. The
`clock` fixture runs such a test once on the real clock and once at each moment below, with the
process's clock moved there (time-machine, ticking on from that moment).

The moments are fixed in kind, not as absolute dates: PostgreSQL's `now()` cannot be moved, and a
billing deadline computed from a moment in its past would be overdue at once. So each moment is the
next one of its kind at least a week after today, in Tanjung Priok's time (WIB, UTC+7).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.booking.calendar import Holidays

WIB = ZoneInfo("Asia/Jakarta")
MONDAY, TUESDAY, WEDNESDAY, FRIDAY = 0, 1, 2, 4
# Far enough ahead that every moment is after PostgreSQL's real now().
AHEAD = timedelta(days=7)


def _days_from(start: date) -> Iterator[date]:
    day = start
    while True:
        yield day
        day += timedelta(days=1)


def _next_weekday(today: date, weekday: int) -> date:
    return next(d for d in _days_from(today + AHEAD) if d.weekday() == weekday)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=WIB).astimezone(UTC)


def _next_weekday_holiday(today: date) -> date | None:
    """The first national holiday on a Monday to Friday at least a week ahead, if the packaged
    holiday list reaches that far."""
    ahead = sorted(d for d in Holidays.load().dates if d >= today + AHEAD and d.weekday() < 5)
    return ahead[0] if ahead else None


def fixed_moments(today: date) -> dict[str, datetime | None]:
    """Each kind of moment the date-dependent tests must hold on (None: none ahead in the data)."""
    friday = _next_weekday(today, FRIDAY)
    holiday = _next_weekday_holiday(today)
    return {
        "wednesday-morning": _at(_next_weekday(today, WEDNESDAY), 10),
        # The weekly release is Friday 14:00 local: a minute before, and an hour after.
        "friday-before-release": _at(friday, 13, 59),
        "friday-after-release": _at(friday, 15),
        "holiday": _at(holiday, 10) if holiday else None,
        # 06:30 WIB on a Tuesday is still Monday in UTC: local and UTC dates differ.
        "tuesday-dawn": _at(_next_weekday(today, TUESDAY), 6, 30),
        # Monday 00:10 WIB: a weekend just ended, still Sunday in UTC.
        "monday-just-after-midnight": _at(_next_weekday(today, MONDAY), 0, 10),
    }


CLOCKS = ["today", *fixed_moments(date.today())]
