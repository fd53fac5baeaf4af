"""The operator's API, behind the admin token: steer rooms at run time."""

from __future__ import annotations

import hmac
from functools import wraps

from aiohttp import web

from queue_engine.changes import parse_changes
from queue_engine.errors import InvalidToken, MalformedToken
from queue_engine.room import Room
from queue_engine.validation import Problems

from .appkeys import ENGINE, SETTINGS
from .errors import ApiError
from .models import Inventory, Revocation
from .web import Handler, bearer_token, json_response, read_json_object, read_model


def admin_only(handler: Handler) -> Handler:
    """Refuse anyone without `Authorization: Bearer <admin token>` (compared in constant time)."""

    @wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        given = bearer_token(request) or ""
        expected = request.config_dict[SETTINGS].admin_token
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiError(401, "unauthorized", "A valid admin token is required.")
        return await handler(request)

    return guarded


@admin_only
async def get_room(request: web.Request) -> web.Response:
    """GET /api/v1/admin/rooms/{room}: every setting and counter."""
    room = _room(request)
    return json_response(room.settings_state())


@admin_only
async def patch_room(request: web.Request) -> web.Response:
    """PATCH /api/v1/admin/rooms/{room}: change settings; 422 names each refused field."""
    room = _room(request)
    changes = parse_changes(await read_json_object(request))
    await room.configure(changes.fields, new_cohort=changes.new_cohort)
    return json_response(room.settings_state())


@admin_only
async def put_inventory(request: web.Request) -> web.Response:
    """PUT /api/v1/admin/rooms/{room}/inventory `{"remaining": int|null}`: 0 means sold out."""
    room = _room(request)
    await room.set_inventory((await read_model(request, Inventory)).remaining)
    return json_response(room.settings_state())


@admin_only
async def revoke(request: web.Request) -> web.Response:
    """POST /api/v1/admin/rooms/{room}/revoke `{"admission_token": str}`: end that session now."""
    room = _room(request)
    token = (await read_model(request, Revocation)).admission_token
    try:
        admission = room.signer.read_admission(token)
    except (MalformedToken, InvalidToken):
        raise _invalid("admission_token", "not an admission token of this service") from None
    if admission.room != room.name or admission.epoch != room.view().epoch:
        # A session's id is its place in line: releasing another room's (or an older epoch's)
        # token here would end whoever holds that place now.
        raise _invalid("admission_token", "not an admission to this room's current line")
    return json_response({"revoked": await room.release(admission.token_id)})


def _room(request: web.Request) -> Room:
    return request.config_dict[ENGINE].room(request.match_info["room"])


def _invalid(field: str, reason: str) -> Problems:
    return Problems.at(field, "admission_token", reason)
