"""The login shared by the console (/konsol) and the officer desk (/petugas): one operator
account system, so one way to read the form, count the attempt, word the refusal, show the form
again, and set and clear the session's cookie (each area's own, sent only under its path)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import NoReturn

from aiohttp import web

from ..appkeys import OPERATORS
from ..booking.errors import TooManyAttempts, Unauthenticated
from ..caller import caller
from ..operators import Actor, Operators
from . import i18n
from .csrf import checked_form
from .render import page, redirect, secure_cookies

#: seconds a wrong password waits before its answer (slows a script, not a person)
FAILURE_DELAY = 0.5


@dataclass
class LoginRefused(Exception):
    """Why the login form is shown again: the message, its status and headers, the e-mail."""

    message: str
    status: int
    email: str
    headers: dict[str, str] = field(default_factory=dict)


def login_form(
    request: web.Request, template: str, refused: LoginRefused | None = None
) -> web.Response:
    """The login form in `template` (the console's or the desk's), empty, or again with why the
    last attempt was refused (its status and headers, the e-mail typed)."""
    if refused is None:
        return page(request, template, {"error": None, "email": ""})
    context = {"error": refused.message, "email": refused.email}
    return page(request, template, context, refused.status, refused.headers)


async def operator_login(request: web.Request, wrong_password: str) -> tuple[str, Actor, str]:
    """The session id, the operator and the e-mail of a valid login form; raises LoginRefused
    (429 past the limits, counted before the check; 401 with `wrong_password`)."""
    form = await checked_form(request)
    _ = i18n.for_visitor(request)
    email = form.get("email", "").strip()[:254]
    try:
        # A request-level helper of two views classes (like the gate): it reads the app's
        # operators itself rather than have each caller pass them in.
        session_id, actor = await request.config_dict[OPERATORS].login(
            email, form.get("password", "")[:128], caller(request)
        )
    except TooManyAttempts as exc:
        minutes = -(-exc.retry_after // 60)
        message = _("Terlalu banyak percobaan yang salah. Coba lagi dalam {n} menit.", n=minutes)
        raise LoginRefused(message, 429, email, {"Retry-After": str(exc.retry_after)}) from None
    except Unauthenticated:
        await asyncio.sleep(FAILURE_DELAY)
        raise LoginRefused(wrong_password, 401, email) from None
    return session_id, actor, email


def session_cookie(request: web.Request, name: str, path: str, value: str, max_age: int) -> str:
    """Set-Cookie for an operator's session: HttpOnly, SameSite=Strict, sent only under `path`
    (the console's or the desk's)."""
    secure = "; Secure" if secure_cookies(request) else ""
    return f"{name}={value}; Max-Age={max_age}; Path={path}; HttpOnly; SameSite=Strict{secure}"


def logged_in(
    request: web.Request, name: str, path: str, session_id: str, seconds: int
) -> NoReturn:
    """Raise the redirect to `path` that sets the session's cookie `name`."""
    response = redirect(path)
    response.headers.add("Set-Cookie", session_cookie(request, name, path, session_id, seconds))
    raise response


async def log_out(request: web.Request, operators: Operators, name: str, path: str) -> NoReturn:
    """End the session of cookie `name` on the server (a copied cookie stops working), then
    raise the redirect to `path` that forgets the cookie."""
    await checked_form(request)
    await operators.logout(request.cookies.get(name, ""))
    response = redirect(path)
    response.headers.add("Set-Cookie", session_cookie(request, name, path, "", 0))
    raise response
