"""What a page asks of its visitor before it shows: being logged in."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from ..appkeys import ACCOUNTS
from ..login import LOGGED_IN, session_token

LOGIN_PAGE = "/masuk"


def local_path(value: str | None, default: str = "/") -> str:
    """`value` if it is a path on this site, else `default` (no open redirects)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


async def account_or_login(request: web.Request) -> int:
    """The logged-in account's id; otherwise a redirect to the login page, which comes back
    here afterwards."""
    if LOGGED_IN in request:
        return request[LOGGED_IN]
    token = session_token(request)
    account_id = await request.config_dict[ACCOUNTS].account_id(token) if token else None
    if account_id is None:
        raise web.HTTPSeeOther(f"{LOGIN_PAGE}?lanjut={quote(request.path)}")
    return account_id
