"""The login form shared by the console (/konsol) and the officer desk (/petugas): one operator
account system, so one way to read the form, count the attempt, word the refusal and show the
form again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from ..appkeys import OPERATORS
from ..booking.errors import TooManyAttempts, Unauthenticated
from ..caller import caller
from ..operators import Actor
from . import i18n
from .csrf import checked_form
from .render import page

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
