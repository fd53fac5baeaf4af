"""The HTTP contract of the waiting room, the gate and the admin API, on the real app and Redis."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from api.appkeys import ENGINE, SETTINGS

from .conftest import ADMIN_TOKEN, AppFactory

STATUS_FIELDS = {"ticket", "state", "position", "ahead", "eta_seconds", "poll_after_seconds"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def rooms(client: TestClient) -> tuple[str, str]:
    guard, other = client.server.app[SETTINGS].rooms
    return guard, other


async def refresh(client: TestClient) -> None:
    """Let the room's view catch up now instead of waiting for the background refresher."""
    for room in client.server.app[ENGINE].rooms:
        await room.refresh()


async def join(client: TestClient, room: str, **kwargs: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/rooms/{room}/join", **kwargs)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def status(client: TestClient, room: str, ticket: str) -> aiohttp.ClientResponse:
    return await client.get(f"/api/v1/rooms/{room}/status", headers={"X-Antri-Ticket": ticket})


async def admitted(client: TestClient, room: str) -> dict[str, Any]:
    """Join, wait for the turn, and return the admitted status (cookie jar holds both tokens)."""
    body = await join(client, room)
    for _ in range(50):
        await refresh(client)
        response = await client.get(f"/api/v1/rooms/{room}/status")
        body = await response.json()
        if body["state"] == "admitted":
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"never admitted: {body}")


