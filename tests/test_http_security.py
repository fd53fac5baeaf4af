"""The HTTP layer against an attacker: cross-origin API calls, odd bodies, caching headers, and
clients that hang up. On the real app, Redis and PostgreSQL."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from api.appkeys import SETTINGS

from .booking_support import OFFICE, new_account
from .conftest import AppFactory

EVIL = "https://evil.example"


async def cookie_session(client: TestClient) -> str:
    """A logged-in session held as a browser holds it: in the cookie jar only."""
    _, login = await new_account(client)
    token = login["X-Session-Token"]
    client.session.cookie_jar.update_cookies({"antri_session": token})
    return token


async def still_logged_in(client: TestClient, token: str) -> bool:
    response = await client.get("/api/v1/account", headers={"X-Session-Token": token})
    return response.status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL, "Content-Type": "text/plain"},
        {"Origin": EVIL, "Content-Type": "application/json"},
        {"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"},
        {"Content-Type": "text/plain"},  # no Origin (an old browser): still not JSON
        {"Content-Type": "application/x-www-form-urlencoded"},
    ],
)
async def test_a_cookie_authenticated_api_change_from_elsewhere_is_refused(
    make_client: AppFactory, headers: dict[str, str]
) -> None:
    client = await make_client()
    token = await cookie_session(client)
    response = await client.post("/api/v1/logout", data=b"{}", headers=headers)
    assert response.status in (403, 415), response.status
    assert response.headers["Content-Type"].startswith("application/json")
    assert (await response.json())["error"] in ("cross_origin", "json_required")
    assert await still_logged_in(client, token)


async def test_same_origin_json_and_header_token_clients_still_work(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    token = await cookie_session(client)
    same = {"Origin": f"http://{client.host}:{client.port}", "Sec-Fetch-Site": "same-origin"}
    # A header token is not sent by a foreign page: such clients are not checked.
    foreign_but_token = {"Origin": EVIL, "Content-Type": "text/plain", "X-Session-Token": "x"}
    response = await client.post("/api/v1/logout", data=b"", headers=foreign_but_token)
    assert response.status == 200
    assert await still_logged_in(client, token)
    response = await client.post("/api/v1/logout", json={}, headers=same)
    assert response.status == 200
    assert not await still_logged_in(client, token)
    # A bodiless same-origin call (fetch with no body sends no Content-Type) is fine too.
    token = await cookie_session(client)
    assert (await client.post("/api/v1/logout", headers=same)).status == 200
    # No cookie at all: nothing to forge, nothing checked.
    client.session.cookie_jar.clear()
    response = await client.post("/api/v1/logout", headers={"Origin": EVIL})
    assert response.status == 200


@pytest.mark.parametrize(
    "query",
    ["days=%C2%B2", "days=%D9%A3", "from=9999-12-31", "from=9999-12-31&days=1", "from=0001-01-01"],
)
async def test_odd_availability_queries_are_refused_not_a_500(
    make_client: AppFactory, query: str
) -> None:
    client = await make_client()
    response = await client.get(f"/api/v1/offices/{OFFICE}/availability?{query}")
    assert response.status in (200, 400, 422), (query, response.status)


async def test_an_oversized_json_body_gets_the_json_error_shape(make_client: AppFactory) -> None:
    client = await make_client()
    big = b'{"email": "' + b"a" * (5 << 20) + b'"}'
    response = await client.post(
        "/api/v1/login", data=big, headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert (await response.json())["error"] == "too_large"
    page = await client.post(
        "/masuk",
        data=b"a=" + b"a" * (5 << 20),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert page.status == 413 and "text/html" in page.headers["Content-Type"]


async def test_json_answers_are_never_cached_nor_sniffed(make_client: AppFactory) -> None:
    client = await make_client()
    _, login = await new_account(client)
    for path, headers in [
        ("/api/v1/account", login),
        ("/api/v1/offices", {}),
        (f"/api/v1/offices/{OFFICE}/availability", {}),
        ("/api/v1/nowhere", {}),
        ("/api/v1/session", {}),  # a refusal, in JSON
    ]:
        response = await client.get(path, headers=headers)
        assert response.headers.get("Cache-Control") == "no-store", path
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP, cookies not Secure


async def test_strict_transport_security_when_cookies_are_secure(make_client: AppFactory) -> None:
    client = await make_client(changes={"cookie_secure": True})
    for path in ("/", "/api/v1/offices", "/tidak-ada", "/healthz"):
        response = await client.get(path)
        assert response.headers.get("Strict-Transport-Security", "").startswith("max-age="), path
    static = client.server.app.router["static"]
    response = await client.get(str(static.url_for(filename="front.css")))
    assert response.status == 200 and "Strict-Transport-Security" in response.headers


@pytest.mark.parametrize("secure", [False, True])
async def test_the_waiting_rooms_busiest_answers_keep_every_header(
    make_client: AppFactory, secure: bool
) -> None:
    """The join and the usual status poll are written by api/prepared.py, not aiohttp's
    Response: still JSON, never cached nor sniffed, the ticket cookie on the join, HSTS when
    cookies are Secure (the prepare signal), and a HEAD is refused as before."""
    client = await make_client(changes={"cookie_secure": secure})
    guard = client.server.app[SETTINGS].rooms[0]
    joined = await client.post(f"/api/v1/rooms/{guard}/join")
    ticket = (await joined.json())["ticket"]
    polled = await client.get(f"/api/v1/rooms/{guard}/status", headers={"X-Antri-Ticket": ticket})
    for response in (joined, polled):
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers.get("Cache-Control") == "no-store"
        assert response.headers.get("X-Content-Type-Options") == "nosniff"
        assert response.headers["Content-Length"] == str(len(await response.read()))
        hsts = response.headers.get("Strict-Transport-Security", "")
        assert hsts.startswith("max-age=") if secure else not hsts
    cookie = joined.headers["Set-Cookie"]
    assert cookie.startswith(f"antri_ticket={ticket};") and "HttpOnly" in cookie
    assert ("; Secure" in cookie) is secure
    assert "Set-Cookie" not in polled.headers  # the ticket as held: nothing to set
    head = await client.head(f"/api/v1/rooms/{guard}/status", headers={"X-Antri-Ticket": ticket})
    assert head.status == 405
