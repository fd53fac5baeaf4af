"""Helpers for the page tests: a browser-like client's CSRF token and form posts."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from api.appkeys import SETTINGS
from api.login import SESSION_COOKIE

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def csrf_of(client: TestClient, path: str = "/masuk") -> str:
    """The CSRF token of this client's cookie jar, as the pages put it in their forms."""
    response = await client.get(path, allow_redirects=False)
    match = _CSRF.search(await response.text())
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def post_form(
    client: TestClient, path: str, fields: dict[str, Any], *, csrf: str | None = None
) -> ClientResponse:
    """POST `fields` as a page's form would, with the CSRF token (unless `csrf` is given)."""
    token = csrf if csrf is not None else await csrf_of(client)
    return await client.post(path, data={"csrf": token, **fields}, allow_redirects=False)


def sign_in(client: TestClient, login_headers: dict[str, str]) -> None:
    """Put a login session (from booking_support.new_account) in the client's cookie jar."""
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: login_headers["X-Session-Token"]})


def session_of(client: TestClient) -> str:
    """The login session token in the client's cookie jar."""
    cookie = next(c for c in client.session.cookie_jar if c.key == SESSION_COOKIE)
    return cookie.value


def location(response: ClientResponse) -> str:
    """Where a 303 points."""
    assert response.status == 303, f"{response.status}: expected a redirect"
    return response.headers["Location"]


def page_form_paths(client: TestClient, step: str) -> set[str]:
    """Every POST route outside the JSON API (the pages' forms), its placeholders filled: the
    wizard's `step`, a booking id, English, the guard room."""
    values = {
        "step": step,
        "id": "0c5e4f5e-8a8b-4f9a-9a55-8d8f6f1b2c3d",
        "lang": "en",
        "room": client.server.app[SETTINGS].guard_room,
    }
    return {
        route.resource.canonical.format_map(values)
        for route in client.server.app.router.routes()
        if route.method == "POST"
        and route.resource is not None
        and not route.resource.canonical.startswith("/api/")
    }
