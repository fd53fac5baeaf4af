"""Accounts over HTTP: register, verify the e-mail address, log in and out."""

from __future__ import annotations

from aiohttp import web

from ..appkeys import ACCOUNTS, JOBS
from ..booking.accounts import SESSION_SECONDS
from ..caller import caller
from ..login import SESSION_COOKIE, require_account, session_token
from ..pages.render import secure_cookies
from ..web import cookie_header, json_response, read_json_object, strict_fields


async def register(request: web.Request) -> web.Response:
    """POST /api/v1/accounts: a new account; the verification code goes out by e-mail."""
    registration = await request.config_dict[ACCOUNTS].register(await read_json_object(request))
    await request.config_dict[JOBS].verification(registration.account_id)
    return json_response(
        {"id": registration.account_id, "email": registration.email, "verified": False}, 201
    )


async def verify(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/verify `{"email", "code"}`."""
    body = strict_fields(await read_json_object(request), {"email": str, "code": str})
    await request.config_dict[ACCOUNTS].verify(body["email"].strip(), body["code"].strip())
    return json_response({"email": body["email"].strip(), "verified": True})


async def resend(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/verify/resend `{"email"}`: mail a new code. The answer is the same
    whether or not the address has an unverified account, so it reveals nothing."""
    body = strict_fields(await read_json_object(request), {"email": str})
    registration = await request.config_dict[ACCOUNTS].new_code(body["email"].strip())
    if registration is not None:
        await request.config_dict[JOBS].verification(registration.account_id)
    return json_response({"sent": True}, 202)


async def login(request: web.Request) -> web.Response:
    """POST /api/v1/login `{"email", "password"}`: a session (cookie and token)."""
    body = strict_fields(await read_json_object(request), {"email": str, "password": str})
    token, account = await request.config_dict[ACCOUNTS].login(
        body["email"].strip(), body["password"], caller(request)
    )
    secure = secure_cookies(request)
    return json_response(
        {
            "account": {"id": account.id, "email": account.email, "name": account.name},
            "session_token": token,
            "expires_in": SESSION_SECONDS,
        },
        headers={"Set-Cookie": cookie_header(SESSION_COOKIE, token, SESSION_SECONDS, secure)},
    )


async def logout(request: web.Request) -> web.Response:
    """POST /api/v1/logout: end the session (idempotent)."""
    token = session_token(request)
    if token:
        await request.config_dict[ACCOUNTS].logout(token)
    secure = secure_cookies(request)
    return json_response(
        {"logged_out": True},
        headers={"Set-Cookie": cookie_header(SESSION_COOKIE, "", 0, secure)},
    )


async def profile(request: web.Request) -> web.Response:
    """GET /api/v1/account: the logged-in account."""
    account_id = await require_account(request)
    return json_response(await request.config_dict[ACCOUNTS].profile(account_id))
