"""The calendar of dates and sessions, and the "My applications" pages over HTTP."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from api.appkeys import ACCOUNTS, FLOW, SETTINGS, SLOTS, TEMPLATES
from api.booking import calendar as rules
from api.booking.calendar import iso_utc
from api.gate import ADMISSION_COOKIE
from api.pages import i18n
from api.pages.calendar import office_calendar, parse_slot
from api.pages.csrf import CSRF_COOKIE

from .booking_support import (
    OFFICE,
    admission,
    assert_invariants,
    booked,
    booking_body,
    new_account,
    pay,
    released_days,
    set_capacity,
)
from .conftest import AppFactory

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}


# -- the calendar ---------------------------------------------------------------------------


def test_parse_slot() -> None:
    assert parse_slot("2026-11-27/s1") == (date(2026, 11, 27), "s1")
    assert parse_slot(" 2026-11-27/s3 ") == (date(2026, 11, 27), "s3")
    for bad in (None, "", "2026-11-27", "2026-13-01/s1", "2026-11-27/", "x/s1",
                "2026-11-27/S1", "2026-11-27/s1/x", "2026-11-27/<b>"):  # fmt: skip
        assert parse_slot(bad) is None, bad


async def test_calendar_days_and_sessions(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    slots = client.server.app[SLOTS]
    now = datetime.now(UTC)
    office = slots.office(OFFICE)
    cal = await office_calendar(slots, OFFICE, "reguler", now)
    today = rules.local_today(office, now)
    assert len(cal.days) == 21 and cal.days[0].day == today + timedelta(days=1)
    assert cal.zone == "WIB" and cal.next_release > now
    states = {d.state for d in cal.days}
    assert {"open", "unreleased", "closed"} <= states
    for d in cal.days:
        if d.day.weekday() >= 5:
            assert d.state == "closed" and d.closed_reason in ("weekend", "holiday")
        if d.state == "unreleased":
            assert d.day > cal.released_until and d.opens_at is not None
            assert d.opens_at >= cal.next_release
            assert d.opens_at.date() + timedelta(days=office.release.horizon_days) >= d.day
        if d.state == "open":
            assert d.day <= cal.released_until
            assert all(s.value == f"{d.iso}/{s.id}" for s in d.sessions)
    first = next(d for d in cal.days if d.state == "open")
    assert [s.id for s in first.sessions] == ["s1", "s2", "s3"]
    assert first.sessions[0].remaining == first.sessions[0].capacity == 50
    assert cal.contains(first.day, "s1")
    # One session full leaves the day open; every session full makes it full.
    await set_capacity(client, first.iso, "s1", 0)
    cal = await office_calendar(slots, OFFICE, "reguler", now)
    day = next(d for d in cal.days if d.day == first.day)
    assert day.state == "open" and day.sessions[0].state == "full"
    assert not cal.contains(first.day, "s1") and cal.contains(first.day, "s2")
    for session_id in ("s2", "s3"):
        await set_capacity(client, first.iso, session_id, 0)
    cal = await office_calendar(slots, OFFICE, "reguler", now)
    assert next(d for d in cal.days if d.day == first.day).state == "full"
    # Another lane has its own places.
    fast = await office_calendar(slots, OFFICE, "percepatan", now)
    assert next(d for d in fast.days if d.day == first.day).sessions[0].remaining == 8


async def test_calendar_macro_renders_states_in_words(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    slots = client.server.app[SLOTS]
    now = datetime.now(UTC)
    cal = await office_calendar(slots, OFFICE, "reguler", now)
    first = next(d for d in cal.days if d.state == "open")
    await set_capacity(client, first.iso, "s2", 0)
    cal = await office_calendar(slots, OFFICE, "reguler", now)
    env = client.server.app[TEMPLATES]
    for lang, words in (("id", ("Tersedia", "Penuh", "Belum dibuka")),
                        ("en", ("available", "Full", "Not open yet"))):  # fmt: skip
        html = env.from_string(
            '{% from "_calendar.html" import calendar %}'
            "{{ calendar(cal, _, long_date, short_date, selected=chosen) }}"
        ).render(
            cal=cal,
            _=i18n.translator(lang),
            long_date=lambda d, lang=lang: i18n.long_date(d, lang),
            short_date=lambda d, lang=lang: i18n.short_date(d, lang),
            chosen=f"{first.iso}/s3",
        )
        for word in words:
            assert word in html, (lang, word)
        assert f'value="{first.iso}/s1"' in html
        assert f'value="{first.iso}/s2"' not in html  # a full session has no radio
        assert re.search(f'value="{first.iso}/s3"[^>]* checked', html)
        assert len(re.findall(r"\bchecked\b", html)) == 1
        assert 'class="legend"' in html and "<legend" in html
        unreleased = next(d for d in cal.days if d.state == "unreleased")
        assert f'value="{unreleased.iso}/' not in html


# -- my applications over HTTP ------------------------------------------------------------------

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


async def signed_in_booking(client: TestClient, day: str) -> tuple[dict[str, str], dict[str, Any]]:
    """A new account's login headers and its booking on `day` (awaiting payment); the client's
    cookie jar then holds an admission to the guarded room."""
    _, login = await new_account(client)
    gate = await admission(client)
    created = await client.post("/api/v1/bookings", json=booking_body(day), headers=login | gate)
    assert created.status == 201, await created.text()
    return login, dict(await created.json())


async def html(client: TestClient, path: str, headers: dict[str, str], status: int = 200) -> str:
    response = await client.get(path, headers=headers, allow_redirects=False)
    text = await response.text()
    assert response.status == status, (path, response.status, text[:500])
    return text


def csrf_of(page_html: str) -> str:
    match = CSRF_FIELD.search(page_html)
    assert match, "the page has a form with a CSRF token"
    return match[1]


def without_admission(client: TestClient) -> None:
    client.session.cookie_jar.clear(lambda cookie: cookie.key == ADMISSION_COOKIE)


async def test_list_billing_and_confirmation(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = (await released_days(client))[0]
    login, receipt = await signed_in_booking(client, day)
    listing = await html(client, "/akun/permohonan", login)
    assert "Budi Santoso" in listing and "Menunggu pembayaran" in listing
    assert "1 dari 5 pemohon aktif terpakai" in listing
    assert 'href="/permohonan/baru"' in listing and "Tambah pemohon" in listing
    assert f'href="/akun/permohonan/{receipt["id"]}"' in listing
    path = f"/akun/permohonan/{receipt['id']}"
    billing = await html(client, path, login)
    assert receipt["billing_code"] in billing and 'class="code"' in billing
    assert i18n.rupiah(receipt["amount"]) in billing and 'class="amount"' in billing
    deadline = int(datetime.fromisoformat(receipt["expires_at"]).timestamp())
    assert f'data-countdown="{deadline}"' in billing and "data-reload-when-done" in billing
    assert 'action="/bank"' in billing and f'name="kembali" value="{path}"' in billing
    assert f'name="billing_code" value="{receipt["billing_code"]}"' in billing
    assert "<svg" not in billing and "proof.pdf" not in billing
    view = await pay(client, login, receipt)
    confirmation = await html(client, path, login)
    assert view["booking_code"] in confirmation and "Lunas - terjadwal" in confirmation
    assert "<svg" in confirmation and 'class="qr"' in confirmation
    proof = f"/api/v1/bookings/{receipt['id']}/proof.pdf"
    assert f'href="{proof}"' in confirmation and "Unduh bukti (PDF)" in confirmation
    assert receipt["billing_code"] not in confirmation
    assert "WIB" in confirmation and "Kartu Keluarga (KK) asli" in confirmation
    pdf = await client.get(proof, headers=login)
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    # The timeline: created, then paid.
    timeline = confirmation[confirmation.index("Riwayat status") :]
    assert timeline.index("Menunggu pembayaran") < timeline.index("Lunas - terjadwal")


async def test_empty_list_and_login_first(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    response = await client.get("/akun/permohonan", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/masuk?lanjut=/akun/permohonan"
    _, login = await new_account(client)
    empty = await html(client, "/akun/permohonan", login)
    assert "Belum ada permohonan" in empty and "0 dari 5" in empty


async def test_cancel_needs_the_csrf_token_and_releases_the_place(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = (await released_days(client))[0]
    login, receipt = await signed_in_booking(client, day)
    assert await booked(client, day) == 1
    path = f"/akun/permohonan/{receipt['id']}/batal"
    confirm = await html(client, path, login)
    assert "Yakin membatalkan permohonan ini?" in confirm
    refused = await client.post(path, data={"csrf": "x" * 32}, headers=login)
    assert refused.status == 403 and await booked(client, day) == 1
    done = await client.post(
        path, data={"csrf": csrf_of(confirm)}, headers=login, allow_redirects=False
    )
    assert done.status == 303
    assert done.headers["Location"] == f"/akun/permohonan/{receipt['id']}?pesan=dibatalkan"
    assert await booked(client, day) == 0
    detail = await html(client, done.headers["Location"], login)
    assert "Permohonan sudah dibatalkan" in detail and "Dibatalkan" in detail
    assert receipt["billing_code"] not in detail and 'action="/bank"' not in detail
    assert "/batal" not in detail  # nothing left to cancel
    # Sent again (a double click, a reload): the booking stays cancelled, once.
    again = await client.post(
        path, data={"csrf": csrf_of(confirm)}, headers=login, allow_redirects=False
    )
    assert again.status == 303 and await booked(client, day) == 0
    listing = await html(client, "/akun/permohonan", login)
    assert "0 dari 5" in listing
    await assert_invariants(client)


async def test_reschedule_behind_the_waiting_room(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    days = await released_days(client)
    login, receipt = await signed_in_booking(client, days[0])
    path = f"/akun/permohonan/{receipt['id']}/jadwal-ulang"
    guard = client.server.app[SETTINGS].guard_room
    without_admission(client)
    for response in (
        await client.get(path, headers=login, allow_redirects=False),
        await client.post(path, data={}, headers=login, allow_redirects=False),
    ):
        assert response.status == 303 and response.headers["Location"] == f"/antre/{guard}"
    gate = await admission(client)
    form = await html(client, path, login | gate)
    assert f'value="{days[1]}/s2"' in form and 'class="legend"' in form
    token = csrf_of(form)
    bad = await client.post(path, data={"csrf": token, "slot": "besok"}, headers=login | gate)
    assert bad.status == 422 and "Pilih tanggal dan sesi yang baru." in await bad.text()
    same = await client.post(
        path, data={"csrf": token, "slot": f"{days[0]}/s1"}, headers=login | gate
    )
    assert same.status == 409 and "Itu jadwal Anda saat ini" in await same.text()
    moved = await client.post(
        path,
        data={"csrf": token, "slot": f"{days[1]}/s2"},
        headers=login | gate,
        allow_redirects=False,
    )
    assert moved.status == 303, await moved.text()
    assert moved.headers["Location"].endswith("?pesan=jadwal-diubah")
    assert await booked(client, days[0], "s1") == 0 and await booked(client, days[1], "s2") == 1
    detail = await html(client, moved.headers["Location"], login)
    assert "Jadwal berhasil diubah" in detail and "Jadwal diubah" in detail
    assert "Jadwal hanya dapat diubah satu kali." in detail  # no second reschedule
    twice = await client.post(
        path, data={"csrf": token, "slot": f"{days[2]}/s1"}, headers=login | gate
    )
    assert twice.status == 409 and "hanya dapat diubah satu kali" in await twice.text()
    await assert_invariants(client)


async def test_another_accounts_booking_is_not_found(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = (await released_days(client))[0]
    _, receipt = await signed_in_booking(client, day)
    _, stranger = await new_account(client)
    gate = await admission(client)
    base = f"/akun/permohonan/{receipt['id']}"
    for path in (base, base + "/batal", base + "/jadwal-ulang", "/akun/permohonan/nope"):
        text = await html(client, path, stranger | gate, status=404)
        assert "Halaman tidak ditemukan" in text and "Budi" not in text
    await html(client, "/akun/permohonan", stranger)  # sets the CSRF cookie
    token = next(c.value for c in client.session.cookie_jar if c.key == CSRF_COOKIE)
    refused = await client.post(base + "/batal", data={"csrf": token}, headers=stranger)
    assert refused.status == 404 and await booked(client, day) == 1


async def test_english_labels(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = (await released_days(client))[0]
    login, receipt = await signed_in_booking(client, day)
    client.session.cookie_jar.update_cookies({i18n.LANG_COOKIE: "en"})
    listing = await html(client, "/akun/permohonan", login)
    assert "My applications" in listing and "Awaiting payment" in listing
    assert "Menunggu pembayaran" not in listing and "Add an applicant" in listing
    billing = await html(client, f"/akun/permohonan/{receipt['id']}", login)
    assert "Billing code" in billing and "How to pay" in billing
    await pay(client, login, receipt)
    confirmation = await html(client, f"/akun/permohonan/{receipt['id']}", login)
    assert "Paid - scheduled" in confirmation and "Download proof (PDF)" in confirmation


async def test_the_pages_get_bookings_typed_from_the_flow(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = (await released_days(client))[0]
    login, receipt = await signed_in_booking(client, day)
    flow = client.server.app[FLOW]
    account_id = await client.server.app[ACCOUNTS].account_id(login["X-Session-Token"])
    assert account_id is not None
    view = await flow.booking(account_id, receipt["id"])
    # dates as dates and instants as aware datetimes: the pages format, they do not parse
    assert view.date == date.fromisoformat(day) and view.applicant.birth_date.year > 1900
    assert view.expires_at is not None and view.expires_at.utcoffset() == timedelta(0)
    assert view.expires_at == datetime.fromisoformat(receipt["expires_at"])
    assert all(step.at.tzinfo is not None for step in view.timeline)
    (listed,) = await flow.bookings_of(account_id)
    assert listed.date == view.date and listed.id == receipt["id"]
    detail = await html(client, f"/akun/permohonan/{receipt['id']}", login)
    created = iso_utc(view.timeline[0].at)
    assert f'<time datetime="{created}">' in detail
    assert f'data-countdown="{int(view.expires_at.timestamp())}"' in detail
