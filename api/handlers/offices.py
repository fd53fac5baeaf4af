"""Public reference data: offices, their availability, the fee table."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

import orjson
from aiohttp import web

from queue_engine.validation import Problems

from ..booking.calendar import local_today
from ..booking.fees import FeeSchedule
from ..booking.slots import Slots
from ..web import JSON, json_response

#: availability is served from a cache at most this old (a release stampede reads it a lot)
CACHE_SECONDS = 1.0
MAX_DAYS = 62
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class OfficeViews:
    """Offices, availability (cached briefly per office and range) and fees."""

    def __init__(self, slots: Slots, fees: FeeSchedule) -> None:
        self.slots = slots
        self.fee_schedule = fees
        self._cache: dict[tuple[str, date, int], tuple[float, bytes]] = {}
        self._offices = orjson.dumps([o.public_json() for o in slots.offices.values()])

    async def offices(self, request: web.Request) -> web.Response:
        """GET /api/v1/offices."""
        return web.Response(body=self._offices, content_type=JSON)

    async def availability(self, request: web.Request) -> web.Response:
        """GET /api/v1/offices/{id}/availability?from=YYYY-MM-DD&days=N."""
        office = self.slots.office(request.match_info["id"])
        now = datetime.now(UTC)
        given = request.query.get("from")
        try:
            # An empty ?from= is a date written wrong, not "today"; fromisoformat alone would
            # also take 20260105 and week dates, which the document's format does not.
            if given is not None and not _ISO_DATE.fullmatch(given):
                raise ValueError(given)
            start = local_today(office, now) if given is None else date.fromisoformat(given)
        except ValueError:
            raise _bad("from", "must be a date YYYY-MM-DD") from None
        raw_days = request.query.get("days", "14")
        # isdecimal alone lets other scripts' digits through (int() takes some, not "²")
        if not (raw_days.isascii() and raw_days.isdigit()) or not 1 <= int(raw_days) <= MAX_DAYS:
            raise _bad("days", f"must be a whole number from 1 to {MAX_DAYS}")
        if start > date.max - timedelta(days=int(raw_days)):
            raise _bad("from", "is too far in the future")
        key = (office.id, start, int(raw_days))
        clock = time.monotonic()
        cached = self._cache.get(key)
        if cached is None or cached[0] < clock:
            body = await self.slots.availability(office.id, start, int(raw_days), now)
            if len(self._cache) > 4096:
                self._cache.clear()
            cached = self._cache[key] = (clock + CACHE_SECONDS, orjson.dumps(body))
        return web.Response(body=cached[1], content_type=JSON)

    async def fees(self, request: web.Request) -> web.Response:
        """GET /api/v1/fees: the table in force today, and the earlier ones."""
        return json_response(self.fee_schedule.as_json(datetime.now(UTC).date()))


def _bad(field: str, reason: str) -> Problems:
    return Problems.at(field, "query", reason)
