"""The gate: routes the waiting room guards accept only a live admission token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from aiohttp import web

from queue_engine.errors import InvalidToken, MalformedToken
from queue_engine.tokens import Admission

from .appkeys import ENGINE, SETTINGS
from .errors import AdmissionRequired
from .web import bearer_token

ADMISSION_COOKIE = "antri_admission"
ADMISSION = web.RequestKey("admission", Admission)

GatedHandler = Callable[..., Awaitable[web.StreamResponse]]


def admission_text(request: web.Request) -> str | None:
    """The admission token from `Authorization: Bearer …`, else from the cookie."""
    return bearer_token(request) or request.cookies.get(ADMISSION_COOKIE)


async def require_admission(request: web.Request) -> Admission:
    """The caller's live admission to the guarded room; raises AdmissionRequired."""
    room = request.config_dict[ENGINE].room(request.config_dict[SETTINGS].guard_room)
    text = admission_text(request)
    if not text:
        raise AdmissionRequired(room.name, "no admission token")
    try:
        return await room.check_admission(text)
    except MalformedToken:
        raise AdmissionRequired(room.name, "not an admission token") from None
    except InvalidToken as exc:
        raise AdmissionRequired(room.name, exc.reason) from None


def gated(handler: GatedHandler) -> GatedHandler:
    """Let `handler` (a function or method whose last argument is the request) run only for
    holders of a live admission, which it finds in request[ADMISSION]."""

    @wraps(handler)
    async def guarded(*args: Any) -> web.StreamResponse:
        request: web.Request = args[-1]
        request[ADMISSION] = await require_admission(request)
        return await handler(*args)

    return guarded
