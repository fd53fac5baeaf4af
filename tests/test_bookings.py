"""The booking flow over HTTP on real PostgreSQL and Redis: places, NIKs, idempotency, payment,
expiry, reschedule, cancel and the officer's steps."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiohttp.test_utils import TestClient

from api.appkeys import ENGINE, SETTINGS
from api.booking import signatures
from api.booking.calendar import Holidays

from .booking_support import (
    admission,
    applicant,
    assert_invariants,
    booked,
    booker,
    booking_body,
    new_account,
    new_turn,
    nik,
    pay,
    pool,
    released_days,
    set_capacity,
)
from .conftest import ADMIN_TOKEN, PAYMENT_SECRET, AppFactory
from .documents_support import jpeg

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}


async def book(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return await client.post("/api/v1/bookings", json=body, headers=headers)


async def first_day(client: TestClient) -> str:
    return (await released_days(client))[0]


def expected_released(now: datetime, dates: list[dict[str, Any]]) -> set[str]:
    """Tanjung Priok's released dates among `dates` at `now`, from the published rule: each
    Friday at 14:00 WIB opens the days up to two weeks after it, Monday to Friday but holidays,
    from tomorrow on."""
    local = now.astimezone(ZoneInfo("Asia/Jakarta"))
    friday = local.date() - timedelta(days=(local.weekday() - 4) % 7)
    if friday == local.date() and local.hour < 14:
        friday -= timedelta(days=7)
    holidays = Holidays.load().dates
    days = (date.fromisoformat(d["date"]) for d in dates)
    return {
        day.isoformat()
        for day in days
        if local.date() < day <= friday + timedelta(days=14)
        and day.weekday() < 5
        and day not in holidays
    }


async def test_offices_fees_and_availability(clock: datetime, make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    offices = await (await client.get("/api/v1/offices")).json()
    assert len(offices) >= 30
    priok = next(o for o in offices if o["id"] == "tanjung-priok")
    assert {"id", "name", "city", "province", "timezone"} <= set(priok)
    assert "Tanjung Priok" in priok["name"] and priok["timezone"] == "WIB"
    assert {o["timezone"] for o in offices} == {"WIB", "WITA", "WIT"}
    fees = await (await client.get("/api/v1/fees")).json()
    assert fees["in_force"]["regulation"].startswith("PP 45/2024")
    availability = await client.get("/api/v1/offices/tanjung-priok/availability?days=21")
    body = await availability.json()
    assert body["office_id"] == "tanjung-priok" and len(body["dates"]) == 21
    released = [d for d in body["dates"] if d["released"]]
    assert released, "some dates are released"
    lanes = released[0]["sessions"][0]["lanes"]
    assert set(lanes) == {"reguler", "percepatan", "prioritas"}
    assert lanes["reguler"]["remaining"] == lanes["reguler"]["capacity"] > 0
    later = [d for d in body["dates"] if d["sessions"] and not d["released"]]
    assert later, "dates after the release horizon are shown but not released"
    assert {d["date"] for d in released} == expected_released(clock, body["dates"])
    for query in ("days=0", "days=x", "from=2026-13-01", "days=400"):
        bad = await client.get(f"/api/v1/offices/tanjung-priok/availability?{query}")
        assert bad.status == 422, query
    assert (await client.get("/api/v1/offices/nowhere/availability")).status == 404


async def test_gated_and_logged_in(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    _, login = await new_account(client)
    refused = await book(client, login, booking_body(day))
    assert refused.status == 401
    assert (await refused.json())["error"] == "admission_required"
    gate = await admission(client)
    client.session.cookie_jar.clear()
    anonymous = await book(client, gate, booking_body(day))
    assert anonymous.status == 401
    assert (await anonymous.json())["error"] == "login_required"
    assert (await book(client, login | gate, booking_body(day))).status == 201


async def test_strict_input(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    headers = await booker(client)
    for extra in ({"status": "confirmed"}, {"amount": 0}):
        response = await book(client, headers, booking_body(day) | extra)
        assert response.status == 422
        body = await response.json()
        assert body["error"] == "invalid" and set(body["fields"]) == set(extra)
    wrong_nik = booking_body(day, applicant=applicant(nik=nik(sex="P")))
    body = await (await book(client, headers, wrong_nik)).json()
    assert body["codes"]["applicant.nik"] == "nik_sex_mismatch"
    child = applicant(
        birth_date="2015-03-02", nik=nik(date_of(2015, 3, 2)), marital_status="belum_kawin"
    )
    body = await (await book(client, headers, booking_body(day, applicant=child))).json()
    assert body["codes"]["passport.validity_years"] == "validity_needs_adult"
    for raw in (b"{", b"[]", b'"x"'):
        response = await client.post("/api/v1/bookings", data=raw, headers=headers)
        assert response.status == 400
    assert await pool(client).fetchval("SELECT count(*) FROM bookings") == 0


def date_of(year: int, month: int, day: int) -> Any:
    from datetime import date

    return date(year, month, day)


async def test_two_hundred_bookers_race_for_five_places(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    await set_capacity(client, day, "s1", 5)
    bookers = [await booker(client) for _ in range(200)]  # each in a turn of its own

    async def attempt(headers: dict[str, str]) -> tuple[int, str]:
        response = await book(client, headers, booking_body(day))
        body = await response.json()
        return response.status, body.get("error", "")

    outcomes = Counter(await asyncio.gather(*(attempt(headers) for headers in bookers)))
    assert outcomes == {(201, ""): 5, (409, "slot_full"): 195}
    assert await booked(client, day) == 5
    await assert_invariants(client)


async def test_same_nik_from_two_accounts_gets_one_booking(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    person = applicant()
    bookers = [await booker(client) for _ in range(20)]
    responses = await asyncio.gather(
        *(book(client, headers, booking_body(day, applicant=person)) for headers in bookers)
    )
    outcomes = Counter([(r.status, (await r.json()).get("error")) for r in responses])
    assert outcomes == {(201, None): 1, (409, "nik_has_active_booking"): 19}
    assert await booked(client, day) == 1
    await assert_invariants(client)


async def test_an_account_applies_for_five_people_at_most(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    headers = await booker(client)
    for _ in range(5):  # a turn makes one booking
        assert (await book(client, headers, booking_body(day))).status == 201
        headers = await new_turn(client, headers)
    sixth = await book(client, headers, booking_body(day))
    assert sixth.status == 409 and (await sixth.json())["error"] == "too_many_applicants"


async def test_idempotency_keys(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    headers = await booker(client)
    body = booking_body(day)
    keyed = headers | {"Idempotency-Key": "booking-1"}
    copies = await asyncio.gather(*(book(client, keyed, body) for _ in range(50)))
    answers = [await r.json() for r in copies]
    assert {r.status for r in copies} == {201}
    assert len({a["id"] for a in answers}) == 1, "50 copies, one booking"
    assert await pool(client).fetchval("SELECT count(*) FROM bookings") == 1
    other = await book(client, keyed, booking_body(day))
    assert other.status == 422
    assert "Idempotency-Key" in (await other.json())["fields"]
    # A refusal is replayed too: the same key gets the same 409, not a second attempt.
    headers = await new_turn(client, headers)  # the booking ended the first turn
    await set_capacity(client, day, "s2", 0)
    full = headers | {"Idempotency-Key": "booking-2"}
    late_body = booking_body(day, "s2")
    assert (await book(client, full, late_body)).status == 409
    await set_capacity(client, day, "s2", 10)
    replay = await book(client, full, late_body)
    assert replay.status == 409 and (await replay.json())["error"] == "slot_full"


async def paid_booking(client: TestClient, headers: dict[str, str], day: str) -> dict[str, Any]:
    return await pay(client, headers, await (await book(client, headers, booking_body(day))).json())


async def test_payment_confirms_and_issues_the_proof(
    clock: datetime, make_client: AppFactory
) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    headers = await booker(client)
    created = await book(client, headers, booking_body(day))
    assert created.status == 201
    receipt = await created.json()
    assert receipt["status"] == "awaiting_payment" and receipt["currency"] == "IDR"
    assert receipt["amount"] == 950_000 and len(receipt["billing_code"]) == 15
    not_yet = await client.get(f"/api/v1/bookings/{receipt['id']}/proof.pdf", headers=headers)
    assert not_yet.status == 409
    booking = await pay(client, headers, receipt)
    assert booking["status"] == "confirmed" and booking["booking_code"]
    assert booking["qr_text"].startswith(f"ANTRI:{booking['booking_code']}:")
    assert booking["billing_code"] is None
    assert [e["status"] for e in booking["timeline"]] == ["awaiting_payment", "confirmed"]
    assert "nik" not in booking["applicant"] and "*" in booking["applicant"]["nik_masked"]
    pdf = await client.get(f"/api/v1/bookings/{receipt['id']}/proof.pdf", headers=headers)
    assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")
    # The officer finds it by the QR text and moves it along; the applicant sees a timeline.
    found = await client.get(
        "/api/v1/admin/bookings", params={"code": booking["qr_text"]}, headers=ADMIN
    )
    assert (await found.json())["id"] == receipt["id"]
    forged = booking["qr_text"][:-1] + ("0" if booking["qr_text"][-1] != "0" else "1")
    assert (
        await client.get("/api/v1/admin/bookings", params={"code": forged}, headers=ADMIN)
    ).status == 404
    url = f"/api/v1/admin/bookings/{receipt['id']}/status"
    skip = await client.post(url, json={"status": "ready"}, headers=ADMIN)
    assert skip.status == 409
    for step in ("checked_in", "interviewed", "approved", "printing", "ready", "collected"):
        moved = await client.post(url, json={"status": step}, headers=ADMIN)
        assert moved.status == 200, await moved.text()
    assert (await client.post(url, json={"status": "checked_in"})).status == 401
    final = await (await client.get(f"/api/v1/bookings/{receipt['id']}", headers=headers)).json()
    assert [e["status"] for e in final["timeline"]][-1] == "collected"
    await assert_invariants(client)


def signed(
    body: dict[str, Any], secret: bytes = PAYMENT_SECRET, at: int | None = None
) -> dict[str, Any]:
    raw = orjson.dumps(body)
    header = signatures.sign(secret, raw, int(time.time()) if at is None else at)
    return {"data": raw, "headers": {signatures.HEADER: header, "Content-Type": "application/json"}}


async def test_payment_callback_replayed_forged_and_unknown(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    headers = await booker(client)
    receipt = await (await book(client, headers, booking_body(day))).json()
    notice = {
        "billing_code": receipt["billing_code"],
        "amount": receipt["amount"],
        "transaction_id": "BANK-1",
        "paid_at": "2026-11-28T08:00:00Z",
    }
    callback = "/api/v1/payments/callback"
    for forged in (
        signed(notice, secret=b"wrong"),
        signed(notice, at=int(time.time()) - 3600),
        {"data": orjson.dumps(notice), "headers": {}},
    ):
        response = await client.post(callback, **forged)
        assert response.status == 401
    tampered = signed(notice)
    tampered["data"] = orjson.dumps(notice | {"amount": 1})
    assert (await client.post(callback, **tampered)).status == 401
    assert (await client.post(callback, **signed(notice | {"amount": 1}))).status == 422
    unknown = await client.post(callback, **signed(notice | {"billing_code": "100000000000000"}))
    assert unknown.status == 404
    # The bank retries: 50 copies of one callback at once confirm the booking once.
    replies = await asyncio.gather(*(client.post(callback, **signed(notice)) for _ in range(50)))
    assert {r.status for r in replies} == {200}
    assert sorted([(await r.json())["replayed"] for r in replies]) == [False] + [True] * 49
    other = await client.post(callback, **signed(notice | {"transaction_id": "BANK-2"}))
    assert other.status == 409 and (await other.json())["error"] == "already_paid"
    assert await pool(client).fetchval("SELECT count(*) FROM payments") == 1
    again = await client.post(
        "/api/v1/payments/sandbox/pay", json={"billing_code": notice["billing_code"]}
    )
    assert again.status == 409


async def test_unpaid_booking_expires_and_gives_back_its_place(make_client: AppFactory) -> None:
    # No worker runs in this test: the place comes back by the check on read.
    client = await make_client(
        changes={"payment_window_seconds": 1, "sweep_seconds": 3600}, **FAST_ROOM
    )
    day = await first_day(client)
    await set_capacity(client, day, "s1", 1)
    first = await booker(client)
    receipt = await (await book(client, first, booking_body(day))).json()
    second = await booker(client)
    full = await book(client, second, booking_body(day))
    assert (await full.json())["error"] == "slot_full"
    await asyncio.sleep(1.2)
    retry = await book(client, second, booking_body(day))
    assert retry.status == 201, await retry.text()
    expired = await (await client.get(f"/api/v1/bookings/{receipt['id']}", headers=first)).json()
    assert expired["status"] == "expired" and expired["billing_code"] is None
    late = await client.post(
        "/api/v1/payments/callback",
        **signed({"billing_code": receipt["billing_code"], "amount": receipt["amount"],
                  "transaction_id": "LATE-1", "paid_at": "2026-11-28T08:00:00Z"}),
    )  # fmt: skip
    assert late.status == 409 and (await late.json())["error"] == "billing_expired"
    await assert_invariants(client)


async def test_the_sweeper_expires_without_any_read(make_client: AppFactory) -> None:
    client = await make_client(
        changes={"payment_window_seconds": 1, "sweep_seconds": 0.2}, **FAST_ROOM
    )
    day = await first_day(client)
    headers = await booker(client)
    receipt = await (await book(client, headers, booking_body(day))).json()
    assert await booked(client, day) == 1
    deadline = time.monotonic() + 5
    while await booked(client, day) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert await booked(client, day) == 0
    status = await pool(client).fetchval(
        "SELECT status FROM bookings WHERE billing_code = $1", receipt["billing_code"]
    )
    assert status == "expired"
    refused = await client.post(
        "/api/v1/payments/sandbox/pay", json={"billing_code": receipt["billing_code"]}
    )
    assert refused.status == 409


async def test_reschedule_once_into_a_released_place(
    clock: datetime, make_client: AppFactory
) -> None:
    client = await make_client(**FAST_ROOM)
    days = await released_days(client)
    headers = await booker(client)
    receipt = await (await book(client, headers, booking_body(days[0]))).json()
    headers = await new_turn(client, headers)  # rescheduling is gated too
    url = f"/api/v1/bookings/{receipt['id']}/reschedule"
    same = await client.post(url, json={"date": days[0], "session_id": "s1"}, headers=headers)
    assert same.status == 409
    availability = await (
        await client.get("/api/v1/offices/tanjung-priok/availability?days=60")
    ).json()
    # The first open day after the released ones: not yet released by the release rules, on
    # any day of the week (today is also "not released", but it is refused as `date_passed`).
    unreleased = next(
        d["date"]
        for d in availability["dates"]
        if d["sessions"] and not d["released"] and d["date"] > days[-1]
    )
    refused = await client.post(url, json={"date": unreleased, "session_id": "s1"}, headers=headers)
    assert refused.status == 409 and (await refused.json())["error"] == "not_released"
    bad = await client.post(url, json={"date": days[1], "session_id": "s9"}, headers=headers)
    assert bad.status == 422
    moved = await client.post(url, json={"date": days[1], "session_id": "s2"}, headers=headers)
    assert moved.status == 200, await moved.text()
    view = await moved.json()
    assert (view["date"], view["session"]["id"]) == (days[1], "s2")
    assert view["reschedules_left"] == 0
    assert await booked(client, days[0], "s1") == 0 and await booked(client, days[1], "s2") == 1
    twice = await client.post(url, json={"date": days[0], "session_id": "s3"}, headers=headers)
    assert twice.status == 409 and (await twice.json())["error"] == "already_rescheduled"
    await assert_invariants(client)


async def test_day_old_keys_and_turn_records_are_forgotten_and_fresh_ones_kept(
    make_client: AppFactory,
) -> None:
    from api.appkeys import BOOKINGS

    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    headers = await booker(client)
    for key in ("old", "fresh"):
        made = await book(client, headers | {"Idempotency-Key": key}, booking_body(day))
        assert made.status == 201, await made.text()
        headers = await new_turn(client, headers)
    db = pool(client)
    assert await db.fetchval("SELECT count(*) FROM turn_bookings") == 2
    await db.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old'"
    )
    await db.execute(
        "UPDATE turn_bookings SET made_at = now() - interval '25 hours' WHERE booking_id ="
        " (SELECT min(booking_id::text)::uuid FROM turn_bookings)"
    )
    assert await client.server.app[BOOKINGS].forget_old_keys() == 2
    assert await db.fetchval("SELECT array_agg(key) FROM idempotency_keys") == ["fresh"]
    assert await db.fetchval("SELECT count(*) FROM turn_bookings") == 1


async def test_reschedule_closes_at_the_end_of_the_day_before(
    clock: datetime, make_client: AppFactory
) -> None:
    from api.appkeys import BOOKINGS
    from api.booking.errors import Conflict

    client = await make_client(**FAST_ROOM)
    days = await released_days(client)
    headers = await booker(client)
    receipt = await (await book(client, headers, booking_body(days[0]))).json()
    account_id = await pool(client).fetchval("SELECT account_id FROM bookings")
    bookings = client.server.app[BOOKINGS]
    booking_day = date.fromisoformat(days[0])
    midnight = datetime.combine(booking_day, datetime.min.time(), ZoneInfo("Asia/Jakarta"))
    try:
        await bookings.reschedule(
            account_id, receipt["id"], {"date": days[1], "session_id": "s1"},
            midnight.astimezone(UTC) + timedelta(minutes=1),
        )  # fmt: skip
    except Conflict as refusal:
        assert refusal.code == "too_late"
    else:
        raise AssertionError("rescheduled on the day itself")


async def test_cancel_gives_the_place_back(clock: datetime, make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    headers = await booker(client)
    booking = await paid_booking(client, headers, day)
    assert await booked(client, day) == 1
    cancelled = await client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=headers)
    assert cancelled.status == 200 and (await cancelled.json())["status"] == "cancelled"
    assert await booked(client, day) == 0
    # A retry (the first answer lost on the way) finds the booking as asked, changes nothing.
    again = await client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=headers)
    assert again.status == 200 and (await again.json())["status"] == "cancelled"
    assert await booked(client, day) == 0
    # The same person may book again once the first booking is no longer active.
    same_person = booking_body(day)
    assert (await book(client, await new_turn(client, headers), same_person)).status == 201
    await assert_invariants(client)


async def test_retried_changes_answer_what_was_done_once(make_client: AppFactory) -> None:
    """Cancel, reschedule and the officer's step, each sent 100 times at once (a client retrying
    after a lost answer): every copy gets 200 and the booking's state, the change is made once."""
    client = await make_client(**FAST_ROOM)
    days = await released_days(client)
    headers = await booker(client)
    moving = await paid_booking(client, headers, days[0])
    headers = await new_turn(client, headers)  # a turn is one booking; rescheduling is gated
    url = f"/api/v1/bookings/{moving['id']}/reschedule"
    target = {"date": days[1], "session_id": "s2"}
    moves = await asyncio.gather(
        *(client.post(url, json=target, headers=headers) for _ in range(100))
    )
    assert [m.status for m in moves] == [200] * 100
    assert {(v["date"], v["session"]["id"]) for v in [await m.json() for m in moves]} == {
        (days[1], "s2")
    }
    assert await booked(client, days[0]) == 0 and await booked(client, days[1], "s2") == 1
    step = f"/api/v1/admin/bookings/{moving['id']}/status"
    steps = await asyncio.gather(
        *(client.post(step, json={"status": "checked_in"}, headers=ADMIN) for _ in range(100))
    )
    assert [s.status for s in steps] == [200] * 100

    cancelling = await paid_booking(client, headers, days[0])  # the turn still held
    cancels = await asyncio.gather(
        *(
            client.post(f"/api/v1/bookings/{cancelling['id']}/cancel", headers=headers)
            for _ in range(100)
        )
    )
    assert [c.status for c in cancels] == [200] * 100
    assert await booked(client, days[0]) == 0
    events = await pool(client).fetch(
        "SELECT booking_id, status FROM booking_events WHERE status IN"
        " ('rescheduled', 'checked_in', 'cancelled')"
    )
    assert Counter(e["status"] for e in events) == {
        "rescheduled": 1, "checked_in": 1, "cancelled": 1
    }  # fmt: skip
    await assert_invariants(client)


