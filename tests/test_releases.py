"""Release events: the calendar made from the offices' rules (under fixed clocks too), one-off
events, the hold switch, and the scheduler taking each step exactly once even with several app
processes."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from api.appkeys import ENGINE, RELEASES, SETTINGS
from api.audit import Actor
from api.booking.calendar import local_now
from api.booking.errors import Invalid
from api.booking.offices import load_offices
from api.releases import PREQUEUE_LEAD, planned

from .booking_support import pool
from .conftest import AppFactory
from .operator_support import console_login, new_operator
from .page_support import post_form
from .test_audit import audit_rows

OPERATOR = Actor("ops@kantor.antri.test", "operator")


def test_the_calendar_follows_the_offices_rules(clock: datetime) -> None:
    offices = load_offices()
    now = datetime.now(UTC)
    plan = planned(offices, now)
    instants = [p.starts_at for p in plan]
    assert instants == sorted(set(instants))
    assert all(now < at <= now + timedelta(days=14) for at in instants)
    seen = Counter(office for p in plan for office in p.offices)
    # Weekly rules: every office releases exactly twice in any two weeks.
    assert set(seen.values()) == {2} and set(seen) == set(offices)
    for p in plan:
        for office_id in p.offices:
            office = offices[office_id]
            local = local_now(office, p.starts_at)
            assert local.weekday() == office.release.weekday
            assert local.time() == office.release.at
    # Priok's rule (Friday 14:00 WIB): a minute before it, the first release is that one.
    priok = offices["tanjung-priok"]
    first = next(p.starts_at for p in plan if "tanjung-priok" in p.offices)
    local = local_now(priok, now)
    if local.weekday() == 4 and local.hour == 13 and local.minute == 59:
        assert first - now <= timedelta(minutes=1)
    if local.weekday() == 4 and local.hour == 15:
        assert first - now > timedelta(days=6)


async def test_plan_writes_each_rule_event_once(make_client: AppFactory) -> None:
    client = await make_client()
    releases = client.server.app[RELEASES]
    now = datetime.now(UTC)
    made = await releases.plan(now)
    assert made == len(planned(releases.offices, now)) > 0
    assert await releases.plan(now) == 0
    events = await releases.upcoming(now)
    assert all(e["starts_at"] - e["prequeue_opens_at"] == PREQUEUE_LEAD for e in events)
    assert {e["source"] for e in events} == {"rule"}


async def test_one_off_events_are_validated(make_client: AppFactory) -> None:
    client = await make_client()
    releases = client.server.app[RELEASES]
    room = client.server.app[SETTINGS].guard_room
    now = datetime.now(UTC)
    good = {"room": room, "label": "Tambahan", "starts_at": now + timedelta(hours=1),
            "prequeue_minutes": 30, "rate_per_minute": 100, "max_active": 50,
            "closes_at": None, "reason": "x", "now": now}  # fmt: skip
    for bad, field in (
        ({"room": "nope"}, "room"),
        ({"label": ""}, "label"),
        ({"starts_at": now - timedelta(minutes=1)}, "starts_at"),
        ({"rate_per_minute": 0}, "rate_per_minute"),
        ({"max_active": -1}, "max_active"),
        ({"closes_at": now}, "closes_at"),
        ({"prequeue_minutes": 5000}, "prequeue_minutes"),
    ):
        try:
            await releases.add(OPERATOR, **(good | bad))
        except Invalid as refusal:
            assert field in refusal.fields, (bad, refusal.fields)
        else:
            raise AssertionError(f"accepted {bad}")
    event = await releases.add(OPERATOR, **good)
    assert event["source"] == "manual" and event["created_by"] == OPERATOR.name
    try:
        await releases.add(OPERATOR, **good)
    except Invalid as refusal:
        assert "starts_at" in refusal.fields
    (row,) = await audit_rows(client, "release.add")
    assert row["actor"] == OPERATOR.name


async def test_two_app_processes_open_the_room_on_time_exactly_once(
    make_client: AppFactory,
) -> None:
    first = await make_client(rate_per_minute=600, burst=10)
    second = await make_client(same_as=first)
    room = first.server.app[SETTINGS].guard_room
    now = datetime.now(UTC)
    starts = now + timedelta(seconds=3)
    await first.server.app[RELEASES].add(
        OPERATOR, room, "Rilis kilat", starts, 1, 1234, 77, starts + timedelta(seconds=3),
        "uji", now,
    )  # fmt: skip
    # Armed at once (its pre-queue time is already past): a visitor joins the pre-queue.
    for _ in range(50):
        if await audit_rows(first, "release.arm"):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # each process's view of the room refreshes every 50 ms
    joined = await (await second.post(f"/api/v1/rooms/{room}/join")).json()
    assert joined["state"] == "prequeue", joined
    view = first.server.app[ENGINE].room(room).view()
    assert view.rate_per_minute == 1234 and view.max_active == 77
    # Meanwhile both processes' schedulers (and 20 extra passes at once) race for each step.
    both = [first.server.app[RELEASES], second.server.app[RELEASES]]
    await asyncio.gather(*(both[n % 2].run_due(datetime.now(UTC)) for n in range(20)))
    await asyncio.sleep(max(0.0, (starts - datetime.now(UTC)).total_seconds()) + 1.5)
    status = await second.get(
        f"/api/v1/rooms/{room}/status", headers={"X-Antri-Ticket": joined["ticket"]}
    )
    assert (await status.json())["state"] in ("waiting", "admitted")
    await asyncio.sleep(
        max(0.0, (starts + timedelta(seconds=3) - datetime.now(UTC)).total_seconds()) + 1.5
    )
    assert first.server.app[ENGINE].room(room).view().state == "closed"
    steps = Counter(str(r["action"]) for r in await audit_rows(first) if r["actor"] == "scheduler")
    assert steps == {"release.arm": 1, "release.start": 1, "release.close": 1}, steps
    marks = await pool(first).fetchrow("SELECT armed_at, started_at, closed_at FROM release_events")
    assert marks["armed_at"] <= marks["started_at"] <= marks["closed_at"]
    assert marks["started_at"] >= starts


async def test_a_held_release_does_not_run(make_client: AppFactory) -> None:
    client = await make_client()
    releases = client.server.app[RELEASES]
    room = client.server.app[SETTINGS].guard_room
    now = datetime.now(UTC)
    later = await releases.add(OPERATOR, room, "Nanti", now + timedelta(hours=2), 30, 100, 50,
                               None, "x", now)  # fmt: skip
    held = await releases.hold(later["id"], True, OPERATOR, "Menunggu kuota")
    assert held["held"]
    assert await releases.run_due(now + timedelta(hours=3)) == []
    released = await releases.hold(later["id"], False, OPERATOR, "Kuota siap")
    assert not released["held"]
    # Armed, then held before its start: the room queues everyone until it is let go.
    soon = await releases.add(OPERATOR, room, "Segera", now + timedelta(minutes=30), 60, 100,
                              50, None, "x", now)  # fmt: skip
    assert f"arm {soon['id']}" in await releases.run_due(datetime.now(UTC))
    await releases.hold(soon["id"], True, OPERATOR, "Bank bermasalah")
    assert client.server.app[ENGINE].room(room).view().state == "queue_all"
    actions = [r["action"] for r in await audit_rows(client)]
    assert actions.count("release.hold") == 2 and actions.count("release.unhold") == 1


async def test_the_release_calendar_page(make_client: AppFactory) -> None:
    client = await make_client()
    room = client.server.app[SETTINGS].guard_room
    await client.server.app[RELEASES].plan(datetime.now(UTC))
    email = await new_operator(client, "operator")
    assert (await console_login(client, email)).status == 303
    page = await (await client.get("/konsol/rilis")).text()
    assert "aturan kantor" in page and "Tahan rilis ini" in page
    starts = (datetime.now(UTC) + timedelta(days=2)).astimezone().strftime("%Y-%m-%dT%H:%M")
    form = {"room": room, "label": "Rilis tambahan Natal", "starts_at": starts,
            "prequeue_minutes": "15", "rate_per_minute": "300", "max_active": "100",
            "closes_at": "", "alasan": "Kuota tambahan"}  # fmt: skip
    for bad, words in (
        ({"starts_at": "besok"}, "Isi waktu mulai"),
        ({"rate_per_minute": "0"}, "Laju: bilangan bulat"),
        ({"alasan": ""}, "Tulis alasan"),
        ({"starts_at": "2001-01-01T10:00"}, "masa depan"),
    ):
        refused = await post_form(client, "/konsol/rilis", form | bad)
        assert refused.status == 422 and words in await refused.text(), bad
    assert (await post_form(client, "/konsol/rilis", form)).status == 303
    page = await (await client.get("/konsol/rilis")).text()
    assert "Rilis tambahan Natal" in page
    event_id = await pool(client).fetchval(
        "SELECT id FROM release_events WHERE label = 'Rilis tambahan Natal'"
    )
    hold = {"held": "1", "alasan": "Tunda"}
    assert (await post_form(client, f"/konsol/rilis/{event_id}/tahan", hold)).status == 303
    assert "Ditahan" in await (await client.get("/konsol/rilis")).text()
    assert (await post_form(client, "/konsol/rilis/999999/tahan", hold)).status == 404
    assert (await post_form(client, "/konsol/rilis/x/tahan", hold)).status == 404
    viewer = await make_client()
    viewer_email = await new_operator(viewer, "viewer")
    assert (await console_login(viewer, viewer_email)).status == 303
    assert (await post_form(viewer, "/konsol/rilis", form)).status == 403
    assert (await post_form(viewer, f"/konsol/rilis/{event_id}/tahan", hold)).status in (403, 404)


async def test_a_release_gets_its_own_rate_and_cap_until_armed(make_client: AppFactory) -> None:
    client = await make_client()
    releases = client.server.app[RELEASES]
    room = client.server.app[SETTINGS].guard_room
    now = datetime.now(UTC)
    event = await releases.add(OPERATOR, room, "Senin", now + timedelta(hours=3), 30, 100, 50,
                               None, "x", now)  # fmt: skip
    email = await new_operator(client, "operator")
    assert (await console_login(client, email)).status == 303
    path = f"/konsol/rilis/{event['id']}/atur"
    for bad, status, words in (
        ({"rate_per_minute": "0"}, 422, "Laju"),
        ({"max_active": "x"}, 422, "angka"),
        ({"alasan": ""}, 422, "Tulis alasan"),
    ):
        form = {"rate_per_minute": "250", "max_active": "80", "alasan": "Petugas"} | bad
        refused = await post_form(client, path, form)
        assert refused.status == status and words in await refused.text(), bad
    form = {"rate_per_minute": "250", "max_active": "80", "alasan": "Petugas tambahan"}
    assert (await post_form(client, path, form)).status == 303
    (row,) = await audit_rows(client, "release.limits")
    assert row["after"] == '{"max_active": 80, "rate_per_minute": 250}'
    # Armed, it arms the room with them; then the event's limits are the room's to change.
    soon = await releases.add(OPERATOR, room, "Kini", now + timedelta(minutes=10), 5, 100, 50,
                              None, "x", now)  # fmt: skip
    await releases.set_limits(soon["id"], 321, 12, OPERATOR, "x")
    assert f"arm {soon['id']}" in await releases.run_due(now + timedelta(minutes=6))
    view = client.server.app[ENGINE].room(room).view()
    assert (view.rate_per_minute, view.max_active) == (321, 12)
    late = await post_form(client, f"/konsol/rilis/{soon['id']}/atur", form)
    assert late.status == 409 and "sudah dibuka" in await late.text()
