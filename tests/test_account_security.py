"""Accounts against an attacker: limits counted before the check (verification codes, logins,
billing codes) that bursts cannot outrun, no lock-out by e-mail address alone, no account
enumeration by timing, no common passwords, no open redirects, officer sessions that end at
logout, and the local mailbox for the operator only."""

from __future__ import annotations

import asyncio
import hashlib
import re
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from api.appkeys import ACCOUNTS, SETTINGS
from api.booking.accounts import (
    CODES_PER_DAY,
    LOGIN_ACCOUNT_CEILING,
    LOGIN_ACCOUNT_PACE,
    LOGIN_FAILURES,
    VERIFICATION_ATTEMPTS,
    Accounts,
)
from api.booking.errors import TooManyAttempts, Unauthenticated
from api.client_address import parse_networks
from api.embedded import RedisServer
from api.mail import read_outbox
from api.pages.i18n import LANG_COOKIE
from api.pages.officer import MAX_FAILURES, OFFICER_COOKIE
from api.sandbox_bank import UNKNOWN_CODES

from .conftest import ADMIN_TOKEN, AppFactory
from .operator_support import OPERATOR_PASSWORD, desk_login, new_operator
from .page_support import csrf_of, post_form
from .test_accounts_and_jobs import run_jobs

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}
PASSWORD = "Rahasia123"
BURST = 250
HERE = "127.0.0.1"  # the test client's address


@pytest.fixture
async def client(make_client: AppFactory) -> AsyncIterator[TestClient]:
    """An app on the shared Redis; the per-address counters of the test client's address are
    forgotten before and after, so that these bursts do not spill into other tests."""
    app_client = await make_client(changes={"sandbox_payments": True}, **FAST_ROOM)
    redis = app_client.server.app[ACCOUNTS].redis
    keys = f"antri:login-address:{HERE}", f"antri:billing-lookups:{HERE}"
    await redis.delete(*keys)  # nor earlier tests' into these
    yield app_client
    await redis.delete(*keys)


