"""The quota grid and bulk changes: never below what is booked (refused per slot, atomically),
audited, role-checked, CSRF-protected."""

from __future__ import annotations

import asyncio
from datetime import date

from aiohttp.test_utils import TestClient

from api.appkeys import SLOTS
from api.audit import Actor
from api.booking.errors import Invalid
from api.booking.quotas import BelowBooked, Quotas

from .booking_support import OFFICE, pool
from .conftest import AppFactory
from .operator_support import console_login, new_operator
from .page_support import post_form
from .test_audit import audit_rows
from .test_bank_and_officer_pages import FAST_ROOM, paid_booking

OPERATOR = Actor("ops@kantor.antri.test", "operator")


async def capacities(client: TestClient, first: date, last: date, lane: str) -> set[int]:
    rows = await pool(client).fetch(
        "SELECT DISTINCT capacity FROM slots WHERE office_id = $1 AND day BETWEEN $2 AND $3"
        " AND lane = $4",
        OFFICE,
        first,
        last,
        lane,
    )
    return {r["capacity"] for r in rows}


async def test_bulk_changes_never_go_below_what_is_booked(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    booking, _ = await paid_booking(client)
    day, lane = date.fromisoformat(booking["date"]), booking["lane"]
    quotas = Quotas(client.server.app[SLOTS])
    first, last = day, day.replace(day=day.day)  # the booked day alone first
    try:
        await quotas.set_many(OFFICE, first, last, lane, 0, OPERATOR, "tutup")
    except BelowBooked as refusal:
        assert [(c.day, c.session_id, c.booked) for c in refusal.cells] == [
            (day, booking["session"]["id"], 1)
        ]
    else:
        raise AssertionError("went below what is booked")
    before = await capacities(client, first, last, lane)
    assert 0 not in before and await audit_rows(client, "quota.bulk") == []
    changed = await quotas.set_many(OFFICE, first, last, lane, 1, OPERATOR, "sempit")
    assert {c.capacity for c in changed} == {1}
    (row,) = await audit_rows(client, "quota.bulk")
    assert row["reason"] == "sempit" and row["actor"] == OPERATOR.name
    for bad in (
        {"lane": "vip"},
        {"capacity": -1},
        {"capacity": 10_001},
        {"last": date(2099, 1, 1)},
    ):
        args = {"office_id": OFFICE, "first": first, "last": last, "lane": lane,
                "capacity": 3, "actor": OPERATOR, "reason": "x"} | bad  # fmt: skip
        try:
            await quotas.set_many(**args)  # type: ignore[arg-type]
        except Invalid:
            pass
        else:
            raise AssertionError(f"accepted {bad}")


async def test_a_bulk_change_racing_bookings_never_overbooks(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    booking, _ = await paid_booking(client)
    day, lane = date.fromisoformat(booking["date"]), booking["lane"]
    quotas = Quotas(client.server.app[SLOTS])
    results = await asyncio.gather(
        *(quotas.set_many(OFFICE, day, day, lane, n % 3, OPERATOR, "race") for n in range(60)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BelowBooked)]
    assert len(refused) == 20  # capacity 0 is below the one booking, every time
    assert not [r for r in results if isinstance(r, Exception) and r not in refused]
    rows = await audit_rows(client, "quota.bulk")
    assert len(rows) == 40
    assert await pool(client).fetchval("SELECT count(*) FROM slots WHERE booked > capacity") == 0


async def test_the_quota_page(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    booking, _ = await paid_booking(client)
    email = await new_operator(client, "operator")
    assert (await console_login(client, email)).status == 303
    day = booking["date"]
    page = await client.get(f"/konsol/kuota?kantor={OFFICE}&dari={day}&sampai={day}")
    text = await page.text()
    assert page.status == 200 and "1 / " in text and "Ubah kuota sekaligus" in text
    form = {"kantor": OFFICE, "dari": day, "sampai": day, "jalur": booking["lane"],
            "kapasitas": "0", "alasan": "Libur mendadak"}  # fmt: skip
    below = await post_form(client, "/konsol/kuota", form)
    text = await below.text()
    assert below.status == 409 and "Tidak ada yang diubah" in text
    assert f"{day} · {booking['session']['id']}" in text
    for bad, status in (
        ({"kapasitas": "banyak"}, 422),
        ({"dari": "kemarin"}, 422),
        ({"sampai": "2099-12-31"}, 422),
        ({"jalur": "vip"}, 422),
        ({"kantor": "atlantis"}, 422),
        ({"alasan": ""}, 422),
    ):
        assert (await post_form(client, "/konsol/kuota", form | bad)).status == status, bad
    done = await post_form(client, "/konsol/kuota", form | {"kapasitas": "9"})
    assert done.status == 303 and "diubah=" in done.headers["Location"]
    assert "Kuota diubah pada" in await (await client.get(done.headers["Location"])).text()
    (row,) = await audit_rows(client, "quota.bulk")
    assert row["reason"] == "Libur mendadak"
    trail = await (await client.get("/konsol/audit")).text()
    assert "quota.bulk" in trail and "Libur mendadak" in trail

    viewer = await make_client()
    viewer_email = await new_operator(viewer, "viewer")
    assert (await console_login(viewer, viewer_email)).status == 303
    assert (await viewer.get("/konsol/kuota")).status == 200
    assert (await post_form(viewer, "/konsol/kuota", form)).status == 403
    forged = await client.post("/konsol/kuota", data=form | {"csrf": "x" * 30})
    assert forged.status == 403
