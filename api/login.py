"""The login session of a request: a cookie for browsers, a header for API clients."""

from __future__ import annotations

from aiohttp import web

from .appkeys import ACCOUNTS
from .errors import ApiError

SESSION_COOKIE = "antri_session"
SESSION_HEADER = "X-Session-Token"
#: the logged-in account, when the gate already read the login session in its round trip
LOGGED_IN = web.RequestKey("logged_in", int)


def session_token(request: web.Request) -> str | None:
    """The session token the caller sent, if any."""
    return request.headers.get(SESSION_HEADER) or request.cookies.get(SESSION_COOKIE)


async def logged_in_account(request: web.Request) -> int | None:
    """The logged-in account's id, if the request carries a live login session (the gate's
    answer when it already read the session in its round trip).

    A request-level check, like the gate: it reads the app's accounts itself, so that every
    page and JSON handler asks the same way."""
    if LOGGED_IN in request:
        return request[LOGGED_IN]
    token = session_token(request)
    return await request.config_dict[ACCOUNTS].account_id(token) if token else None


async def require_account(request: web.Request) -> int:
    """The logged-in account's id; raises 401 otherwise."""
    account_id = await logged_in_account(request)
    if account_id is None:
        raise ApiError(401, "login_required", "Log in first.", extra={"login": "/api/v1/login"})
    return account_id
