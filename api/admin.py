"""The operator's API, behind the admin token or an operator's API token: steer rooms at run
time."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from aiohttp import web

from queue_engine.engine import Engine
from queue_engine.errors import InvalidToken, MalformedToken
from queue_engine.room import Room
from queue_engine.validation import Problems

from . import room_control
from .models import Inventory, Revocation
from .operator_auth import actor_of, requires
from .operators import READ, STEER
from .web import json_response, read_json_object, read_model

#: changes: an operator's or admin's token, or the admin token; reads: a viewer's too
admin_only = requires(STEER)
readers_only = requires(READ)


@dataclass(frozen=True, slots=True)
class AdminViews:
    """Steering rooms at run time: bound to the engine and the database (the audit trail)."""

    engine: Engine
    pool: asyncpg.Pool

    @readers_only
    async def get_room(self, request: web.Request) -> web.Response:
        """GET /api/v1/admin/rooms/{room}: every setting and counter."""
        room = self._room(request)
        return json_response(room.settings_state())

    @admin_only
    async def patch_room(self, request: web.Request) -> web.Response:
        """PATCH /api/v1/admin/rooms/{room}: change settings (and an optional `reason` for the
        audit trail); 422 names each refused field."""
        room = self._room(request)
        body = await read_json_object(request)
        given = "reason" in body
        reason = body.pop("reason", None)
        if given and not (isinstance(reason, str) and len(reason) <= 500):  # null too: a text
            raise Problems.at("reason", "invalid", "must be a text of at most 500 characters")
        pool = self.pool
        await room_control.configure(pool, room, body, actor_of(request), reason)
        return json_response(room.settings_state())

    @admin_only
    async def put_inventory(self, request: web.Request) -> web.Response:
        """PUT /api/v1/admin/rooms/{room}/inventory `{"remaining": int|null}`: 0 means sold out."""
        room = self._room(request)
        remaining = (await read_model(request, Inventory)).remaining
        before = room.view().inventory
        await room.set_inventory(remaining)
        await room_control.record(
            self.pool,
            actor_of(request),
            "room.inventory",
            room,
            {"remaining": before},
            {"remaining": room.view().inventory},
            None,
        )
        return json_response(room.settings_state())

    @admin_only
    async def revoke(self, request: web.Request) -> web.Response:
        """POST /api/v1/admin/rooms/{room}/revoke `{"admission_token": str}`: end that session
        now."""
        room = self._room(request)
        token = (await read_model(request, Revocation)).admission_token
        try:
            admission = room.signer.read_admission(token)
        except (MalformedToken, InvalidToken):
            raise _invalid("admission_token", "not an admission token of this service") from None
        if admission.room != room.name or admission.epoch != room.view().epoch:
            # A session's id is its place in line: releasing another room's (or an older epoch's)
            # token here would end whoever holds that place now.
            raise _invalid("admission_token", "not an admission to this room's current line")
        revoked = await room.release(admission.token_id)
        if revoked:
            await room_control.record(
                self.pool,
                actor_of(request),
                "room.revoke",
                room,
                {"session": admission.token_id},
                None,
                None,
            )
        return json_response({"revoked": revoked})

    def _room(self, request: web.Request) -> Room:
        return self.engine.room(request.match_info["room"])


def _invalid(field: str, reason: str) -> Problems:
    return Problems.at(field, "admission_token", reason)
