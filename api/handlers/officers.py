"""The office's API (admin token): find a booking by its code or QR text, move its status."""

from __future__ import annotations

from aiohttp import web

from ..admin import admin_only
from ..appkeys import BOOKINGS
from ..errors import ApiError
from ..web import json_response, read_json_object, strict_fields


@admin_only
async def lookup(request: web.Request) -> web.Response:
    """GET /api/v1/admin/bookings?code=… (a booking code, or the text of its QR code)."""
    bookings = request.config_dict[BOOKINGS]
    code = bookings.code_from_qr(request.query.get("code", ""))
    if not code:
        raise ApiError(404, "unknown_booking", "This is not a booking code or a proof's QR code.")
    return json_response(await bookings.find_by_code(code))


@admin_only
async def set_status(request: web.Request) -> web.Response:
    """POST /api/v1/admin/bookings/{id}/status `{"status", "note"?}`: the next step."""
    body = strict_fields(await read_json_object(request), {"status": str}, {"note": str})
    view = await request.config_dict[BOOKINGS].set_status(
        request.match_info["id"], body["status"], body.get("note")
    )
    return json_response(view)
