"""The console's rooms page: each room's state and numbers, one-click pause, resume, close and
"queue everyone", and validated edits of its limits, each change with a reason (audited by
api/room_control.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from queue_engine.changes import InvalidChanges
from queue_engine.engine import Engine
from queue_engine.errors import StorageUnavailable, UnknownRoom
from queue_engine.room import Room
from queue_engine.settings import RoomState
from queue_engine.shuffle import commitment

from .. import room_control
from ..errors import ApiError
from ..operators import READ
from . import i18n
from .console import change_form, console_page, guard, guarded, reason_of
from .i18n import Translate
from .render import redirect
from .types import Routes

#: the limits the page edits, in the order shown: (field, parse)
EDITED = ("rate_per_minute", "burst", "max_active", "session_minutes", "pow_difficulty")


def state_labels(_: Translate) -> dict[str, str]:
    """Each room state as the console names it."""
    return {
        RoomState.OPEN: _("Terbuka"),
        RoomState.PAUSED: _("Dijeda"),
        RoomState.CLOSED: _("Ditutup"),
        RoomState.QUEUE_ALL: _("Semua antre"),
    }


def room_numbers(room: Room) -> dict[str, Any] | None:
    """What the console shows of a room (None if its store cannot be reached)."""
    try:
        view = room.view()
    except StorageUnavailable:
        return None
    per_minute = view.measured_rate * 60 if view.measured_rate is not None else 0.0
    cohort_open = view.event_starts_ms is not None and view.cohort_hi is None
    return {
        "name": room.name,
        "state": view.state.value,
        "waiting": view.waiting,
        "active": view.active,
        "max_active": view.max_active,
        "offered_per_minute": round(per_minute),
        "claimed_per_minute": view.admitted_last_minute,
        "rate_per_minute": view.rate_per_minute,
        "burst": view.burst,
        "session_minutes": view.session_seconds / 60,
        "pow_difficulty": view.pow_difficulty,
        "eta_last_seconds": view.eta(view.waiting)[1] if view.waiting else 0,
        "no_show_share": round(view.noshow * 100),
        "event_starts_at": room.public_state()["event_starts_at"],
        "cohort_first": view.cohort_lo + 1,
        "cohort_last": view.cohort_hi,
        "cohort_size": (view.arrivals - view.cohort_lo) if cohort_open else None,
        "commitment": commitment(view.seed),
        "inventory": view.inventory,
        "last_number": view.arrivals,
        "serving": view.serving,
    }


def _minutes_text(seconds: int, _: Translate) -> str:
    if seconds < 60:
        return _("{n} detik", n=seconds)
    return _("{n} menit", n=round(seconds / 60))


@dataclass(frozen=True, slots=True)
class ConsoleRoomPages:
    """The rooms page and its controls: bound to the engine and the database (the audit)."""

    engine: Engine
    pool: asyncpg.Pool

    @guarded
    async def rooms_page(self, request: web.Request) -> web.Response:
        """GET /konsol/ruang: every room this process serves."""
        await guard(request, READ)
        return self._page(request)

    def _page(
        self,
        request: web.Request,
        status: int = 200,
        errors: dict[str, dict[str, str]] | None = None,
        error: str | None = None,
        notice: str | None = None,
        entered: dict[str, dict[str, str]] | None = None,
    ) -> web.Response:
        _ = i18n.for_visitor(request)
        rooms = []
        for room in self.engine.rooms:
            numbers = room_numbers(room)
            if numbers is not None:
                numbers["eta_text"] = _minutes_text(numbers["eta_last_seconds"], _)
            rooms.append({"name": room.name, "numbers": numbers})
        context = {
            "rooms": rooms,
            "states": state_labels(_),
            "errors": errors or {},
            "entered": entered or {},
            "error": error,
            "notice": notice,
        }
        return console_page(request, "konsol-ruang.html", context, status)

    def _room(self, request: web.Request) -> Room:
        try:
            return self.engine.room(request.match_info["room"])
        except UnknownRoom:
            raise ApiError(404, "unknown_room", "Ruang tunggu ini tidak ada.") from None

    @guarded
    async def set_state(self, request: web.Request) -> web.StreamResponse:
        """POST /konsol/ruang/{room}/keadaan `state`, `alasan`: pause, resume, close, queue all."""
        form, actor = await change_form(request)
        room = self._room(request)
        _ = i18n.for_visitor(request)
        state = form.get("state", "")
        if state not in {s.value for s in RoomState}:
            return self._page(request, 422, error=_("Pilih keadaan ruang yang dikenal."))
        reason = reason_of(form)
        if not reason:
            message = _("Tulis alasan perubahan (untuk jejak audit).")
            return self._page(request, 422, {room.name: {"alasan": message}}, message)
        await room_control.configure(self.pool, room, {"state": state}, actor, reason, "room.state")
        raise redirect(f"/konsol/ruang#ruang-{room.name}")

    @guarded
    async def set_limits(self, request: web.Request) -> web.StreamResponse:
        """POST /konsol/ruang/{room}/atur: rate, burst, cap, session length, proof of work; each
        refused value is named on the page (422), nothing is changed then."""
        form, actor = await change_form(request)
        room = self._room(request)
        _ = i18n.for_visitor(request)
        entered = {name: form.get(name, "").strip()[:20] for name in EDITED}
        errors: dict[str, str] = {}
        raw: dict[str, object] = {}
        for name, text in entered.items():
            if text == "":
                continue
            try:
                raw[name] = float(text) if name == "session_minutes" and "." in text else int(text)
            except ValueError:
                errors[name] = _("Isi dengan angka.")
        reason = reason_of(form)
        if not reason:
            errors["alasan"] = _("Tulis alasan perubahan (untuk jejak audit).")
        if not raw and not errors:
            errors["rate_per_minute"] = _("Tidak ada yang diubah.")
        if not errors:
            try:
                changed = await room_control.configure(self.pool, room, raw, actor, reason)
            except InvalidChanges as exc:
                errors = {name: _limit_message(name, text, _) for name, text in exc.fields.items()}
            else:
                if not changed:
                    return self._page(request, notice=_("Tidak ada yang berubah."))
                raise redirect(f"/konsol/ruang#ruang-{room.name}")
        message = _("Perubahan ditolak; periksa isian yang ditandai.")
        return self._page(request, 422, {room.name: errors}, message, entered={room.name: entered})


def _limit_message(name: str, engine_text: str, _: Translate) -> str:
    """The engine's reason for refusing a value, in the operator's language."""
    ranges = {
        "rate_per_minute": _("Laju: bilangan bulat 1 sampai 1.000.000 per menit."),
        "burst": _("Lonjakan: bilangan bulat 1 sampai 100.000."),
        "max_active": _("Batas aktif: bilangan bulat 1 sampai 10.000.000."),
        "session_minutes": _("Lama sesi: 1 sampai 240 menit."),
        "pow_difficulty": _("Bukti kerja: 0 (mati) sampai {n} bit.", n=engine_text.split()[-1]),
    }
    return ranges.get(name, engine_text)


ROUTES: Routes = [
    ("GET", "/konsol/ruang", ConsoleRoomPages.rooms_page),
    ("POST", "/konsol/ruang/{room}/keadaan", ConsoleRoomPages.set_state),
    ("POST", "/konsol/ruang/{room}/atur", ConsoleRoomPages.set_limits),
]
