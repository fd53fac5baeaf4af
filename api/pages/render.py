"""Rendering a page: language, CSRF token, the admitted session's banner, security headers."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ..appkeys import SETTINGS, TEMPLATES
from ..gate import ADMISSION, ADMISSION_COOKIE
from ..login import SESSION_COOKIE
from ..web import cookie_header
from . import i18n
from .csrf import CSRF_COOKIE, CSRF_SECONDS, csrf_token

#: Only Antri's own scripts, styles and images; no inline script, no framing, forms post home.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show personal data and live state: never from a shared or back-button cache.
    "Cache-Control": "no-store",
}


def secure_cookies(request: web.Request) -> bool:
    """Whether cookies get the Secure flag: always over TLS, or when configured (behind a proxy
    that terminates TLS)."""
    return request.secure or request.config_dict[SETTINGS].cookie_secure


#: once a browser has seen Antri over TLS, it never uses plain HTTP for it again (a year)
STRICT_TRANSPORT = "max-age=31536000; includeSubDomains"


async def strict_transport(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: HSTS on every response (pages, API, static files, aiohttp's own
    errors), registered only when cookies are Secure: then the site is reached over TLS."""
    response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT)


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str,
               max_age: int) -> None:  # fmt: skip
    """Add an HttpOnly, SameSite=Lax cookie (Secure over TLS) to `response`."""
    response.headers.add("Set-Cookie", cookie_header(name, value, max_age, secure_cookies(request)))


def page_context(request: web.Request, csrf: str) -> dict[str, Any]:
    """What every template may use: `_`, the language, formatting helpers, the CSRF token."""
    lang = i18n.language(request)
    admission = request.get(ADMISSION)
    return {
        "_": i18n.translator(lang),
        "lang": lang,
        "other_lang": "en" if lang == "id" else "id",
        "path": request.path,
        "csrf": csrf,
        "rupiah": i18n.rupiah,
        "long_date": lambda day: i18n.long_date(day, lang),
        "short_date": lambda day: i18n.short_date(day, lang),
        "date_time": lambda moment, zone: i18n.date_time(moment, lang, zone),
        "signed_in": SESSION_COOKIE in request.cookies,
        # Whether the browser still holds a turn from the waiting room (perhaps ended already).
        "holds_turn": ADMISSION_COOKIE in request.cookies,
        "session_ends_at": admission.expires_at if admission is not None else None,
        "countdown": countdown,
    }


def countdown(until: float) -> str:
    """The time left until `until` (unix seconds) as antri.js counts it down, "1:05:09" or
    "4:07": what a visitor without JavaScript sees."""
    hours, rest = divmod(max(0, int(until - time.time())), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def page(
    request: web.Request,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """`template` rendered for this visitor, with the security headers (and the CSRF cookie the
    first time: the token in the page must match it)."""
    token, new = csrf_token(request)
    full = page_context(request, token) | (context or {})
    response = html(request.config_dict[TEMPLATES].get_template(template).render(full), status)
    if headers:
        response.headers.update(headers)
    if new:
        set_cookie(response, request, CSRF_COOKIE, token, CSRF_SECONDS)
    return response


def html(body: str, status: int = 200) -> web.Response:
    """An HTML response with the security headers (a page rendered before, say)."""
    return web.Response(
        text=body, status=status, content_type="text/html", headers=SECURITY_HEADERS
    )


def redirect(location: str) -> web.HTTPSeeOther:
    """A 303 to `location` (after a POST, so a reload does not post again)."""
    return web.HTTPSeeOther(location)
