"""The operator's API for load-test accounts on a staging instance (off unless
ANTRI_LOAD_TEST_ACCOUNTS is set; then behind the admin token): make a batch of marked test
accounts, see it, remove its bookings (places given back), remove it. See
api/booking/load_accounts.py for the mark and what a removal deletes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar, cast

from aiohttp import web

from .admin import admin_only
from .booking.accounts import Accounts
from .booking.load_accounts import LoadAccounts, Removed
from .errors import ApiError
from .models import TestBatchRequest
from .settings import Settings
from .web import json_response, read_model

H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])


def load_test_accounts_on(handler: H) -> H:
    """404, as if the route did not exist, unless this server serves test accounts; checked
    before the admin token, so that a production server says nothing about the API."""

    @wraps(handler)
    async def guarded(views: LoadAccountViews, request: web.Request) -> web.StreamResponse:
        if not views.enabled:
            raise ApiError(404, "not_found", "There is nothing at this address.")
        return await handler(views, request)

    return cast(H, guarded)


class LoadAccountViews:
    """The load-test accounts' API: bound to the accounts, on when the settings say so."""

    def __init__(self, accounts: Accounts, settings: Settings) -> None:
        self.batches = LoadAccounts(accounts)
        self.enabled = settings.load_test_accounts

    @load_test_accounts_on
    @admin_only
    async def create(self, request: web.Request) -> web.Response:
        """POST /api/v1/admin/test-accounts `{"prefix", "count", "password"}`: 201, the batch."""
        body = await read_model(request, TestBatchRequest)
        created = await self.batches.create(body.prefix, body.count, body.password)
        state = await self._state(body.prefix)
        return json_response(state | {"created": created}, status=201)

    @load_test_accounts_on
    @admin_only
    async def show(self, request: web.Request) -> web.Response:
        """GET /api/v1/admin/test-accounts/{prefix}: the batch's accounts and held places."""
        return json_response(await self._state(request.match_info["prefix"]))

    @load_test_accounts_on
    @admin_only
    async def remove_bookings(self, request: web.Request) -> web.Response:
        """DELETE /api/v1/admin/test-accounts/{prefix}/bookings: the batch's bookings are
        deleted and their places given back; the accounts stay (for the next run)."""
        prefix = request.match_info["prefix"]
        return json_response(_removed(prefix, await self.batches.remove_bookings(prefix)))

    @load_test_accounts_on
    @admin_only
    async def remove(self, request: web.Request) -> web.Response:
        """DELETE /api/v1/admin/test-accounts/{prefix}: bookings and accounts deleted."""
        prefix = request.match_info["prefix"]
        return json_response(_removed(prefix, await self.batches.remove(prefix)))

    async def _state(self, prefix: str) -> dict[str, Any]:
        accounts, holding = await self.batches.count(prefix)
        return {
            "prefix": prefix,
            "emails": f"{prefix}<n>@antri.test",
            "accounts": accounts,
            "bookings_holding_places": holding,
        }


def _removed(prefix: str, removed: Removed) -> dict[str, Any]:
    return {
        "prefix": prefix,
        "bookings_removed": removed.bookings,
        "places_freed": removed.places_freed,
        "accounts_removed": removed.accounts,
    }
