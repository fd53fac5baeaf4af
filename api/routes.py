"""The one route table; every handler runs inside `observed` (errors, metrics)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from . import fast_routes, openapi
from .bound import json_views, page_views
from .cross_origin import cross_origin_checked
from .errors import ApiError
from .handlers import mailbox
from .handlers.offices import OfficeViews
from .metrics import HttpMetrics
from .observed import observed
from .pages import accounts as account_pages
from .pages import (
    applications,
    apply,
    bank,
    console,
    console_quotas,
    console_releases,
    console_rooms,
    front,
    language,
    officer,
)
from .refusals import UnavailableLog
from .rooms import RoomViews
from .web import Handler

#: the routes every waiting visitor calls, resolved before the router's walk (api/fast_routes.py)
BUSIEST = (("GET", "/api/v1/rooms/{room}/status"), ("POST", "/api/v1/rooms/{room}/join"))


async def not_found(request: web.Request) -> web.StreamResponse:
    """Any other path or method: 404, or 405 where the path exists with other methods; in the
    caller's format (JSON under /api/, a page elsewhere)."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        allowed |= (await resource.resolve(request))[1]
    allowed.discard("*")  # this catch-all's own
    if allowed:
        raise ApiError(
            405,
            "method_not_allowed",
            f"This address answers {', '.join(sorted(allowed))} only.",
            headers={"Allow": ", ".join(sorted(allowed))},
        )
    raise ApiError(404, "not_found", "There is nothing at this address.")


def setup_routes(
    app: web.Application, rooms: RoomViews, offices: OfficeViews, metrics: HttpMetrics
) -> None:
    """Register every route of the application."""
    refusals = UnavailableLog()  # one per process: a burst is logged once, whatever the route

    def add(method: str, path: str, handler: Handler) -> None:
        checked = cross_origin_checked(path, method, handler)
        app.router.add_route(method, path, observed(metrics, path, method, checked, refusals))

    # The JSON API, from the OpenAPI document's table (the status poll first: the router tries
    # dynamic routes in order, and it is the busiest).
    views: dict[str, object] = {"RoomViews": rooms, "OfficeViews": offices}
    views |= json_views(app) | page_views(app)

    def bound(handler: Callable[..., Awaitable[web.StreamResponse]]) -> Handler:
        """`handler`, or the app's views instance's method of that name."""
        owner = handler.__qualname__.partition(".")[0]
        if owner not in views:
            return handler
        if getattr(type(views[owner]), handler.__name__) is not handler:
            # A wrapper put around a method in a route row (a guard, say) would be skipped here:
            # decorate the method itself where it is defined.
            raise TypeError(f"route row wraps {handler.__qualname__}; decorate the method")
        method: Handler = getattr(views[owner], handler.__name__)
        return method

    for route in openapi.OPERATIONS:
        add(route.method, route.path, bound(route.handler))
    for method, path, handler in mailbox.ROUTES:
        add(method, path, bound(handler))
    add("GET", "/antre/{room}", rooms.waiting_page)
    add("POST", "/antre/{room}", rooms.join_from_page)
    areas = (front, language, account_pages, apply, applications, bank, officer, console)
    for area in (*areas, console_rooms, console_releases, console_quotas):
        for method, path, handler in area.ROUTES:
            add(method, path, bound(handler))
    app.router.add_static(
        "/static/", Path(__file__).parent / "static", append_version=True, name="static"
    )
    app.router.add_route("*", "/{tail:.*}", observed(metrics, "unmatched", "*", not_found))
    fast_routes.install(app.router, BUSIEST)

    async def flush_metrics(app: web.Application) -> None:
        metrics.flush()  # the last requests' counts, before the process ends

    app.on_cleanup.append(flush_metrics)
