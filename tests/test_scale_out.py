"""Several stateless app processes on one Redis share one line, one rate and one cap."""

from __future__ import annotations

import asyncio
import time

from api.appkeys import ENGINE

from .conftest import AppFactory
from .test_http import rooms


async def test_two_processes_share_one_line(make_client: AppFactory) -> None:
    rate, burst, cap = 1200, 5, 40
    first = await make_client(rate_per_minute=rate, burst=burst, max_active=cap)
    second = await make_client(same_as=first)
    guard, _ = rooms(first)
    apps = [first, second]

    async def join(i: int) -> str:
        client = apps[i % 2]
        response = await client.post(f"/api/v1/rooms/{guard}/join", cookies={})
        assert response.status == 200
        return str((await response.json())["ticket"])

    tickets = await asyncio.gather(*(join(i) for i in range(400)))
    signer = first.server.app[ENGINE].signer
    numbers = sorted(signer.read_ticket(t).number for t in tickets)
    assert numbers == list(range(1, 401)), "both processes draw from one counter"

    admitted: set[str] = set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        waiting = [t for t in tickets if t not in admitted]
        # Each visitor polls whichever process the load balancer sends it to.
        responses = await asyncio.gather(
            *(
                apps[(i + int(time.monotonic())) % 2].get(
                    f"/api/v1/rooms/{guard}/status", headers={"X-Antri-Ticket": t}
                )
                for i, t in enumerate(waiting)
            )
        )
        for ticket, response in zip(waiting, responses, strict=True):
            assert response.status == 200
            if (await response.json())["state"] == "admitted":
                admitted.add(ticket)
        await asyncio.sleep(0.1)
    engine = first.server.app[ENGINE]
    claims = await engine.client.zrange(
        engine.room(guard).keys.recent_claims, 0, -1, withscores=True
    )
    times = sorted(score / 1000 for _, score in claims)
    assert len(times) == len(admitted) == cap, "the cap holds across processes"
    span = times[-1] - times[0]
    # Two refreshers tick twice as often, yet admit no faster than one rate allows.
    assert len(times) <= burst + rate / 60 * span + 1
