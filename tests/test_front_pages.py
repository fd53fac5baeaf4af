"""The front door over HTTP: the home page, the waiting room in each state, the error pages, and
the offices' open dates they show (Slots.open_dates, against real bookings)."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, make_mocked_request

from api.appkeys import ENGINE, SLOTS
from api.booking import calendar
from api.booking.offices import Office
from api.booking.slots import OpenDate
from api.pages import front, i18n
from api.pages.i18n import short_date
from api.pages.render import page
from queue_engine.shuffle import commitment

from .booking_support import (
    OFFICE,
    booked,
    booker,
    booking_body,
    new_account,
    pool,
    released_days,
    set_capacity,
)
from .conftest import AppFactory
from .test_http import ADMIN, join, rooms

ENGLISH = {"antri_lang": "en"}


def english(client: TestClient) -> None:
    """From now on the client's browser has chosen English."""
    client.session.cookie_jar.update_cookies(ENGLISH)


async def text_of(client: TestClient, path: str, status: int = 200) -> str:
    response = await client.get(path)
    body = await response.text()
    assert response.status == status, body
    assert "Content-Security-Policy" in response.headers
    return html.unescape(body)


async def waiting_page(client: TestClient, room: str) -> str:
    """The waiting room's page as a visitor who is second in a line that barely moves."""
    await join(client, room)
    client.session.cookie_jar.clear()
    await join(client, room)
    return await text_of(client, f"/antre/{room}")


def state_of(page_html: str) -> str:
    found = re.search(r'data-state="([a-z_]+)"', page_html)
    assert found, "no data-state on the page"
    return found.group(1)


def assert_place(page_html: str) -> int:
    """The place shown: second in line, or first once the one ahead was let in; with the number
    of people ahead to match."""
    found = re.search(r'id="position">(\d+)<', page_html)
    assert found, "no place on the page"
    place = int(found.group(1))
    assert place in (1, 2)
    assert f'id="ahead">{place - 1}<' in page_html
    return place


# The home page


async def test_home_shows_fees_offices_open_dates_and_next_release(
    clock: datetime, make_client: AppFactory
) -> None:
    client = await make_client()
    guard, _ = rooms(client)
    slots = client.server.app[SLOTS]
    now = datetime.now(UTC)
    dates = await slots.open_dates(now)
    text = await text_of(client, "/")
    assert '<html lang="id">' in text
    assert "Janji temu paspor tanpa berebut" in text
    for amount in ("Rp 350.000", "Rp 650.000", "Rp 950.000", "+ Rp 1.000.000", "+ Rp 500.000"):
        assert amount in text, amount
    assert "PP 45/2024" in text and "Paspor elektronik" in text
    assert f'href="/antre/{guard}"' in text and "Ajukan Permohonan" in text
    when = front.moment_formatter("id")
    for office_id in ("tanjung-priok", "mataram", "jayapura"):
        office = slots.offices[office_id]
        assert office.name in text and office.city in text and office.province in text
        first = dates[office_id]
        assert first.day is not None
        assert short_date(first.day, "id") in text
        assert f"{first.places} tempat" in text
        assert when(calendar.next_release(office, now)) in text
    assert "WIB" in text and "WITA" in text and "WIT" in text
    soonest = min(calendar.next_release(o, now) for o in slots.offices.values())
    assert "Pembukaan kuota berikutnya" in text and when(soonest) in text


async def test_home_in_english(make_client: AppFactory) -> None:
    client = await make_client()
    english(client)
    slots = client.server.app[SLOTS]
    now = datetime.now(UTC)
    first = (await slots.open_dates(now))[OFFICE]
    text = await text_of(client, "/")
    assert '<html lang="en">' in text
    assert "Passport appointments without the scramble" in text
    assert "Official fees (PNBP)" in text and "Electronic passport" in text
    assert "Rp 950.000" in text and "Same-day service (percepatan)" in text
    assert first.day is not None and short_date(first.day, "en") in text
    assert f"{first.places} places" in text
    office = slots.offices[OFFICE]
    assert front.moment_formatter("en")(calendar.next_release(office, now)) in text
    assert "Apply now" in text


