"""The front door against scripts: proof of work on join, join budgets per client address, and
no place without intent (a plain GET of the waiting room takes none). Real app, real Redis."""

from __future__ import annotations

import asyncio
import html
import re
import time
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient

from api.appkeys import SETTINGS
from api.client_address import parse_networks
from api.joining import PROOF_HEADER
from queue_engine.engine import Engine
from queue_engine.errors import JoinBudgetSpent
from queue_engine.macs import b64
from queue_engine.proof import (
    Challenges,
    ProofRejected,
    leading_zero_bits,
    solution,
    solve,
    solves,
)
from queue_engine.scripts import JoinEntry
from queue_engine.settings import RoomSettings

from .conftest import SECRET, AppFactory, room_name
from .test_http import ADMIN, refresh, rooms

#: cheap enough for tests (256 hashes on average), enough to tell a solution from a guess
DIFFICULTY = 8


def join_url(room: str) -> str:
    return f"/api/v1/rooms/{room}/join"


async def challenge_of(client: TestClient, room: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/rooms/{room}/challenge")
    assert response.status == 200, await response.text()
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = await response.json()
    return body


async def solved(client: TestClient, room: str) -> dict[str, str]:
    """A fresh challenge of `room`, solved with the reference solver: the join's headers."""
    challenge = await challenge_of(client, room)
    return {PROOF_HEADER: solution(challenge["challenge"], DIFFICULTY)}


def proof(challenge: str, nonce: str) -> dict[str, str]:
    return {PROOF_HEADER: f"{challenge}:{nonce}"}


async def refused(
    client: TestClient, room: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Join as a new visitor (no cookies) and expect 428; the answer's body."""
    client.session.cookie_jar.clear()
    response = await client.post(join_url(room), headers=headers)
    answer: dict[str, Any] = await response.json()
    assert response.status == 428, answer
    assert answer["error"] == "proof_required"
    assert answer["algorithm"] == "sha256-leading-zero-bits"
    assert isinstance(answer["challenge"], str) and answer["difficulty"] >= DIFFICULTY
    return answer


async def admin_room(client: TestClient, room: str) -> dict[str, Any]:
    await refresh(client)
    body: dict[str, Any] = await (
        await client.get(f"/api/v1/admin/rooms/{room}", headers=ADMIN)
    ).json()
    return body


# The algorithm


def test_the_reference_solver_finds_what_the_check_accepts() -> None:
    text = "a-challenge"
    for difficulty in (0, 1, 8, 12):
        nonce = solve(text, difficulty)
        assert solves(text, nonce, difficulty)
    assert leading_zero_bits(bytes([0, 0x0F] + [0xFF] * 30)) == 12
    assert leading_zero_bits(bytes(32)) == 256
    nonce = solve(text, 12)
    assert not solves(text + "x", nonce, 12) or not solves(text, nonce, 24)
    for bad in ("", "-1", "1e3", " 12", "٣", "1" * 17):
        assert not solves(text, bad, 0), bad


# Proof of work over HTTP


async def test_a_join_without_a_valid_proof_is_refused(make_client: AppFactory) -> None:
    client = await make_client(pow_difficulty=DIFFICULTY)
    guard, other = rooms(client)
    challenge = await challenge_of(client, guard)
    assert challenge["difficulty"] == DIFFICULTY and challenge["expires_at"].endswith("Z")

    missing = await refused(client, guard)
    assert missing["reason"] == "missing"
    old_style = await client.post(join_url(guard), json={"challenge": "x", "nonce": "1"})
    assert old_style.status == 428, "a proof in the body is not read"
    assert PROOF_HEADER in (await old_style.json())["message"]

    text = challenge["challenge"]
    wrong = next(str(n) for n in range(10_000) if not solves(text, str(n), DIFFICULTY))
    answer = await refused(client, guard, proof(text, wrong))
    assert answer["reason"] == "invalid"
    # A forged challenge (made easy by hand), another room's, and an easier one than the room's.
    forged = text[:-3] + ("AAA" if not text.endswith("AAA") else "BBB")
    answer = await refused(client, guard, proof(forged, solve(forged, 8)))
    assert answer["reason"] == "invalid"
    foreign = (await challenge_of(client, other))["challenge"]
    answer = await refused(client, guard, proof(foreign, solve(foreign, 8)))
    assert answer["reason"] == "invalid"
    easy, _ = Challenges(SECRET).issue(guard, 2, time.time())
    answer = await refused(client, guard, proof(easy, solve(easy, 2)))
    assert answer["reason"] == "missing"

    old, _ = Challenges(SECRET).issue(guard, DIFFICULTY, time.time() - 600)
    answer = await refused(client, guard, proof(old, solve(old, DIFFICULTY)))
    assert answer["reason"] == "expired"

    for bad in ("", text, f"{text}:", "x.y:1", f"{text}:{wrong}:1", f"{text}:{wrong}x"):
        assert (await refused(client, guard, {PROOF_HEADER: bad}))["reason"] == "invalid", bad
    assert (await admin_room(client, guard))["arrivals"] == 0, "no refused join took a place"

    right = proof(text, solve(text, DIFFICULTY))
    client.session.cookie_jar.clear()
    joined = await client.post(join_url(guard), headers=right)
    assert joined.status == 200, await joined.text()
    assert (await joined.json())["position"] == 1

    answer = await refused(client, guard, right)
    assert answer["reason"] == "replayed"
    assert answer["challenge"] != text, "a fresh challenge comes with the refusal"
    assert (await admin_room(client, guard))["arrivals"] == 1


async def test_rejoining_with_a_held_ticket_needs_no_new_proof(make_client: AppFactory) -> None:
    client = await make_client(pow_difficulty=DIFFICULTY)
    guard, _ = rooms(client)
    first = await client.post(join_url(guard), headers=await solved(client, guard))
    assert first.status == 200
    ticket = (await first.json())["ticket"]
    for _ in range(3):
        again = await client.post(join_url(guard), headers={"X-Antri-Ticket": ticket})
        assert again.status == 200
        assert (await again.json())["ticket"] == ticket
    assert (await admin_room(client, guard))["arrivals"] == 1


async def test_a_proof_header_that_is_not_utf8_is_refused_not_an_error(
    make_client: AppFactory,
) -> None:
    """Raw bytes a client library would not send: the header is refused as invalid (428),
    never a 500, and takes no place."""
    client = await make_client(pow_difficulty=DIFFICULTY)
    guard, _ = rooms(client)
    text = (await challenge_of(client, guard))["challenge"].encode()
    for value in (b"\xff\xfe:1", text + b":\xff1", text[:-2] + b"\xc3\x28:1"):
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(
            b"POST " + join_url(guard).encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n" + PROOF_HEADER.encode() + b": "
            + value + b"\r\n\r\n"
        )  # fmt: skip
        answer = await reader.read()
        writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 428"), answer[:300]
        assert orjson.loads(body)["reason"] == "invalid"
    assert (await admin_room(client, guard))["arrivals"] == 0


async def test_one_solution_sent_250_times_at_once_joins_once(make_client: AppFactory) -> None:
    client = await make_client(pow_difficulty=DIFFICULTY)
    guard, _ = rooms(client)
    headers = await solved(client, guard)
    url = client.make_url(join_url(guard))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:

        async def send() -> int:
            async with session.post(url, headers=headers) as response:
                await response.read()
                return response.status

        statuses = await asyncio.gather(*(send() for _ in range(250)))
    assert statuses.count(200) == 1 and statuses.count(428) == 249, sorted(set(statuses))
    assert (await admin_room(client, guard))["arrivals"] == 1


async def test_difficulty_and_budget_are_room_settings(make_client: AppFactory) -> None:
    client = await make_client()
    guard, _ = rooms(client)
    url = f"/api/v1/admin/rooms/{guard}"
    for bad in ({"pow_difficulty": 27}, {"pow_difficulty": -1}, {"pow_difficulty": "8"}):
        response = await client.patch(url, json=bad, headers=ADMIN)
        assert response.status == 422 and "pow_difficulty" in (await response.json())["fields"]
    bad = {"joins_per_minute_per_client": 1.5}
    response = await client.patch(url, json=bad, headers=ADMIN)
    assert response.status == 422
    assert "joins_per_minute_per_client" in (await response.json())["fields"]
    good = {"pow_difficulty": 12, "joins_per_minute_per_client": 30}
    response = await client.patch(url, json=good, headers=ADMIN)
    assert response.status == 200
    assert (await response.json()) | good == await response.json()
    assert (await challenge_of(client, guard))["difficulty"] == 12
    assert (await refused(client, guard))["difficulty"] == 12
    await client.patch(url, json={"pow_difficulty": 0}, headers=ADMIN)
    client.session.cookie_jar.clear()
    assert (await client.post(join_url(guard))).status == 200, "0 turns the proof off"


async def test_an_instant_before_the_year_1_in_utc_is_refused(make_client: AppFactory) -> None:
    """Found by the fuzzer beside the new settings: this crashed the zone conversion (500)."""
    client = await make_client()
    guard, _ = rooms(client)
    body = {"event_starts_at": "0001-01-01T00:00:00+00:01"}
    response = await client.patch(f"/api/v1/admin/rooms/{guard}", json=body, headers=ADMIN)
    assert response.status == 422 and "event_starts_at" in (await response.json())["fields"]


def test_new_rooms_have_the_defences_on() -> None:
    defaults = RoomSettings()
    assert defaults.pow_difficulty > 0 and defaults.joins_per_minute_per_client >= 60


# Join budgets per client address


async def burst(client: TestClient, room: str, count: int, **headers: str) -> list[int]:
    """`count` joins at once from new visitors (no cookies); their statuses."""
    url = client.make_url(join_url(room))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:

        async def send(i: int) -> int:
            sent = {k.replace("_", "-"): v.format(i=i) for k, v in headers.items()}
            async with session.post(url, headers=sent) as response:
                body = await response.json()
                if response.status == 429:
                    assert body["error"] == "too_many_joins"
                    assert 1 <= int(response.headers["Retry-After"]) <= 60
                return response.status

        return list(await asyncio.gather(*(send(i) for i in range(count))))


async def test_a_flood_from_one_address_meets_429_and_the_budget_holds(
    make_client: AppFactory,
) -> None:
    client = await make_client(joins_per_minute_per_client=10)
    guard, other = rooms(client)
    statuses = await burst(client, guard, 250)
    assert statuses.count(200) == 10 and statuses.count(429) == 240
    assert (await admin_room(client, guard))["arrivals"] == 10
    # Each room keeps its own budget; X-Forwarded-For from an untrusted peer changes nothing.
    statuses = await burst(client, other, 30, X_Forwarded_For="198.51.100.{i}")
    assert statuses.count(200) == 10


async def test_behind_a_trusted_proxy_the_budget_is_per_client_and_ipv6_per_64(
    make_client: AppFactory,
) -> None:
    trusted = {"trusted_proxies": parse_networks("127.0.0.0/8, ::1")}
    client = await make_client(joins_per_minute_per_client=2, changes=trusted)
    guard, _ = rooms(client)
    same_64 = await burst(client, guard, 5, X_Forwarded_For="2001:db8:1:2::{i}")
    assert same_64.count(200) == 2
    # A client writing its own X-Forwarded-For is counted by the address the proxy saw.
    spoofed = await burst(client, guard, 5, X_Forwarded_For="192.0.2.{i}, 2001:db8:1:2:ff::1")
    assert spoofed.count(200) == 0
    other_64 = await burst(client, guard, 5, X_Forwarded_For="2001:db8:1:3::{i}")
    assert other_64.count(200) == 2
    ipv4 = await burst(client, guard, 3, X_Forwarded_For="203.0.113.{i}")
    assert ipv4.count(200) == 3, "different IPv4 addresses have their own budgets"


async def test_the_engine_enforces_single_use_and_budgets_on_redis_and_cluster(
    engine: Engine,
) -> None:
    """The same checks in the join script, on a single Redis and on a cluster (its keys share
    the room's slot)."""
    settings = RoomSettings(pow_difficulty=DIFFICULTY, joins_per_minute_per_client=3)
    room = await engine.add_room(room_name(), settings)
    with pytest.raises(ProofRejected, match="missing"):
        await room.join(None, JoinEntry(client="192.0.2.1"))
    entry = JoinEntry("one", DIFFICULTY, 5_000, "192.0.2.1")
    await room.join(None, entry)
    with pytest.raises(ProofRejected, match="replayed"):
        await room.join(None, entry)
    for i in range(2):
        await room.join(None, entry._replace(challenge_id=f"more-{i}"))
    with pytest.raises(JoinBudgetSpent) as spent:
        await room.join(None, entry._replace(challenge_id="over"))
    assert 1 <= spent.value.retry_after <= 20
    await room.join(None, entry._replace(challenge_id="over", client="192.0.2.2"))


# No place without intent: the waiting room's page


def position(page: str) -> str:
    found = re.search(r'id="position">(\d+)<', page)
    assert found, page
    return found.group(1)


async def test_a_plain_get_of_the_waiting_room_takes_no_place(make_client: AppFactory) -> None:
    client = await make_client(pow_difficulty=DIFFICULTY)
    guard, _ = rooms(client)
    for _ in range(5):
        client.session.cookie_jar.clear()
        response = await client.get(f"/antre/{guard}")
        text = html.unescape(await response.text())
        assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
        assert 'id="join-room"' in text and "Ruang tunggu ini memerlukan JavaScript" in text
        assert f'data-difficulty="{DIFFICULTY}"' in text and "pow-worker.js" in text
        assert 'http-equiv="refresh"' not in text
    assert (await admin_room(client, guard))["arrivals"] == 0
    # The form cannot join without the proof: it says the page needs JavaScript.
    csrf = client.session.cookie_jar.filter_cookies(client.make_url("/"))["antri_csrf"].value
    response = await client.post(f"/antre/{guard}", data={"csrf": csrf})
    assert response.status == 428
    assert "memerlukan JavaScript" in html.unescape(await response.text())
    assert (await admin_room(client, guard))["arrivals"] == 0


async def test_the_form_joins_without_javascript_and_meets_the_budget(
    make_client: AppFactory,
) -> None:
    client = await make_client(joins_per_minute_per_client=2, rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    assert (await client.post(join_url(guard))).status == 200  # the first, let in at once
    client.session.cookie_jar.clear()
    page = html.unescape(await (await client.get(f"/antre/{guard}")).text())
    assert "Masuk antrean" in page and 'action="/antre/' in page
    csrf = client.session.cookie_jar.filter_cookies(client.make_url("/"))["antri_csrf"].value
    assert (await client.post(f"/antre/{guard}", data={})).status == 403, "CSRF is checked"
    joined = await client.post(f"/antre/{guard}", data={"csrf": csrf})
    assert joined.status == 200 and (place := position(await joined.text()))
    again = await client.post(f"/antre/{guard}", data={"csrf": csrf})
    assert again.status == 200 and position(await again.text()) == place, "idempotent"
    assert (await admin_room(client, guard))["arrivals"] == 2
    client.session.cookie_jar.clear()
    await client.get(f"/antre/{guard}")
    csrf = client.session.cookie_jar.filter_cookies(client.make_url("/"))["antri_csrf"].value
    over = await client.post(f"/antre/{guard}", data={"csrf": csrf})
    text = html.unescape(await over.text())
    assert over.status == 429 and int(over.headers["Retry-After"]) > 0
    assert "Terlalu banyak yang masuk antrean dari jaringan Anda" in text
    assert client.server.app[SETTINGS].trusted_proxies == ()


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "a.b.c",
        "é.é",
        "!!!.???",
        "x" * 300 + ".y",
        "W10.AAAA",
        "WzFd.AAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_a_challenge_that_is_not_one_is_invalid_not_an_error(text: str) -> None:
    with pytest.raises(ProofRejected, match="invalid"):
        Challenges(SECRET).verify(f"{text}:1", "paspor", time.time())


def test_a_signed_payload_of_the_wrong_shape_is_invalid() -> None:
    challenges = Challenges(SECRET)
    payload = orjson.dumps(["paspor", "id", 1])  # a field short
    text = f"{b64(payload)}.{b64(challenges._mac(payload))}"
    with pytest.raises(ProofRejected, match="invalid"):
        challenges.verify(f"{text}:1", "paspor", time.time())
