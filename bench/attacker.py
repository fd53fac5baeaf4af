"""One attacking process: take as many places in a room's line as it can in a given time.

`python -m bench.attacker --url URL --room ROOM --seconds 10` prints one line `ATTACK {json}`:
places taken, joins refused for their proof (428) and for the address's budget (429).

It is the script issue 9 found: many connections, no cookies (every join a new visitor),
every refusal answered at once (it ignores Retry-After). Asked for a proof, it solves it with
the repository's reference solver (queue_engine.proof.solve), in this one process, as a script
would; a faster solver (native code, a GPU) is faster by its own factor (README, threat model).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import orjson

from api.joining import PROOF_HEADER
from queue_engine.proof import solution


async def attack(url: str, room: str, seconds: float, connections: int) -> Counter[str]:
    """Join `room` from `connections` loops for `seconds`; what came of it."""
    join = f"{url}/api/v1/rooms/{room}/join"
    outcome: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:

        async def attacker() -> None:
            proof: dict[str, str] | None = None
            while time.monotonic() < deadline:
                async with session.post(join, headers=proof) as response:
                    body = orjson.loads(await response.read())
                proof = None
                if time.monotonic() >= deadline:
                    break  # answered too late to count
                if response.status == 200:
                    outcome["places"] += 1
                elif response.status == 428:
                    outcome["proof_required"] += 1
                    challenge = body["challenge"]
                    # One solver thread: the solves queue while the loop keeps the connections
                    # going (hashlib holds the GIL on short inputs: more threads gain nothing).
                    text = await loop.run_in_executor(
                        solver, solution, challenge, body["difficulty"]
                    )
                    proof = {PROOF_HEADER: text}
                    outcome["solved"] += 1
                elif response.status == 429:
                    outcome["too_many_joins"] += 1
                else:
                    outcome[f"status_{response.status}"] += 1

        loop = asyncio.get_running_loop()
        solver = ThreadPoolExecutor(max_workers=1)
        try:
            # Past the deadline, loops still waiting for a queued solve are not worth waiting for.
            everyone = asyncio.gather(*(attacker() for _ in range(connections)))
            await asyncio.wait_for(everyone, timeout=seconds + 1)
        except TimeoutError:
            pass
        finally:
            solver.shutdown(wait=False, cancel_futures=True)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.attacker", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--room", required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    started = time.process_time()
    outcome = attack(args.url, args.room, args.seconds, args.connections)
    result = dict(asyncio.run(outcome))
    result["cpu_seconds"] = round(time.process_time() - started, 2)
    print("ATTACK " + orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    main()
