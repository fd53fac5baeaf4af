"""Accounts over HTTP: register, verify the e-mail address, log in and out."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ..booking.accounts import SESSION_SECONDS, Accounts
from ..caller import caller
from ..flows import BookingFlow
from ..login import SESSION_COOKIE, require_account, session_token
from ..models import Credentials, NewCode, Verification
from ..pages.render import secure_cookies
from ..web import cookie_header, json_response, read_json_object, read_model


@dataclass(frozen=True, slots=True)
class AccountViews:
    """Register, verify, log in and out, the profile: bound to the flow and the accounts."""

    flow: BookingFlow
    accounts: Accounts

    async def register(self, request: web.Request) -> web.Response:
        """POST /api/v1/accounts: a new account; the verification code goes out by e-mail."""
        registration = await self.flow.register(await read_json_object(request))
        return json_response(
            {"id": registration.account_id, "email": registration.email, "verified": False}, 201
        )

    async def verify(self, request: web.Request) -> web.Response:
        """POST /api/v1/accounts/verify `{"email", "code"}`."""
        body = await read_model(request, Verification)
        await self.accounts.verify(body.email.strip(), body.code.strip())
        return json_response({"email": body.email.strip(), "verified": True})

    async def resend(self, request: web.Request) -> web.Response:
        """POST /api/v1/accounts/verify/resend `{"email"}`: mail a new code. The answer is the same
        whether or not the address has an unverified account, so it reveals nothing."""
        body = await read_model(request, NewCode)
        await self.flow.new_code(body.email.strip())
        return json_response({"sent": True}, 202)

    async def login(self, request: web.Request) -> web.Response:
        """POST /api/v1/login `{"email", "password"}`: a session (cookie and token)."""
        body = await read_model(request, Credentials)
        token, account = await self.accounts.login(
            body.email.strip(), body.password, caller(request)
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

    async def logout(self, request: web.Request) -> web.Response:
        """POST /api/v1/logout: end the session (idempotent)."""
        token = session_token(request)
        if token:
            await self.accounts.logout(token)
        secure = secure_cookies(request)
        return json_response(
            {"logged_out": True},
            headers={"Set-Cookie": cookie_header(SESSION_COOKIE, "", 0, secure)},
        )

    async def profile(self, request: web.Request) -> web.Response:
        """GET /api/v1/account: the logged-in account."""
        account_id = await require_account(request)
        return json_response(await self.accounts.profile(account_id))