async def test_another_accounts_booking_is_not_found(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    owner = await booker(client)
    receipt = await (await book(client, owner, booking_body(day))).json()
    _, stranger = await new_account(client)
    base = f"/api/v1/bookings/{receipt['id']}"
    for method, path in (("GET", base), ("POST", base + "/cancel"), ("GET", base + "/proof.pdf"),
                         ("GET", "/api/v1/bookings/not-a-uuid")):  # fmt: skip
        response = await client.request(method, path, headers=stranger)
        assert response.status == 404, path
    mine = await (await client.get("/api/v1/bookings", headers=stranger)).json()
    assert mine == []
    theirs = await (await client.get("/api/v1/bookings", headers=owner)).json()
    assert [b["id"] for b in theirs] == [receipt["id"]]


async def test_documents_are_checked_by_content(make_client: AppFactory) -> None:
    from aiohttp import FormData

    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    headers = await booker(client)
    receipt = await (await book(client, headers, booking_body(day))).json()
    url = f"/api/v1/bookings/{receipt['id']}/documents"

    def form(name: str, data: bytes, filename: str = "ktp.jpg") -> FormData:
        payload = FormData()
        payload.add_field(name, data, filename=filename, content_type="image/jpeg")
        return payload

    ok = await client.post(url, data=form("ktp", jpeg()), headers=headers)
    assert ok.status == 201, await ok.text()
    assert (await ok.json())["saved"][0]["media_type"] == "image/jpeg"
    html = await client.post(
        url, data=form("kk", b"<html><script>x</script>", "kk.jpg"), headers=headers
    )
    assert html.status == 415
    big = await client.post(
        url, data=form("kk", b"%PDF-" + b"0" * (2 * 1024 * 1024)), headers=headers
    )
    assert big.status == 413
    unknown = await client.post(url, data=form("selfie", jpeg()), headers=headers)
    assert unknown.status == 422
    view = await (await client.get(f"/api/v1/bookings/{receipt['id']}", headers=headers)).json()
    assert [d["kind"] for d in view["documents"]] == ["ktp"]
    assert view["documents_required"] == ["ktp", "kk", "pendukung"]


async def test_inventory_feeds_the_waiting_room(make_client: AppFactory) -> None:
    client = await make_client(changes={"feed_inventory": True, "sweep_seconds": 30}, **FAST_ROOM)
    day = await first_day(client)
    # Every released place but one is gone.
    await pool(client).execute("UPDATE slots SET capacity = booked")
    await pool(client).execute(
        "UPDATE slots SET capacity = 1 WHERE office_id = 'tanjung-priok' AND day = $1"
        " AND session_id = 's1' AND lane = 'reguler'",
        date_of(*map(int, day.split("-"))),
    )
    headers = await booker(client)
    room = client.server.app[ENGINE].room(client.server.app[SETTINGS].guard_room)
    assert (await book(client, headers, booking_body(day))).status == 201
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        await room.refresh()
        if room.view().sold_out:
            break
        await asyncio.sleep(0.05)
    assert room.view().sold_out, "the last place taken: waiters hear sold_out"


async def test_operator_changes_a_quota_but_never_below_what_is_booked(
    make_client: AppFactory,
) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    headers = await booker(client)
    for _ in range(2):
        assert (await book(client, headers, booking_body(day))).status == 201
        headers = await new_turn(client, headers)
    url = "/api/v1/admin/offices/tanjung-priok/quota"
    quota = {"date": day, "session_id": "s1", "lane": "reguler", "capacity": 2}
    assert (await client.put(url, json=quota)).status == 401
    closed = await client.put(url, json=quota, headers=ADMIN)
    assert closed.status == 200 and (await closed.json())["remaining"] == 0
    full = await book(client, headers, booking_body(day))
    assert (await full.json())["error"] == "slot_full"
    below = await client.put(url, json=quota | {"capacity": 1}, headers=ADMIN)
    assert below.status == 409 and (await below.json())["error"] == "below_booked"
    for bad in ({"capacity": -1}, {"lane": "vip"}, {"date": "besok"}, {"extra": 1}):
        assert (await client.put(url, json=quota | bad, headers=ADMIN)).status == 422, bad
    gone = await client.put(url, json=quota | {"date": "2020-01-06"}, headers=ADMIN)
    assert gone.status == 404
    account = await (await client.get("/api/v1/account", headers=headers)).json()
    assert account["applicants"] == 2 and account["verified"] is True
    ready = await (await client.get("/readyz")).json()
    assert ready | {"worker": "-", "scheduler": "-"} == {
        "status": "ok",
        "redis": "ok",
        "database": "ok",
        "worker": "-",  # the RQ worker's and scheduler's state: see test_dashboards
        "scheduler": "-",
    }
    await assert_invariants(client)


async def test_bookings_are_counted_for_the_dashboards(make_client: AppFactory) -> None:
    client = await make_client(changes={"sweep_seconds": 0.2}, **FAST_ROOM)
    day = await first_day(client)
    await set_capacity(client, day, "s1", 1)
    headers = await booker(client)
    await pay(client, headers, await (await book(client, headers, booking_body(day))).json())
    assert (await book(client, await new_turn(client, headers), booking_body(day))).status == 409
    await asyncio.sleep(0.5)  # a sweep or two
    metrics = await (await client.get("/metrics")).text()
    assert 'antri_bookings_total{outcome="created"} 1.0' in metrics
    assert 'antri_bookings_total{outcome="slot_full"} 1.0' in metrics
    assert 'antri_payments_total{outcome="confirmed"} 1.0' in metrics
    assert "antri_places_remaining " in metrics
