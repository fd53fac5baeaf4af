"""The wrapper every route's handler runs in: errors become clear responses, requests are counted.

A wrapper per route rather than an aiohttp middleware: once any middleware exists, aiohttp runs
its middleware chain (plus an internal one of its own) on every request, which cost a quarter of
a status poll's throughput. The route's label is fixed when the table is built, too.
"""

from __future__ import annotations

import logging
from time import perf_counter

import asyncpg
from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from queue_engine.changes import InvalidChanges
from queue_engine.errors import (
    InvalidToken,
    MalformedToken,
    StorageUnavailable,
    UnknownRoom,
)

from .booking.documents import DocumentRejected
from .booking.errors import (
    Invalid,
    Refused,
    TooManyAttempts,
)
from .errors import AdmissionRequired, ApiError, TurnUsed, refusal_status
from .metrics import HttpMetrics
from .pages.render import page
from .web import Handler, json_response

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def _as_api_error(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UnknownRoom):
        return ApiError(404, "unknown_room", f"There is no waiting room called {exc}.")
    if isinstance(exc, MalformedToken):
        return ApiError(400, "malformed_ticket", "The ticket is not a ticket of this service.")
    if isinstance(exc, InvalidToken):
        return ApiError(
            401,
            "invalid_ticket",
            f"The ticket cannot be used ({exc.reason}); join the line again.",
            extra={"reason": exc.reason},
        )
    if isinstance(exc, StorageUnavailable):
        return ApiError(
            503,
            "unavailable",
            "The waiting room is briefly unavailable; your place is kept. Try again shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, Invalid):
        extra: dict[str, object] = {"fields": exc.fields, "codes": exc.codes}
        return ApiError(422, "invalid", "Some fields were refused.", extra=extra)
    if isinstance(exc, Refused):
        return _refusal(exc)
    if isinstance(exc, DocumentRejected):
        return ApiError(exc.status, exc.code, exc.message)
    if isinstance(exc, asyncpg.DataError):
        # A value the database cannot hold (a NUL in a query string, a date out of its range)
        # that no check before it caught: the request is at fault, and nothing was written.
        log.warning("value refused by the database: %r", exc)
        return ApiError(422, "invalid", "A value is out of range or not allowed.")
    if isinstance(exc, STORE_UNAVAILABLE):
        log.warning("storage unavailable: %r", exc)
        return ApiError(
            503,
            "unavailable",
            "The service is briefly unavailable; nothing was changed. Try again shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, InvalidChanges):
        return ApiError(422, "invalid", "Some fields were refused.", extra={"fields": exc.fields})
    log.exception("unexpected error", exc_info=exc)
    return ApiError(500, "internal", "Something went wrong on our side; nothing was changed.")


#: failures of a store (PostgreSQL, Redis) that a retry a little later may not meet
STORE_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    # what asyncpg raises when a pooled connection broke mid-operation and cannot be reset
    asyncpg.InternalClientError,
    RedisConnectionError,
    RedisTimeoutError,
    TimeoutError,
    OSError,  # a refused or missing socket (ConnectionError is one), a full disk
)


def _refusal(exc: Refused) -> ApiError:
    if isinstance(exc, TooManyAttempts):
        return ApiError(429, exc.code, exc.message, headers={"Retry-After": str(exc.retry_after)})
    return ApiError(refusal_status(exc), exc.code, exc.message)


def _respond(request: web.Request, error: ApiError) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        body = {"error": error.code, "message": error.message, **error.extra}
        return json_response(body, error.status, error.headers)
    if isinstance(error, TurnUsed):
        raise web.HTTPSeeOther("/akun/permohonan")  # a late double click: the booking is there
    if isinstance(error, AdmissionRequired):
        raise web.HTTPSeeOther(f"/antre/{error.room}")
    context = {
        "status": error.status,
        "code": error.code,
        "message": error.message,
        "retry_after": error.headers.get("Retry-After"),
        "waiting_room": error.extra.get("waiting_room"),
    }
    return page(request, "error.html", context, error.status, error.headers)


def observed(metrics: HttpMetrics, route: str, method: str, handler: Handler) -> Handler:
    """`handler`, with refusals and failures mapped to responses (JSON under /api/, pages
    elsewhere) and every request counted with its latency under `route`."""
    observe = metrics.route(route, method)

    async def run(request: web.Request) -> web.StreamResponse:
        started = perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            observe(exc.status, perf_counter() - started)
            raise
        except Exception as exc:
            try:
                response = _respond(request, _as_api_error(exc))
            except web.HTTPException as redirect:
                observe(redirect.status, perf_counter() - started)
                raise
        observe(response.status, perf_counter() - started)
        return response

    return run
