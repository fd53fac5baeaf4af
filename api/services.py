"""The booking domain's services built from the settings: shared by the app, the jobs and the
`antri` command."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from .booking.bookings import Bookings
from .booking.calendar import Holidays
from .booking.fees import FeeSchedule
from .booking.offices import load_offices
from .booking.sealing import NikSealer
from .settings import Settings


def bookings_service(pool: asyncpg.Pool, settings: Settings) -> Bookings:
    """The booking service on `pool`, with the packaged offices, fees and holidays."""
    return Bookings(
        pool,
        load_offices(),
        FeeSchedule.load(),
        Holidays.load(),
        NikSealer(settings.data_key),
        timedelta(seconds=settings.payment_window_seconds),
        settings.secret,
    )
