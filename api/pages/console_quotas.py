"""The console's quota page: an office's dates x sessions x lanes with booked and capacity, and
a bulk change (date range, lane, capacity) that never goes below what is booked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web

from ..booking import calendar
from ..booking.errors import Invalid, NotFound
from ..booking.quotas import MAX_DAYS, BelowBooked, Quotas, days_between
from ..booking.slots import Slots
from ..flows import BookingFlow
from ..operators import READ
from . import i18n
from .console import change_form, console_page, guard, guarded, reason_of
from .labels import lane_labels, names
from .render import redirect
from .types import Routes

#: days shown when no range is asked for
DEFAULT_DAYS = 14


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ConsoleQuotaPages:
    """The quota grid and its bulk change: bound to the slots (the offices, the grid) and the
    flow (the change, which the waiting room's inventory then follows)."""

    slots: Slots
    flow: BookingFlow

    @guarded
    async def quota_page(self, request: web.Request) -> web.Response:
        """GET /konsol/kuota?kantor=&dari=&sampai=: one office's grid."""
        await guard(request, READ)
        return await self._page(request, dict(request.query))

    async def _page(
        self,
        request: web.Request,
        asked: dict[str, str],
        status: int = 200,
        errors: dict[str, str] | None = None,
        error: str | None = None,
        over: list[dict[str, Any]] | None = None,
        notice: str | None = None,
    ) -> web.Response:
        _ = i18n.for_visitor(request)
        slots = self.slots
        office_id = asked.get("kantor") or next(iter(slots.offices))
        errors = dict(errors or {})
        office = slots.offices.get(office_id)
        if office is None:
            errors["kantor"] = _("Pilih kantor yang ada.")
            office = next(iter(slots.offices.values()))
        today = calendar.local_today(office, datetime.now(UTC))
        first = _day(asked.get("dari", "")) or today
        last = _day(asked.get("sampai", "")) or first + timedelta(days=DEFAULT_DAYS - 1)
        if last < first or (last - first).days >= MAX_DAYS:
            errors["sampai"] = _("Rentang tanggal paling panjang {n} hari.", n=MAX_DAYS)
            last = first + timedelta(days=DEFAULT_DAYS - 1)
        cells = await Quotas(slots).grid(office.id, first, last)
        by_key = {(c.day, c.session_id, c.lane): c for c in cells}
        lanes = list(office.capacity)
        lane_names = names(lane_labels(_))
        rows = [
            {
                "day": day,
                "cells": [by_key.get((day, s.id, lane)) for s in office.sessions for lane in lanes],
            }
            for day in days_between(first, last)
            if any((day, s.id, lane) in by_key for s in office.sessions for lane in lanes)
        ]
        context = {
            "offices": list(slots.offices.values()),
            "office": office,
            "first": first.isoformat(),
            "last": last.isoformat(),
            "columns": [
                (s, lane, lane_names.get(lane, lane)) for s in office.sessions for lane in lanes
            ],
            "lanes": [(lane, lane_names.get(lane, lane)) for lane in lanes],
            "rows": rows,
            "errors": errors,
            "error": error,
            "notice": notice,
            "over": over or [],
            "asked": asked,
        }
        return console_page(request, "konsol-kuota.html", context, status)

    @guarded
    async def bulk_change(self, request: web.Request) -> web.StreamResponse:
        """POST /konsol/kuota `kantor`, `dari`, `sampai`, `jalur`, `kapasitas`, `alasan`."""
        form, actor = await change_form(request)
        _ = i18n.for_visitor(request)
        asked = {k: form.get(k, "").strip()[:40] for k in ("kantor", "dari", "sampai", "jalur",
                                                          "kapasitas")}  # fmt: skip
        errors: dict[str, str] = {}
        first, last = _day(asked["dari"]), _day(asked["sampai"])
        if first is None:
            errors["dari"] = _("Isi tanggal seperti 2026-12-07.")
        if last is None:
            errors["sampai"] = _("Isi tanggal seperti 2026-12-07.")
        try:
            capacity = int(asked["kapasitas"])
        except ValueError:
            errors["kapasitas"] = _("Isi dengan angka.")
            capacity = -1
        reason = reason_of(form)
        if not reason:
            errors["alasan"] = _("Tulis alasan perubahan (untuk jejak audit).")
        refusal = _("Kuota tidak diubah; periksa isian yang ditandai.")
        if errors:
            return await self._page(request, asked, 422, errors, refusal)
        assert first is not None and last is not None
        try:
            changed = await self.flow.set_quotas(
                asked["kantor"], first, last, asked["jalur"], capacity, actor, reason
            )
        except NotFound:
            return await self._page(
                request, asked, 422, {"kantor": _("Pilih kantor yang ada.")}, refusal
            )
        except Invalid as invalid:
            messages = {
                "until": ("sampai", _("Rentang tanggal paling panjang {n} hari.", n=MAX_DAYS)),
                "lane": ("jalur", _("Pilih jalur kantor ini.")),
                "capacity": ("kapasitas", _("Kapasitas 0 sampai 10.000.")),
                "from": ("dari", _("Kantor ini tidak punya sesi pada rentang itu.")),
            }
            errors = dict(messages[name] for name in invalid.fields if name in messages)
            return await self._page(request, asked, 422, errors, refusal)
        except BelowBooked as below:
            over = [
                {"day": c.day, "session_id": c.session_id, "lane": c.lane, "booked": c.booked}
                for c in below.cells
            ]
            message = _(
                "Tidak ada yang diubah: kapasitas {n} lebih kecil dari yang sudah dipesan pada"
                " sesi di bawah ini.",
                n=capacity,
            )
            return await self._page(request, asked, 409, {"kapasitas": message}, message, over)
        raise redirect(
            f"/konsol/kuota?kantor={asked['kantor']}&dari={first}&sampai={last}&diubah={len(changed)}"
        )


ROUTES: Routes = [
    ("GET", "/konsol/kuota", ConsoleQuotaPages.quota_page),
    ("POST", "/konsol/kuota", ConsoleQuotaPages.bulk_change),
]