async def test_home_shows_a_full_office_as_full(make_client: AppFactory) -> None:
    client = await make_client()
    await pool(client).execute("UPDATE slots SET capacity = booked WHERE office_id = $1", OFFICE)
    text = await text_of(client, "/")
    row = text[text.index(client.server.app[SLOTS].offices[OFFICE].name) :]
    row = row[: row.index("</tr>")]
    assert "Penuh" in row and "tempat" not in row


# Slots.open_dates


async def test_open_dates_follow_real_bookings(clock: datetime, make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=60000, burst=500, max_active=1000)
    slots = client.server.app[SLOTS]
    office = slots.offices[OFFICE]
    now = datetime.now(UTC)
    days = await released_days(client)
    first, second = date.fromisoformat(days[0]), date.fromisoformat(days[1])
    per_day = sum(office.capacity.values()) * len(office.sessions)
    assert (await slots.open_dates(now))[OFFICE] == OpenDate(first, per_day)

    made = await client.post(
        "/api/v1/bookings", json=booking_body(days[0]), headers=await booker(client)
    )
    assert made.status == 201, await made.text()
    assert await booked(client, days[0]) == 1
    assert (await slots.open_dates(now))[OFFICE] == OpenDate(first, per_day - 1)

    # The first day full in every session and lane: the next released day is the first open one.
    await set_capacity(client, days[0], "s1", 1)
    await pool(client).execute(
        "UPDATE slots SET capacity = booked WHERE office_id = $1 AND day = $2", OFFICE, first
    )
    assert (await slots.open_dates(now))[OFFICE] == OpenDate(second, per_day)

    # Every released day full: none, although later (unreleased) dates still have places.
    await pool(client).execute(
        "UPDATE slots SET capacity = booked WHERE office_id = $1 AND day <= $2",
        OFFICE,
        calendar.released_until(office, now),
    )
    unreleased = await pool(client).fetchval(
        "SELECT sum(capacity - booked) FROM slots WHERE office_id = $1", OFFICE
    )
    assert unreleased > 0
    dates = await slots.open_dates(now)
    assert dates[OFFICE] == OpenDate(None, 0)
    assert set(dates) == set(slots.offices)
    # The other offices keep their first bookable day; an office may have none at this moment
    # (Tanjung Balai Karimun's seven days are all gone on a Friday before its 18:00 release).
    for office_id, found in dates.items():
        other = slots.offices[office_id]
        if office_id != OFFICE:
            assert found.day == first_bookable(other, now, slots.holidays), office_id


def first_bookable(office: Office, now: datetime, holidays: calendar.Holidays) -> date | None:
    """The office's first day that can be booked at `now`, by the calendar's rules."""
    today = calendar.local_today(office, now)
    ahead = (today + timedelta(days=n) for n in range(1, 60))
    return next((d for d in ahead if calendar.is_bookable(office, d, now, holidays)), None)


# The waiting room, state by state


