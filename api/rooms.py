"""Waiting-room JSON and pages: join, status, public state, the admitted session."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from queue_engine.errors import InvalidToken, MalformedToken
from queue_engine.room import Room, Status, VisitState
from queue_engine.tokens import Ticket

from .appkeys import ENGINE, SETTINGS, TEMPLATES
from .errors import ApiError
from .gate import ADMISSION, ADMISSION_COOKIE, gated
from .web import html_response, json_response

TICKET_COOKIE = "antri_ticket"
TICKET_HEADER = "X-Antri-Ticket"
#: where an admitted visitor goes from the waiting-room page
NEXT_PAGE = "/permohonan"


def _room(request: web.Request) -> Room:
    return request.config_dict[ENGINE].room(request.match_info["room"])


def _ticket_text(request: web.Request) -> str | None:
    # The header first: reading it is cheaper than parsing the Cookie header.
    return request.headers.get(TICKET_HEADER) or request.cookies.get(TICKET_COOKIE)


def _held_ticket(request: web.Request, room: Room) -> tuple[Ticket | None, str | None]:
    """The ticket the caller holds, if it is a genuine one; a bad one is simply ignored."""
    text = _ticket_text(request)
    if not text:
        return None, None
    try:
        return room.signer.read_ticket(text), text
    except (MalformedToken, InvalidToken):
        return None, None


def _iso(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


def _status_response(
    request: web.Request,
    room: Room,
    status: Status,
    held: Ticket | None,
    held_text: str | None,
) -> web.Response:
    """The status JSON; sets the ticket cookie when the ticket changed, and the admission cookie."""
    ticket = status.ticket
    if ticket is None:
        text = ""
    elif ticket is held and held_text is not None:
        text = held_text  # the fast path: same ticket, nothing to sign or set
    else:
        text = room.signer.sign_ticket(ticket)
    body: dict[str, Any] = {
        "ticket": text,
        "state": status.state.value,
        "position": status.position,
        "ahead": status.ahead,
        "eta_seconds": {"low": status.eta[0], "high": status.eta[1]} if status.eta else None,
        "poll_after_seconds": status.poll_after,
    }
    admission = status.admission
    if admission is not None:
        body["admission_token"] = room.signer.sign_admission(admission)
        body["session_expires_at"] = _iso(admission.expires_at)
    response = json_response(body)
    secure = request.config_dict[SETTINGS].cookie_secure
    if text and text != held_text:
        response.set_cookie(
            TICKET_COOKIE, text, httponly=True, samesite="Lax", secure=secure, max_age=86400
        )
    if admission is not None:
        response.set_cookie(
            ADMISSION_COOKIE,
            body["admission_token"],
            httponly=True,
            samesite="Lax",
            secure=secure,
            max_age=max(1, admission.expires_at - int(room.now())),
        )
    return response


async def join(request: web.Request) -> web.Response:
    """POST /api/v1/rooms/{room}/join: a place in line (the same one for a ticket already held)."""
    room = _room(request)
    held, text = _held_ticket(request, room)
    status = await room.join(held)
    return _status_response(request, room, status, held, text)


async def status(request: web.Request) -> web.Response:
    """GET /api/v1/rooms/{room}/status: where the held ticket stands; no Redis on the fast path."""
    room = _room(request)
    text = _ticket_text(request)
    if not text:
        raise ApiError(400, "no_ticket", f"Send the ticket in the cookie or {TICKET_HEADER}.")
    ticket = room.signer.read_ticket(text)
    return _status_response(request, room, await room.status(ticket), ticket, text)


async def room_state(request: web.Request) -> web.Response:
    """GET /api/v1/rooms/{room}: the room's public state and the shuffle's audit trail."""
    return json_response(_room(request).public_state())


@gated
async def session(request: web.Request) -> web.Response:
    """GET /api/v1/session: the caller's admitted session."""
    admission = request[ADMISSION]
    return json_response(
        {
            "room": admission.room,
            "admitted_at": _iso(admission.issued_at),
            "expires_at": _iso(admission.expires_at),
        }
    )


@gated
async def release(request: web.Request) -> web.Response:
    """POST /api/v1/session/release: end the session now so the next visitor can come in."""
    admission = request[ADMISSION]
    room = request.config_dict[ENGINE].room(admission.room)
    await room.release(admission.token_id)
    response = json_response({"released": True})
    response.del_cookie(ADMISSION_COOKIE)
    return response


async def waiting_page(request: web.Request) -> web.StreamResponse:
    """GET /antre/{room}: the waiting room; works without JavaScript (meta refresh)."""
    room = _room(request)
    held, text = _held_ticket(request, room)
    status = await room.join(held)
    response = _status_response(request, room, status, held, text)
    if status.state is VisitState.ADMITTED:
        redirect = web.HTTPSeeOther(NEXT_PAGE)
        redirect.cookies.update(response.cookies)
        raise redirect
    context = {
        "room": room.name,
        "status": status,
        "state": room.public_state(),
        "refresh": max(1, round(status.poll_after)),
        "updated": time.strftime("%H:%M:%S", time.localtime(room.now())),
    }
    page = html_response(request.config_dict[TEMPLATES], "antre.html", context)
    page.cookies.update(response.cookies)
    return page


@gated
async def admitted_page(request: web.Request) -> web.Response:
    """GET /permohonan: where an admitted visitor lands (the booking flow will live here)."""
    admission = request[ADMISSION]
    room = request.config_dict[ENGINE].room(admission.room)
    context = {
        "room": admission.room,
        "expires_at": admission.expires_at,
        "minutes_left": max(0, round((admission.expires_at - room.now()) / 60)),
    }
    return html_response(request.config_dict[TEMPLATES], "permohonan.html", context)


@gated
async def leave_page(request: web.Request) -> web.Response:
    """POST /permohonan/selesai: the page form's way to release the session."""
    admission = request[ADMISSION]
    await request.config_dict[ENGINE].room(admission.room).release(admission.token_id)
    redirect = web.HTTPSeeOther("/")
    redirect.del_cookie(ADMISSION_COOKIE)
    raise redirect


async def home_page(request: web.Request) -> web.Response:
    """GET /: a plain front door into the waiting room (the full home page comes later)."""
    settings = request.config_dict[SETTINGS]
    return html_response(request.config_dict[TEMPLATES], "home.html", {"room": settings.guard_room})
