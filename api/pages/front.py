"""The home page: what the service is, what it costs, when places open.

It is the page a release stampede lands on first, so the one thing it asks of the database (each
office's first open date) is computed at most once every CACHE_SECONDS per process, however many
visitors ask at once; the rest (fees, release times) is computed from data in memory.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_time

from queue_engine.engine import Engine
from queue_engine.errors import StorageUnavailable, UnknownRoom

from ..booking import calendar
from ..booking.fees import PASSPORT_TYPES, VALIDITY_YEARS, FeeSchedule, FeeTable
from ..booking.offices import ZONE_LABELS, Office
from ..booking.slots import OpenDate, Slots
from ..gate import ADMISSION_COOKIE
from ..login import SESSION_COOKIE
from ..observed import STORE_UNAVAILABLE
from ..settings import Settings
from . import i18n
from .csrf import CSRF_COOKIE, CSRF_SECONDS, csrf_token
from .render import html, page, set_cookie
from .types import Routes

log = logging.getLogger(__name__)
T = TypeVar("T")

#: how long one process serves the offices' open dates from memory (a stampede reads them a lot)
CACHE_SECONDS = 2.0
#: the zone the country's dates (fees in force, the waiting room's release) are told in
NATIONAL_ZONE = "Asia/Jakarta"


@dataclass(frozen=True)
class Outlook:
    """What an applicant wants to know about one office: when they could go, when more opens."""

    office: Office
    open: OpenDate | None  #: None when the database could not be asked
    next_release: datetime  #: aware, in the office's own zone


@dataclass(frozen=True)
class Release:
    """The soonest quota release, and the offices it opens dates at."""

    at: datetime  #: aware, in the first office's zone
    offices: tuple[Office, ...]


class _Shared(Generic[T]):
    """A value shared by every request for CACHE_SECONDS; while it is being made, other requests
    wait for that one rather than make their own (a stampede makes it once)."""

    def __init__(self) -> None:
        self.fresh_until = 0.0
        self.pending: asyncio.Future[T] | None = None

    async def get(self, make: Callable[[], Awaitable[T]]) -> T:
        if self.pending is None or time.monotonic() >= self.fresh_until:
            self.pending = asyncio.ensure_future(make())
            self.fresh_until = time.monotonic() + CACHE_SECONDS
        pending = self.pending
        try:
            # Shielded: a visitor who leaves must not cancel what the others wait for.
            return await asyncio.shield(pending)
        except BaseException:
            if self.pending is pending and pending.done():
                self.pending = None  # a failure is not kept: the next visitor tries again
            raise


#: per process and per application (tests run several apps in one process), by Slots: shared by
#: the home page and the waiting room's sold-out page
_open_dates: weakref.WeakKeyDictionary[Slots, _Shared[dict[str, OpenDate]]] = (
    weakref.WeakKeyDictionary()
)
#: stands for the visitor's CSRF token in a shared page (random: no visitor can type it)
CSRF_SLOT = "csrf-" + secrets.token_hex(16)


async def open_dates(slots: Slots) -> dict[str, OpenDate] | None:
    """Each office's first open date (recent to within CACHE_SECONDS), or None when the database
    cannot answer now: the pages then show everything else."""
    shared = _open_dates.setdefault(slots, _Shared())
    try:
        return await shared.get(lambda: slots.open_dates(datetime.now(UTC)))
    except STORE_UNAVAILABLE as exc:
        log.warning("open dates unavailable: %r", exc)
        return None


async def outlooks(slots: Slots, now: datetime) -> list[Outlook]:
    """Every office, in the offices' list order, with its first open date and next release."""
    found = await open_dates(slots)
    return [
        Outlook(
            office,
            None if found is None else found.get(office.id, OpenDate(None, 0)),
            calendar.next_release(office, now),
        )
        for office in slots.offices.values()
    ]


def soonest_release(items: list[Outlook]) -> Release | None:
    """The next release instant of any office, with every office it opens dates at."""
    if not items:
        return None
    first = min(item.next_release for item in items)
    return Release(first, tuple(i.office for i in items if i.next_release == first))


def by_province(items: list[Outlook]) -> list[tuple[str, list[Outlook]]]:
    """The offices grouped by province, provinces in the order the offices' list has them."""
    groups: dict[str, list[Outlook]] = {}
    for item in items:
        groups.setdefault(item.office.province, []).append(item)
    return list(groups.items())


def with_places(items: list[Outlook]) -> list[Outlook]:
    """The offices that have an open date, the soonest first."""
    dated = [(item.open.day, item) for item in items if item.open and item.open.day]
    return [item for _, item in sorted(dated, key=lambda pair: pair[0])]


