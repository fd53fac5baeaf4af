"""Status throughput of `antri up --processes 2` against one process (issue 14: at least 1.6 times).

Both set-ups run at once on the run's Redis and PostgreSQL, each `antri up` on its own port
with no workers, and are measured in interleaved rounds (the noise of the shared machine falls on
both). Pinned so that the client and the servers share the two cores fairly:

- wrk (one thread) always runs on CPU 1 only (`taskset -c 1`);
- one process: `antri up --processes 1` pinned to CPU 0 (`taskset -c 0`), so the server has a
  core to itself and the client the other: the best one process can do here;
- two processes: `antri up --processes 2` on both CPUs, so one app process shares CPU 1 with wrk
  (the kernel's scheduler shares it) and the other has CPU 0.

Redis and PostgreSQL are not pinned (the status poll of a waiting ticket does not reach them).
Each set-up joins its own 1,000 visitors to room paspor (one admission a minute, so every
ticket stays on the fast path, checked before and after) and wrk rotates through them.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from . import line
from .processes import Server
from .report import Ratio, ratios_table, results_table
from .wrk import Load, Result, Sample, Target, run_wrk

#: wrk's CPU, and the one process's
CLIENT_CPU = "1"
SINGLE_CPU = "0"
TARGET = 1.6
#: visitors joined ahead of each set-up's measured tickets (the room admits one a minute)
FRONT = 10


@dataclass(frozen=True, slots=True)
class Scale:
    """The part's results."""

    one: Result
    two: Result
    per_round: list[float]  #: two ÷ one, round by round


StartUp = Callable[[str, int, str | None], Awaitable[Server]]


async def measure_scale(start_up: StartUp, tmp: Path, visitors: int, load: Load) -> Scale:
    """Start both set-ups (`start_up(name, processes, cpus)`), join their visitors, measure."""
    one = await start_up("antri-one-process", 1, SINGLE_CPU)
    two = await start_up("antri-two-processes", 2, None)
    try:
        targets = []
        for name, server in (("status, 1 process", one), ("status, 2 processes", two)):
            await _healthy(server.url)
            # Ahead of the measured tickets, so that the trickle admits none of them.
            await line.join_visitors(server.url, line.ROOM, FRONT)
            tickets = await line.join_visitors(server.url, line.ROOM, visitors)
            await line.check_waiting(server.url, line.ROOM, tickets)
            path = line.write_tickets(tickets, tmp / f"{server.name}-tickets.txt")
            targets.append(Target(name, server.url + line.status_path(line.ROOM), path))
        samples = [Sample(), Sample()]
        per_round: list[float] = []
        for measured in range(-1, load.rounds):
            seconds = load.warmup_seconds if measured < 0 else load.round_seconds
            order = [0, 1] if measured % 2 else [1, 0]
            got: dict[int, Sample] = {}
            for i in order:
                got[i] = await run_wrk(targets[i], load, seconds, cpus=CLIENT_CPU)
            if measured >= 0:
                for i, sample in got.items():
                    samples[i].add(sample)
                per_round.append(_rate(got[1]) / _rate(got[0]) if _rate(got[0]) else 0.0)
        for target, server in zip(targets, (one, two), strict=True):
            tickets = target.tickets.read_text().split() if target.tickets else []
            await line.check_waiting(server.url, line.ROOM, tickets)
        return Scale(*(Result.of(t.name, s) for t, s in zip(targets, samples, strict=True)),
                     per_round)  # fmt: skip
    finally:
        one.stop()
        two.stop()


def _rate(sample: Sample) -> float:
    return sample.requests / sample.seconds if sample.seconds else 0.0


async def _healthy(url: str, timeout: float = 60.0) -> None:
    """Wait until every app process answers (the port is bound before they start)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{url}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer /healthz")


def render_scale(scale: Scale, load: Load) -> str:
    """The part's Markdown report."""
    median = statistics.median(scale.per_round) if scale.per_round else 0.0
    totals = scale.two.rps / scale.one.rps if scale.one.rps else 0.0
    rounds = ", ".join(f"{r:.2f}" for r in scale.per_round)
    ratios = [
        Ratio("status, 2 processes ÷ 1 process", median, TARGET,
              note=f"median of the rounds ({rounds}); of the totals {totals:.2f}"),
    ]  # fmt: skip
    return "\n".join(
        [
            "## Scale-out: `antri up --processes 2` against one process",
            "",
            f"Load: {load.describe()}; wrk pinned to CPU {CLIENT_CPU}, the one process to CPU "
            f"{SINGLE_CPU}, the two processes on both CPUs",
            "",
            results_table([scale.one, scale.two]),
            "",
            ratios_table(ratios),
        ]
    )
