"""Public reference data: offices, their availability, the fee table."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import orjson
from aiohttp import web

from ..booking.calendar import local_today
from ..booking.fees import FeeSchedule
from ..booking.slots import Slots
from ..params import AvailabilityQuery, read_query
from ..web import JSON, json_response

#: availability is served from a cache at most this old (a release stampede reads it a lot)
CACHE_SECONDS = 1.0


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
        query = read_query(request.query, AvailabilityQuery)
        now = datetime.now(UTC)
        start = local_today(office, now) if query.start is None else query.start
        key = (office.id, start, query.days)
        clock = time.monotonic()
        cached = self._cache.get(key)
        if cached is None or cached[0] < clock:
            body = await self.slots.availability(office.id, start, query.days, now)
            if len(self._cache) > 4096:
                self._cache.clear()
            cached = self._cache[key] = (clock + CACHE_SECONDS, orjson.dumps(body))
        return web.Response(body=cached[1], content_type=JSON)

    async def fees(self, request: web.Request) -> web.Response:
        """GET /api/v1/fees: the table in force today, and the earlier ones."""
        return json_response(self.fee_schedule.as_json(datetime.now(UTC).date()))
