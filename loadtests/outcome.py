"""One run's measurements and the checks it is judged by."""

from __future__ import annotations

from dataclasses import dataclass

from .config import LoadSettings
from .ledger import Ledger
from .results import LocustResults
from .sampler import Sample, ServerCounts

#: the request whose tail latency the run is judged by
STATUS_NAME = "/api/v1/rooms/[room]/status"
#: the booking request, judged by its tail latency too
BOOKING_NAME = "/api/v1/bookings"
#: the login (an argon2 check): what collapses first when the gate lets everyone in at once
LOGIN_NAME = "/api/v1/login"


@dataclass(frozen=True, slots=True)
class RoomConfig:
    """The room settings the run starts Antri with."""

    rate_per_minute: int
    burst: int
    max_active: int


@dataclass(frozen=True, slots=True)
class Bookings:
    """The booking side of a run: the office made small, the limit, the database afterwards."""

    office: str
    slots: int  #: the office's released reguler slots the run made small
    slot_capacity: int  #: places in each
    p99_limit_ms: float  #: the booking POST's p99 must stay under this
    ledger: Ledger
    login_p99_limit_ms: float = 1000.0  #: the login POST's p99 must stay under this

    @property
    def places(self) -> int:
        """Places the crowd could book at the office."""
        return self.slots * self.slot_capacity


