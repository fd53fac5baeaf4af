"""My applications: the account's bookings, one booking's billing or confirmation page, and
rescheduling and cancelling it.

Thin handlers over the booking service, like the JSON API's (api/handlers/bookings.py): the
service owns the rules (once-only reschedule until H-1, released dates, who owns what) and these
pages only show its answers, refusals included, in the visitor's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web
from markupsafe import Markup

from ..booking import calendar as rules
from ..booking.bookings import (
    ACTIVE,
    CHANGEABLE,
    MAX_PEOPLE_PER_ACCOUNT,
    RESCHEDULES_ALLOWED,
    reschedule_refusal,
)
from ..booking.calendar import iso_utc
from ..booking.errors import Invalid, NotFound, Refused
from ..booking.offices import Office
from ..booking.proof import qr_svg
from ..booking.slots import Slots
from ..errors import refusal_status
from ..flows import BookingFlow
from ..gate import gated
from ..views import BookingDetail
from . import i18n
from .calendar import Calendar, office_calendar, parse_slot, slot_value
from .csrf import checked_form
from .guards import account_or_login
from .i18n import Translate
from .labels import (
    document_labels,
    kind_labels,
    lane_labels,
    names,
    passport_labels,
    status_labels,
)
from .messages import refusal_text
from .render import page, redirect
from .types import Routes

LIST_PATH = "/akun/permohonan"
#: the booking wizard (behind the waiting room)
NEW_APPLICATION = "/permohonan/baru"
#: notices a redirect may ask the detail page to show (codes only: nothing personal in a URL)
NOTICES = ("dibatalkan", "jadwal-diubah")
_RESCHEDULE_NOTE = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\w+) -> (\d{4}-\d{2}-\d{2}) (\w+)$")


def labels(_: Translate) -> dict[str, str]:
    """The codes a booking shows (statuses, lanes, kinds, passport types) in the visitor's
    language."""
    return status_labels(_) | names(lane_labels(_)) | names(kind_labels(_)) | passport_labels(_)


def to_bring(_: Translate) -> dict[str, str]:
    """What each document kind is, as the applicant knows it."""
    return {
        "ktp": _("KTP asli (untuk anak: KTP orang tua)"),
        "kk": _("Kartu Keluarga (KK) asli"),
        "pendukung": _("Akta kelahiran, buku nikah, atau ijazah (asli)"),
        "paspor_lama": _("Paspor lama"),
    }


def _timeline(view: BookingDetail) -> list[dict[str, Any]]:
    """The status events, and a reschedule's from/to dates when its note tells them."""
    entries = []
    for event in view.timeline:
        note = event.note if event.status == "rescheduled" else None
        moved = _RESCHEDULE_NOTE.match(note or "")
        entries.append(
            {
                "status": event.status,
                "at": event.at,
                "iso": iso_utc(event.at),
                "moved": (_day(moved[1]), _day(moved[3])) if moved else None,
            }
        )
    return entries


