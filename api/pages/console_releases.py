"""The console's release calendar: upcoming releases (from the offices' rules and added by
operators), a form to add one, and the "hold this release" switch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from queue_engine.engine import Engine

from .. import params
from ..booking.errors import Conflict, Invalid, NotFound
from ..errors import ApiError
from ..operators import READ
from ..releases import Releases
from . import i18n
from .console import change_form, console_page, guard, guarded, parse_instant, reason_of
from .i18n import Translate
from .render import redirect
from .types import Routes

ZONE = "Asia/Jakarta"


def _status(event: dict[str, Any], _: Translate) -> str:
    if event["held"]:
        return _("Ditahan")
    if event["closed_at"]:
        return _("Selesai")
    if event["started_at"]:
        return _("Berjalan")
    if event["armed_at"]:
        return _("Pra-antre dibuka")
    return _("Terjadwal")


@dataclass(frozen=True, slots=True)
class ConsoleReleasePages:
    """The release calendar and its controls: bound to the releases and the engine (its
    rooms)."""

    releases: Releases
    engine: Engine

    @guarded
    async def calendar_page(self, request: web.Request) -> web.Response:
        """GET /konsol/rilis: the releases of the next two weeks."""
        await guard(request, READ)
        return await self._page(request)

    async def _page(
        self,
        request: web.Request,
        status: int = 200,
        errors: dict[str, str] | None = None,
        entered: dict[str, str] | None = None,
        error: str | None = None,
    ) -> web.Response:
        """The calendar; `error` shown at the top (by default, when `errors` name fields of the
        form to add a release, that it was not added)."""
        _ = i18n.for_visitor(request)
        lang = i18n.language(request)
        events = await self.releases.upcoming(datetime.now(UTC))
        shown = [
            event
            | {
                "status_label": _status(event, _),
                "opens_text": i18n.date_time(event["prequeue_opens_at"], lang, ZONE),
                "starts_text": i18n.date_time(event["starts_at"], lang, ZONE),
                "starts_iso": event["starts_at"].astimezone(UTC).isoformat(timespec="seconds"),
                "closes_text": (
                    i18n.date_time(event["closes_at"], lang, ZONE) if event["closes_at"] else None
                ),
            }
            for event in events
        ]
        rooms = [room.name for room in self.engine.rooms]
        context = {
            "events": shown,
            "rooms": rooms,
            "errors": errors or {},
            "entered": entered or {},
            "error": error
            or (_("Rilis tidak ditambahkan; periksa isian yang ditandai.") if errors else None),
        }
        return console_page(request, "konsol-rilis.html", context, status)

    @guarded
    async def add_event(self, request: web.Request) -> web.StreamResponse:
        """POST /konsol/rilis: a one-off release event."""
        form, actor = await change_form(request)
        _ = i18n.for_visitor(request)
        entered = {
            name: form.get(name, "").strip()[:100]
            for name in ("room", "label", "starts_at", "prequeue_minutes", "rate_per_minute",
                         "max_active", "closes_at")
        }  # fmt: skip
        errors: dict[str, str] = {}
        starts = parse_instant(entered["starts_at"])
        if starts is None:
            errors["starts_at"] = _("Isi waktu mulai, misalnya 2026-12-07T09:00 (WIB).")
        closes = parse_instant(entered["closes_at"]) if entered["closes_at"] else None
        if entered["closes_at"] and closes is None:
            errors["closes_at"] = _("Isi waktu tutup seperti waktu mulai, atau kosongkan.")
        numbers = {
            "prequeue_minutes": _number(entered["prequeue_minutes"], 30),
            "rate_per_minute": _number(entered["rate_per_minute"]),
            "max_active": _number(entered["max_active"]),
        }
        for name, value in numbers.items():
            if value is None:
                errors[name] = _("Isi dengan angka.")
        reason = reason_of(form)
        if not reason:
            errors["alasan"] = _("Tulis alasan perubahan (untuk jejak audit).")
        if not errors:
            assert starts is not None
            try:
                await self.releases.add(
                    actor,
                    entered["room"],
                    entered["label"],
                    starts,
                    numbers["prequeue_minutes"] or 0,
                    numbers["rate_per_minute"] or 0,
                    numbers["max_active"] or 0,
                    closes,
                    reason,
                    datetime.now(UTC),
                )
            except Invalid as refusal:
                errors = {name: _field_message(name, _) for name in refusal.fields}
            else:
                raise redirect("/konsol/rilis")
        return await self._page(request, 422, errors, entered)

    @guarded
    async def hold_event(self, request: web.Request) -> web.StreamResponse:
        """POST /konsol/rilis/{id}/tahan `held` (1 or 0), `alasan`: hold a release or let it go."""
        form, actor = await change_form(request)
        _ = i18n.for_visitor(request)
        event_id = _event_id(request)
        reason = reason_of(form)
        if not reason:
            return await self._page(
                request, 422, {f"hold-{event_id}": _("Tulis alasan perubahan (untuk jejak audit).")}
            )
        held = form.get("held") == "1"
        try:
            await self.releases.hold(event_id, held, actor, reason)
        except NotFound:
            raise ApiError(404, "unknown_event", "Rilis ini tidak ada.") from None
        raise redirect(f"/konsol/rilis#rilis-{event_id}")

    @guarded
    async def event_limits(self, request: web.Request) -> web.StreamResponse:
        """POST /konsol/rilis/{id}/atur `rate_per_minute`, `max_active`, `alasan`: the rate and cap
        a release not yet armed will open the room with."""
        form, actor = await change_form(request)
        _ = i18n.for_visitor(request)
        event_id = _event_id(request)
        rate = _number(form.get("rate_per_minute", ""))
        cap = _number(form.get("max_active", ""))
        reason = reason_of(form)
        key = f"limits-{event_id}"

        async def refused(status: int, message: str) -> web.Response:
            return await self._page(request, status, {key: message}, error=message)

        if rate is None or cap is None:
            return await refused(422, _("Isi dengan angka."))
        if not reason:
            return await refused(422, _("Tulis alasan perubahan (untuk jejak audit)."))
        try:
            await self.releases.set_limits(event_id, rate, cap, actor, reason)
        except NotFound:
            raise ApiError(404, "unknown_event", "Rilis ini tidak ada.") from None
        except Invalid as invalid:
            return await refused(422, _field_message(next(iter(invalid.fields)), _))
        except Conflict:
            return await refused(
                409, _("Pra-antre rilis ini sudah dibuka: ubah laju di halaman ruang tunggu.")
            )
        raise redirect(f"/konsol/rilis#rilis-{event_id}")


def _number(text: str, default: int | None = None) -> int | None:
    text = text.strip()
    if text == "" and default is not None:
        return default
    try:
        return int(text)
    except ValueError:
        return None


def _field_message(name: str, _: Translate) -> str:
    """Why the release domain refused a field, in the operator's language."""
    return {
        "room": _("Pilih ruang tunggu yang ada."),
        "label": _("Beri nama rilis (1 sampai 100 huruf)."),
        "starts_at": _(
            "Waktu mulai harus di masa depan (paling lama setahun lagi) dan belum dipakai"
            " ruang ini."
        ),
        "prequeue_minutes": _("Pra-antre: 0 sampai 1440 menit sebelum mulai."),
        "rate_per_minute": _("Laju: bilangan bulat 1 sampai 1.000.000 per menit."),
        "max_active": _("Batas aktif: bilangan bulat 1 sampai 10.000.000."),
        "closes_at": _("Waktu tutup harus sesudah waktu mulai."),
    }.get(name, name)  # fmt: skip


def _event_id(request: web.Request) -> int:
    event_id = params.event_id(request.match_info)
    if event_id is None:
        raise ApiError(404, "unknown_event", "Rilis ini tidak ada.")
    return event_id


ROUTES: Routes = [
    ("GET", "/konsol/rilis", ConsoleReleasePages.calendar_page),
    ("POST", "/konsol/rilis", ConsoleReleasePages.add_event),
    ("POST", "/konsol/rilis/{id}/tahan", ConsoleReleasePages.hold_event),
    ("POST", "/konsol/rilis/{id}/atur", ConsoleReleasePages.event_limits),
]
