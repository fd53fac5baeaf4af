"""Release events and the list of rooms over the operator's JSON API (for `antri events`,
`antri rooms` and other scripts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from queue_engine.engine import Engine

from .. import params
from ..booking.calendar import iso_utc
from ..errors import ApiError
from ..models import EventHold, NewReleaseEvent
from ..operator_auth import actor_of, requires
from ..operators import READ, STEER
from ..releases import Releases
from ..web import json_response, read_model


def _event(event: dict[str, Any]) -> dict[str, Any]:
    return {
        key: iso_utc(value) if isinstance(value, datetime) else value
        for key, value in event.items()
    }


@dataclass(frozen=True, slots=True)
class EventViews:
    """Release events and the list of rooms: bound to the engine and the release scheduler."""

    engine: Engine
    releases: Releases

    @requires(READ)
    async def list_rooms(self, request: web.Request) -> web.Response:
        """GET /api/v1/admin/rooms: every room's settings and counters."""
        return json_response([room.settings_state() for room in self.engine.rooms])

    @requires(READ)
    async def list_events(self, request: web.Request) -> web.Response:
        """GET /api/v1/admin/events: the release events of the next two weeks."""
        events = await self.releases.upcoming(datetime.now(UTC))
        return json_response([_event(e) for e in events])

    @requires(STEER)
    async def add_event(self, request: web.Request) -> web.Response:
        """POST /api/v1/admin/events: a one-off release event."""
        body = await read_model(request, NewReleaseEvent)
        prequeue_minutes = 30 if body.prequeue_minutes is None else body.prequeue_minutes
        event = await self.releases.add(
            actor_of(request),
            body.room,
            body.label,
            body.starts_at,
            prequeue_minutes,
            body.rate_per_minute,
            body.max_active,
            body.closes_at,
            body.reason,
            datetime.now(UTC),
        )
        return json_response(_event(event), 201)

    @requires(STEER)
    async def hold_event(self, request: web.Request) -> web.Response:
        """POST /api/v1/admin/events/{id}/hold `{"held": bool, "reason"?}`."""
        body = await read_model(request, EventHold)
        event_id = params.event_id(request.match_info)
        if event_id is None:
            raise ApiError(404, "unknown_event", "There is no such release event.")
        event = await self.releases.hold(event_id, body.held, actor_of(request), body.reason)
        return json_response(_event(event))
