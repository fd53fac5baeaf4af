"""The operations console at /konsol: login, the operator's session and the audit trail.

Operators log in with their own accounts (api/operators.py): the applicants' login limits, a
session kept in Redis (logging out ends it on the server), a cookie sent only under /konsol with
SameSite=Strict. Every form carries the CSRF token and is refused from a foreign Origin. What a
role may see or change is checked on every request (`guard`): a viewer reads only (403 on any
change), an officer has the desk (/petugas), not the console's controls.

The rooms, releases and quotas pages are in console_rooms.py, console_releases.py and
console_quotas.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web
from multidict import MultiDictProxy

from .. import audit
from ..appkeys import OPERATORS
from ..operators import READ, STEER, Actor, Operators
from . import i18n
from .csrf import checked_form
from .operator_login import LoginRefused, log_out, logged_in, login_form, operator_login
from .render import page, redirect
from .types import Routes

CONSOLE_COOKIE = "antri_konsol"
CONSOLE_PATH = "/konsol"
CONSOLE_SECONDS = 8 * 3600
#: what a reason for a change may hold
REASON_LENGTH = 300
#: where a checked request keeps its operator
OPERATOR = web.RequestKey("console_operator", Actor)
LOGIN_TEMPLATE = "konsol-masuk.html"
H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])


async def operator(request: web.Request) -> Actor | None:
    """The operator of the console session the request carries, if it is live.

    A request-level check (like the gate), used by every console area's `guard`: it reads the
    app's operators itself rather than have each area's views carry them."""
    return await request.config_dict[OPERATORS].session(request.cookies.get(CONSOLE_COOKIE, ""))


async def guard(request: web.Request, permission: frozenset[str]) -> Actor:
    """The logged-in operator if their role has `permission`: else the login page (401) for
    someone not logged in (a 303 to it), or 403 with a clear message for a role without it."""
    actor = await operator(request)
    if actor is None:
        raise redirect(CONSOLE_PATH)  # the login form
    if not actor.may(permission):
        _ = i18n.for_visitor(request)
        if permission is STEER:
            message = _("Peran Anda ({role}) hanya boleh melihat, tidak mengubah.", role=actor.role)
        else:
            message = _("Peran Anda ({role}) tidak membuka bagian konsol ini.", role=actor.role)
        request[OPERATOR] = actor
        raise Refusal(console_page(request, "konsol-tolak.html", {"refusal": message}, 403))
    request[OPERATOR] = actor
    return actor


async def change_form(request: web.Request) -> tuple[MultiDictProxy[str], Actor]:
    """The form of a change and its operator: the CSRF token (and Origin) checked first, then
    the operator's right to steer (`guard`), in that order for every console change."""
    form = await checked_form(request)
    return form, await guard(request, STEER)


class Refusal(Exception):
    """A console page that refuses the request (403), raised from deep in a handler."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def guarded(handler: H) -> H:
    """`handler` (a views method, or a function, whose last argument is the request), answering
    a Refusal raised inside it with its page.

    Put on the method itself, where it is defined: the route tables name methods, and
    `routes.bound` takes the app's instance's method of that name, so a wrapper put around a
    method in a route row would be skipped (the app refuses to start with one)."""

    @wraps(handler)
    async def run(*args: Any) -> web.StreamResponse:
        try:
            return await handler(*args)
        except Refusal as refusal:
            return refusal.response

    return cast(H, run)


def reason_of(form: Any) -> str:
    """The reason a change form gives, on one line (empty if none was given)."""
    return " ".join(str(form.get("alasan", "")).split())[:REASON_LENGTH]


def console_page(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> web.Response:
    """A console page, with what every console page shows: the operator and their rights."""
    actor = request.get(OPERATOR)
    shared = {
        "operator": actor,
        "may_steer": actor is not None and actor.may(STEER),
        "may_read": actor is not None and actor.may(READ),
    }
    return page(request, template, shared | context, status)


# -- login and the audit trail -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsolePages:
    """The console's door (login, logout, the overview) and its audit trail: bound to the
    operators and the database."""

    operators: Operators
    pool: asyncpg.Pool

    async def home(self, request: web.Request) -> web.Response:
        """GET /konsol: the login form, or the overview for the logged-in operator."""
        actor = await operator(request)
        if actor is None:
            return login_form(request, LOGIN_TEMPLATE)
        request[OPERATOR] = actor
        if not actor.may(READ):
            _ = i18n.for_visitor(request)
            message = _("Akun petugas loket bekerja di meja petugas, bukan di konsol.")
            return console_page(request, "konsol.html", {"desk_only": message})
        return console_page(request, "konsol.html", {"desk_only": None})

    async def log_in(self, request: web.Request) -> web.StreamResponse:
        """POST /konsol/masuk `email`, `password`: the login (attempts counted before the
        check)."""
        _ = i18n.for_visitor(request)
        wrong = _("E-mail atau kata sandi salah. Periksa lagi lalu coba kembali.")
        try:
            session_id, _actor, _email = await operator_login(request, wrong)
        except LoginRefused as refused:
            return login_form(request, LOGIN_TEMPLATE, refused)
        logged_in(request, CONSOLE_COOKIE, CONSOLE_PATH, session_id, CONSOLE_SECONDS)

    async def log_out(self, request: web.Request) -> web.StreamResponse:
        """POST /konsol/keluar: end the session on the server and forget the cookie."""
        await log_out(request, self.operators, CONSOLE_COOKIE, CONSOLE_PATH)

    @guarded
    async def audit_page(self, request: web.Request) -> web.Response:
        """GET /konsol/audit?target=…: the newest changes first, optionally of one target."""
        await guard(request, READ)
        target = request.query.get("target", "").strip()[:200] or None
        rows = await audit.recent(self.pool, 200, target=target)
        lang = i18n.language(request)
        shown = [
            row
            | {
                "when": i18n.date_time(row["at"], lang, "Asia/Jakarta"),
                "iso": row["at"].astimezone(UTC).isoformat(timespec="seconds"),
            }
            for row in rows
        ]
        context = {"rows": shown, "target": target or ""}
        return console_page(request, "konsol-audit.html", context)


def parse_instant(text: str) -> datetime | None:
    """A form's `datetime-local` value (taken in Asia/Jakarta, the offices' main zone, unless it
    names its zone) or an ISO instant; None if it is neither."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("Asia/Jakarta"))
    return moment


ROUTES: Routes = [
    ("GET", "/konsol", ConsolePages.home),
    ("POST", "/konsol/masuk", ConsolePages.log_in),
    ("POST", "/konsol/keluar", ConsolePages.log_out),
    ("GET", "/konsol/audit", ConsolePages.audit_page),
]
