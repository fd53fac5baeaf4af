"""The waiting-room page's content: the place, the ETA in words, the progress, the countdown to
a fair start, and where places are left when the room is sold out or closed.

The page's handler is `RoomViews.waiting_page` (api/rooms.py), beside the JSON it shares tokens
and cookies with; antre.js words and measures things the same way from the same texts.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_time

from queue_engine.room import Room, Status, VisitState
from queue_engine.shuffle import commitment

from ..appkeys import SLOTS
from ..booking.calendar import iso_utc
from . import front, i18n
from .render import countdown

#: where an admitted visitor goes from the waiting-room page
NEXT_PAGE = "/permohonan"
#: how many offices with places left a sold-out page suggests
ALTERNATIVES_SHOWN = 8
#: the waiting page asks the visitor to log in once the turn is expected within this many
#: seconds: logins are then paced by the line, and the turn is spent booking
LOGIN_NEAR_SECONDS = 120


async def waiting_context(request: web.Request, room: Room, status: Status) -> dict[str, Any]:
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
        "updated_iso": iso_utc(datetime.fromtimestamp(now, UTC)),
        "eta_text": eta_phrase(status.eta, translate) if status.eta else None,
        "waited": round(waited),
        "progress": progress_percent(waited, status.eta) if status.eta else 0,
        "keep_place_minutes": max(1, view.keep_place_seconds // 60),
        "session_minutes": max(1, view.session_seconds // 60),
        "login_near_seconds": LOGIN_NEAR_SECONDS,
        "login_soon": status.eta is not None and status.eta[1] <= LOGIN_NEAR_SECONDS,
        "login_url": f"/masuk?lanjut={quote(f'/antre/{room.name}', safe='')}",
        "when": front.moment_formatter(lang),
        "in_zones": lambda moment: front.in_zones(moment, lang),
    }
    if status.state is VisitState.PREQUEUE:
        context |= {
            "starts_at": (
                datetime.fromtimestamp(starts, ZoneInfo(front.NATIONAL_ZONE)) if starts else None
            ),
            "starts_unix": int(starts) if starts else None,
            "starts_in": countdown(starts or now),
            # The view may predate this visitor's own join: count them in.
            "cohort": max(view.arrivals, status.ticket.number if status.ticket else 0)
            - view.cohort_lo,
            "commitment": commitment(view.seed),
        }
    if status.state in (VisitState.SOLD_OUT, VisitState.CLOSED):
        # Read from the app here, not bound: RoomViews (api/rooms.py) serves the hot status
        # poll and is given only what that needs; this rare page is the one use of the slots.
        items = await front.outlooks(request.config_dict[SLOTS], datetime.now(UTC))
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