def digest(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()


def accounts(client: TestClient) -> Accounts:
    return client.server.app[ACCOUNTS]


async def registered(client: TestClient, email: str) -> str:
    """A new unverified account; its verification code."""
    body = {"email": email, "password": PASSWORD, "name": "Dewi Lestari", "phone": "081298765430"}
    return (await accounts(client).register(body)).code


async def verified(client: TestClient, email: str) -> None:
    await accounts(client).create(email, PASSWORD, "Dewi Lestari", "081298765430", True)


def wrong_codes(right: str, count: int) -> list[str]:
    return [f"{n:06d}" for n in range(count + 1) if f"{n:06d}" != right][:count]


async def mailed_code(client: TestClient, email: str) -> str:
    await run_jobs(client)
    mails = [m for m in read_outbox(client.server.app[SETTINGS].outbox) if m.to == email]
    found = re.search(r"\b(\d{6})\b", mails[0].subject)  # newest first
    assert found
    return found.group(1)


# -- 1. verification codes ------------------------------------------------------------------------


async def test_a_burst_of_wrong_codes_spends_the_code(client: TestClient) -> None:
    email = "dewi.api@contoh.id"
    right = await registered(client, email)
    verify = "/api/v1/accounts/verify"
    responses = await asyncio.gather(
        *(client.post(verify, json={"email": email, "code": c}) for c in wrong_codes(right, BURST))
    )
    statuses = Counter(r.status for r in responses)
    # Only VERIFICATION_ATTEMPTS codes were checked; the rest were refused before any check.
    assert statuses == {422: VERIFICATION_ATTEMPTS, 429: BURST - VERIFICATION_ATTEMPTS}, statuses
    refused = next(r for r in responses if r.status == 429)
    assert int(refused.headers["Retry-After"]) > 0
    # Even the right code is refused now, until a new one is asked for.
    late = await client.post(verify, json={"email": email, "code": right})
    assert late.status == 429
    resent = await client.post("/api/v1/accounts/verify/resend", json={"email": email})
    assert resent.status == 202
    fresh = await mailed_code(client, email)
    assert (await client.post(verify, json={"email": email, "code": fresh})).status == 200


async def test_a_burst_of_wrong_codes_on_the_page(client: TestClient) -> None:
    email = "dewi.page@contoh.id"
    right = await registered(client, email)
    csrf = await csrf_of(client, "/verifikasi")
    responses = await asyncio.gather(
        *(
            post_form(client, "/verifikasi", {"email": email, "code": c}, csrf=csrf)
            for c in wrong_codes(right, BURST)
        )
    )
    statuses = Counter(r.status for r in responses)
    assert statuses == {422: VERIFICATION_ATTEMPTS, 429: BURST - VERIFICATION_ATTEMPTS}, statuses
    late = await post_form(client, "/verifikasi", {"email": email, "code": right}, csrf=csrf)
    assert late.status == 429 and "Minta kode baru" in await late.text()
    client.session.cookie_jar.update_cookies({LANG_COOKIE: "en"})
    english = await post_form(client, "/verifikasi", {"email": email, "code": right}, csrf=csrf)
    assert "Ask for a new code" in await english.text()
    resent = await post_form(client, "/verifikasi/kirim-ulang", {"email": email}, csrf=csrf)
    assert resent.status == 303
    fresh = await mailed_code(client, email)
    done = await post_form(client, "/verifikasi", {"email": email, "code": fresh}, csrf=csrf)
    assert done.status == 303 and "terverifikasi" in done.headers["Location"]


async def test_new_codes_are_limited_per_day(client: TestClient) -> None:
    """Each code allows VERIFICATION_ATTEMPTS tries; new codes are limited too, so that
    guessing through fresh codes stays hopeless."""
    email = "banyak.kode@contoh.id"
    await registered(client, email)
    resend_key = "antri:verify-resend:" + digest(email)
    for _ in range(CODES_PER_DAY):
        await accounts(client).redis.delete(resend_key)  # (as if a minute had passed)
        assert await accounts(client).new_code(email) is not None
    await accounts(client).redis.delete(resend_key)
    with pytest.raises(TooManyAttempts):
        await accounts(client).new_code(email)


# -- 3, 4. login limits ---------------------------------------------------------------------------


async def test_a_burst_of_login_guesses_is_counted_before_checking(client: TestClient) -> None:
    email = "budi.burst@contoh.id"
    await verified(client, email)
    guesses = [f"Tebakan{n:04d}" for n in range(BURST - 1)] + [PASSWORD]
    responses = await asyncio.gather(
        *(client.post("/api/v1/login", json={"email": email, "password": p}) for p in guesses)
    )
    statuses = Counter(r.status for r in responses)
    # At most LOGIN_FAILURES passwords were checked, whichever came first.
    assert statuses[429] == BURST - LOGIN_FAILURES, statuses
    assert statuses[401] + statuses[200] == LOGIN_FAILURES, statuses
    # The right password, after the burst, waits too.
    right = await client.post("/api/v1/login", json={"email": email, "password": PASSWORD})
    assert right.status == 429 and int(right.headers["Retry-After"]) > 0


async def test_an_attacker_elsewhere_cannot_lock_the_owner_out(client: TestClient) -> None:
    email = "owner@contoh.id"
    await verified(client, email)
    attacker, owner = "203.0.113.9", "198.51.100.7"
    outcomes = []
    for _ in range(LOGIN_FAILURES + 5):
        try:
            await accounts(client).login(email, "Salah12345", attacker)
        except (Unauthenticated, TooManyAttempts) as refusal:
            outcomes.append(type(refusal).__name__)
    assert outcomes == ["Unauthenticated"] * LOGIN_FAILURES + ["TooManyAttempts"] * 5
    # The owner, from their own address, logs in.
    token, account = await accounts(client).login(email, PASSWORD, owner)
    assert token and account.email == email


async def test_many_addresses_only_slow_an_account_down(client: TestClient) -> None:
    """Past the account's ceiling (attackers from many addresses), one password check per
    LOGIN_ACCOUNT_PACE seconds: the owner waits a moment, and is not locked out."""
    email = "target@contoh.id"
    await verified(client, email)
    addresses = [f"203.0.113.{n}" for n in range(LOGIN_ACCOUNT_CEILING // LOGIN_FAILURES + 1)]

    async def guess(address: str) -> str:
        try:
            await accounts(client).login(email, "Salah12345", address)
        except (Unauthenticated, TooManyAttempts) as refusal:
            return type(refusal).__name__
        return "ok"

    outcomes = Counter(
        await asyncio.gather(*(guess(a) for a in addresses for _ in range(LOGIN_FAILURES)))
    )
    assert outcomes["TooManyAttempts"] >= LOGIN_FAILURES - 1, outcomes
    # One more guess from yet another address takes the account's next turn…
    assert await guess("203.0.113.250") in ("Unauthenticated", "TooManyAttempts")
    await accounts(client).redis.delete("antri:login-pace:" + digest(email))
    assert await guess("203.0.113.251") == "Unauthenticated"
    # …so the owner, right after it, waits a moment.
    with pytest.raises(TooManyAttempts) as slowed:
        await accounts(client).login(email, PASSWORD, "198.51.100.7")
    assert slowed.value.retry_after <= LOGIN_ACCOUNT_PACE
    await asyncio.sleep(LOGIN_ACCOUNT_PACE + 0.2)
    token, _ = await accounts(client).login(email, PASSWORD, "198.51.100.7")
    assert token


# -- 5. timing ------------------------------------------------------------------------------------


async def test_an_unknown_address_costs_a_password_check_too(client: TestClient) -> None:
    """A login for an unknown e-mail address checks the password against a dummy hash of the
    same parameters, so that it takes about as long as a wrong password for a real account."""
    email = "ada@contoh.id"
    await verified(client, email)

    async def timed(address: str, login_email: str) -> float:
        started = time.perf_counter()
        with pytest.raises(Unauthenticated):
            await accounts(client).login(login_email, "Salah12345", address)
        return time.perf_counter() - started

    await timed("192.0.2.200", "tiada@contoh.id")  # the dummy hash is made once
    known, unknown = [], []
    for n in range(7):
        known.append(await timed(f"192.0.2.{n}", email))
        unknown.append(await timed(f"192.0.2.{n}", f"tiada{n}@contoh.id"))
    ratio = statistics.median(unknown) / statistics.median(known)
    # Today's figures: about 1 (both check a password); without the dummy check, about 0.08.
    assert ratio > 0.4, (ratio, known, unknown)


# -- 6. common passwords --------------------------------------------------------------------------


async def test_common_passwords_are_refused(client: TestClient) -> None:
    body = {"email": "umum@contoh.id", "name": "Dewi Lestari", "phone": "081298765430"}
    for common in ("Password1", "Qwerty123", "P@ssw0rd1", "Abcd1234"):
        refused = await client.post("/api/v1/accounts", json=body | {"password": common})
        assert refused.status == 422, common
        answer = await refused.json()
        assert answer["codes"] == {"password": "common_password"}, common
        assert "common" in answer["fields"]["password"]
    fields = body | {"password": "Password1"}
    page = await post_form(client, "/daftar", fields)
    assert page.status == 422 and "terlalu umum" in await page.text()
    client.session.cookie_jar.update_cookies({LANG_COOKIE: "en"})
    page = await post_form(client, "/daftar", fields)
    assert "too common or easy to guess" in await page.text()
    accepted = await client.post("/api/v1/accounts", json=body | {"password": PASSWORD})
    assert accepted.status == 201


# -- 7. open redirects ----------------------------------------------------------------------------

NASTY_TARGETS = [
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "/%09/evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/\x00/evil.example",
]


async def test_language_switch_goes_back_only_to_local_paths(client: TestClient) -> None:
    for target in NASTY_TARGETS:
        response = await client.get("/bahasa/en", params={"kembali": target}, allow_redirects=False)
        assert response.headers["Location"] == "/", target
    raw = await client.get("/bahasa/en?kembali=/%09/evil.example", allow_redirects=False)
    assert raw.headers["Location"] == "/"
    local = await client.get(
        "/bahasa/en", params={"kembali": "/antre/paspor?x=1"}, allow_redirects=False
    )
    assert local.headers["Location"] == "/antre/paspor?x=1"


async def test_login_goes_on_only_to_local_paths(client: TestClient) -> None:
    email = "lanjut@contoh.id"
    await verified(client, email)
    csrf = await csrf_of(client)
    for target in NASTY_TARGETS:
        form = await (await client.get("/masuk", params={"lanjut": target})).text()
        assert "evil.example" not in form, target
        response = await post_form(
            client, "/masuk", {"email": email, "password": PASSWORD, "lanjut": target}, csrf=csrf
        )
        # (A NUL in a form is refused outright.)
        assert response.status in (303, 400, 422), (target, response.status)
        assert response.headers.get("Location", "/akun/permohonan") == "/akun/permohonan", target
    back = await post_form(
        client, "/masuk", {"email": email, "password": PASSWORD, "lanjut": "/permohonan/baru"}
    )
    assert back.headers["Location"] == "/permohonan/baru"


# -- 8. officer sessions --------------------------------------------------------------------------


async def test_a_copied_officer_cookie_stops_working_at_logout(client: TestClient) -> None:
    logged_in = await desk_login(client, await new_operator(client, "officer"))
    assert logged_in.status == 303
    copied = logged_in.cookies[OFFICER_COOKIE].value
    assert OPERATOR_PASSWORD not in copied
    assert "Meja petugas" in await (await client.get("/petugas")).text()
    assert (await post_form(client, "/petugas/keluar", {})).status == 303
    client.session.cookie_jar.update_cookies({OFFICER_COOKIE: copied})
    after = await client.get("/petugas")
    assert 'name="password"' in await after.text() and "Meja petugas" not in await after.text()
    lookup = await post_form(client, "/petugas/cari", {"kode": "ABCD-EFGH-JKMNP"})
    assert lookup.status == 401


async def test_a_burst_of_officer_logins_is_counted_before_checking(client: TestClient) -> None:
    email = await new_operator(client, "officer")
    csrf = await csrf_of(client, "/petugas")
    responses = await asyncio.gather(
        *(
            post_form(
                client, "/petugas/masuk", {"email": email, "password": f"tebakan-{n}"}, csrf=csrf
            )
            for n in range(BURST)
        )
    )
    statuses = Counter(r.status for r in responses)
    assert statuses == {401: MAX_FAILURES, 429: BURST - MAX_FAILURES}, statuses
    right = await desk_login(client, email)
    assert right.status == 429


# -- 2. the local mailbox -------------------------------------------------------------------------


async def test_the_mailbox_is_for_the_operator_only(client: TestClient) -> None:
    email = "rahasia@contoh.id"
    code = await registered(client, email)
    await client.post("/api/v1/accounts/verify/resend", json={"email": email})
    await run_jobs(client)
    for path in ("/kotak-surat", "/petugas/kotak-surat"):
        anonymous = await client.get(path)
        text = await anonymous.text()
        assert anonymous.status == 401, path
        assert "hanya untuk petugas" in text and email not in text, path
        assert code not in text
    client.session.cookie_jar.update_cookies({LANG_COOKIE: "en"})
    english = await client.get("/petugas/kotak-surat")
    assert "for officers only" in await english.text()
    forged = await client.get("/kotak-surat", headers={"Authorization": "Bearer not-the-token"})
    assert forged.status == 401
    admin = await client.get("/kotak-surat", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert admin.status == 200 and email in await admin.text()
    assert (await desk_login(client, await new_operator(client, "officer"))).status == 303
    assert 'href="/petugas/kotak-surat"' in await (await client.get("/petugas")).text()
    officer = await client.get("/petugas/kotak-surat")
    assert officer.status == 200 and email in await officer.text()


# -- 9. billing codes -----------------------------------------------------------------------------


async def test_guessing_billing_codes_is_limited(client: TestClient) -> None:
    guesses = [str(10**14 + n) for n in range(BURST)]
    responses = await asyncio.gather(
        *(client.post("/api/v1/payments/sandbox/pay", json={"billing_code": g}) for g in guesses)
    )
    statuses = Counter(r.status for r in responses)
    # Only UNKNOWN_CODES were looked up; the rest were refused before the database was asked.
    assert statuses == {404: UNKNOWN_CODES, 429: BURST - UNKNOWN_CODES}, statuses
    refused = next(r for r in responses if r.status == 429)
    assert int(refused.headers["Retry-After"]) > 0
    page = await post_form(client, "/bank", {"billing_code": "1" * 15})
    assert page.status == 429 and "Retry-After" in page.headers
    assert "Terlalu banyak kode billing" in await page.text()


async def test_behind_a_trusted_proxy_each_client_has_its_own_limits(
    make_client: AppFactory,
) -> None:
    """Behind a proxy every request comes from the proxy's address: counting that would let
    one guesser spend every payer's limit. The client named by the trusted proxy is counted."""
    trusted = {"sandbox_payments": True, "trusted_proxies": parse_networks("127.0.0.0/8")}
    client = await make_client(changes=trusted, **FAST_ROOM)
    guesser, payer = "203.0.113.5", "198.51.100.7"
    keys = [f"antri:billing-lookups:{a}" for a in (guesser, payer)]
    redis = accounts(client).redis
    await redis.delete(*keys)

    async def guess(code: str, address: str) -> int:
        body = {"billing_code": code}
        headers = {"X-Forwarded-For": address}
        response = await client.post("/api/v1/payments/sandbox/pay", json=body, headers=headers)
        return response.status

    guesses = [str(10**14 + n) for n in range(BURST)]
    statuses = Counter(await asyncio.gather(*(guess(g, guesser) for g in guesses)))
    assert statuses == {404: UNKNOWN_CODES, 429: BURST - UNKNOWN_CODES}, statuses
    assert await guess("1" * 15, payer) == 404, "another client behind the proxy is not limited"
    await redis.delete(*keys)


# -- Redis away: 503, not 500 ---------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


async def test_without_redis_logins_answer_503(
    make_client: AppFactory, own_redis: RedisServer
) -> None:
    client = await make_client(own_redis.url, **FAST_ROOM)
    csrf = await csrf_of(client)
    own_redis.kill()
    login = {"email": "siapa@contoh.id", "password": PASSWORD}
    assert (await client.post("/api/v1/login", json=login)).status == 503
    assert (await post_form(client, "/masuk", login, csrf=csrf)).status == 503
    verify = {"email": "siapa@contoh.id", "code": "123456"}
    assert (await client.post("/api/v1/accounts/verify", json=verify)).status == 503
    assert (await post_form(client, "/verifikasi", verify, csrf=csrf)).status == 503
    pay = {"billing_code": "1" * 15}
    assert (await client.post("/api/v1/payments/sandbox/pay", json=pay)).status == 503
    client.session.cookie_jar.update_cookies({OFFICER_COOKIE: "x" * 40})
    assert (await client.get("/petugas")).status == 503
    assert (await client.get("/petugas/kotak-surat")).status == 503
