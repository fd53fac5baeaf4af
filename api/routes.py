"""The one route table; every handler runs inside `observed` (errors, metrics)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from . import admin, health, load_accounts, openapi
from .cross_origin import cross_origin_checked
from .errors import ApiError
from .handlers import accounts, bookings, events, mailbox, officers, payments
from .handlers import audit as audit_json
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

    # The status poll first: the router tries dynamic routes in order, and it is the busiest.
    add("GET", "/api/v1/rooms/{room}/status", rooms.status)
    add("POST", "/api/v1/rooms/{room}/join", rooms.join)
    add("GET", "/api/v1/rooms/{room}/challenge", rooms.challenge)
    add("GET", "/api/v1/rooms/{room}", rooms.room_state)
    add("GET", "/api/v1/session", rooms.session)
    add("POST", "/api/v1/session/release", rooms.release)
    add("GET", "/api/v1/admin/rooms", events.list_rooms)
    add("GET", "/api/v1/admin/rooms/{room}", admin.get_room)
    add("PATCH", "/api/v1/admin/rooms/{room}", admin.patch_room)
    add("PUT", "/api/v1/admin/rooms/{room}/inventory", admin.put_inventory)
    add("POST", "/api/v1/admin/rooms/{room}/revoke", admin.revoke)
    add("GET", "/api/v1/offices", offices.offices)
    add("GET", "/api/v1/offices/{id}/availability", offices.availability)
    add("GET", "/api/v1/fees", offices.fees)
    add("POST", "/api/v1/accounts", accounts.register)
    add("POST", "/api/v1/accounts/verify", accounts.verify)
    add("POST", "/api/v1/accounts/verify/resend", accounts.resend)
    add("POST", "/api/v1/login", accounts.login)
    add("POST", "/api/v1/logout", accounts.logout)
    add("GET", "/api/v1/account", accounts.profile)
    add("POST", "/api/v1/bookings", bookings.create)
    add("GET", "/api/v1/bookings", bookings.index)
    add("GET", "/api/v1/bookings/{id}", bookings.show)
    add("POST", "/api/v1/bookings/{id}/documents", bookings.documents)
    add("POST", "/api/v1/bookings/{id}/reschedule", bookings.reschedule)
    add("POST", "/api/v1/bookings/{id}/cancel", bookings.cancel)
    add("GET", "/api/v1/bookings/{id}/proof.pdf", bookings.proof)
    add("POST", "/api/v1/payments/sandbox/pay", payments.sandbox_pay)
    add("POST", "/api/v1/payments/callback", payments.callback)
    add("GET", "/api/v1/admin/bookings", officers.lookup)
    add("POST", "/api/v1/admin/bookings/{id}/status", officers.set_status)
    add("PUT", "/api/v1/admin/offices/{id}/quota", officers.set_quota)
    add("GET", "/api/v1/admin/audit/annotations", audit_json.grafana_annotations)
    add("GET", "/api/v1/admin/events", events.list_events)
    add("POST", "/api/v1/admin/events", events.add_event)
    add("POST", "/api/v1/admin/events/{id}/hold", events.hold_event)
    add("POST", "/api/v1/admin/test-accounts", load_accounts.create)
    add("GET", "/api/v1/admin/test-accounts/{prefix}", load_accounts.show)
    add("DELETE", "/api/v1/admin/test-accounts/{prefix}", load_accounts.remove)
    add("DELETE", "/api/v1/admin/test-accounts/{prefix}/bookings", load_accounts.remove_bookings)
    add("GET", "/api/openapi.json", openapi.document)
    add("GET", "/kotak-surat", mailbox.old_address)
    add("GET", mailbox.MAILBOX_PATH, mailbox.mailbox)
    add("GET", "/antre/{room}", rooms.waiting_page)
    add("POST", "/antre/{room}", rooms.join_from_page)
    areas = (front, language, account_pages, apply, applications, bank, officer, console)
    for area in (*areas, console_rooms, console_releases, console_quotas):
        for method, path, handler in area.ROUTES:
            add(method, path, handler)
    add("GET", "/healthz", health.healthz)
    add("GET", "/readyz", health.readyz)
    add("GET", "/metrics", health.metrics)
    app.router.add_static(
        "/static/", Path(__file__).parent / "static", append_version=True, name="static"
    )
    app.router.add_route("*", "/{tail:.*}", observed(metrics, "unmatched", "*", not_found))
