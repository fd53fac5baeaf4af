"""Release events and the list of rooms over the operator's JSON API (for `antri events`,
`antri rooms` and other scripts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ..appkeys import ENGINE, RELEASES
from ..booking.calendar import iso_utc
from ..errors import ApiError
from ..operator_auth import actor_of, requires
from ..operators import READ, STEER
from ..web import json_response, read_json_object, strict_fields


def _event(event: dict[str, Any]) -> dict[str, Any]:
    return {
        key: iso_utc(value) if isinstance(value, datetime) else value
        for key, value in event.items()
    }


def _instant(body: dict[str, Any], name: str) -> datetime | None:
    text = body.get(name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiError(
            422, "invalid", f"{name}: an ISO 8601 time with a zone expected",
            extra={"fields": {name: "an ISO 8601 time with a zone, e.g. 2026-12-07T09:00+07:00"}},
        )  # fmt: skip
    return moment


@requires(READ)
async def list_rooms(request: web.Request) -> web.Response:
    """GET /api/v1/admin/rooms: every room's settings and counters."""
    return json_response([room.settings_state() for room in request.config_dict[ENGINE].rooms])


@requires(READ)
async def list_events(request: web.Request) -> web.Response:
    """GET /api/v1/admin/events: the release events of the next two weeks."""
    events = await request.config_dict[RELEASES].upcoming(datetime.now(UTC))
    return json_response([_event(e) for e in events])


@requires(STEER)
async def add_event(request: web.Request) -> web.Response:
    """POST /api/v1/admin/events: a one-off release event."""
    body = strict_fields(
        await read_json_object(request),
        {"room": str, "label": str, "starts_at": str, "rate_per_minute": int, "max_active": int},
        {"prequeue_minutes": int, "closes_at": str, "reason": str},
    )
    starts = _instant(body, "starts_at")
    assert starts is not None
    event = await request.config_dict[RELEASES].add(
        actor_of(request),
        body["room"],
        body["label"],
        starts,
        body.get("prequeue_minutes", 30),
        body["rate_per_minute"],
        body["max_active"],
        _instant(body, "closes_at"),
        body.get("reason"),
        datetime.now(UTC),
    )
    return json_response(_event(event), 201)


@requires(STEER)
async def hold_event(request: web.Request) -> web.Response:
    """POST /api/v1/admin/events/{id}/hold `{"held": bool, "reason"?}`."""
    body = strict_fields(await read_json_object(request), {"held": bool}, {"reason": str})
    try:
        event_id = int(request.match_info["id"])
    except ValueError:
        raise ApiError(404, "unknown_event", "There is no such release event.") from None
    event = await request.config_dict[RELEASES].hold(
        event_id, body["held"], actor_of(request), body.get("reason")
    )
    return json_response(_event(event))
