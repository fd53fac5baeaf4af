"""The engine's side of issue 9 on a single Redis and a cluster: an admission checked with its
ticket in one round trip, bound to one account atomically, one live turn per account, a
finished turn told apart from a lost one."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

import pytest
from redis.asyncio import RedisCluster

from queue_engine.engine import Engine
from queue_engine.errors import NotYours, TurnRefused
from queue_engine.room import Room
from queue_engine.tokens import Admission, Ticket

from .test_room import new_room, poll_all, tickets_of


async def admit(engine: Engine, room_settings: dict[str, object], count: int) -> list[Admission]:
    room = await new_room(engine, **room_settings)
    statuses = await poll_all(room, tickets_of([await room.join() for _ in range(count)]))
    return [s.admission for s in statuses if s.admission is not None]


async def test_holding_wants_the_ticket_and_tells_the_owner(engine: Engine) -> None:
    room = await new_room(engine, rate_per_minute=6000, burst=10)
    ticket, other = tickets_of([await room.join(), await room.join()])
    (status, _) = await poll_all(room, [ticket, other])
    assert status.admission is not None
    token = room.signer.sign_admission(status.admission)
    with pytest.raises(NotYours):
        await room.holding(token, None)
    with pytest.raises(NotYours):
        await room.holding(token, room.signer.sign_ticket(other))
    # The gate reads the login session (another slot in a cluster) in the same round trip.
    login_key = f"antri:test-login:{room.name}"
    await engine.client.set(login_key, "9")
    holding = await room.holding(token, room.signer.sign_ticket(ticket), login_key)
    assert holding.live and holding.owner is None and holding.also == "9"
    await room.bind(status.admission, "7")
    again = await room.holding(token, room.signer.sign_ticket(ticket))
    assert again.owner == "7" and not again.finished
    await room.finish(status.admission, "7")
    used = await room.holding(token, room.signer.sign_ticket(ticket))
    assert (used.live, used.owner, used.finished) == (False, "7", True)


async def test_two_hundred_accounts_race_to_bind_one_admission(engine: Engine) -> None:
    (admission,) = await admit(engine, {"rate_per_minute": 6000, "burst": 10}, 1)
    room = engine.room(admission.room)
    outcomes = await asyncio.gather(
        *(room.bind(admission, str(n)) for n in range(200)), return_exceptions=True
    )
    assert Counter(type(o).__name__ for o in outcomes) == {"NoneType": 1, "NotYours": 199}


async def test_one_account_binds_one_of_many_admissions_at_once(engine: Engine) -> None:
    admissions = await admit(engine, {"rate_per_minute": 60000, "burst": 100}, 20)
    room = engine.room(admissions[0].room)
    outcomes = await asyncio.gather(
        *(room.bind(a, "42") for a in admissions for _ in range(10)), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, TurnRefused)]
    assert sum(o is None for o in outcomes) == 10, "one admission, bound once and nine repeats"
    assert len(refused) == 190 and {o.code for o in refused} == {"turn_held"}


async def login_of(engine: Engine, account: str, ms: int = 60_000) -> str:
    """A login session key (in its own slot on a cluster, as the app's are) naming `account`."""
    key = f"antri:test-login:{secrets.token_hex(8)}"
    await engine.client.set(key, account, px=ms)
    return key


def presented(room: Room, admission: Admission, ticket: Ticket) -> tuple[str, str]:
    return room.signer.sign_admission(admission), room.signer.sign_ticket(ticket)


async def admitted_with_tickets(
    engine: Engine, count: int
) -> tuple[Room, list[tuple[Admission, Ticket]]]:
    room = await new_room(engine, rate_per_minute=60000, burst=100)
    statuses = await poll_all(room, tickets_of([await room.join() for _ in range(count)]))
    pairs = [(s.admission, s.ticket) for s in statuses if s.admission and s.ticket]
    assert len(pairs) == count
    return room, pairs


async def test_the_gate_binds_in_the_same_call_that_reads_the_login(engine: Engine) -> None:
    room, [(admission, ticket)] = await admitted_with_tickets(engine, 1)
    login = await login_of(engine, "7")
    holding = await room.holding(*presented(room, admission, ticket), login, bind=True)
    assert (holding.live, holding.owner, holding.also, holding.refused) == (True, "7", "7", None)
    # The binding holds: another account's login is now a copy's.
    other = await login_of(engine, "8")
    copy = await room.holding(*presented(room, admission, ticket), other, bind=True)
    assert (copy.owner, copy.also, copy.refused) == ("7", "8", None)


async def test_two_hundred_logins_race_through_the_gate_for_one_admission(
    engine: Engine,
) -> None:
    room, [(admission, ticket)] = await admitted_with_tickets(engine, 1)
    logins = [await login_of(engine, str(n)) for n in range(200)]
    text = presented(room, admission, ticket)
    seen = await asyncio.gather(*(room.holding(*text, login, bind=True) for login in logins))
    owners = {h.owner for h in seen}
    assert len(owners) == 1, "every request sees the one winner"
    assert sum(h.owner == h.also for h in seen) == 1


async def test_one_login_binds_one_of_many_admissions_through_the_gate(engine: Engine) -> None:
    room, pairs = await admitted_with_tickets(engine, 25)
    login = await login_of(engine, "42")
    attempts = [presented(room, a, t) for a, t in pairs for _ in range(10)]  # 250 at once
    seen = await asyncio.gather(*(room.holding(*text, login, bind=True) for text in attempts))
    bound = {h.admission.token_id for h in seen if h.owner == "42"}
    assert len(bound) == 1
    refused = [h.refused for h in seen if h.owner is None]
    assert len(refused) == 240 and {r.code for r in refused if r} == {"turn_held"}
    assert all(r is not None for r in refused)


async def test_an_ended_login_or_session_binds_nothing(engine: Engine) -> None:
    room, [(first, t1), (second, t2), (third, t3)] = await admitted_with_tickets(engine, 3)
    expired = await login_of(engine, "5", ms=20)
    await asyncio.sleep(0.05)
    gone = await room.holding(*presented(room, first, t1), expired, bind=True)
    assert (gone.live, gone.owner, gone.also) == (True, None, None)
    logged_out = await login_of(engine, "5")
    await engine.client.delete(logged_out)
    assert (await room.holding(*presented(room, first, t1), logged_out, bind=True)).owner is None
    # A revoked session is bound to nobody, and does not count as the account's turn.
    await room.release(second.token_id)
    login = await login_of(engine, "5")
    revoked = await room.holding(*presented(room, second, t2), login, bind=True)
    assert (revoked.live, revoked.owner, revoked.refused) == (False, None, None)
    held = await room.holding(*presented(room, third, t3), login, bind=True)
    assert held.owner == "5"


async def test_a_finished_turn_frees_the_account_for_its_next(engine: Engine) -> None:
    room, [(first, t1), (second, t2)] = await admitted_with_tickets(engine, 2)
    login = await login_of(engine, "9")
    assert (await room.holding(*presented(room, first, t1), login, bind=True)).owner == "9"
    refused = (await room.holding(*presented(room, second, t2), login, bind=True)).refused
    assert refused is not None and refused.code == "turn_held"
    await room.finish(first, "9")
    assert await engine.client.hget(room.keys.turns, "9") is None, "the entry went with it"
    assert (await room.holding(*presented(room, second, t2), login, bind=True)).owner == "9"
    used = await room.holding(*presented(room, first, t1), login, bind=True)
    assert (used.live, used.owner, used.finished) == (False, "9", True)


async def test_the_gate_is_one_round_trip_on_a_single_redis(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isinstance(engine.client, RedisCluster):
        pytest.skip("on a cluster the login is read in a call of its own (another slot)")
    room, [(warm, w), (admission, ticket)] = await admitted_with_tickets(engine, 2)
    await room.holding(*presented(room, warm, w), await login_of(engine, "1"), bind=True)
    login = await login_of(engine, "2")
    pool = engine.client.connection_pool
    taken: list[object] = []
    real = pool.get_connection

    async def counted(*args: object, **kwargs: object) -> object:
        taken.append(args)
        return await real(*args, **kwargs)

    monkeypatch.setattr(pool, "get_connection", counted)
    holding = await room.holding(*presented(room, admission, ticket), login, bind=True)
    assert holding.owner == "2" and len(taken) == 1
