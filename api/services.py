"""The booking domain's services built from the settings: shared by the app, the jobs and the
`antri` command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from .booking.accounts import Accounts
from .booking.bookings import Bookings
from .booking.calendar import Holidays
from .booking.fees import FeeSchedule
from .booking.offices import load_offices
from .booking.payments import Payments
from .booking.sealing import NikSealer
from .booking.slots import Slots
from .settings import Settings


@dataclass(frozen=True)
class Services:
    """The booking domain on one pool."""

    slots: Slots
    bookings: Bookings
    payments: Payments
    #: without Redis: enough for the jobs (no login sessions)
    accounts: Accounts


def booking_services(pool: asyncpg.Pool, settings: Settings) -> Services:
    """The booking domain on `pool`, with the packaged offices, fees and holidays."""
    slots = Slots(pool, load_offices(), Holidays.load())
    bookings = Bookings(
        pool,
        slots,
        FeeSchedule.load(),
        NikSealer(settings.data_key),
        timedelta(seconds=settings.payment_window_seconds),
        settings.secret,
    )
    return Services(slots, bookings, Payments(pool), Accounts(pool, None, settings.secret))
