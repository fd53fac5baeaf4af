"""Watch the room from the operator's side while the crowd runs: `active` against the cap.

The admin endpoint is read every `interval` seconds; GET /metrics about once a second, for the
server's own counters (admissions claimed and offered, responses by status, latency buckets).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

#: a sample with labels; a label value may hold braces, as in route="/api/v1/rooms/{room}"
_METRIC_LINE = re.compile(
    r'^antri_(?P<name>\w+)\{(?P<labels>(?:[^"}]|"[^"]*")*)\} (?P<value>\S+)$', re.M
)
_LABEL = re.compile(r'(\w+)="([^"]*)"')

Metric = tuple[str, dict[str, str], float]


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of the admin endpoint."""

    at: float  #: time.monotonic() of the reading
    active: int
    max_active: int
    waiting: int
    admitted_last_minute: int


@dataclass(frozen=True, slots=True)
class ServerCounts:
    """The server's own counters of interest, from one scrape of GET /metrics."""

    at: float  #: time.monotonic() of the scrape
    claimed: float  #: admissions_claimed_total of the room
    offered: float  #: admissions_offered_total of the room
    by_status: dict[str, float]  #: http_requests_total summed by status code
    #: route -> [(bucket bound in seconds, cumulative count)] of http_request_duration_seconds
    buckets: dict[str, list[tuple[float, float]]]

    @classmethod
    def parse(cls, metrics: list[Metric], room: str, at: float) -> ServerCounts:
        """Pick the counters out of a scrape."""
        claimed = offered = 0.0
        by_status: dict[str, float] = {}
        buckets: dict[str, list[tuple[float, float]]] = {}
        for name, labels, value in metrics:
            if name == "admissions_claimed_total" and labels.get("room") == room:
                claimed += value
            elif name == "admissions_offered_total" and labels.get("room") == room:
                offered += value
            elif name == "http_requests_total":
                status = labels.get("status", "?")
                by_status[status] = by_status.get(status, 0.0) + value
            elif name == "http_request_duration_seconds_bucket":
                bound = float(labels.get("le", "inf"))
                buckets.setdefault(labels.get("route", "?"), []).append((bound, value))
        return cls(at, claimed, offered, by_status, buckets)


def server_quantile(
    before: ServerCounts, after: ServerCounts, route: str, q: float
) -> float | None:
    """The bucket bound (seconds) under which a share `q` of the route's requests finished
    between the two scrapes; None when the route saw no request."""
    base = dict(before.buckets.get(route, []))
    deltas = sorted((le, n - base.get(le, 0.0)) for le, n in after.buckets.get(route, []))
    if not deltas or deltas[-1][1] <= 0:
        return None
    total = deltas[-1][1]
    return next(le for le, n in deltas if n >= q * total)


async def fetch_metrics(session: aiohttp.ClientSession, base_url: str) -> str:
    """The text of GET /metrics."""
    async with session.get(f"{base_url}/metrics") as resp:
        resp.raise_for_status()
        return await resp.text()


def parse_metrics(text: str) -> list[Metric]:
    """Every `antri_*` sample of a scrape as (name without prefix, labels, value)."""
    return [
        (m["name"], dict(_LABEL.findall(m["labels"])), float(m["value"]))
        for m in _METRIC_LINE.finditer(text)
    ]


@dataclass(slots=True)
class Sampler:
    """Reads the admin view of a room and the server's counters until told to stop."""

    base_url: str
    admin_token: str
    room: str
    interval: float = 0.15
    metrics_every: int = 7  #: scrape /metrics on every n-th reading (about once a second)
    samples: list[Sample] = field(default_factory=list)
    counts: list[ServerCounts] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    async def admin_state(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        """The admin endpoint's JSON for the room."""
        url = f"{self.base_url}/api/v1/admin/rooms/{self.room}"
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        async with session.get(url, headers=headers) as resp:
            resp.raise_for_status()
            body = await resp.json()
        if not isinstance(body, dict):
            raise ValueError("the admin endpoint did not answer a JSON object")
        return body

    async def server_counts(self, session: aiohttp.ClientSession) -> ServerCounts:
        """One scrape of the server's counters, also kept in `counts`."""
        at = time.monotonic()
        text = await fetch_metrics(session, self.base_url)
        counts = ServerCounts.parse(parse_metrics(text), self.room, at)
        self.counts.append(counts)
        return counts

    async def read_once(self, session: aiohttp.ClientSession, n: int) -> None:
        """One reading of the admin endpoint, plus the counters on every n-th."""
        at = time.monotonic()
        body = await self.admin_state(session)
        self.samples.append(
            Sample(
                at=at,
                active=int(body["active"]),
                max_active=int(body["max_active"]),
                waiting=int(body["waiting"]),
                admitted_last_minute=int(body["admitted_last_minute"]),
            )
        )
        if n % self.metrics_every == 0:
            await self.server_counts(session)

    async def run(self, stop: asyncio.Event) -> None:
        """Take readings until `stop` is set; a failed reading is counted, not raised."""
        timeout = aiohttp.ClientTimeout(total=2.0)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            n = 0
            while not stop.is_set():
                started = time.monotonic()
                try:
                    await self.read_once(session, n)
                except aiohttp.ClientResponseError as exc:
                    self.errors[f"HTTP {exc.status}"] += 1
                except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
                    self.errors[type(exc).__name__] += 1
                n += 1
                pause = self.interval - (time.monotonic() - started)
                if pause > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), pause)
