"""The waiting room's contract, run against a real single Redis and a real Redis Cluster."""

from __future__ import annotations

import asyncio
import time

import pytest

from queue_engine.engine import Engine
from queue_engine.errors import InvalidToken, StorageUnavailable
from queue_engine.room import Room, Status, VisitState
from queue_engine.settings import RoomSettings
from queue_engine.shuffle import commitment, shuffled_index
from queue_engine.tokens import Ticket

from .conftest import DEFENCES_OFF, room_name


async def new_room(engine: Engine, **settings: object) -> Room:
    defaults = DEFENCES_OFF | settings
    return await engine.add_room(room_name(), RoomSettings(**defaults))  # type: ignore[arg-type]


async def poll_all(room: Room, tickets: list[Ticket]) -> list[Status]:
    """One fresh view, then every ticket's status (as a poll round would see it)."""
    await room.refresh()
    return [await room.status(t) for t in tickets]


def tickets_of(statuses: list[Status]) -> list[Ticket]:
    return [s.ticket for s in statuses if s.ticket is not None]


async def test_concurrent_joins_get_unique_gap_free_numbers(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=1, burst=1)
    statuses = await asyncio.gather(*(room.join() for _ in range(1000)))
    numbers = sorted(t.number for t in tickets_of(statuses))
    assert numbers == list(range(1, 1001))
    assert len({t.visitor for t in tickets_of(statuses)}) == 1000


async def test_no_number_is_handed_out_twice_after_redis_loses_its_last_writes(
    engine: Engine,
) -> None:
    """A power cut under `appendfsync everysec` loses up to a second of the AOF: Redis comes back
    with the counter behind numbers already handed out (here rewound by 30, as such a loss
    does). The processes remember what they handed out and saw: no number is given twice."""
    room = await new_room(engine, rate_per_minute=1, burst=1)
    other = Engine(engine.client, engine.signer, engine.settings)  # a second app process
    other_room = await other.add_room(room.name, RoomSettings(**DEFENCES_OFF))  # type: ignore[arg-type]
    before = tickets_of(await asyncio.gather(*(room.join() for _ in range(100))))
    await other_room.refresh()  # it has seen 100 numbers handed out, none by itself
    await engine.client.hset(room.keys.room, "arrivals", 70)
    after = tickets_of(
        await asyncio.gather(
            *(r.join() for r in [other_room] * 10),
            *(r.join() for r in [room] * 10),
        )
    )
    numbers = [t.number for t in before + after]
    assert len(numbers) == len(set(numbers)) == 120, sorted(numbers)[-25:]
    assert min(t.number for t in after) > 100


async def test_rejoin_with_a_held_ticket_keeps_the_place(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=1, burst=1)
    await room.join()  # someone in front, so the held ticket stays in line
    first = await room.join()
    assert first.ticket is not None
    again = await room.join(first.ticket)
    assert again.ticket is not None
    assert again.ticket.number == first.ticket.number
    assert again.position == first.position
    assert (await room.refresh()).arrivals == 2


async def test_admission_is_first_in_first_out(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=600, burst=3, max_active=1000)
    tickets = tickets_of([await room.join() for _ in range(40)])
    admitted_at_round: dict[int, int] = {}
    for round_no in range(60):
        statuses = await poll_all(room, tickets)
        admitted = [s.ticket.number for s in statuses if s.admission and s.ticket]
        # Whoever is in, everyone who joined before them is in too: a prefix of the line.
        assert admitted == list(range(1, len(admitted) + 1))
        for number in admitted:
            admitted_at_round.setdefault(number, round_no)
        if len(admitted) == len(tickets):
            break
        await asyncio.sleep(0.1)
    assert len(admitted_at_round) == 40
    order = sorted(admitted_at_round, key=lambda n: (admitted_at_round[n], n))
    assert order == list(range(1, 41))


async def test_admissions_never_exceed_the_rate_over_any_window(engine: Engine) -> None:
    rate, burst = 600, 4  # 10 a second
    room = await new_room(engine, rate_per_minute=rate, burst=burst, max_active=10_000)
    tickets = tickets_of(await asyncio.gather(*(room.join() for _ in range(200))))
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        await asyncio.gather(room.refresh(), *(room.status(t) for t in tickets))
        await asyncio.sleep(0.02)
    claims = await engine.client.zrange(room.keys.recent_claims, 0, -1, withscores=True)
    times = sorted(score / 1000 for _, score in claims)
    assert len(times) >= 40, "the room admitted too few to judge"
    per_second = rate / 60
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            # A token bucket admits at most burst + rate * window in any window; the claim
            # times are whole milliseconds, so a window may look up to 1 ms shorter than it was.
            assert j - i + 1 <= burst + per_second * (times[j] - start + 0.001) + 1e-6


