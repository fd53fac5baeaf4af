"""Waiting-room JSON and pages: join, status, public state, the admitted session."""

from __future__ import annotations

import time
from typing import Any, TypeVar

import orjson
from aiohttp import web

from queue_engine.engine import Engine
from queue_engine.errors import InvalidToken, JoinBudgetSpent, MalformedToken
from queue_engine.proof import ProofRejected
from queue_engine.room import Room, Status, VisitState
from queue_engine.scripts import JoinEntry
from queue_engine.settings import RoomState
from queue_engine.tokens import Ticket

from .errors import ApiError
from .gate import ADMISSION, ADMISSION_COOKIE, TICKET_COOKIE, TICKET_HEADER, gated
from .joining import JoinChecks
from .pages.joining import join_form, joining_page
from .pages.render import page
from .pages.waiting import NEXT_PAGE, waiting_context
from .prepared import API_JSON, PreparedResponse
from .settings import Settings
from .web import cookie_header, json_response

TICKET_COOKIE_SECONDS = 86_400
SET_COOKIE = "Set-Cookie"


def _iso(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


class RoomViews:
    """The waiting room's handlers, bound to the engine (no per-request lookups on hot paths)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.secure = settings.cookie_secure
        self.guard_room = settings.guard_room
        self.checks = JoinChecks(settings.secret, settings.trusted_proxies)

    def _room(self, request: web.Request) -> Room:
        return self.engine.room(request.match_info["room"])

    def _held_ticket(self, request: web.Request, room: Room) -> tuple[Ticket | None, str | None]:
        """The ticket the caller holds, if it is a genuine one; a bad one is simply ignored."""
        text = _ticket_text(request)
        if not text:
            return None, None
        try:
            return room.signer.read_ticket(text), text
        except (MalformedToken, InvalidToken):
            return None, None

    def _secure(self, request: web.Request) -> bool:
        # Asked only when a cookie is set: the usual status poll sets none.
        return self.secure or request.secure

    def _tokens(
        self,
        request: web.Request,
        room: Room,
        status: Status,
        held: Ticket | None,
        held_text: str | None,
    ) -> tuple[str, str | None, list[str]]:
        """The ticket's text, the admission token (if admitted) and the Set-Cookie values:
        the ticket cookie only when the ticket changed, the admission cookie when admitted
        (Secure over TLS, or when configured for a proxy that terminates it)."""
        ticket = status.ticket
        if ticket is None:
            text = ""
        elif ticket is held and held_text is not None:
            text = held_text  # the fast path: same ticket, nothing to sign or set
        else:
            text = room.signer.sign_ticket(ticket)
        cookies: list[str] = []
        if text and text != held_text:
            cookies.append(
                cookie_header(TICKET_COOKIE, text, TICKET_COOKIE_SECONDS, self._secure(request))
            )
        token = None
        if status.admission is not None:
            token = room.signer.sign_admission(status.admission)
            seconds = max(1, status.admission.expires_at - int(room.now()))
            cookies.append(cookie_header(ADMISSION_COOKIE, token, seconds, self._secure(request)))
        return text, token, cookies

    def _status_response(
        self,
        request: web.Request,
        room: Room,
        status: Status,
        held: Ticket | None,
        held_text: str | None,
    ) -> web.StreamResponse:
        """The status JSON, with the cookies of `_tokens`."""
        text, token, cookies = self._tokens(request, room, status, held, held_text)
        body = _status_body(text, status)
        if status.admission is not None:
            body["admission_token"] = token
            body["session_expires_at"] = _iso(status.admission.expires_at)
        # The answer's head written once but for its cookies (api/prepared.py).
        return PreparedResponse(
            orjson.dumps(body), API_JSON, extra=[(SET_COOKIE, c) for c in cookies]
        )

    async def join(self, request: web.Request) -> web.StreamResponse:
        """POST /api/v1/rooms/{room}/join: a place in line (the same one for a ticket held)."""
        room = self._room(request)
        held, text = self._held_ticket(request, room)
        entry, why = self.checks.entry(request, room)
        try:
            status = await room.join(held, entry)
        except (ProofRejected, JoinBudgetSpent) as exc:
            raise self.checks.refusal(room, exc, why) from None
        return self._status_response(request, room, status, held, text)

    async def challenge(self, request: web.Request) -> web.Response:
        """GET /api/v1/rooms/{room}/challenge: a proof of work to solve before joining."""
        body = self.checks.challenge(self._room(request))
        return json_response(body, headers={"Cache-Control": "no-store"})

    async def status(self, request: web.Request) -> web.StreamResponse:
        """GET /api/v1/rooms/{room}/status: where the held ticket stands (no Redis, usually)."""
        room = self.engine.room(request.match_info["room"])
        text = _ticket_text(request)
        if not text:
            raise ApiError(400, "no_ticket", f"Send the ticket in the cookie or {TICKET_HEADER}.")
        ticket = room.signer.read_ticket(text)
        status = room.poll(ticket) or await room.status(ticket)
        if status.ticket is ticket and status.admission is None:
            # The usual poll: the ticket as held, nothing to sign, no cookie to set; the answer
            # with its head written once (api/prepared.py).
            return PreparedResponse(orjson.dumps(_status_body(text, status)), API_JSON)
        return self._status_response(request, room, status, ticket, text)

    async def room_state(self, request: web.Request) -> web.Response:
        """GET /api/v1/rooms/{room}: the room's public state and the shuffle's audit trail."""
        return json_response(self._room(request).public_state())

    @gated
    async def session(self, request: web.Request) -> web.Response:
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
    async def release(self, request: web.Request) -> web.Response:
        """POST /api/v1/session/release: end the session now so the next visitor can come in."""
        admission = request[ADMISSION]
        await self.engine.room(admission.room).release(admission.token_id)
        response = json_response({"released": True})
        response.del_cookie(ADMISSION_COOKIE)
        return response

    async def waiting_page(self, request: web.Request) -> web.StreamResponse:
        """GET /antre/{room}: the waiting room; works without JavaScript (meta refresh). A place
        is taken only with intent: without a live ticket the page joins from the browser (with
        the proof of work), or by its form (see pages/joining.py), never on a plain GET."""
        room = self._room(request)
        held, text = self._held_ticket(request, room)
        status = await _held_status(room, held)
        if status is None:
            return joining_page(request, room, self.checks)
        return await self._waiting_response(request, room, status, held, text)

    async def join_from_page(self, request: web.Request) -> web.StreamResponse:
        """POST /antre/{room}: the waiting room's form (for browsers without JavaScript)."""
        room = self._room(request)
        await join_form(request)
        held, text = self._held_ticket(request, room)
        try:
            status = await room.join(held, JoinEntry(client=self.checks.client(request)))
        except ProofRejected:
            return joining_page(request, room, self.checks, status=428)
        except JoinBudgetSpent as exc:
            raise self.checks.refusal(room, exc, None) from None
        cookies = self._tokens(request, room, status, held, text)[2]
        raise _with_cookies(web.HTTPSeeOther(request.path), cookies)

    async def _waiting_response(
        self,
        request: web.Request,
        room: Room,
        status: Status,
        held: Ticket | None,
        text: str | None,
    ) -> web.StreamResponse:
        cookies = self._tokens(request, room, status, held, text)[2]
        if status.state is VisitState.ADMITTED:
            raise _with_cookies(web.HTTPSeeOther(NEXT_PAGE), cookies)
        context = await waiting_context(request, room, status)
        return _with_cookies(page(request, "antre.html", context), cookies)


async def _held_status(room: Room, held: Ticket | None) -> Status | None:
    """Where the held ticket stands; None when there is no live one (a closed room says so
    to everyone, since nobody could join it)."""
    if held is not None:
        try:
            return await room.status(held)
        except InvalidToken:
            pass  # spent, silent too long or from another epoch: the visitor may join again
    if room.view().state is RoomState.CLOSED:
        return Status(VisitState.CLOSED, None, poll_after=30.0)
    return None


def _status_body(text: str, status: Status) -> dict[str, Any]:
    """The status JSON's fields, but for an admission's."""
    eta = status.eta
    return {
        "ticket": text,
        "state": status.state,  # a str enum: orjson writes its value
        "position": status.position,
        "ahead": status.ahead,
        "eta_seconds": {"low": eta[0], "high": eta[1]} if eta else None,
        "poll_after_seconds": status.poll_after,
    }


def _ticket_text(request: web.Request) -> str | None:
    # The header first: reading it is cheaper than parsing the Cookie header.
    return request.headers.get(TICKET_HEADER) or request.cookies.get(TICKET_COOKIE)


R = TypeVar("R", bound=web.StreamResponse)


def _with_cookies(response: R, cookies: list[str]) -> R:
    for cookie in cookies:
        response.headers.add("Set-Cookie", cookie)
    return response
