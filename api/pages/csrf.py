"""CSRF protection for every form: a double-submit token plus an Origin check.

The token lives in an HttpOnly cookie and in each form's hidden field; a cross-site form can send
the cookie but cannot read it to fill the field. Browsers also say where a POST came from
(`Origin`, `Sec-Fetch-Site`); a foreign one is refused even with a token.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDict, MultiDictProxy

from ..errors import ApiError

CSRF_COOKIE = "antri_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_SECONDS = 86_400 * 7


def csrf_token(request: web.Request) -> tuple[str, bool]:
    """The browser's token and whether it is new (and so must be set as a cookie)."""
    token = request.cookies.get(CSRF_COOKIE)
    if token and 20 <= len(token) <= 64:
        return token, False
    return secrets.token_urlsafe(24), True


def check_csrf(request: web.Request, sent: str | None) -> None:
    """Refuse (403) a state-changing request that did not come from one of Antri's own pages."""
    if foreign_origin(request):
        raise _refused()
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise _refused()


def foreign_origin(request: web.Request) -> bool:
    """Whether the browser says the request was made by another site's page."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    # Host only: behind a TLS-terminating proxy the scheme seen here is http.
    return origin is not None and urlsplit(origin).netloc != request.host


async def checked_form(request: web.Request) -> MultiDictProxy[str]:
    """The posted form's text fields, once its CSRF token checks out (file parts are dropped:
    uploads have their own handler)."""
    try:
        form = await request.post()
    except (ValueError, LookupError, AssertionError, HttpProcessingError) as exc:
        # Bytes that are not the form's encoding, a truncated or malformed multipart body
        # (aiohttp asserts on some of those): the sender's fault, and nothing was read.
        raise ApiError(
            400, "bad_form", "Formulir yang dikirim tidak dapat dibaca. Muat ulang halaman."
        ) from exc
    fields = MultiDict((k, v) for k, v in form.items() if isinstance(v, str))
    check_csrf(request, fields.get(CSRF_FIELD))
    if any("\x00" in value for value in fields.values()):
        # No field of Antri's holds a NUL, and PostgreSQL cannot store one in text.
        raise ApiError(400, "bad_form", "Isian formulir memuat karakter yang tidak diizinkan.")
    return MultiDictProxy(fields)


def _refused() -> ApiError:
    return ApiError(
        403, "csrf", "Formulir ini kedaluwarsa atau tidak berasal dari Antri. Muat ulang halaman."
    )
