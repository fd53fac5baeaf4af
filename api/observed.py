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
from redis.exceptions import RedisError

from queue_engine.errors import (
    InvalidToken,
    MalformedToken,
    StorageUnavailable,
    UnknownRoom,
)
from queue_engine.validation import Problems

from .booking.documents import DocumentRejected
from .booking.errors import Refused, TooManyAttempts
from .errors import AdmissionRequired, ApiError, TurnUsed, refusal_status
from .metrics import HttpMetrics
from .pages.render import page
from .prepared import has_api_head
from .refusals import UnavailableLog
from .web import Handler, json_response

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
#: the status a request is counted with when its client hung up before the answer (nginx's
#: convention): not the server's failure, so not a 5xx for the alerts
CLIENT_CLOSED = 499
TOO_LARGE = ApiError(
    413, "too_large", "The request body is too large (4 MiB at most); nothing was changed."
)


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
    if isinstance(exc, Problems):
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
    # Any Redis failure, as the engine maps them: not only a lost connection or a time-out but
    # writes refused (OOM at maxmemory, MISCONF after a failed save, READONLY on a replica).
    RedisError,
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


#: what PostgreSQL raises when it fails (a refused value, asyncpg.DataError, is the request's)
DATABASE_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def observed(
    metrics: HttpMetrics,
    route: str,
    method: str,
    handler: Handler,
    refusals: UnavailableLog | None = None,
) -> Handler:
    """`handler`, with refusals and failures mapped to responses (JSON under /api/, pages
    elsewhere) and every request counted with its latency under `route`; 503s are told to
    `refusals` (a log line per burst); the JSON API's answers get `no-store` and `nosniff`."""
    observe = metrics.route(route, method)
    database_errors = metrics.database_errors.labels(route)
    # Known once for a route; the catch-all's answers are JSON under /api/ only.
    api = route.startswith("/api/") if route != "unmatched" else None

    async def run(request: web.Request) -> web.StreamResponse:
        started = perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status != 413:  # a redirect, mostly
                observe(exc.status, perf_counter() - started)
                raise
            # aiohttp's own refusal of an oversized body is plain text: answer in our shape.
            response = _respond(request, TOO_LARGE)
        except Exception as exc:
            if _client_gone(request, exc):
                observe(CLIENT_CLOSED, perf_counter() - started)
                return web.Response(status=CLIENT_CLOSED, reason="Client Closed Request")
            if isinstance(exc, DATABASE_FAILURES) and not isinstance(exc, asyncpg.DataError):
                database_errors.inc()
            try:
                response = _respond(request, _as_api_error(exc))
            except web.HTTPException as redirect:
                observe(redirect.status, perf_counter() - started)
                raise
            if response.status == 503 and refusals is not None:
                refusals.refused(route, exc)
        if (api or (api is None and request.path.startswith("/api/"))) and not has_api_head(
            response
        ):
            # The JSON API's answers hold personal data, tokens or live state: no cache (shared
            # or the browser's) keeps them, no browser reads them as anything but JSON. Item by
            # item: a tenth of the cost of headers.update() on the status poll's path.
            headers = response.headers
            headers["Cache-Control"] = "no-store"
            headers["X-Content-Type-Options"] = "nosniff"
        observe(response.status, perf_counter() - started)
        return response

    return run


def _client_gone(request: web.Request, exc: Exception) -> bool:
    """Whether `exc` only says that the client hung up (its connection is gone): nothing to
    answer, nothing to log, and not the server's failure."""
    transport = request.transport
    return isinstance(exc, ConnectionError) and (transport is None or transport.is_closing())
