"""Accounts in the browser: register, verify the e-mail address, log in and out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import MultiMapping

from ..booking.accounts import SESSION_SECONDS, Accounts
from ..booking.errors import Invalid, Refused, TooManyAttempts
from ..caller import caller
from ..errors import refusal_status
from ..flows import BookingFlow
from ..login import SESSION_COOKIE, session_token
from . import i18n
from .csrf import checked_form
from .drafts import Drafts
from .guards import local_path
from .messages import problem_text, refusal_text
from .render import page, set_cookie
from .types import Routes

#: the address waiting for its code, so the verify form can be filled in (never in a URL)
PENDING_COOKIE = "antri_pending"
PENDING_SECONDS = 1800
AFTER_LOGIN = "/akun/permohonan"


def _next(source: MultiMapping[str]) -> str:
    return local_path(source.get("lanjut"), AFTER_LOGIN)


def _form(values: dict[str, str], lanjut: str, **more: Any) -> dict[str, Any]:
    # The password is never sent back into the page.
    return {"values": values | {"password": ""}, "lanjut": lanjut, **more}


def _registration_problem(_: i18n.Translate, field: str) -> str:
    """The text for a refused field (or for a refusal's code, where it has one)."""
    texts = {
        "common_password": _(
            "Kata sandi ini terlalu umum atau mudah ditebak. Pilih yang lebih sulit ditebak."
        ),
        "name": _("Nama 3–100 huruf, seperti di KTP."),
        "email": _("Masukkan alamat e-mail yang benar."),
        "phone": problem_text(_, "phone", ""),
        "password": _("8–128 karakter, dengan setidaknya satu huruf kapital dan satu angka."),
    }
    return texts.get(field, _("Isian tidak valid."))


def _to_verify(request: web.Request, email: str, lanjut: str) -> web.Response:
    response = web.HTTPSeeOther(f"/verifikasi?lanjut={quote(lanjut)}")
    set_cookie(response, request, PENDING_COOKIE, _cookie_safe(email), PENDING_SECONDS)
    raise response


def _cookie_safe(email: str) -> str:
    # Cookie values may not hold spaces, commas or semicolons; an e-mail address that passed
    # registration has none, but a hand-typed one on the resend form might.
    return "".join(c for c in email if c not in ' ,;"\\')


@dataclass(frozen=True, slots=True)
class AccountPages:
    """Log in and out, register, verify: bound to the flow, the accounts and the drafts."""

    flow: BookingFlow
    accounts: Accounts
    drafts: Drafts

    async def login_form(self, request: web.Request) -> web.Response:
        """GET /masuk."""
        return page(
            request,
            "masuk.html",
            {"lanjut": _next(request.query), "verified": "terverifikasi" in request.query},
        )

    async def login(self, request: web.Request) -> web.Response:
        """POST /masuk: a session cookie, then on to where the visitor was going."""
        form = await checked_form(request)
        email, lanjut = form.get("email", "").strip(), _next(form)
        _ = i18n.for_visitor(request)
        try:
            token, _account = await self.accounts.login(
                email, form.get("password", ""), caller(request)
            )
        except Refused as refusal:
            context = {
                "lanjut": lanjut,
                "email": email,
                "error": refusal_text(_, refusal.code, refusal.message),
                "unverified": refusal.code == "email_not_verified",
            }
            return page(request, "masuk.html", context, refusal_status(refusal), _retry(refusal))
        response = web.HTTPSeeOther(lanjut)
        set_cookie(response, request, SESSION_COOKIE, token, SESSION_SECONDS)
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        """POST /keluar: end the session (and forget it in this browser)."""
        await checked_form(request)
        token = session_token(request)
        if token:
            await self.accounts.logout(token)
            # A half-filled application holds a NIK: it goes with the session (its staged uploads
            # are swept by the worker).
            await self.drafts.clear(token)
        response = web.HTTPSeeOther("/")
        set_cookie(response, request, SESSION_COOKIE, "", 0)
        raise response

    async def register_form(self, request: web.Request) -> web.Response:
        """GET /daftar."""
        return page(request, "daftar.html", {"lanjut": _next(request.query), "values": {}})

    async def register(self, request: web.Request) -> web.Response:
        """POST /daftar: a new account; the code goes out by e-mail, then the verify form."""
        form = await checked_form(request)
        values = {key: form.get(key, "") for key in ("name", "email", "phone", "password")}
        lanjut = _next(form)
        _ = i18n.for_visitor(request)
        try:
            registration = await self.flow.register(dict(values))
        except Invalid as invalid:
            errors = {
                field: _registration_problem(_, invalid.codes.get(field, field))
                for field in invalid.fields
            }
            return page(request, "daftar.html", _form(values, lanjut, errors=errors), 422)
        except Refused as refusal:
            error = refusal_text(_, refusal.code, refusal.message)
            context = _form(values, lanjut, error=error, taken=refusal.code == "email_taken")
            return page(request, "daftar.html", context, refusal_status(refusal), _retry(refusal))
        return _to_verify(request, registration.email, lanjut)

    async def verify_form(self, request: web.Request) -> web.Response:
        """GET /verifikasi: enter the code that was mailed."""
        context = {
            "email": request.cookies.get(PENDING_COOKIE, ""),
            "lanjut": _next(request.query),
            "sent": "terkirim" in request.query,
        }
        return page(request, "verifikasi.html", context)

    async def verify(self, request: web.Request) -> web.Response:
        """POST /verifikasi: the address is verified; on to the login form."""
        form = await checked_form(request)
        email, lanjut = form.get("email", "").strip(), _next(form)
        _ = i18n.for_visitor(request)
        try:
            await self.accounts.verify(email, form.get("code", "").strip())
        except TooManyAttempts as refusal:
            # Waiting does not help: the code is spent until a new one is asked for.
            error = _("Terlalu banyak kode yang salah. Minta kode baru, lalu masukkan kode itu.")
            context = {"email": email, "lanjut": lanjut, "error": error}
            return page(request, "verifikasi.html", context, 429, _retry(refusal))
        except (Invalid, Refused) as refused:
            code = refused.code if isinstance(refused, Refused) else "wrong_code"
            error = (refusal_text if isinstance(refused, Refused) else problem_text)(_, code, "")
            context = {"email": email, "lanjut": lanjut, "error": error}
            status = refusal_status(refused) if isinstance(refused, Refused) else 422
            return page(request, "verifikasi.html", context, status)
        response = web.HTTPSeeOther(f"/masuk?terverifikasi=1&lanjut={quote(lanjut)}")
        set_cookie(response, request, PENDING_COOKIE, "", 0)
        raise response

    async def resend(self, request: web.Request) -> web.Response:
        """POST /verifikasi/kirim-ulang: a new code (the answer never tells whether the address
        has an account)."""
        form = await checked_form(request)
        email, lanjut = form.get("email", "").strip(), _next(form)
        try:
            await self.flow.new_code(email)
        except TooManyAttempts as refusal:
            _ = i18n.for_visitor(request)
            context = {
                "email": email,
                "lanjut": lanjut,
                "error": refusal_text(_, refusal.code, refusal.message),
            }
            return page(request, "verifikasi.html", context, 429, _retry(refusal))
        response = web.HTTPSeeOther(f"/verifikasi?terkirim=1&lanjut={quote(lanjut)}")
        set_cookie(response, request, PENDING_COOKIE, _cookie_safe(email), PENDING_SECONDS)
        raise response


def _retry(refusal: Refused) -> dict[str, str] | None:
    if isinstance(refusal, TooManyAttempts):
        return {"Retry-After": str(refusal.retry_after)}
    return None


ROUTES: Routes = [
    ("GET", "/masuk", AccountPages.login_form),
    ("POST", "/masuk", AccountPages.login),
    ("POST", "/keluar", AccountPages.logout),
    ("GET", "/daftar", AccountPages.register_form),
    ("POST", "/daftar", AccountPages.register),
    ("GET", "/verifikasi", AccountPages.verify_form),
    ("POST", "/verifikasi", AccountPages.verify),
    ("POST", "/verifikasi/kirim-ulang", AccountPages.resend),
]
