"""Running wrk, and merging several short runs of one target into one result.

Targets that are compared are measured in interleaved rounds (A, B, A, B, ...), so that the
noise of a shared machine falls on both sides of a ratio alike.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk.lua")
MARK = "BENCH "


class WrkError(RuntimeError):
    """wrk failed or printed no result line."""


@dataclass(frozen=True, slots=True)
class Load:
    """How hard and how long to push each target."""

    threads: int = 1
    connections: int = 64
    rounds: int = 5
    round_seconds: int = 2
    warmup_seconds: int = 2

    @property
    def seconds(self) -> int:
        """Measured seconds per target."""
        return self.rounds * self.round_seconds

    def describe(self) -> str:
        """The load in words, for the report."""
        return (
            f"wrk -t{self.threads} -c{self.connections}, {self.seconds} s per target measured "
            f"as {self.rounds} interleaved rounds of {self.round_seconds} s "
            f"(after a {self.warmup_seconds} s warm-up)"
        )


@dataclass(frozen=True, slots=True)
class Target:
    """A URL to load: GETs rotating the tickets in `tickets`, else new-visitor POSTs; or, for a
    `page` target, GETs whose every answer must be a 200 of the content type `expect`."""

    name: str
    url: str
    tickets: Path | None = None
    #: a page's content type ("text/html"): answers of another type or status are unexpected
    expect: str | None = None
    #: for a page: a file of Cookie headers, one a line, rotated through (None: no cookie)
    cookies: Path | None = None
    #: for new-visitor POSTs: a file of X-Antri-Proof values, one a line, each sent once
    proofs: Path | None = None

    @classmethod
    def page(cls, name: str, url: str, expect: str, cookies: Path | None = None) -> Target:
        """A page loaded like a browser would: GETs, checked to answer 200 with `expect`."""
        return cls(name, url, expect=expect, cookies=cookies)

    def script_args(self) -> list[str]:
        """The wrk.lua arguments for this target."""
        if self.expect is not None:
            return ["PAGE", self.expect, *([str(self.cookies)] if self.cookies else [])]
        if self.proofs is not None:
            return ["POSTPROOF", str(self.proofs)]
        return ["GET", str(self.tickets)] if self.tickets is not None else ["POST"]


@dataclass(slots=True)
class Sample:
    """What one wrk run measured."""

    requests: int = 0
    seconds: float = 0.0
    non_2xx: int = 0
    socket_errors: int = 0
    #: answers below 400 that were not a 200 of the expected type (page targets only)
    unexpected: int = 0
    #: (latency in microseconds, requests it stands for): wrk's quantiles, weighted
    latency_us: list[tuple[float, float]] = field(default_factory=list)

    def add(self, other: Sample) -> None:
        """Merge `other` into this sample."""
        self.requests += other.requests
        self.seconds += other.seconds
        self.non_2xx += other.non_2xx
        self.socket_errors += other.socket_errors
        self.unexpected += other.unexpected
        self.latency_us.extend(other.latency_us)

    def percentile_ms(self, p: float) -> float:
        """The latency below which `p` percent of the requests completed, in milliseconds."""
        points = sorted(self.latency_us)
        total = sum(weight for _, weight in points)
        seen = 0.0
        for us, weight in points:
            seen += weight
            if seen >= total * p / 100:
                return us / 1000
        return math.nan


@dataclass(frozen=True, slots=True)
class Result:
    """One measured target."""

    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    unexpected: int = 0  #: below 400 but not a 200 of the expected type (pages only)

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def clean(self) -> bool:
        """True when every response was a 2xx (a 200 of the expected type, for a page) and no
        socket failed."""
        return self.errors == 0

    @property
    def errors(self) -> int:
        """Failed requests: statuses above 399, unexpected answers, socket errors."""
        return self.non_2xx + self.socket_errors + self.unexpected

    @classmethod
    def of(cls, name: str, sample: Sample) -> Result:
        """The result of a (merged) sample."""
        return cls(
            name=name,
            requests=sample.requests,
            seconds=sample.seconds,
            p50_ms=sample.percentile_ms(50),
            p99_ms=sample.percentile_ms(99),
            non_2xx=sample.non_2xx,
            socket_errors=sample.socket_errors,
            unexpected=sample.unexpected,
        )


async def measure_together(targets: Sequence[Target], load: Load) -> list[Result]:
    """Warm every target up, then measure them in interleaved rounds; one result each."""
    for target in targets:
        if load.warmup_seconds > 0:
            await run_wrk(target, load, load.warmup_seconds)
    merged = [Sample() for _ in targets]
    for _ in range(load.rounds):
        for target, total in zip(targets, merged, strict=True):
            total.add(await run_wrk(target, load, load.round_seconds))
    return [Result.of(t.name, s) for t, s in zip(targets, merged, strict=True)]


async def run_wrk(target: Target, load: Load, seconds: int, cpus: str | None = None) -> Sample:
    """One wrk run against `target` (pinned to the CPUs `cpus`, as taskset names them, if
    given)."""
    pin = ["taskset", "-c", cpus] if cpus is not None else []
    argv = [
        *pin,
        "wrk", f"-t{load.threads}", f"-c{load.connections}", f"-d{seconds}s",
        "-s", str(SCRIPT), target.url, "--", *target.script_args(),
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        stdout, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = stdout.decode(errors="replace")
    if process.returncode != 0:
        raise WrkError(f"wrk exited with {process.returncode}:\n{output}")
    return _parse(output)


def _parse(output: str) -> Sample:
    for line in output.splitlines():
        if line.startswith(MARK):
            data = json.loads(line[len(MARK) :])
            quantiles = data["quantiles"]
            weight = data["requests"] / len(quantiles) if quantiles else 0.0
            return Sample(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                non_2xx=data["non_2xx"],
                socket_errors=data["socket_errors"],
                unexpected=data["unexpected"],
                latency_us=[(float(us), weight) for us in quantiles],
            )
    raise WrkError(f"no result line in wrk's output:\n{output}")