async def test_join_and_status_contract(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    for _ in range(2):  # the first takes the one token; the second keeps us waiting
        await join(client, guard, cookies=None)
        client.session.cookie_jar.clear()
    await refresh(client)
    body = await join(client, guard)
    assert set(body) == STATUS_FIELDS
    assert body["state"] == "waiting"
    assert body["position"] == 2 and body["ahead"] == 1
    assert body["eta_seconds"]["low"] <= body["eta_seconds"]["high"]
    assert body["poll_after_seconds"] > 0
    assert "antri_ticket" in {c.key for c in client.session.cookie_jar}
    by_cookie = await (await client.get(f"/api/v1/rooms/{guard}/status")).json()
    by_header = await (await status(client, guard, body["ticket"])).json()
    for polled in (by_cookie, by_header):
        assert set(polled) == STATUS_FIELDS
        assert polled["ticket"] == body["ticket"]
        assert polled["position"] == 2


async def test_hundreds_of_concurrent_joins_get_unique_gap_free_numbers(
    make_client: AppFactory,
) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    url = client.make_url(f"/api/v1/rooms/{guard}/join")
    connector = aiohttp.TCPConnector(limit=300)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:

        async def one() -> str:
            async with session.post(url) as response:
                assert response.status == 200
                return str((await response.json())["ticket"])

        tickets = await asyncio.gather(*(one() for _ in range(1000)))
    signer = client.server.app[ENGINE].signer
    numbers = sorted(signer.read_ticket(t).number for t in tickets)
    assert numbers == list(range(1, 1001))


async def test_rejoin_is_idempotent(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    await join(client, guard)
    client.session.cookie_jar.clear()
    first = await join(client, guard)
    second = await join(client, guard)  # same browser, second tab
    third = await join(client, guard, headers={"X-Antri-Ticket": first["ticket"]})
    assert first["ticket"] == second["ticket"] == third["ticket"]
    # One place (the same ticket); the one ahead may be admitted meanwhile, never anyone behind.
    assert {first["position"], second["position"], third["position"]} <= {1, 2}


async def test_bad_tickets_and_unknown_rooms(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, other = rooms(client)
    ticket = (await join(client, guard))["ticket"]
    assert (await status(client, guard, "not-a-ticket")).status == 400
    payload, mac = ticket.split(".")
    forged = (await status(client, guard, payload + "." + mac[::-1])).status
    assert forged == 401
    other_room = await status(client, other, ticket)
    assert other_room.status == 401
    assert (await other_room.json())["error"] == "invalid_ticket"
    assert (await status(client, "nowhere", ticket)).status == 404
    assert (await client.post("/api/v1/rooms/nowhere/join")).status == 404
    assert (await client.get("/api/v1/rooms/nowhere")).status == 404
    client.session.cookie_jar.clear()
    no_ticket = await client.get(f"/api/v1/rooms/{guard}/status")
    assert no_ticket.status == 400
    assert (await no_ticket.json())["error"] == "no_ticket"


async def test_admitted_status_carries_the_admission(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=6000, burst=10)
    guard, _ = rooms(client)
    body = await admitted(client, guard)
    assert body["admission_token"] and body["session_expires_at"].endswith("Z")
    assert body["position"] == 0 and body["ahead"] == 0
    assert "antri_admission" in {c.key for c in client.session.cookie_jar}
    session = await client.get("/api/v1/session")
    assert session.status == 200
    assert set(await session.json()) == {"room", "admitted_at", "expires_at"}
    bearer = {"Authorization": f"Bearer {body['admission_token']}"}
    client.session.cookie_jar.clear()
    copy = await client.get("/api/v1/session", headers=bearer)
    assert copy.status == 403, "the token alone, without its ticket, is a copy"
    assert (await copy.json())["error"] == "admission_not_yours"
    bearer["X-Antri-Ticket"] = body["ticket"]
    assert (await client.get("/api/v1/session", headers=bearer)).status == 200
    assert (await client.post("/api/v1/session/release", headers=bearer)).status == 200
    refused = await client.get("/api/v1/session", headers=bearer)
    assert refused.status == 401
    assert (await refused.json())["join_url"] == f"/api/v1/rooms/{guard}/join"


async def test_gate_refuses_every_bad_admission(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=6000, burst=10)
    guard, other = rooms(client)
    missing = await client.get("/api/v1/session")
    assert missing.status == 401
    assert (await missing.json())["error"] == "admission_required"
    elsewhere = (await admitted(client, other))["admission_token"]
    client.session.cookie_jar.clear()
    admission = await admitted(client, guard)
    mine, ticket = admission["admission_token"], admission["ticket"]
    client.session.cookie_jar.clear()
    payload, mac = mine.split(".")
    for token in (elsewhere, payload + "." + mac[::-1], "garbage", payload + ".AAAA"):
        response = await client.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 401, token
    # A page behind the gate sends the visitor to the waiting room instead.
    page = await client.get("/permohonan", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == f"/antre/{guard}"
    # An operator's revocation takes effect at once.
    bearer = {"Authorization": f"Bearer {mine}", "X-Antri-Ticket": ticket}
    assert (await client.get("/api/v1/session", headers=bearer)).status == 200
    revoke = await client.post(
        f"/api/v1/admin/rooms/{guard}/revoke", json={"admission_token": mine}, headers=ADMIN
    )
    assert (await revoke.json()) == {"revoked": True}
    assert (await client.get("/api/v1/session", headers=bearer)).status == 401


async def test_admin_reads_and_changes_rooms(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    url = f"/api/v1/admin/rooms/{guard}"
    assert (await client.get(url)).status == 401
    assert (await client.get(url, headers={"Authorization": "Bearer wrong"})).status == 401
    current = await (await client.get(url, headers=ADMIN)).json()
    assert current["rate_per_minute"] == 1
    change = {
        "rate_per_minute": 120,
        "burst": 20,
        "max_active": 50,
        "session_minutes": 10,
        "state": "paused",
        "event_starts_at": "2030-01-01T09:00:00+07:00",
    }
    changed = await client.patch(url, json=change, headers=ADMIN)
    assert changed.status == 200, await changed.text()
    body = await changed.json()
    assert body["rate_per_minute"] == 120 and body["burst"] == 20 and body["max_active"] == 50
    assert body["session_minutes"] == 10 and body["state"] == "paused"
    assert body["event_starts_at"] == "2030-01-01T02:00:00Z"
    public = await (await client.get(f"/api/v1/rooms/{guard}")).json()
    assert {"state", "waiting", "active", "rate_per_minute", "event_starts_at"} <= set(public)
    assert "admitted_last_minute" in public and public["state"] == "paused"


async def test_admin_refuses_invalid_values_naming_the_field(make_client: AppFactory) -> None:
    client = await make_client()
    guard, _ = rooms(client)
    url = f"/api/v1/admin/rooms/{guard}"
    bad = {"rate_per_minute": -5, "state": "maybe", "event_starts_at": "tomorrow", "colour": 1}
    response = await client.patch(url, json=bad, headers=ADMIN)
    assert response.status == 422
    fields = (await response.json())["fields"]
    assert set(fields) == {"rate_per_minute", "state", "event_starts_at", "colour"}
    assert (await client.patch(url, data=b"{nope", headers=ADMIN)).status == 400
    assert (await client.patch(url, json={}, headers=ADMIN)).status == 422
    assert (await client.patch(url, json={"burst": True}, headers=ADMIN)).status == 422
    assert (await client.patch(url, json={"session_minutes": 0}, headers=ADMIN)).status == 422
    naive = {"event_starts_at": "2030-01-01T09:00:00"}
    assert (await client.patch(url, json=naive, headers=ADMIN)).status == 422
    assert (
        await client.patch("/api/v1/admin/rooms/nowhere", json={"burst": 2}, headers=ADMIN)
    ).status == 404


async def test_sold_out_is_told_at_once(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    await join(client, guard)
    client.session.cookie_jar.clear()
    ticket = (await join(client, guard))["ticket"]
    inventory = f"/api/v1/admin/rooms/{guard}/inventory"
    sold = await client.put(inventory, json={"remaining": 0}, headers=ADMIN)
    assert sold.status == 200
    assert (await (await status(client, guard, ticket)).json())["state"] == "sold_out"
    bad = await client.put(inventory, json={"remaining": "lots"}, headers=ADMIN)
    assert bad.status == 422


async def test_waiting_room_page_works_without_javascript(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    await join(client, guard)
    client.session.cookie_jar.clear()
    # Without a ticket the page takes no place; its form does (no proof asked in this room).
    offer = await client.get(f"/antre/{guard}")
    assert offer.status == 200 and 'action="/antre/' in await offer.text()
    csrf = client.session.cookie_jar.filter_cookies(client.make_url("/"))["antri_csrf"].value
    page = await client.post(f"/antre/{guard}", data={"csrf": csrf})
    html = await page.text()
    assert page.status == 200 and page.url.path == f"/antre/{guard}"
    assert "Ruang tunggu" in html and 'http-equiv="refresh"' in html
    place = re.search(r'id="position">([12])<', html)  # 1 once the first was let in
    assert place, html
    again = re.search(r'id="position">([12])<', await (await client.get(f"/antre/{guard}")).text())
    # The same place: never a new one at the back (the line may move on meanwhile).
    assert again and int(again.group(1)) <= int(place.group(1)), "a reload must keep the place"


async def test_waiting_room_page_moves_on_when_admitted(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=6000, burst=10)
    guard, _ = rooms(client)
    await join(client, guard)
    await refresh(client)
    page = await client.get(f"/antre/{guard}", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/permohonan"
    landed = await client.get("/permohonan")
    assert landed.status == 200 and "Giliran Anda" in await landed.text()


async def test_health_readiness_and_metrics(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=6000, burst=10)
    guard, _ = rooms(client)
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200
    await admitted(client, guard)
    await refresh(client)
    await asyncio.sleep(0.1)
    text = await (await client.get("/metrics")).text()
    for name in (
        "antri_visitors_waiting",
        "antri_sessions_active",
        "antri_joins_total",
        "antri_admissions_offered_total",
        "antri_admissions_claimed_total",
        "antri_no_show_ratio",
        "antri_admission_rate_per_minute",
        "antri_eta_last_visitor_seconds",
        "antri_http_requests_total",
        "antri_http_request_duration_seconds_bucket",
    ):
        assert name in text, name
    assert f'antri_sessions_active{{room="{guard}"}} 1.0' in text
    assert f'antri_joins_total{{room="{guard}"}} 1.0' in text
    assert 'route="/api/v1/rooms/{room}/status",status="200"' in text


async def test_a_wrong_method_is_405_and_an_unknown_path_404(make_client: AppFactory) -> None:
    client = await make_client()
    wrong = await client.delete("/api/v1/bookings")
    assert wrong.status == 405 and wrong.headers["Allow"] == "GET, POST"
    assert (await wrong.json())["error"] == "method_not_allowed"
    assert (await client.get("/api/v1/nowhere")).status == 404
    page = await client.get("/tidak-ada")
    assert page.status == 404 and "text/html" in page.headers["Content-Type"]