async def test_active_sessions_never_exceed_the_cap(engine: Engine) -> None:
    cap = 7
    room = await new_room(engine, rate_per_minute=6000, burst=50, max_active=cap)
    tickets = tickets_of(await asyncio.gather(*(room.join() for _ in range(300))))
    samples: list[int] = []
    done = asyncio.Event()

    async def sample_every_100ms() -> None:
        while not done.is_set():
            samples.append(int(await engine.client.zcard(room.keys.sessions)))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample_every_100ms())
    admitted_before: list[str] = []
    released = 0
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        # Who was admitted in the last round leaves now, so the line keeps moving.
        for token_id in admitted_before:
            released += await room.release(token_id)
        await room.refresh()
        statuses = await asyncio.gather(*(room.status(t) for t in tickets), return_exceptions=True)
        admitted_before = [
            s.admission.token_id for s in statuses if isinstance(s, Status) and s.admission
        ]
        await asyncio.sleep(0.15)
    done.set()
    await sampler
    assert max(samples) <= cap
    assert max(samples) == cap, "the test never filled the room"
    assert released > cap


async def test_release_frees_the_place_at_once(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=6000, burst=10, max_active=1)
    first, second = tickets_of([await room.join(), await room.join()])
    a, b = await poll_all(room, [first, second])
    assert a.state is VisitState.ADMITTED and a.admission is not None
    assert b.state is VisitState.WAITING and b.position == 1
    assert await room.release(a.admission.token_id)
    (b,) = await poll_all(room, [second])
    assert b.state is VisitState.ADMITTED


async def test_released_ticket_is_spent(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=6000, burst=10)
    ticket = tickets_of([await room.join()])[0]
    (status,) = await poll_all(room, [ticket])
    assert status.admission is not None
    again = await room.status(ticket)  # polling again while admitted: the same session
    assert again.admission is not None
    assert again.admission.expires_at == status.admission.expires_at
    await room.release(status.admission.token_id)
    with pytest.raises(InvalidToken, match="spent"):
        await room.status(ticket)
    fresh = await room.join(ticket)  # rejoining a spent ticket: a new place at the back
    assert fresh.ticket is not None and fresh.ticket.number == 2


async def test_pre_queue_is_shuffled_by_the_published_seed(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=1, burst=1)
    await room.join()  # someone already in line before the release was announced
    starts = time.time() + 1.5
    await room.configure({"event_starts_at": str(int(starts * 1000))}, new_cohort=True)
    cohort = tickets_of(await asyncio.gather(*(room.join() for _ in range(50))))
    before = await poll_all(room, cohort)
    assert {s.state for s in before} == {VisitState.PREQUEUE}
    public = room.public_state()["shuffle"]
    assert isinstance(public, dict) and public["seed"] is None
    promised = public["commitment"]

    await asyncio.sleep(max(0.0, starts - time.time()) + 0.1)
    await room.refresh()
    late = tickets_of([await room.join()])[0]
    await room.refresh()
    public = room.public_state()["shuffle"]
    assert isinstance(public, dict)
    seed = str(public["seed"])
    assert commitment(seed) == promised
    assert (public["cohort_first"], public["cohort_last"]) == (2, 51)
    view = room.view()
    places = {t.number: view.position_of(t.number) for t in cohort}
    assert sorted(places.values()) == list(range(2, 52)), "not a permutation"
    assert list(places.values()) != list(range(2, 52)), "not shuffled"
    # Anyone can recompute every place from the seed and the cohort's bounds.
    for number, place in places.items():
        assert place == 2 + shuffled_index(seed, 50, number - 2)
    assert view.position_of(1) == 1  # who was there before stays ahead
    assert view.position_of(late.number) == 52  # who came after queues behind, in order


def test_shuffle_is_a_permutation_for_awkward_sizes() -> None:
    for size in (1, 2, 3, 7, 64, 65, 1000):
        assert sorted(shuffled_index("ab" * 16, size, i) for i in range(size)) == list(range(size))


async def test_paused_room_admits_nobody_until_resumed(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=6000, burst=10)
    await room.configure({"state": "paused"})
    ticket = tickets_of([await room.join()])[0]
    await asyncio.sleep(0.2)
    (status,) = await poll_all(room, [ticket])
    assert status.state is VisitState.PAUSED and status.position == 1
    assert room.view().serving == 0
    await room.configure({"state": "open"})
    (status,) = await poll_all(room, [ticket])
    assert status.state is VisitState.ADMITTED


async def test_queue_everyone_lets_nobody_in_while_joins_continue(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=6000, burst=10)
    first = tickets_of([await room.join()])[0]
    await asyncio.sleep(0.05)
    # The first visitor is offered a place; the room then queues everyone before they claim.
    await room.refresh()
    assert room.view().serving == 1
    previous, number = await room.configure({"state": "queue_all"})
    assert previous == {"state": "open"} and number == 1
    later = tickets_of([await room.join() for _ in range(5)])
    assert len(later) == 5  # joins continue
    await asyncio.sleep(0.2)
    statuses = await poll_all(room, [first, *later])
    # Nobody is let in, not even the one offered before: everyone is told their place.
    assert [s.state for s in statuses] == [VisitState.WAITING] * 6
    assert [s.position for s in statuses] == [1, 1, 2, 3, 4, 5]
    assert all(s.eta is None and s.admission is None for s in statuses)
    assert room.view().serving == 1 and room.view().active == 0
    # The same change again reports the state it found (nothing changed).
    assert await room.configure({"state": "queue_all"}) == ({"state": "queue_all"}, 2)
    await room.configure({"state": "open"})
    await asyncio.sleep(0.1)
    statuses = await poll_all(room, [first, *later])
    assert {s.state for s in statuses} == {VisitState.ADMITTED}


