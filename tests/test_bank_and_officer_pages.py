"""The sandbox bank's pages and the officer's desk over HTTP, on the real app (PostgreSQL, Redis,
and the bank's signed callback sent over real HTTP)."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from api.appkeys import ACCOUNTS
from api.operators import login_failures_key
from api.pages.csrf import CSRF_COOKIE
from api.pages.i18n import LANG_COOKIE
from api.pages.officer import MAX_FAILURES, OFFICER_COOKIE

from .booking_support import booker, booking_body, pay, pool, released_days
from .conftest import ADMIN_TOKEN, AppFactory
from .operator_support import OPERATOR_PASSWORD, new_operator

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}
SANDBOX_NOTICE = "Bank Sandbox — uji coba, bukan bank sungguhan"


# -- helpers --------------------------------------------------------------------------------------


async def csrf(client: TestClient) -> str:
    """The browser's CSRF token (a page visit sets the cookie)."""
    for _ in range(2):
        for cookie in client.session.cookie_jar:
            if cookie.key == CSRF_COOKIE:
                return cookie.value
        await client.get("/bank")
    raise AssertionError("no CSRF cookie was set")


async def post_form(
    client: TestClient, path: str, fields: dict[str, str], with_csrf: bool = True
) -> ClientResponse:
    data = {"csrf": await csrf(client)} | fields if with_csrf else fields
    return await client.post(path, data=data, allow_redirects=False)


async def awaiting_payment(client: TestClient) -> tuple[dict[str, Any], dict[str, str]]:
    """A new booking awaiting payment (its 201 body) and its owner's headers."""
    headers = await booker(client)
    day = (await released_days(client))[0]
    created = await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
    assert created.status == 201, await created.text()
    return dict(await created.json()), headers


async def booking_status(client: TestClient, booking_id: str, headers: dict[str, str]) -> Any:
    response = await client.get(f"/api/v1/bookings/{booking_id}", headers=headers)
    return await response.json()


async def payments_of(client: TestClient, booking_id: str) -> int:
    count = await pool(client).fetchval(
        "SELECT count(*) FROM payments WHERE booking_id = $1", uuid.UUID(booking_id)
    )
    return int(count)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


async def confirm(client: TestClient, code: str, kembali: str = "") -> str:
    """The confirmation page of `code` (it carries the transaction id)."""
    response = await post_form(client, "/bank", {"billing_code": code, "kembali": kembali})
    html = await response.text()
    assert response.status == 200, html
    return html


def payment_fields(html: str) -> dict[str, str]:
    names = ("billing_code", "jumlah", "transaksi", "kembali")
    return {name: hidden(html, name) for name in names}


# -- the sandbox bank -----------------------------------------------------------------------------