def moment_formatter(lang: str) -> Callable[[datetime], str]:
    """`when(moment)`: an aware time as its own zone shows it, e.g. "Jum, 4 Des, 14.00 WIB"."""

    def when(moment: datetime) -> str:
        clock = format_time(moment, "HH.mm" if lang == "id" else "HH:mm", locale=lang)
        zone = ZONE_LABELS.get(str(moment.tzinfo), "")
        # A no-break space: the zone never wraps away from its hour.
        return f"{i18n.short_date(moment.date(), lang)}, {clock}\N{NO-BREAK SPACE}{zone}".rstrip()

    return when


def in_zones(moment: datetime, lang: str) -> list[str]:
    """The same instant on the clocks of the three zones: ["14.00 WIB", "15.00 WITA", …]."""
    pattern = "HH.mm" if lang == "id" else "HH:mm"
    clocks = {
        zone: format_time(moment, pattern, tzinfo=ZoneInfo(zone), locale=lang)
        for zone in ZONE_LABELS
    }
    return [f"{clocks[zone]}\N{NO-BREAK SPACE}{label}" for zone, label in ZONE_LABELS.items()]


def fee_view(table: FeeTable, lang: str) -> dict[str, Any]:
    """The fee table in force, shaped for the page: a grid of type x validity, then surcharges."""

    def label(item: Any) -> str:
        return str(item.label_en if lang == "en" else item.label_id)

    amounts = {(p.type, p.validity_years): p.amount for p in table.passports}
    return {
        "regulation": table.regulation,
        "effective_from": table.effective_from,
        "validities": VALIDITY_YEARS,
        "rows": [
            (kind, [amounts[kind, years] for years in VALIDITY_YEARS]) for kind in PASSPORT_TYPES
        ],
        "surcharges": [
            (s.code, label(s), s.amount, sorted(s.by_passport_type.items()))
            for s in table.surcharges
        ],
        "per_application": [(label(line), line.amount) for line in table.per_application],
    }


@dataclass(frozen=True, slots=True)
class FrontPages:
    """The home page: bound to the slots (the offices, their open dates), the fees, the engine
    (the waiting room's fair start) and the settings."""

    slots: Slots
    fees: FeeSchedule
    engine: Engine
    settings: Settings
    #: the home page as rendered for visitors who are not logged in, by language and whether the
    #: visitor holds a turn (the banner): the same page for each of them but for the CSRF token,
    #: which is rendered as CSRF_SLOT and filled in per visitor
    rendered: dict[tuple[str, bool], _Shared[str]] = field(default_factory=dict)

    async def home(self, request: web.Request) -> web.Response:
        """GET /: the mission, the fees in force, each office's first open date, the next
        release.

        A release's stampede lands here: for visitors who are not logged in (all of them see the
        same page but for their own CSRF token, filled in per visitor) it is rendered at most
        once every CACHE_SECONDS per language and per whether the visitor holds a turn (the
        banner), and requests that arrive while it renders wait for that render (BENCHMARKS.md,
        pages, shows the tail this removed)."""
        lang = i18n.language(request)
        if SESSION_COOKIE in request.cookies:
            return await self._render_home(request, lang)
        key = (lang, ADMISSION_COOKIE in request.cookies)
        shared = self.rendered.setdefault(key, _Shared())
        body = await shared.get(lambda: self._home_body(request, lang))
        # The one part that differs between these visitors: their own CSRF token.
        token, new = csrf_token(request)
        response = html(body.replace(CSRF_SLOT, token))
        if new:
            set_cookie(response, request, CSRF_COOKIE, token, CSRF_SECONDS)
        return response

    async def _home_body(self, request: web.Request, lang: str) -> str:
        body = (await self._render_home(request, lang, {"csrf": CSRF_SLOT})).text
        assert body is not None  # a rendered page is text
        return body

    async def _render_home(
        self, request: web.Request, lang: str, shared: dict[str, Any] | None = None
    ) -> web.Response:
        now = datetime.now(UTC)
        settings = self.settings
        items = await outlooks(self.slots, now)
        today = now.astimezone(ZoneInfo(NATIONAL_ZONE)).date()
        context = {
            "room": settings.guard_room,
            "fees": fee_view(self.fees.in_force(today), lang),
            "provinces": by_province(items),
            "dates_known": any(item.open is not None for item in items),
            "release": soonest_release(items),
            "room_release": self._room_release(),
            "payment_hours": max(1, settings.payment_window_seconds // 3600),
            "when": moment_formatter(lang),
            "in_zones": lambda moment: in_zones(moment, lang),
        }
        return page(request, "home.html", context | (shared or {}))

    def _room_release(self) -> datetime | None:
        """When the waiting room's next fair start is, if one is set in the future (from this
        process's recent view of the room: nothing is asked of Redis; None if it is not
        known)."""
        try:
            room = self.engine.room(self.settings.guard_room)
            starts = room.view().event_starts_ms
        except (StorageUnavailable, UnknownRoom):
            return None
        if starts is None or starts / 1000 <= room.now():
            return None
        return datetime.fromtimestamp(starts / 1000, ZoneInfo(NATIONAL_ZONE))


ROUTES: Routes = [("GET", "/", FrontPages.home)]
