"""The JSON API's views classes, each built once with the services it uses (no per-request
lookups of the app's shared objects): the route table names their methods
(`openapi.OPERATIONS`), `routes.setup_routes` binds them to these instances."""

from __future__ import annotations

from aiohttp import web

from .admin import AdminViews
from .appkeys import (
    ACCOUNTS,
    BANK,
    BOOKINGS,
    DRAFTS,
    ENGINE,
    FLOW,
    OPERATORS,
    REGISTRY,
    RELEASES,
    SCRAPED,
    SETTINGS,
    SLOTS,
)
from .handlers.accounts import AccountViews
from .handlers.audit import AuditViews
from .handlers.bookings import BookingViews
from .handlers.events import EventViews
from .handlers.mailbox import MailboxPages
from .handlers.officers import OfficerViews
from .handlers.payments import PaymentViews
from .health import HealthViews
from .load_accounts import LoadAccountViews
from .pages.accounts import AccountPages
from .pages.applications import ApplicationPages
from .pages.apply import WizardPages
from .pages.bank import BankPages
from .pages.console import ConsolePages
from .pages.console_quotas import ConsoleQuotaPages
from .pages.console_releases import ConsoleReleasePages
from .pages.console_rooms import ConsoleRoomPages
from .pages.front import FrontPages
from .pages.officer import OfficerPages


def json_views(app: web.Application) -> dict[str, object]:
    """Each views class's instance for `app`, by class name (as the route table names them)."""
    settings, flow, bookings = app[SETTINGS], app[FLOW], app[BOOKINGS]
    pool, engine, accounts = bookings.pool, app[ENGINE], app[ACCOUNTS]
    views: list[object] = [
        AccountViews(flow, accounts),
        BookingViews(flow, bookings, accounts, settings.secret),
        PaymentViews(flow, app[BANK], settings.payment_secret),
        OfficerViews(flow, bookings),
        EventViews(engine, app[RELEASES]),
        AuditViews(pool),
        AdminViews(engine, pool),
        HealthViews(engine, pool, app[SCRAPED], app[REGISTRY]),
        LoadAccountViews(accounts, settings),
    ]
    return {type(view).__name__: view for view in views}


def page_views(app: web.Application) -> dict[str, object]:
    """Each page views class's instance for `app`, by class name (as the areas' ROUTES name
    them)."""
    settings, flow, bookings = app[SETTINGS], app[FLOW], app[BOOKINGS]
    views: list[object] = [
        AccountPages(flow, app[ACCOUNTS], app[DRAFTS]),
        ApplicationPages(flow, bookings.offices, app[SLOTS], settings.sandbox_payments),
        BankPages(app[BANK]),
        ConsolePages(app[OPERATORS], bookings.pool),
        ConsoleQuotaPages(app[SLOTS], flow),
        ConsoleReleasePages(app[RELEASES], app[ENGINE]),
        ConsoleRoomPages(app[ENGINE], bookings.pool),
        FrontPages(app[SLOTS], bookings.fees, app[ENGINE], settings),
        MailboxPages(settings.outbox, settings.smtp_url is not None),
        OfficerPages(flow, bookings, app[OPERATORS], settings.smtp_url is None),
        WizardPages(
            flow,
            app[ACCOUNTS],
            app[DRAFTS],
            app[SLOTS],
            bookings.fees,
            app[ENGINE],
            settings.secret,
        ),
    ]
    return {type(view).__name__: view for view in views}