@dataclass(frozen=True, slots=True)
class Check:
    """One pass/fail criterion and the numbers behind it."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything measured in one run (times are time.monotonic() values)."""

    load: LoadSettings
    room: RoomConfig
    results: LocustResults
    samples: list[Sample]
    counts: list[ServerCounts]  #: the server's counters about once a second during the run
    sampler_errors: dict[str, int]
    server_before: ServerCounts
    server_after: ServerCounts
    started: float  #: when Locust was started
    ended: float  #: when Locust had exited
    loadavg: tuple[float, float]  #: 1-minute load average before and after
    p99_limit_ms: float
    bookings: Bookings

    @property
    def load_seconds(self) -> float:
        """How long Locust ran."""
        return self.ended - self.started

    @property
    def claims(self) -> int:
        """Admissions the server counted during the run."""
        return round(self.server_after.claimed - self.server_before.claimed)

    @property
    def server_5xx(self) -> int:
        """5xx answers the server counted during the run (the sampler's included)."""
        after, before = self.server_after.by_status, self.server_before.by_status
        return round(sum(n - before.get(s, 0.0) for s, n in after.items() if s.startswith("5")))

    @property
    def max_active(self) -> int | None:
        """The most active sessions any sample saw."""
        return max((s.active for s in self.samples), default=None)

    @property
    def busiest_minute(self) -> int:
        """The most admissions in any sampled 60 s window (the room's admitted_last_minute)."""
        return max((s.admitted_last_minute for s in self.samples), default=0)

    @property
    def first_admission(self) -> float | None:
        """When the first admission was seen, or None."""
        return next((s.at for s in self.samples if s.admitted_last_minute > 0), None)

    @property
    def achieved_per_minute(self) -> float | None:
        """Admissions per minute from the first admission to the end of the load."""
        first = self.first_admission
        if first is None or self.claims == 0:
            return None
        return self.claims / max(1.0, self.ended - first) * 60

    @property
    def steady_per_minute(self) -> float | None:
        """Admissions per minute from 10 s after the first admission to the end of the hold:
        the rate once the line is flowing, without its start and the crowd's stop."""
        first = self.first_admission
        if first is None:
            return None
        end = self.started + self.load.duration
        inside = [c for c in self.counts if first + 10.0 <= c.at <= end]
        if len(inside) < 2 or inside[-1].at - inside[0].at < 10.0:
            return None
        return (inside[-1].claimed - inside[0].claimed) / (inside[-1].at - inside[0].at) * 60

    @property
    def cap_bound_share(self) -> float | None:
        """Share of the counter scrapes at which active sessions plus offers not yet claimed
        filled the cap, so that the line could not advance."""
        if not self.counts or not self.samples:
            return None
        full = 0
        for c in self.counts:
            active = min(self.samples, key=lambda s: abs(s.at - c.at)).active
            full += active + (c.offered - c.claimed) >= self.room.max_active
        return full / len(self.counts)

    def checks(self) -> list[Check]:
        """The criteria the run is judged by, in the order they are reported."""
        res = self.results
        client_5xx = res.count_status("5")
        status = res.row(STATUS_NAME)
        p99 = status.p99_ms if status else None
        other = sum(f.count for f in res.failures if not f.is_5xx)
        total = res.row("Aggregated")
        cap, rate_bound = self.room.max_active, self.room.rate_per_minute + self.room.burst
        return [
            Check(
                "requests made",
                total is not None and total.requests > 0,
                f"{total.requests if total else 0:,} requests",
            ),
            Check(
                "no 5xx",
                client_5xx == 0 and self.server_5xx == 0,
                f"{client_5xx} seen by Locust, {self.server_5xx} counted by the server",
            ),
            Check(
                "cap held",
                self.max_active is not None and self.max_active <= cap,
                f"max active {self.max_active} of max_active {cap} "
                f"({len(self.samples):,} samples of the admin endpoint)",
            ),
            Check(
                "status p99",
                p99 is not None and p99 < self.p99_limit_ms,
                f"{fmt_ms(p99)} ms (limit: under {self.p99_limit_ms:g} ms)",
            ),
            Check(
                "rate held",
                self.busiest_minute <= rate_bound,
                f"busiest minute {self.busiest_minute} admissions "
                f"(bound: rate + burst = {rate_bound})",
            ),
            Check(
                "no other failures",
                other == 0,
                f"{other} (connection errors, unexpected 4xx, malformed bodies)",
            ),
            *self.booking_checks(),
        ]

    def booking_checks(self) -> list[Check]:
        """P3 (no double booking, checked in the database) and P8 (booking p99, no 5xx)."""
        booking, ledger = self.bookings, self.bookings.ledger
        answers = self.results.bookings
        created = answers.get("201", 0)
        row = self.results.row(BOOKING_NAME)
        p99 = row.p99_ms if row else None
        login = self.results.row(LOGIN_NAME)
        login_p99 = login.p99_ms if login else None
        refusals = ", ".join(
            f"{n:,} {outcome}" for outcome, n in sorted(answers.items()) if outcome != "201"
        )
        drift = ", ".join(f"slot {i}: booked {b}, holding {h}" for i, b, h in ledger.drift[:3])
        lost = (
            f"{ledger.acknowledged:,} acknowledged (201), {ledger.stored:,} stored for load "
            f"accounts: {len(ledger.missing)} lost, {len(ledger.unacknowledged)} never "
            f"acknowledged, {ledger.duplicates} acknowledged twice"
        )
        if ledger.missing:
            lost += f" (lost e.g. {', '.join(ledger.missing[:3])})"
        return [
            Check(
                "bookings made",
                created > 0,
                f"{created:,} created (201){'; ' + refusals if refusals else ''}; "
                f"{booking.office}: {ledger.office_booked} of {ledger.office_capacity} places "
                "taken",
            ),
            Check(
                "booking p99",
                p99 is not None and p99 < booking.p99_limit_ms,
                f"{fmt_ms(p99)} ms over {row.requests if row else 0:,} POST {BOOKING_NAME} "
                f"(limit: under {booking.p99_limit_ms:g} ms)",
            ),
            Check(
                "login p99",
                login_p99 is not None and login_p99 < booking.login_p99_limit_ms,
                f"{fmt_ms(login_p99)} ms over {login.requests if login else 0:,} POST "
                f"{LOGIN_NAME} (limit: under {booking.login_p99_limit_ms:g} ms)",
            ),
            Check(
                "no slot over capacity",
                ledger.over_capacity == 0,
                f"{ledger.over_capacity} of {ledger.slots:,} slots with booked > capacity or < 0",
            ),
            Check(
                "slot counts = bookings",
                not ledger.drift,
                f"{len(ledger.drift)} slots whose booked differs from their place-holding "
                f"bookings{': ' + drift if drift else ''}",
            ),
            Check(
                "one active booking per NIK",
                ledger.nik_doubles == 0,
                f"{ledger.nik_doubles} NIKs with two or more active bookings",
            ),
            Check("no booking lost", ledger.none_lost, lost),
        ]

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks())


def fmt_ms(value: float | None) -> str:
    """Milliseconds as the report shows them ("n/a" for none)."""
    return "n/a" if value is None else f"{value:g}"
