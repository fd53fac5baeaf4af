"""The engine's side of issue 9 on a single Redis and a cluster: an admission checked with its
ticket in one round trip, bound to one account atomically, one live turn per account, a
finished turn told apart from a lost one."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from queue_engine.engine import Engine
from queue_engine.errors import NotYours, TurnRefused
from queue_engine.tokens import Admission

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