async def test_bank_pays_a_billing_code_once(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    receipt, headers = await awaiting_payment(client)
    code = receipt["billing_code"]
    kembali = f"/akun/permohonan/{receipt['id']}"

    form = await client.get("/bank")
    page = await form.text()
    assert form.status == 200
    assert SANDBOX_NOTICE in page and 'name="billing_code"' in page and 'action="/bank"' in page

    # Typed in groups, as printed on a bill.
    spaced = f"{code[:5]} {code[5:10]} {code[10:]}"
    asked = await post_form(client, "/bank", {"billing_code": spaced, "kembali": kembali})
    html = await asked.text()
    assert asked.status == 200, html
    assert f"Bayar Rp 950.000 untuk kode {code}?" in html
    assert code not in str(asked.url)
    fields = payment_fields(html)
    assert fields["billing_code"] == code and fields["jumlah"] == "950000"
    assert fields["kembali"] == kembali

    paid = await post_form(client, "/bank/bayar", fields)
    receipt_page = await paid.text()
    assert paid.status == 200, receipt_page
    assert "Pembayaran berhasil" in receipt_page
    assert fields["transaksi"] in receipt_page and "Rp 950.000" in receipt_page
    assert f'href="{kembali}"' in receipt_page
    assert code not in str(paid.url)
    booking = await booking_status(client, receipt["id"], headers)
    assert booking["status"] == "confirmed" and booking["booking_code"]

    # The same form again (a double tap, a reload): the same transaction, recorded once.
    again = await post_form(client, "/bank/bayar", fields)
    again_page = await again.text()
    assert again.status == 200, again_page
    assert "Pembayaran berhasil" in again_page and "sudah tercatat sebelumnya" in again_page
    assert await payments_of(client, receipt["id"]) == 1

    # A new payment of the paid code is refused, clearly, and nothing is collected.
    lookup = await post_form(client, "/bank", {"billing_code": code})
    assert lookup.status == 409
    assert "sudah lunas" in await lookup.text()
    other = fields | {"transaksi": f"SBX-{uuid.uuid4().hex}"}
    second = await post_form(client, "/bank/bayar", other)
    second_page = await second.text()
    assert second.status == 409 and "sudah lunas" in second_page
    assert "Pembayaran berhasil" not in second_page
    assert await payments_of(client, receipt["id"]) == 1
    assert (await booking_status(client, receipt["id"], headers))["status"] == "confirmed"


async def test_bank_double_submit_at_once_pays_once(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    receipt, headers = await awaiting_payment(client)
    fields = payment_fields(await confirm(client, receipt["billing_code"]))
    token = await csrf(client)
    replies = await asyncio.gather(
        *(client.post("/bank/bayar", data=fields | {"csrf": token}) for _ in range(3))
    )
    assert [r.status for r in replies] == [200, 200, 200]
    for reply in replies:
        assert "Pembayaran berhasil" in await reply.text()
    assert await payments_of(client, receipt["id"]) == 1
    assert (await booking_status(client, receipt["id"], headers))["status"] == "confirmed"


async def test_bank_refusals(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    receipt, _ = await awaiting_payment(client)
    code = receipt["billing_code"]

    unknown = "1" * 15 if code != "1" * 15 else "2" * 15
    refused = await post_form(client, "/bank", {"billing_code": unknown})
    assert refused.status == 404 and "tidak dikenal" in await refused.text()
    for bad in ("", "12345", "abc" * 5, "0" * 15, "1" * 16):
        wrong = await post_form(client, "/bank", {"billing_code": bad})
        assert wrong.status == 422, bad
        assert "15 angka" in await wrong.text()
    incomplete = await post_form(client, "/bank/bayar", {"billing_code": code, "transaksi": "x"})
    assert incomplete.status == 400

    # No CSRF token: nothing is looked up or paid.
    assert (await post_form(client, "/bank", {"billing_code": code}, False)).status == 403
    fields = payment_fields(await confirm(client, code))
    assert (await post_form(client, "/bank/bayar", fields, with_csrf=False)).status == 403
    assert await payments_of(client, receipt["id"]) == 0

    # `kembali` must be a path on this site; the success page's button goes there.
    html = await confirm(client, code, kembali="//evil.example/x")
    assert hidden(html, "kembali") == "/akun/permohonan"

    # An expired billing code: refused with a clear message, not paid.
    await pool(client).execute(
        "UPDATE bookings SET expires_at = now() - interval '1 minute' WHERE billing_code = $1", code
    )
    late = await post_form(client, "/bank/bayar", fields)
    assert late.status == 409 and "kedaluwarsa" in await late.text()
    assert await payments_of(client, receipt["id"]) == 0


async def test_bank_speaks_english_on_request(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    client.session.cookie_jar.update_cookies({LANG_COOKIE: "en"})
    page = await (await client.get("/bank")).text()
    assert "Sandbox Bank — for testing, not a real bank" in page
    refused = await post_form(client, "/bank", {"billing_code": "123"})
    assert "A billing code has 15 digits" in await refused.text()


async def test_bank_is_absent_without_the_sandbox(make_client: AppFactory) -> None:
    client = await make_client(changes={"sandbox_payments": False})
    assert (await client.get("/bank")).status == 404
    assert (await post_form(client, "/bank", {"billing_code": "1" * 15})).status == 404
    assert (await post_form(client, "/bank/bayar", {"billing_code": "1" * 15})).status == 404


# -- the officer's desk ---------------------------------------------------------------------------


async def paid_booking(client: TestClient) -> tuple[dict[str, Any], dict[str, str]]:
    """A booking paid at the sandbox bank, as its owner sees it, and the owner's headers."""
    receipt, headers = await awaiting_payment(client)
    return await pay(client, headers, receipt), headers


_officers: dict[int, str] = {}


async def officer_of(client: TestClient) -> str:
    """The e-mail of this app's officer account (made on first use)."""
    if id(client) not in _officers:
        _officers[id(client)] = await new_operator(client, "officer")
    return _officers[id(client)]


async def officer_login(client: TestClient, password: str = OPERATOR_PASSWORD) -> ClientResponse:
    email = await officer_of(client)
    return await post_form(client, "/petugas/masuk", {"email": email, "password": password})


async def forget_failures(client: TestClient) -> None:
    """The failed-login counter lives in the shared Redis: start each test from zero."""
    key = login_failures_key(await officer_of(client), "127.0.0.1")
    await client.server.app[ACCOUNTS].redis.delete(key)


async def test_officer_login(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    await forget_failures(client)
    first = await client.get("/petugas")
    form = await first.text()
    assert first.status == 200
    assert 'type="password"' in form and 'name="password"' in form and "Meja petugas" not in form

    wrong = await officer_login(client, "not-the-password")
    assert wrong.status == 401 and "kata sandi petugas salah" in await wrong.text()
    assert OFFICER_COOKIE not in wrong.cookies
    # The admin token is no desk login any more: officers log in with their own accounts.
    by_token = await post_form(client, "/petugas/masuk", {"email": "x@y.id", "token": ADMIN_TOKEN})
    assert by_token.status == 401
    email = await officer_of(client)
    login = {"email": email, "password": OPERATOR_PASSWORD}
    assert (await post_form(client, "/petugas/masuk", login, False)).status == 403
    # Not logged in: a lookup shows the login form.
    anonymous = await post_form(client, "/petugas/cari", {"kode": "ABCD-EFGH-JKMNP"})
    assert anonymous.status == 401 and 'name="password"' in await anonymous.text()

    right = await officer_login(client)
    assert right.status == 303 and right.headers["Location"] == "/petugas"
    cookie = next(c for c in right.headers.getall("Set-Cookie") if c.startswith(OFFICER_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=28800" in cookie
    assert "Path=/petugas" in cookie and ADMIN_TOKEN not in cookie
    desk = await client.get("/petugas")
    assert "Meja petugas" in await desk.text()

    # A forged cookie is no login: the session is the server's.
    session_id = right.cookies[OFFICER_COOKIE].value
    assert len(session_id) >= 40
    for forged in (session_id[:-1] + ("A" if session_id[-1] != "A" else "B"), "1.x", "x" * 400):
        client.session.cookie_jar.clear(lambda cookie: cookie.key == OFFICER_COOKIE)
        client.session.cookie_jar.update_cookies({OFFICER_COOKIE: forged})
        assert 'name="password"' in await (await client.get("/petugas")).text(), forged
    client.session.cookie_jar.clear(lambda cookie: cookie.key == OFFICER_COOKIE)
    assert (await officer_login(client)).status == 303

    out = await post_form(client, "/petugas/keluar", {})
    assert out.status == 303
    assert any(
        c.startswith(f"{OFFICER_COOKIE}=;") and "Max-Age=0" in c
        for c in out.headers.getall("Set-Cookie")
    )
    assert 'name="password"' in await (await client.get("/petugas")).text()


async def test_officer_login_is_limited(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    redis = client.server.app[ACCOUNTS].redis
    await redis.set(login_failures_key(await officer_of(client), "127.0.0.1"), MAX_FAILURES, ex=60)
    try:
        locked = await officer_login(client)
        assert locked.status == 429 and "Retry-After" in locked.headers
        assert "Terlalu banyak percobaan" in await locked.text()
    finally:
        await forget_failures(client)
    assert (await officer_login(client)).status == 303


async def test_officer_finds_a_booking_and_moves_it_along(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    booking, headers = await paid_booking(client)
    await forget_failures(client)
    assert (await officer_login(client)).status == 303
    code = booking["booking_code"]

    by_code = await post_form(client, "/petugas/cari", {"kode": code})
    desk = await by_code.text()
    assert by_code.status == 200, desk
    assert "Budi Santoso" in desk and booking["applicant"]["nik_masked"] in desk
    assert "Lunas - terjadwal" in desk and "Kantor Imigrasi Kelas I TPI Tanjung Priok" in desk
    assert 'value="checked_in"' in desk and "Catat hadir" in desk
    # Typed without dashes, in small letters; or the QR text scanned from the proof.
    typed = code.replace("-", "").lower()
    for text in (typed, booking["qr_text"], f"  {booking['qr_text']}\n"):
        found = await post_form(client, "/petugas/cari", {"kode": text})
        assert found.status == 200 and "Budi Santoso" in await found.text(), text
    forged = booking["qr_text"][:-1] + ("0" if booking["qr_text"][-1] != "0" else "1")
    fake = await post_form(client, "/petugas/cari", {"kode": forged})
    fake_page = await fake.text()
    assert fake.status == 404 and "tidak sah" in fake_page and "Budi Santoso" not in fake_page
    unknown = await post_form(client, "/petugas/cari", {"kode": "ZZZZ-ZZZZ-ZZZZZ"})
    assert unknown.status == 404 and "Tidak ada permohonan" in await unknown.text()
    assert (await post_form(client, "/petugas/cari", {"kode": ""})).status == 422
    assert (await post_form(client, "/petugas/cari", {"kode": code}, False)).status == 403

    step = {"booking_id": booking["id"], "kode": code}
    # A step out of order is refused, and the booking is shown as it is.
    skip = await post_form(client, "/petugas/status", step | {"status": "ready"})
    skip_page = await skip.text()
    assert skip.status == 409 and "tidak dapat dicatat" in skip_page and "Budi Santoso" in skip_page
    unknown_step = await post_form(client, "/petugas/status", step | {"status": "lost"})
    assert unknown_step.status == 422
    assert (await post_form(client, "/petugas/status", step | {"status": "x"}, False)).status == 403
    assert (await booking_status(client, booking["id"], headers))["status"] == "confirmed"

    moved = await post_form(
        client, "/petugas/status", step | {"status": "checked_in", "catatan": "Nomor antrean A12"}
    )
    moved_page = await moved.text()
    assert moved.status == 200, moved_page
    assert "Status dicatat: Hadir." in moved_page and "Nomor antrean A12" in moved_page
    assert 'value="interviewed"' in moved_page and 'value="checked_in"' not in moved_page
    after = await booking_status(client, booking["id"], headers)
    assert after["status"] == "checked_in"
    assert after["timeline"][-1]["note"] == "Nomor antrean A12"
    # The same button again (a reload): answered with the booking as it is, not recorded twice.
    twice = await post_form(client, "/petugas/status", step | {"status": "checked_in"})
    assert twice.status == 200
    timeline = (await booking_status(client, booking["id"], headers))["timeline"]
    assert [e["status"] for e in timeline] == ["awaiting_payment", "confirmed", "checked_in"]

    interviewed = await post_form(client, "/petugas/status", step | {"status": "interviewed"})
    both = await interviewed.text()
    assert 'value="approved"' in both and 'value="rejected"' in both
    missing = await post_form(
        client, "/petugas/status", {"booking_id": str(uuid.uuid4()), "status": "approved"}
    )
    assert missing.status == 404

    # Logged out, a step is refused with the login form.
    client.session.cookie_jar.clear(lambda cookie: cookie.key == OFFICER_COOKIE)
    refused = await post_form(client, "/petugas/status", step | {"status": "approved"})
    assert refused.status == 401
    assert (await booking_status(client, booking["id"], headers))["status"] == "interviewed"


async def test_officer_page_in_english(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    booking, _ = await paid_booking(client)
    await forget_failures(client)
    await officer_login(client)
    client.session.cookie_jar.update_cookies({LANG_COOKIE: "en"})
    found = await post_form(client, "/petugas/cari", {"kode": booking["booking_code"]})
    page = await found.text()
    assert "Paid - scheduled" in page and "Check in" in page and "Leave officer mode" in page
