"""What a page asks of its visitor before it shows: being logged in."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from aiohttp import web

from ..login import logged_in_account

LOGIN_PAGE = "/masuk"


def local_path(value: str | None, default: str = "/") -> str:
    """`value` if it is a path on this site, else `default`: the one check of every redirect
    target taken from input (no open redirects).

    Browsers forgive a lot on the way to a URL: they drop tabs and newlines anywhere, read a
    backslash as a slash, and `//host` (or `/\\host`) as another site. So a target must be
    printable, without spaces or backslashes, start with one slash, and stay so once decoded (a
    decoded `/%2F/host` must not name a host either)."""
    if not value or len(value) > 2000:
        return default
    for text in (value, unquote(value)):
        if any(c <= " " or c == "\x7f" or c == "\\" for c in text) or not text.isprintable():
            return default
        if not text.startswith("/") or text.startswith("//"):
            return default
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return default
    return value


async def account_or_login(request: web.Request) -> int:
    """The logged-in account's id; otherwise a redirect to the login page, which comes back
    here afterwards."""
    account_id = await logged_in_account(request)
    if account_id is None:
        raise web.HTTPSeeOther(f"{LOGIN_PAGE}?lanjut={quote(request.path)}")
    return account_id
