"""The officer's page at the immigration office counter: find a booking by its code or the QR
text of its proof, and move it one step along (checked in, interviewed, …).

Officers log in with their own officer accounts (api/operators.py), so each step they record
carries their name. The cookie holds a random session id; the session lives in Redis, so logging
out ends it (a copied cookie stops working).
Lookups are POSTs, so that QR texts and codes stay out of URLs and access logs.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from babel.dates import format_date

from ..appkeys import OPERATORS, SETTINGS
from ..booking.accounts import LOGIN_FAILURES
from ..booking.bookings import OFFICER_STEPS, Bookings
from ..booking.errors import Invalid, Refused
from ..flows import BookingFlow, typed
from ..operators import DESK, Actor, Operators
from ..views import BookingDetail
from ..web import bearer_token
from . import i18n
from .csrf import checked_form
from .i18n import Translate
from .labels import (
    document_labels,
    kind_labels,
    lane_labels,
    names,
    passport_labels,
    status_labels,
)
from .operator_login import LoginRefused, log_out, logged_in, login_form, operator_login
from .render import page
from .types import Routes

OFFICER_COOKIE = "antri_officer"
OFFICER_SECONDS = 8 * 3600
OFFICER_PATH = "/petugas"
LOGIN_TEMPLATE = "petugas-masuk.html"
#: failed logins per account and client address before that address must wait (the applicants')
MAX_FAILURES = LOGIN_FAILURES
#: no booking code or QR text is longer; anything longer is not worth looking up
MAX_LOOKUP = 200
NOTE_LENGTH = 500


# -- the officer's cookie -------------------------------------------------------------------------
# Request-level checks (like the gate), also used by the mailbox page: they read the app's
# operators and settings themselves rather than have each caller pass them in.


async def officer(request: web.Request) -> Actor | None:
    """The officer (or admin) whose live desk session the request carries, if any."""
    actor = await request.config_dict[OPERATORS].session(request.cookies.get(OFFICER_COOKIE, ""))
    return actor if actor is not None and actor.may(DESK) else None


async def is_officer(request: web.Request) -> bool:
    """Whether the request carries a live desk session of an officer or admin."""
    return await officer(request) is not None


def is_admin_token(request: web.Request, given: str) -> bool:
    """Whether `given` is the admin token (compared in constant time)."""
    expected = request.config_dict[SETTINGS].admin_token
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def is_admin(request: web.Request) -> bool:
    """Whether the request carries `Authorization: Bearer <admin token>`."""
    return is_admin_token(request, bearer_token(request) or "")


async def is_operator(request: web.Request) -> bool:
    """The admin token in the header, or an officer's session."""
    return is_admin(request) or await is_officer(request)


# -- handlers -------------------------------------------------------------------------------------


def _login_page(request: web.Request, refused: LoginRefused | None = None) -> web.Response:
    return login_form(request, LOGIN_TEMPLATE, refused)


def _session_ended(request: web.Request) -> web.Response:
    """The login form (401) for a desk form posted without a live officer's session."""
    _ = i18n.for_visitor(request)
    message = _("Sesi petugas sudah berakhir. Masuk lagi dengan akun petugas.")
    return _login_page(request, LoginRefused(message, 401, ""))


def mailbox_login_page(request: web.Request) -> web.Response:
    """The login form, for someone not logged in who opened the local mailbox."""
    _ = i18n.for_visitor(request)
    message = _("Kotak surat lokal hanya untuk petugas. Masuk dengan akun petugas.")
    return _login_page(request, LoginRefused(message, 401, ""))


def _shown(booking: BookingDetail, _: Translate, lang: str) -> dict[str, Any]:
    """What the template needs beyond the booking's own view: labels, local times, steps."""
    zone = booking.office.tz
    labels = status_labels(_)
    uploaded = {d.kind: d.uploaded_at for d in booking.documents}
    kind = passport_labels(_).get(booking.passport.type, booking.passport.type)
    years = booking.passport.validity_years
    return dict(booking) | {
        "day": booking.date,
        # A birth date without its weekday: "17 Mei 1990".
        "birth_day": format_date(booking.applicant.birth_date, "long", locale=lang),
        "passport_label": _("{jenis}, berlaku {n} tahun", jenis=kind, n=years),
        "status_label": labels.get(booking.status, booking.status),
        "lane_label": names(lane_labels(_)).get(booking.lane, booking.lane),
        "kind_label": names(kind_labels(_)).get(booking.application_kind, ""),
        "steps": [
            {"status": step, "label": _step_labels(_).get(step, step)}
            for step in OFFICER_STEPS.get(booking.status, ())
        ],
        "events": [
            {
                "label": labels.get(event.status, event.status),
                "at": i18n.date_time(event.at, lang, zone),
                "note": event.note,
            }
            for event in booking.timeline
        ],
        "document_rows": [
            {
                "label": names(document_labels(_)).get(kind, kind),
                "uploaded_at": (
                    i18n.date_time(at, lang, zone) if (at := uploaded.get(kind)) else None
                ),
            }
            for kind in booking.documents_required
        ],
    }


