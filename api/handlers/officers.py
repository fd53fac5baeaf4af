"""The office's API (admin token): find a booking by its code or QR text, move its status."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ..admin import admin_only
from ..booking.bookings import Bookings
from ..errors import ApiError
from ..flows import BookingFlow
from ..models import OfficerStep, QuotaChange
from ..operator_auth import actor_of, requires
from ..operators import DESK
from ..params import LookupQuery, read_query
from ..web import json_response, read_model


@dataclass(frozen=True, slots=True)
class OfficerViews:
    """The office's API: bound to the flow and the booking service."""

    flow: BookingFlow
    bookings: Bookings

    @requires(DESK)
    async def lookup(self, request: web.Request) -> web.Response:
        """GET /api/v1/admin/bookings?code=… (a booking code, or the text of its QR code)."""
        bookings = self.bookings
        code = bookings.code_from_qr(read_query(request.query, LookupQuery).code)
        if not code:
            raise ApiError(
                404, "unknown_booking", "This is not a booking code or a proof's QR code."
            )
        return json_response(await bookings.find_by_code(code))

    @requires(DESK)
    async def set_status(self, request: web.Request) -> web.Response:
        """POST /api/v1/admin/bookings/{id}/status `{"status", "note"?}`: the next step."""
        body = await read_model(request, OfficerStep)
        view = await self.flow.set_status(
            request.match_info["id"], body.status, body.note, actor_of(request)
        )
        return json_response(view)

    @admin_only
    async def set_quota(self, request: web.Request) -> web.Response:
        """PUT /api/v1/admin/offices/{id}/quota `{"date", "session_id", "lane", "capacity"}`."""
        body = await read_model(request, QuotaChange)
        slot = await self.flow.set_quota(
            request.match_info["id"],
            body.date,
            body.session_id,
            body.lane,
            body.capacity,
            actor_of(request),
            body.reason,
        )
        return json_response(slot)