async def test_closed_room_refuses_joins(engine: Engine) -> None:
    room = await new_room(engine)
    await room.configure({"state": "closed"})
    status = await room.join()
    assert status.state is VisitState.CLOSED and status.ticket is None


async def test_sold_out_reaches_every_waiter_at_once(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=1, burst=1)
    tickets = tickets_of([await room.join() for _ in range(20)])
    await room.set_inventory(5)
    assert {s.state for s in await poll_all(room, tickets[1:])} == {VisitState.WAITING}
    await room.set_inventory(0)
    statuses = [await room.status(t) for t in tickets[1:]]
    assert {s.state for s in statuses} == {VisitState.SOLD_OUT}
    assert (await room.join()).state is VisitState.SOLD_OUT


async def test_silent_ticket_loses_its_place(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=1, burst=1, keep_place_seconds=30)
    ticket = tickets_of([await room.join()])[0]
    await room.refresh()
    silent = ticket._replace(seen_at=ticket.seen_at - 60)
    with pytest.raises(InvalidToken, match="expired"):
        await room.status(silent)
    recent = ticket._replace(seen_at=ticket.seen_at - 20)
    refreshed = await room.status(recent)
    assert refreshed.ticket is not None and refreshed.ticket.seen_at >= ticket.seen_at


async def test_tickets_of_other_rooms_and_epochs_are_refused(engine: Engine) -> None:
    room, other = await new_room(engine), await new_room(engine)
    ticket = tickets_of([await room.join()])[0]
    await other.refresh()
    with pytest.raises(InvalidToken, match="another room"):
        await other.status(ticket)
    await room.reset(RoomSettings(**DEFENCES_OFF))  # type: ignore[arg-type]
    with pytest.raises(InvalidToken, match="expired"):
        await room.status(ticket)


async def test_admission_checks(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=6000, burst=10)
    other = await new_room(engine, rate_per_minute=6000, burst=10)
    ticket = tickets_of([await room.join()])[0]
    (status,) = await poll_all(room, [ticket])
    assert status.admission is not None
    token = room.signer.sign_admission(status.admission)
    assert (await room.check_admission(token)).visitor == ticket.visitor
    await other.refresh()
    with pytest.raises(InvalidToken, match="another room"):
        await other.check_admission(token)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    with pytest.raises(InvalidToken, match="forged"):
        await room.check_admission(forged)
    await room.release(status.admission.token_id)  # also how an operator revokes
    with pytest.raises(InvalidToken, match="revoked"):
        await room.check_admission(token)


async def test_expired_session_is_pruned_and_its_token_refused(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=6000, burst=10, session_seconds=1)
    ticket = tickets_of([await room.join()])[0]
    (status,) = await poll_all(room, [ticket])
    assert status.admission is not None
    token = room.signer.sign_admission(status.admission)
    await asyncio.sleep(1.3)
    view = await room.refresh()
    assert view.active == 0
    with pytest.raises(InvalidToken):
        await room.check_admission(token)


async def test_abandoned_tickets_do_not_slow_the_line(engine: Engine) -> None:
    """Half the line never comes back; claimed admissions still keep to the configured rate."""
    rate = 1200  # 20 a second
    room = await new_room(
        engine,
        rate_per_minute=rate,
        burst=40,
        max_active=100_000,
        claim_grace_seconds=1,
        noshow_window_seconds=2,
    )
    tickets = tickets_of(await asyncio.gather(*(room.join() for _ in range(600))))
    present = [t for t in tickets if t.number % 2 == 0]  # odd numbers walked away
    started = time.monotonic()
    while time.monotonic() - started < 12:
        await room.refresh()
        await asyncio.gather(*(room.status(t) for t in present), return_exceptions=True)
        await asyncio.sleep(0.05)
    claims = await engine.client.zrange(room.keys.recent_claims, 0, -1, withscores=True)
    now_ms = room.now() * 1000
    # Judge the last 6 seconds, once the no-show share has been measured.
    recent = [s for _, s in claims if s >= now_ms - 6000]
    per_minute = len(recent) / 6 * 60
    assert rate * 0.9 <= per_minute <= rate * 1.1, per_minute
    assert 0.35 <= room.view().noshow <= 0.65


async def test_stale_view_fails_closed(engine: Engine) -> None:
    room = await new_room(engine)
    ticket = tickets_of([await room.join()])[0]
    await asyncio.sleep(engine.settings.stale_after + 0.1)
    with pytest.raises(StorageUnavailable):
        await room.status(ticket)
