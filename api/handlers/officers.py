"""The office's API (admin token): find a booking by its code or QR text, move its status."""

from __future__ import annotations

from aiohttp import web

from ..admin import admin_only
from ..appkeys import BOOKINGS, FLOW
from ..errors import ApiError
from ..models import OfficerStep, QuotaChange
from ..operator_auth import actor_of, requires
from ..operators import DESK
from ..params import LookupQuery, read_query
from ..web import json_response, read_model


@requires(DESK)
async def lookup(request: web.Request) -> web.Response:
    """GET /api/v1/admin/bookings?code=… (a booking code, or the text of its QR code)."""
    bookings = request.config_dict[BOOKINGS]
    code = bookings.code_from_qr(read_query(request.query, LookupQuery).code)
    if not code:
        raise ApiError(404, "unknown_booking", "This is not a booking code or a proof's QR code.")
    return json_response(await bookings.find_by_code(code))


@requires(DESK)
async def set_status(request: web.Request) -> web.Response:
    """POST /api/v1/admin/bookings/{id}/status `{"status", "note"?}`: the next step."""
    body = await read_model(request, OfficerStep)
    view = await request.config_dict[FLOW].set_status(
        request.match_info["id"], body.status, body.note, actor_of(request)
    )
    return json_response(view)


@admin_only
async def set_quota(request: web.Request) -> web.Response:
    """PUT /api/v1/admin/offices/{id}/quota `{"date", "session_id", "lane", "capacity"}`."""
    body = await read_model(request, QuotaChange)
    slot = await request.config_dict[FLOW].set_quota(
        request.match_info["id"],
        body.date,
        body.session_id,
        body.lane,
        body.capacity,
        actor_of(request),
        body.reason,
    )
    return json_response(slot)
