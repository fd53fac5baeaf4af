"""The gate: routes the waiting room guards accept only a live admission token, presented by its
holder: with the ticket it was claimed with, and (from the first request that carries a login
session) by the account it is then bound to. One Redis script call checks the session, the
binding and the login together, and binds the admission on the first logged-in request (on a
Redis Cluster the login, in another slot, is read first: one call more)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from aiohttp import web

from queue_engine.errors import InvalidToken, MalformedToken, NotYours, TurnRefused
from queue_engine.tokens import Admission

from .appkeys import ACCOUNTS, ENGINE, SETTINGS
from .errors import AdmissionNotYours, AdmissionRequired, TurnNotGiven, TurnUsed
from .login import LOGGED_IN, session_token
from .web import bearer_token

ADMISSION_COOKIE = "antri_admission"
ADMISSION = web.RequestKey("admission", Admission)
TICKET_COOKIE = "antri_ticket"
TICKET_HEADER = "X-Antri-Ticket"

GatedHandler = Callable[..., Awaitable[web.StreamResponse]]


def admission_text(request: web.Request) -> str | None:
    """The admission token from `Authorization: Bearer …`, else from the cookie."""
    return bearer_token(request) or request.cookies.get(ADMISSION_COOKIE)


def ticket_text(request: web.Request) -> str | None:
    """The ticket from the header, else from the cookie (the header is cheaper to read)."""
    return request.headers.get(TICKET_HEADER) or request.cookies.get(TICKET_COOKIE)


async def require_admission(request: web.Request, *, bind: bool = True) -> Admission:
    """The caller's own live admission to the guarded room; raises AdmissionRequired (none, or
    not live), AdmissionNotYours (a copy) or TurnNotGiven (the account may not take it).
    `bind=False` leaves an unbound admission unbound (to give a turn back)."""
    room = request.config_dict[ENGINE].room(request.config_dict[SETTINGS].guard_room)
    text = admission_text(request)
    if not text:
        raise AdmissionRequired(room.name, "no admission token")
    login = session_token(request)
    login_key = request.config_dict[ACCOUNTS].session_key(login) if login else None
    try:
        holding = await room.holding(text, ticket_text(request), login_key, bind=bind)
        account = holding.also
        if account is None and login and holding.owner is not None:
            # A bound turn whose login Redis does not know: it may have lost it (a lost AOF
            # tail); PostgreSQL keeps every session.
            found = await request.config_dict[ACCOUNTS].account_id(login)
            account = str(found) if found is not None else None
        if account is not None:
            request[LOGGED_IN] = int(account)  # the handler need not ask Redis again
        if holding.owner is not None and holding.owner != account:
            # Bound to an account: a request without its login is a copy, like another's.
            raise NotYours("the admission is another account's turn")
        if not holding.live:
            raise InvalidToken("used" if holding.finished else "revoked")
        if holding.refused is not None:
            raise holding.refused
        if holding.owner is None and account is not None and bind:
            # Bound in the same call unless the account came from PostgreSQL (then the
            # admission had an owner already) or the session ended meanwhile.
            await room.bind(holding.admission, account)
    except MalformedToken:
        raise AdmissionRequired(room.name, "not an admission token") from None
    except InvalidToken as exc:
        if exc.reason == "used":
            raise TurnUsed(room.name) from None
        raise AdmissionRequired(room.name, exc.reason) from None
    except NotYours:
        raise AdmissionNotYours(room.name) from None
    except TurnRefused as refusal:
        raise TurnNotGiven(room.name, refusal.code, refusal.until) from None
    return holding.admission


async def end_turn(request: web.Request) -> None:
    """End the request's turn now, its booking made: the place goes back to the line."""
    admission = request.get(ADMISSION)
    if admission is None:
        return
    room = request.config_dict[ENGINE].room(admission.room)
    if LOGGED_IN in request:
        await room.finish(admission, str(request[LOGGED_IN]))
    else:
        await room.release(admission.token_id)


def gated(handler: GatedHandler) -> GatedHandler:
    """Let `handler` (a function or method whose last argument is the request) run only for
    holders of a live admission, which it finds in request[ADMISSION]."""

    @wraps(handler)
    async def guarded(*args: Any) -> web.StreamResponse:
        request: web.Request = args[-1]
        request[ADMISSION] = await require_admission(request)
        return await handler(*args)

    return guarded
