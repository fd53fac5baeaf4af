"""The operator's API for load-test accounts on a staging instance (off unless
ANTRI_LOAD_TEST_ACCOUNTS is set; then behind the admin token): make a batch of marked test
accounts, see it, remove its bookings (places given back), remove it. See
api/booking/load_accounts.py for the mark and what a removal deletes."""

from __future__ import annotations

from functools import wraps
from typing import Any

from aiohttp import web

from .admin import admin_only
from .appkeys import ACCOUNTS, SETTINGS
from .booking.errors import Invalid
from .booking.load_accounts import LoadAccounts, Removed
from .errors import ApiError
from .web import Handler, json_response, read_json_object


def load_test_accounts_on(handler: Handler) -> Handler:
    """404, as if the route did not exist, unless this server serves test accounts; checked
    before the admin token, so that a production server says nothing about the API."""

    @wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        if not request.config_dict[SETTINGS].load_test_accounts:
            raise ApiError(404, "not_found", "There is nothing at this address.")
        return await handler(request)

    return guarded


def _batches(request: web.Request) -> LoadAccounts:
    return LoadAccounts(request.config_dict[ACCOUNTS])


@load_test_accounts_on
@admin_only
async def create(request: web.Request) -> web.Response:
    """POST /api/v1/admin/test-accounts `{"prefix", "count", "password"}`: 201, the batch."""
    body = await read_json_object(request)
    problems = {k: "unknown field" for k in body.keys() - {"prefix", "count", "password"}}
    prefix, count, password = body.get("prefix"), body.get("count"), body.get("password")
    if not isinstance(prefix, str):
        problems["prefix"] = "a string is required"
    if not isinstance(count, int) or isinstance(count, bool):
        problems["count"] = "a whole number is required"
    if not isinstance(password, str):
        problems["password"] = "a string is required"
    if problems:
        raise Invalid(problems, dict.fromkeys(problems, "invalid"))
    assert isinstance(prefix, str) and isinstance(count, int) and isinstance(password, str)
    created = await _batches(request).create(prefix, count, password)
    return json_response(await _state(request, prefix) | {"created": created}, status=201)


@load_test_accounts_on
@admin_only
async def show(request: web.Request) -> web.Response:
    """GET /api/v1/admin/test-accounts/{prefix}: the batch's accounts and held places."""
    return json_response(await _state(request, request.match_info["prefix"]))


@load_test_accounts_on
@admin_only
async def remove_bookings(request: web.Request) -> web.Response:
    """DELETE /api/v1/admin/test-accounts/{prefix}/bookings: the batch's bookings are deleted
    and their places given back; the accounts stay (for the next run)."""
    prefix = request.match_info["prefix"]
    return json_response(_removed(prefix, await _batches(request).remove_bookings(prefix)))


@load_test_accounts_on
@admin_only
async def remove(request: web.Request) -> web.Response:
    """DELETE /api/v1/admin/test-accounts/{prefix}: bookings and accounts deleted."""
    prefix = request.match_info["prefix"]
    return json_response(_removed(prefix, await _batches(request).remove(prefix)))


async def _state(request: web.Request, prefix: str) -> dict[str, Any]:
    accounts, holding = await _batches(request).count(prefix)
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