@dataclass(frozen=True, slots=True)
class OfficerPages:
    """The officer's desk: bound to the flow, the booking service and the operators."""

    flow: BookingFlow
    bookings: Bookings
    operators: Operators
    #: whether e-mail stays in the local outbox (the desk links to its mailbox)
    local_mailbox: bool

    async def home(self, request: web.Request) -> web.Response:
        """GET /petugas: the lookup form, or the login form for someone not logged in."""
        if not await is_officer(request):
            return _login_page(request)
        return self._desk(request)

    async def log_in(self, request: web.Request) -> web.StreamResponse:
        """POST /petugas/masuk `email`, `password`: an officer account's login (the applicants'
        limits: attempts counted before the password is checked), then the session cookie."""
        _ = i18n.for_visitor(request)
        wrong = _("E-mail atau kata sandi petugas salah. Periksa lagi lalu coba kembali.")
        try:
            session_id, actor, email = await operator_login(request, wrong)
        except LoginRefused as refused:
            return _login_page(request, refused)
        if not actor.may(DESK):
            await self.operators.logout(session_id)
            message = _("Akun ini bukan akun petugas loket.")
            return _login_page(request, LoginRefused(message, 403, email))
        logged_in(request, OFFICER_COOKIE, OFFICER_PATH, session_id, OFFICER_SECONDS)

    async def log_out(self, request: web.Request) -> web.StreamResponse:
        """POST /petugas/keluar: end the officer's session, and forget its cookie."""
        await log_out(request, self.operators, OFFICER_COOKIE, OFFICER_PATH)

    async def lookup(self, request: web.Request) -> web.Response:
        """POST /petugas/cari `kode`: a booking by its booking code or its proof's QR text."""
        form = await checked_form(request)
        if not await is_officer(request):
            return _session_ended(request)
        _ = i18n.for_visitor(request)
        text = form.get("kode", "").strip()
        bookings = self.bookings
        code = (
            bookings.code_from_qr(_as_booking_code(text)) if 0 < len(text) <= MAX_LOOKUP else None
        )
        if code is None:
            if text.upper().startswith("ANTRI:"):
                message = _("Kode QR ini tidak sah: bukan dari bukti pendaftaran Antri.")
            else:
                message = _("Masukkan kode booking atau pindai kode QR pada bukti pendaftaran.")
            return self._desk(
                request, error=message, entered=text[:MAX_LOOKUP], status=404 if text else 422
            )
        try:
            booking = await self.flow.found(code)
        except Refused:
            message = _("Tidak ada permohonan dengan kode booking {kode}.", kode=code)
            return self._desk(request, error=message, entered=text[:MAX_LOOKUP], status=404)
        return self._desk(request, booking=booking)

    async def set_status(self, request: web.Request) -> web.Response:
        """POST /petugas/status `booking_id`, `kode`, `status`, `catatan`?: the next step."""
        form = await checked_form(request)
        actor = await officer(request)
        if actor is None:
            return _session_ended(request)
        _ = i18n.for_visitor(request)
        flow = self.flow
        status = form.get("status", "")
        note = " ".join(form.get("catatan", "").split())[:NOTE_LENGTH] or None
        try:
            booking = typed(await flow.set_status(form.get("booking_id", ""), status, note, actor))
        except (Refused, Invalid) as refusal:
            shown = await self._booking_or_none(request, form.get("kode", ""))
            if isinstance(refusal, Refused) and refusal.code == "unknown_booking":
                message = _("Permohonan ini tidak ditemukan. Cari lagi dengan kode booking.")
                return self._desk(request, booking=shown, error=message, status=404)
            message = _("Langkah itu tidak dapat dicatat untuk status permohonan saat ini.")
            status_code = 422 if isinstance(refusal, Invalid) else 409
            return self._desk(request, booking=shown, error=message, status=status_code)
        notice = _("Status dicatat: {status}.", status=status_labels(_).get(status, status))
        return self._desk(request, booking=booking, notice=notice)

    # -- the desk's page ---------------------------------------------------------------------

    def _desk(
        self,
        request: web.Request,
        booking: BookingDetail | None = None,
        error: str | None = None,
        notice: str | None = None,
        entered: str = "",
        status: int = 200,
    ) -> web.Response:
        """The officer's desk: the lookup form, and the booking found (if any) with its next
        steps."""
        _ = i18n.for_visitor(request)
        context: dict[str, Any] = {
            "booking": _shown(booking, _, i18n.language(request)) if booking else None,
            "error": error,
            "notice": notice,
            "entered": entered,
            "local_mailbox": self.local_mailbox,
        }
        return page(request, "petugas.html", context, status)

    async def _booking_or_none(self, request: web.Request, code: str) -> BookingDetail | None:
        """The booking with this booking code, to show again after a refused step."""
        found = self.bookings.code_from_qr(code) if 0 < len(code) <= 40 else None
        if found is None:
            return None
        try:
            return await self.flow.found(found)
        except Refused:
            return None


def _as_booking_code(text: str) -> str:
    """A booking code typed without its dashes (or with spaces) written as printed; anything
    else (a QR text, an odd code) as it is."""
    bare = "".join(text.split()).replace("-", "")
    if ":" not in text and len(bare) == 13 and bare.isalnum():
        bare = bare.upper()
        return f"{bare[:4]}-{bare[4:8]}-{bare[8:]}"
    return text


# -- labels (literal texts, so that the catalogue check finds each one) ------------------------


def _step_labels(_: Translate) -> dict[str, str]:
    """The buttons that move a booking to each status."""
    return {
        "checked_in": _("Catat hadir"),
        "interviewed": _("Wawancara selesai"),
        "approved": _("Setujui"),
        "rejected": _("Tolak"),
        "printing": _("Mulai cetak paspor"),
        "ready": _("Paspor siap diambil"),
        "collected": _("Paspor sudah diambil"),
    }


ROUTES: Routes = [
    ("GET", "/petugas", OfficerPages.home),
    ("POST", "/petugas/masuk", OfficerPages.log_in),
    ("POST", "/petugas/keluar", OfficerPages.log_out),
    ("POST", "/petugas/cari", OfficerPages.lookup),
    ("POST", "/petugas/status", OfficerPages.set_status),
]
