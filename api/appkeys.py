"""The application's shared objects, under typed keys (no module-level singletons)."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment
from prometheus_client import CollectorRegistry

from queue_engine.engine import Engine

from .booking.accounts import Accounts
from .booking.bookings import Bookings
from .booking.documents import DocumentStore
from .booking.payments import Payments
from .booking.slots import Slots
from .flows import BookingFlow
from .jobs import JobQueue
from .metrics import BookingMetrics
from .operators import Operators
from .pages.drafts import Drafts
from .releases import Releases
from .sandbox_bank import SandboxBank
from .scraped import ScrapedMetrics
from .settings import Settings
from .sweeper import Sweeper

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
REGISTRY = web.AppKey("registry", CollectorRegistry)
TEMPLATES = web.AppKey("templates", Environment)
BOOKINGS = web.AppKey("bookings", Bookings)
SLOTS = web.AppKey("slots", Slots)
PAYMENTS = web.AppKey("payments", Payments)
ACCOUNTS = web.AppKey("accounts", Accounts)
DOCUMENTS = web.AppKey("documents", DocumentStore)
JOBS = web.AppKey("jobs", JobQueue)
SWEEPER = web.AppKey("sweeper", Sweeper)
BOOKING_METRICS = web.AppKey("booking_metrics", BookingMetrics)
DRAFTS = web.AppKey("drafts", Drafts)
SCRAPED = web.AppKey("scraped", ScrapedMetrics)
FLOW = web.AppKey("flow", BookingFlow)
OPERATORS = web.AppKey("operators", Operators)
RELEASES = web.AppKey("releases", Releases)
BANK = web.AppKey("bank", SandboxBank)