async def test_waiting_shows_place_ahead_eta_progress(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    text = await waiting_page(client, guard)
    assert state_of(text) == "waiting" and f'data-room="{guard}"' in text
    assert_place(text)
    assert re.search(r'id="eta" class="eta">sekitar \d+–\d+ menit<', text)
    assert re.search(r'<progress id="progress" max="100" value="\d+">', text)
    assert re.search(r'<div id="live" aria-live="polite">', text), "the facts are a live region"
    assert '<noscript><meta http-equiv="refresh" content="' in text
    assert 'id="updated"' in text and 'id="message"' in text
    # texts for the script are rendered, in the visitor's language
    assert 'data-text-busy="Sedang padat. Tempat Anda tetap aman' in text
    assert 'data-eta-minutes="sekitar {low}–{high} menit"' in text
    again = await text_of(client, f"/antre/{guard}")
    assert assert_place(again) <= assert_place(text), "a reload keeps the place"


async def test_waiting_in_english(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    english(client)
    await join(client, guard)
    client.session.cookie_jar.clear()
    english(client)
    await join(client, guard)
    text = await text_of(client, f"/antre/{guard}")
    assert "Waiting room" in text and "People ahead of you" in text
    assert re.search(r'id="eta" class="eta">about \d+–\d+ minutes<', text)
    assert 'data-text-busy="Very busy right now. Your place is safe' in text


async def test_prequeue_counts_down_and_explains_the_fair_draw(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    starts = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    changed = await client.patch(
        f"/api/v1/admin/rooms/{guard}", json={"event_starts_at": starts.isoformat()}, headers=ADMIN
    )
    assert changed.status == 200, await changed.text()
    await join(client, guard)
    text = await text_of(client, f"/antre/{guard}")
    assert state_of(text) == "prequeue"
    assert f'data-countdown="{int(starts.timestamp())}"' in text
    assert re.search(r"data-countdown=\"\d+\" data-done=\"sekarang\">(1:00:00|59:\d\d)<", text)
    local = starts.astimezone(ZoneInfo("Asia/Jakarta"))
    nbsp = "\N{NO-BREAK SPACE}"
    assert f"{local:%H.%M}{nbsp}WIB" in text and f"{nbsp}WITA" in text and f"{nbsp}WIT</p>" in text
    assert "diundi" in text and "seed" in text
    public = await (await client.get(f"/api/v1/rooms/{guard}")).json()
    assert public["shuffle"]["commitment"] in text
    seed = client.server.app[ENGINE].room(guard).view().seed
    assert commitment(seed) in text and seed not in text, "the seed stays secret until the draw"
    assert f'href="/api/v1/rooms/{guard}"' in text
    home = await text_of(client, "/")
    assert "Ruang tunggu mulai mengundi pada" in home
    assert front.moment_formatter("id")(local) in home


async def test_paused_keeps_the_place(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    await join(client, guard)
    client.session.cookie_jar.clear()
    await join(client, guard)
    paused = await client.patch(
        f"/api/v1/admin/rooms/{guard}", json={"state": "paused"}, headers=ADMIN
    )
    assert paused.status == 200
    text = await text_of(client, f"/antre/{guard}")
    assert state_of(text) == "paused"
    assert "dijeda" in text and "Tempat Anda tetap aman" in text
    assert_place(text)


async def test_closed_says_so_and_when_places_open_next(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    closed = await client.patch(
        f"/api/v1/admin/rooms/{guard}", json={"state": "closed"}, headers=ADMIN
    )
    assert closed.status == 200
    text = await text_of(client, f"/antre/{guard}")
    assert state_of(text) == "closed"
    assert "Ruang tunggu sedang ditutup" in text
    offices = client.server.app[SLOTS].offices.values()
    soonest = min(calendar.next_release(o, datetime.now(UTC)) for o in offices)
    assert "Pembukaan kuota berikutnya" in text
    assert front.moment_formatter("id")(soonest) in text


async def test_sold_out_offers_the_next_release_and_offices_with_places(
    make_client: AppFactory,
) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    await join(client, guard)
    client.session.cookie_jar.clear()
    await join(client, guard)
    sold = await client.put(
        f"/api/v1/admin/rooms/{guard}/inventory", json={"remaining": 0}, headers=ADMIN
    )
    assert sold.status == 200
    # Two offices with places left, every other one full: the page names those two.
    await pool(client).execute(
        "UPDATE slots SET capacity = booked WHERE office_id <> ALL($1::text[])",
        ["mataram", "jayapura"],
    )
    text = await text_of(client, f"/antre/{guard}")
    assert state_of(text) == "sold_out"
    assert "Kuota sudah habis" in text and "Pembukaan kuota berikutnya" in text
    assert "Kantor yang masih punya tempat" in text
    offered = text[text.index("Kantor yang masih punya tempat") :]
    offered = offered[: offered.index("</ul>")]
    assert "Mataram" in offered and "Jayapura" in offered
    assert len(re.findall(r"\d+ tempat", offered)) == 2
    assert "Jakarta" not in offered


# Error pages


async def test_not_found_page_in_both_languages(make_client: AppFactory) -> None:
    client = await make_client()
    text = await text_of(client, "/tidak-ada", 404)
    assert "Halaman tidak ditemukan" in text and "Kembali ke beranda" in text
    assert "tempat Anda tetap tersimpan" in text
    english(client)
    text = await text_of(client, "/tidak-ada", 404)
    assert '<html lang="en">' in text
    assert "Page not found" in text and "your place is kept" in text


async def test_busy_page_honours_retry_after(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    await join(client, guard)
    client.session.cookie_jar.clear()
    await join(client, guard)
    engine = client.server.app[ENGINE]
    await engine.stop()  # no more refreshes: the room's view goes stale and the engine fails closed
    await asyncio.sleep(engine.settings.stale_after + 0.2)
    response = await client.get(f"/antre/{guard}")
    text = html.unescape(await response.text())
    assert response.status == 503
    retry = int(response.headers["Retry-After"])
    assert retry > 0
    assert f'<meta http-equiv="refresh" content="{retry}">' in text
    assert f'data-retry-after="{retry}">{retry}<' in text
    assert "Sedang padat" in text and "Tempat Anda di antrean tetap aman" in text
    # The home page does not need the room: it still shows.
    assert (await client.get("/")).status == 200


@pytest.mark.parametrize(
    ("status", "code", "retry_after", "indonesian", "english_text"),
    [
        (403, "csrf", None, "Formulir sudah kedaluwarsa", "The form has expired"),
        (409, "slot_full", None, "Sesi itu baru saja penuh", "That session has just filled up"),
        (422, "invalid", None, "Ada isian yang belum benar", "Some answers need correcting"),
        (429, "too_many_attempts", "30", "Terlalu banyak percobaan", "Too many attempts"),
        (401, "unauthenticated", None, "Silakan masuk dulu", "Please log in first"),
    ],
)
async def test_error_pages_say_what_to_do_next(
    make_client: AppFactory,
    status: int,
    code: str,
    retry_after: str | None,
    indonesian: str,
    english_text: str,
) -> None:
    client = await make_client()
    app = client.server.app
    for cookie, expected in (("antri_lang=id", indonesian), ("antri_lang=en", english_text)):
        request = make_mocked_request("GET", "/masuk", headers={"Cookie": cookie}, app=app)
        context = {"status": status, "code": code, "message": "x", "retry_after": retry_after}
        response = page(request, "error.html", context, status)
        assert response.status == status and response.text is not None
        text = html.unescape(response.text)
        assert expected in text
        assert 'href="/"' in text  # always a way on
        # Only a busy page reloads itself; a refused attempt waits for the visitor.
        assert 'http-equiv="refresh"' not in text
        if retry_after:
            assert f'data-retry-after="{retry_after}">{retry_after}<' in text


def test_every_front_text_has_an_english_translation() -> None:
    """Each `_("…")` of the front door's templates and handlers is in the English catalogue."""
    catalogue = i18n.english()
    root = Path(__file__).parent.parent / "api"
    files = ["templates/home.html", "templates/antre.html", "templates/error.html"]
    files += ["rooms.py", "pages/front.py"]
    missing = [
        text
        for name in files
        for text in re.findall(r'_\("((?:[^"\\]|\\.)*)"', (root / name).read_text("utf-8"))
        if text not in catalogue
    ]
    assert not missing, missing


async def test_the_crowds_home_page_is_shared_but_not_with_a_logged_in_visitor(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    anonymous = await (await client.get("/")).text()
    english = await (await client.get("/", headers={"Cookie": "antri_lang=en"})).text()
    assert 'lang="id"' in anonymous and 'lang="en"' in english
    _, login = await new_account(client)
    session = {"Cookie": f"antri_session={login['X-Session-Token']}"}
    own = await (await client.get("/", headers=session)).text()
    assert "Keluar" in own and "Keluar" not in anonymous
    assert "Keluar" not in await (await client.get("/")).text()


async def test_the_shared_home_page_carries_each_visitors_own_token_and_banner(
    make_client: AppFactory,
) -> None:
    """Within the home page's cache window, each visitor still gets their own CSRF token (in
    the "give the turn back" form) and only a visitor holding a turn sees that banner."""
    client = await make_client()
    banner = "Anda masih memegang giliran"
    first, second, third = ("a" * 32, "b" * 32, "c" * 32)
    holder = await client.get("/", headers={"Cookie": f"antri_admission=x; antri_csrf={first}"})
    holder_page = await holder.text()
    assert banner in holder_page and first in holder_page
    other = await (await client.get("/", headers={"Cookie": f"antri_csrf={second}"})).text()
    assert banner not in other and first not in other
    another_holder = await client.get(
        "/", headers={"Cookie": f"antri_admission=y; antri_csrf={third}"}
    )
    text = await another_holder.text()
    assert banner in text and third in text and first not in text
    # A visitor without a token gets a new one, in the page and as a cookie, matching.
    client.session.cookie_jar.clear()
    fresh = await client.get("/", headers={"Cookie": "antri_admission=z"})
    token = fresh.cookies["antri_csrf"].value
    assert f'name="csrf" value="{token}"' in await fresh.text()