def _day(text: str) -> date:
    """A date of a reschedule's note (free text the booking service writes, not a field)."""
    return date.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class ApplicationPages:
    """My applications: bound to the flow, the offices and the slots."""

    flow: BookingFlow
    offices: Mapping[str, Office]
    slots: Slots
    #: whether to offer the sandbox bank's link on the billing page
    sandbox_bank: bool

    def _reschedule_block(
        self, request: web.Request, view: BookingDetail, now: datetime
    ) -> str | None:
        """Why this booking cannot be rescheduled now (a refusal code), or None if it can: the
        service's own rule, to decide whether to offer the calendar at all."""
        office = self.offices[view.office.id]
        moved = RESCHEDULES_ALLOWED - view.reschedules_left
        refusal = reschedule_refusal(view.status, moved, office, view.date, now)
        return refusal.code if refusal else None

    def _booking_context(self, request: web.Request, view: BookingDetail) -> dict[str, Any]:
        """What the booking templates need beside the view: the deadline, what the applicant may
        still do, the visitor's labels."""
        _ = i18n.for_visitor(request)
        office = self.offices[view.office.id]
        deadline = view.expires_at
        block = self._reschedule_block(request, view, datetime.now(UTC))
        return {
            "b": view,
            "day": view.date,
            "zone": view.office.timezone,
            "tz": view.office.tz,
            "label": labels(_),
            "documents": to_bring(_),
            "document_names": names(document_labels(_)),
            "deadline": deadline,
            "deadline_unix": int(deadline.timestamp()) if deadline else None,
            "can_cancel": view.status in CHANGEABLE,
            "can_reschedule": block is None,
            "reschedule_refusal": refusal_text(_, block, "") if block else None,
            # rescheduling closes when this local day (H-1) ends
            "last_change_day": rules.reschedule_allowed_until(office, view.date).date()
            - timedelta(days=1),
            "timeline": _timeline(view),
        }

    # -- the list ---------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        """GET /akun/permohonan: the account's applications and how many people it may add."""
        account_id = await account_or_login(request)
        views = await self.flow.bookings_of(account_id)
        _ = i18n.for_visitor(request)
        return page(
            request,
            "akun-permohonan.html",
            {
                "bookings": [(view, view.date) for view in views],
                "label": labels(_),
                "used": sum(1 for view in views if view.status in ACTIVE),
                "most": MAX_PEOPLE_PER_ACCOUNT,
                "new_application": NEW_APPLICATION,
            },
        )

    # -- one booking ------------------------------------------------------------------------------

    async def detail(self, request: web.Request) -> web.Response:
        """GET /akun/permohonan/{id}: the billing page while unpaid, the confirmation once paid,
        and always the timeline. Someone else's booking is the 404 page."""
        account_id = await account_or_login(request)
        view = await self.flow.booking(account_id, request.match_info["id"])
        context = self._booking_context(request, view) | {
            "notice": request.query.get("pesan") if request.query.get("pesan") in NOTICES else None,
            "sandbox_bank": self.sandbox_bank,
            # segno's own markup (no text of ours in it): the one thing not escaped
            "qr": Markup(qr_svg(view.qr_text)) if view.qr_text else None,
        }
        return page(request, "akun-permohonan-detail.html", context)

    # -- reschedule -------------------------------------------------------------------------------

    async def _reschedule_page(
        self,
        request: web.Request,
        view: BookingDetail,
        error: str | None = None,
        selected: str | None = None,
        status: int = 200,
    ) -> web.Response:
        """The reschedule form: the booking's office and lane on the calendar (none once it can
        no longer be rescheduled)."""
        context = self._booking_context(request, view)
        cal: Calendar | None = None
        if context["can_reschedule"]:
            cal = await office_calendar(self.slots, view.office.id, view.lane, datetime.now(UTC))
        current = slot_value(view.date, view.session.id)
        context |= {"cal": cal, "error": error, "selected": selected, "current": current}
        return page(request, "akun-jadwal-ulang.html", context, status)

    @gated
    async def reschedule_form(self, request: web.Request) -> web.Response:
        """GET /akun/permohonan/{id}/jadwal-ulang (admitted, like the API's reschedule)."""
        account_id = await account_or_login(request)
        view = await self.flow.booking(account_id, request.match_info["id"])
        return await self._reschedule_page(request, view)

    @gated
    async def reschedule(self, request: web.Request) -> web.Response:
        """POST /akun/permohonan/{id}/jadwal-ulang: move the booking to the chosen session."""
        account_id = await account_or_login(request)
        form = await checked_form(request)
        flow = self.flow
        booking_id = request.match_info["id"]
        _ = i18n.for_visitor(request)
        chosen = parse_slot(form.get("slot"))
        if chosen is None:
            view = await flow.booking(account_id, booking_id)
            message = _("Pilih tanggal dan sesi yang baru.")
            return await self._reschedule_page(request, view, message, status=422)
        day, session_id = chosen
        choice = {"date": day.isoformat(), "session_id": session_id}
        try:
            await flow.reschedule(account_id, booking_id, choice, datetime.now(UTC))
        except NotFound:
            raise
        except Refused as refusal:
            view = await flow.booking(account_id, booking_id)
            message = refusal_text(_, refusal.code, refusal.message)
            selected = slot_value(day, session_id)
            return await self._reschedule_page(
                request, view, message, selected, refusal_status(refusal)
            )
        except Invalid:
            view = await flow.booking(account_id, booking_id)
            message = refusal_text(_, "unknown_slot", "")
            return await self._reschedule_page(request, view, message, status=422)
        raise redirect(f"{LIST_PATH}/{booking_id}?pesan=jadwal-diubah")

    # -- cancel -----------------------------------------------------------------------------------

    async def cancel_form(self, request: web.Request) -> web.Response:
        """GET /akun/permohonan/{id}/batal: what cancelling means, and the button."""
        account_id = await account_or_login(request)
        view = await self.flow.booking(account_id, request.match_info["id"])
        return page(request, "akun-batal.html", self._booking_context(request, view))

    async def cancel(self, request: web.Request) -> web.Response:
        """POST /akun/permohonan/{id}/batal: cancel; the place goes back to the pool at once."""
        account_id = await account_or_login(request)
        await checked_form(request)
        flow = self.flow
        booking_id = request.match_info["id"]
        try:
            await flow.cancel(account_id, booking_id)
        except NotFound:
            raise
        except Refused as refusal:
            view = await flow.booking(account_id, booking_id)
            context = self._booking_context(request, view) | {
                "error": refusal_text(i18n.for_visitor(request), refusal.code, refusal.message)
            }
            return page(request, "akun-batal.html", context, refusal_status(refusal))
        raise redirect(f"{LIST_PATH}/{booking_id}?pesan=dibatalkan")


ROUTES: Routes = [
    ("GET", LIST_PATH, ApplicationPages.index),
    ("GET", LIST_PATH + "/{id}", ApplicationPages.detail),
    ("GET", LIST_PATH + "/{id}/jadwal-ulang", ApplicationPages.reschedule_form),
    ("POST", LIST_PATH + "/{id}/jadwal-ulang", ApplicationPages.reschedule),
    ("GET", LIST_PATH + "/{id}/batal", ApplicationPages.cancel_form),
    ("POST", LIST_PATH + "/{id}/batal", ApplicationPages.cancel),
]
