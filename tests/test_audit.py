"""The audit trail: every change by an operator, officer or the API token is recorded once, with
who, when, before, after and why, in the same transaction for database changes; and it is
exported as Grafana annotations."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter

from aiohttp.test_utils import TestClient

from api.appkeys import SETTINGS

from .booking_support import OFFICE, pool, released_days
from .conftest import ADMIN_TOKEN, AppFactory
from .operator_support import desk_login, new_operator, token_for
from .page_support import post_form
from .test_bank_and_officer_pages import paid_booking

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}


async def audit_rows(client: TestClient, action: str | None = None) -> list[dict[str, object]]:
    rows = await pool(client).fetch(
        "SELECT actor, actor_role, action, target, before, after, reason FROM audit_log"
        " WHERE $1::text IS NULL OR action = $1 ORDER BY sequence, id",
        action,
    )
    return [dict(row) for row in rows]


async def test_the_same_room_change_250_times_at_once_is_recorded_once(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    room = client.server.app[SETTINGS].guard_room
    token = await token_for(client, "operator")
    headers = {"Authorization": f"Bearer {token}"}
    change = {"rate_per_minute": 4321, "reason": "Rilis Senin"}
    responses = await asyncio.gather(
        *(
            client.patch(f"/api/v1/admin/rooms/{room}", json=change, headers=headers)
            for _ in range(250)
        )
    )
    assert Counter(r.status for r in responses) == {200: 250}
    rows = await audit_rows(client, "room.configure")
    # Only the change that really changed the rate is recorded, with the true "before".
    assert len(rows) == 1, rows
    (row,) = rows
    assert row["target"] == f"room:{room}" and row["reason"] == "Rilis Senin"
    assert (
        row["before"] == '{"rate_per_minute": 60}' and row["after"] == '{"rate_per_minute": 4321}'
    )
    assert row["actor"].endswith("@kantor.antri.test") and row["actor_role"] == "operator"

    # Two different values at once: both recorded, and the trail's chain is consistent (each
    # "before" is the value the previous row left).
    await asyncio.gather(
        *(
            client.patch(
                f"/api/v1/admin/rooms/{room}", json={"rate_per_minute": rate}, headers=headers
            )
            for rate in [100, 200] * 50
        )
    )
    chain = [(r["before"], r["after"]) for r in await audit_rows(client, "room.configure")]
    for (_, after), (before, _) in itertools.pairwise(chain):
        assert after == before, chain


async def test_a_refused_change_is_not_recorded(make_client: AppFactory) -> None:
    client = await make_client()
    room = client.server.app[SETTINGS].guard_room
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for body in ({"rate_per_minute": 0}, {"reason": 5, "burst": 3}, {"nonsense": 1}, {}):
        response = await client.patch(f"/api/v1/admin/rooms/{room}", json=body, headers=headers)
        assert response.status == 422, body
        assert (await response.json())["message"], body
    assert await audit_rows(client) == []


async def test_booking_steps_and_quotas_carry_their_actor(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    booking, _ = await paid_booking(client)
    email = await new_operator(client, "officer")
    assert (await desk_login(client, email)).status == 303
    step = {"booking_id": booking["id"], "kode": booking["booking_code"], "status": "checked_in"}
    assert (await post_form(client, "/petugas/status", step | {"catatan": "A12"})).status == 200
    (row,) = await audit_rows(client, "booking.status")
    assert row["actor"] == email and row["actor_role"] == "officer" and row["reason"] == "A12"
    assert row["target"] == f"booking:{booking['booking_code']}"
    assert (row["before"], row["after"]) == ('{"status": "confirmed"}', '{"status": "checked_in"}')
    actor = await pool(client).fetchval(
        "SELECT actor FROM booking_events WHERE booking_id = $1 AND status = 'checked_in'",
        booking["id"],
    )
    assert actor == email

    day = (await released_days(client))[-1]
    quota = {"date": day, "session_id": "s1", "lane": "reguler", "capacity": 7, "reason": "X"}
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    done = await client.put(f"/api/v1/admin/offices/{OFFICE}/quota", json=quota, headers=headers)
    assert done.status == 200, await done.text()
    (row,) = await audit_rows(client, "quota.set")
    assert row["actor"] == "admin-token" and row["target"] == f"office:{OFFICE}"
    # Refused below what is booked: nothing changes, nothing is recorded (one transaction).
    booked_day = booking["date"]
    below = quota | {"date": booked_day, "session_id": booking["session"]["id"], "capacity": 0}
    below["lane"] = booking["lane"]
    refused = await client.put(f"/api/v1/admin/offices/{OFFICE}/quota", json=below, headers=headers)
    assert refused.status == 409
    assert len(await audit_rows(client, "quota.set")) == 1


async def test_the_trail_is_exported_as_grafana_annotations(make_client: AppFactory) -> None:
    client = await make_client()
    room = client.server.app[SETTINGS].guard_room
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    began = int(time.time() * 1000) - 1000
    change = {"state": "paused", "reason": "Gangguan bank"}
    assert (await client.patch(f"/api/v1/admin/rooms/{room}", json=change, headers=admin)).ok
    viewer = {"Authorization": f"Bearer {await token_for(client, 'viewer')}"}
    url = f"/api/v1/admin/audit/annotations?from={began}&to={began + 60_000}"
    response = await client.get(url, headers=viewer)
    assert response.status == 200
    (note,) = await response.json()
    assert began <= note["time"] <= began + 60_000
    assert note["title"] == f"room.configure room:{room}"
    assert "admin-token" in note["text"] and "Gangguan bank" in note["text"]
    assert {"antri", "room.configure", f"room:{room}"} <= set(note["tags"])
    later = await client.get(
        f"/api/v1/admin/audit/annotations?from={began + 60_000}", headers=viewer
    )
    assert await later.json() == []
    for bad in ("from=yesterday", "limit=0", "limit=x", "to=99999999999999999999"):
        refused = await client.get(f"/api/v1/admin/audit/annotations?{bad}", headers=viewer)
        assert refused.status == 422, bad
    officer = {"Authorization": f"Bearer {await token_for(client, 'officer')}"}
    assert (await client.get(url, headers=officer)).status == 403
    assert (await client.get(url)).status == 401


async def test_the_dashboards_count_the_trail_for_their_annotation(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    room = client.server.app[SETTINGS].guard_room
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for rate in (70, 80):
        change = {"rate_per_minute": rate}
        assert (await client.patch(f"/api/v1/admin/rooms/{room}", json=change, headers=admin)).ok
    metrics = await (await client.get("/metrics")).text()
    assert 'antri_audit_changes{action="room.configure"} 2.0' in metrics
