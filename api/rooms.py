"""Waiting-room JSON and pages: join, status, public state, the admitted session."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_time

from queue_engine.engine import Engine
from queue_engine.errors import InvalidToken, MalformedToken
from queue_engine.room import Room, Status, VisitState
from queue_engine.shuffle import commitment
from queue_engine.tokens import Ticket

from .errors import ApiError
from .gate import ADMISSION, ADMISSION_COOKIE, gated
from .pages import front, i18n
from .pages.render import page
from .settings import Settings
from .web import cookie_header, json_response

TICKET_COOKIE = "antri_ticket"
TICKET_HEADER = "X-Antri-Ticket"
TICKET_COOKIE_SECONDS = 86_400
#: where an admitted visitor goes from the waiting-room page
NEXT_PAGE = "/permohonan"
#: how many offices with places left a sold-out page suggests
ALTERNATIVES_SHOWN = 8


def _iso(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


class RoomViews:
    """The waiting room's handlers, bound to the engine (no per-request lookups on hot paths)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.secure = settings.cookie_secure
        self.guard_room = settings.guard_room

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
    ) -> web.Response:
        """The status JSON, with the cookies of `_tokens`."""
        text, token, cookies = self._tokens(request, room, status, held, held_text)
        eta = status.eta
        body: dict[str, Any] = {
            "ticket": text,
            "state": status.state,  # a str enum: orjson writes its value
            "position": status.position,
            "ahead": status.ahead,
            "eta_seconds": {"low": eta[0], "high": eta[1]} if eta else None,
            "poll_after_seconds": status.poll_after,
        }
        if status.admission is not None:
            body["admission_token"] = token
            body["session_expires_at"] = _iso(status.admission.expires_at)
        return _with_cookies(json_response(body), cookies)

    async def join(self, request: web.Request) -> web.Response:
        """POST /api/v1/rooms/{room}/join: a place in line (the same one for a ticket held)."""
        room = self._room(request)
        held, text = self._held_ticket(request, room)
        return self._status_response(request, room, await room.join(held), held, text)

    async def status(self, request: web.Request) -> web.Response:
        """GET /api/v1/rooms/{room}/status: where the held ticket stands (no Redis, usually)."""
        room = self.engine.room(request.match_info["room"])
        text = _ticket_text(request)
        if not text:
            raise ApiError(400, "no_ticket", f"Send the ticket in the cookie or {TICKET_HEADER}.")
        ticket = room.signer.read_ticket(text)
        return self._status_response(request, room, await room.status(ticket), ticket, text)

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
        """GET /antre/{room}: the waiting room; works without JavaScript (meta refresh)."""
        room = self._room(request)
        held, text = self._held_ticket(request, room)
        status = await room.join(held)
        cookies = self._tokens(request, room, status, held, text)[2]
        if status.state is VisitState.ADMITTED:
            raise _with_cookies(web.HTTPSeeOther(NEXT_PAGE), cookies)
        context = await _waiting_context(request, room, status)
        return _with_cookies(page(request, "antre.html", context), cookies)


async def _waiting_context(request: web.Request, room: Room, status: Status) -> dict[str, Any]:
    """What the waiting-room page shows for `status`: the place and its ETA, the countdown to a
    fair start, or (sold out, closed) when places open next and where some are left."""
    view = room.view()
    now = room.now()
    lang = i18n.language(request)
    translate = i18n.translator(lang)
    starts = view.event_starts_ms / 1000 if view.event_starts_ms is not None else None
    waited = _waited(status, now, starts)
    context: dict[str, Any] = {
        "room": room.name,
        "state": status.state.value,
        "status": status,
        "refresh": max(1, round(status.poll_after)),
        "next_page": NEXT_PAGE,
        "updated": _wall_clock(now, lang),
        "updated_iso": _iso(now),
        "eta_text": eta_phrase(status.eta, translate) if status.eta else None,
        "waited": round(waited),
        "progress": progress_percent(waited, status.eta) if status.eta else 0,
        "keep_place_minutes": max(1, view.keep_place_seconds // 60),
        "session_minutes": max(1, view.session_seconds // 60),
        "when": front.moment_formatter(lang),
        "in_zones": lambda moment: front.in_zones(moment, lang),
    }
    if status.state is VisitState.PREQUEUE:
        context |= {
            "starts_at": (
                datetime.fromtimestamp(starts, ZoneInfo(front.NATIONAL_ZONE)) if starts else None
            ),
            "starts_unix": int(starts) if starts else None,
            "starts_in": _clock(max(0.0, (starts or now) - now)),
            # The view may predate this visitor's own join: count them in.
            "cohort": max(view.arrivals, status.ticket.number if status.ticket else 0)
            - view.cohort_lo,
            "commitment": commitment(view.seed),
        }
    if status.state in (VisitState.SOLD_OUT, VisitState.CLOSED):
        items = await front.outlooks(request, datetime.now(UTC))
        context |= {
            "release": front.soonest_release(items),
            "alternatives": front.with_places(items)[:ALTERNATIVES_SHOWN],
        }
    return context


def _waited(status: Status, now: float, starts: float | None) -> float:
    """Seconds the holder has stood in the moving line: since joining, or since the fair start
    for those who joined before it (waiting for the start is not waiting in line)."""
    if status.ticket is None:
        return 0.0
    since = float(status.ticket.issued_at)
    if starts is not None and since < starts <= now:
        since = starts
    return max(0.0, now - since)


def progress_percent(waited: float, eta: tuple[int, int]) -> int:
    """How far along the wait is, 1-99: the time waited over the time waited plus the middle of
    the ETA range. A place number alone cannot say it (the line ahead was unknown at joining),
    and this starts near 0 at joining and nears 100 at the front; the page never moves it back."""
    left = (eta[0] + eta[1]) / 2
    total = waited + left
    if total <= 0:
        return 99
    return min(99, max(1, round(100 * waited / total)))


def eta_phrase(eta: tuple[int, int], _: i18n.Translate) -> str:
    """The ETA range as people say it: "kurang dari 1 menit", "sekitar 3–5 menit", "sekitar
    1–2 jam" (antre.js words it the same way from the same texts)."""
    high = math.ceil(eta[1] / 60)
    if high <= 1:
        return _("kurang dari 1 menit")
    low = max(1, eta[0] // 60)
    if high >= 120:
        low, high = max(1, low // 60), math.ceil(high / 60)
        if low >= high:
            return _("sekitar {n} jam", n=high)
        return _("sekitar {low}–{high} jam", low=low, high=high)
    if low >= high:
        return _("sekitar {n} menit", n=high)
    return _("sekitar {low}–{high} menit", low=low, high=high)


def _wall_clock(unix: float, lang: str) -> str:
    """ "16.34.05 WIB": the time of this update on the capital's clock (antre.js then shows the
    visitor's own)."""
    moment = datetime.fromtimestamp(unix, ZoneInfo(front.NATIONAL_ZONE))
    return format_time(moment, "HH.mm.ss" if lang == "id" else "HH:mm:ss", locale=lang) + " WIB"


def _clock(seconds: float) -> str:
    """ "1:05:09" or "4:07", as antri.js counts down."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _ticket_text(request: web.Request) -> str | None:
    # The header first: reading it is cheaper than parsing the Cookie header.
    return request.headers.get(TICKET_HEADER) or request.cookies.get(TICKET_COOKIE)


R = TypeVar("R", bound=web.StreamResponse)


def _with_cookies(response: R, cookies: list[str]) -> R:
    for cookie in cookies:
        response.headers.add("Set-Cookie", cookie)
    return response
