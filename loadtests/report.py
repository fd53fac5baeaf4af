"""The Markdown report of one run, and its samples as CSV."""

from __future__ import annotations

import csv
import datetime
import os
import re
from pathlib import Path

from .outcome import Outcome, fmt_ms
from .results import LocustResults
from .sampler import server_quantile

#: the server's route label for each placeholder in a Locust request name
_ROUTE_PARAMS = {"room": "{room}", "office": "{id}", "id": "{id}"}


def render(outcome: Outcome) -> str:
    """The Markdown report of one run."""
    load, room, res = outcome.load, outcome.room, outcome.results
    checks = outcome.checks()
    now = datetime.datetime.now().astimezone()
    lines = [
        f"# Antri flash-crowd load test, {now:%Y-%m-%d %H:%M %Z}",
        "",
        f"**Result: {'PASS' if outcome.passed else 'FAIL'}**",
        "",
        f"- Crowd: {load.users} users (Applicants and Refreshers, 19:1) within "
        f"{load.ramp_seconds:g} s, held {load.hold_seconds:g} s; polls capped at "
        f"{load.poll_cap_seconds:g} s; forms take {load.form_min_seconds:g}-"
        f"{load.form_max_seconds:g} s. Locust ran {outcome.load_seconds:.1f} s.",
        f"- Room `{load.room}`: rate {room.rate_per_minute}/min, burst {room.burst}, "
        f"max_active {room.max_active}; Antri and Locust on 127.0.0.1.",
        f"- Machine: {os.cpu_count()} CPUs; 1-min load average {outcome.loadavg[0]:.2f} before, "
        f"{outcome.loadavg[1]:.2f} after (other processes on the machine skew latency).",
        f"- Bookings: admitted applicants book reguler places at `{outcome.bookings.office}`, "
        f"whose {outcome.bookings.slots} released reguler slots were set to "
        f"{outcome.bookings.slot_capacity} places each ({outcome.bookings.places} in all); "
        f"{load.pay_share:.0%} of new bookings are paid at the sandbox bank; each applicant logs "
        "in once, when it first has a place to book, "
        + (
            f"at most {load.logins_per_second:g} logins starting a second."
            if load.logins_per_second > 0
            else "unpaced."
        ),
        "- Locust's own report (charts over time, every request and failure): `locust.html` "
        "beside this file.",
        "",
        "| check | result | numbers |",
        "|---|---|---|",
        *(f"| {c.name} | {'ok' if c.passed else '**FAILED**'} | {c.detail} |" for c in checks),
        "",
        "## Requests (Locust, client side)",
        "",
        "| request | count | failures | p50 ms | p99 ms | server p50 ms | server p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r.label} | {r.requests:,} | {r.failures:,} | {fmt_ms(r.p50_ms)} | "
            f"{fmt_ms(r.p99_ms)} | {_server_bound(outcome, r.name, 0.5)} | "
            f"{_server_bound(outcome, r.name, 0.99)} |"
            for r in res.rows
        ),
        "",
        "Locust's times are client side (rounded by Locust). The server's are the bounds of the",
        "buckets of Antri's own `http_request_duration_seconds` that hold the 50th and 99th",
        "percentile (all requests of the run to that route).",
        "",
        "Responses by status: " + _status_summary(res) + ".",
        "",
        "## Admissions",
        "",
        *_admission_lines(outcome),
        "",
        "## Bookings",
        "",
        *_booking_lines(outcome),
        "",
        "## What applicants were told",
        "",
        *_promise_lines(outcome),
    ]
    if res.failures:
        lines += ["", "## Failures", "", "| request | error | count |", "|---|---|---:|"]
        lines += [f"| {f.method} {f.name} | {f.error} | {f.count:,} |" for f in res.failures]
    if outcome.sampler_errors:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(outcome.sampler_errors.items()))
        lines += ["", f"Admin endpoint readings that failed: {errors}."]
    return "\n".join(lines) + "\n"


def _server_bound(outcome: Outcome, name: str, q: float) -> str:
    """The server-side quantile bound of a Locust request name such as "/api/v1/rooms/[room]"."""
    if not name.startswith("/"):
        return ""  # the Aggregated line
    route = re.sub(r"\[(\w+)\]", lambda m: _ROUTE_PARAMS.get(m.group(1), m.group(0)), name)
    bound = server_quantile(outcome.server_before, outcome.server_after, route, q)
    return "n/a" if bound is None else f"≤ {bound * 1000:g}"


def _status_summary(res: LocustResults) -> str:
    parts = [
        f"{label} {n:,}"
        for digit, label in (("2", "2xx"), ("4", "4xx"), ("5", "5xx"), ("0", "no response"))
        if (n := res.count_status(digit)) or digit in "25"
    ]
    if rejoins := res.events.get("rejoins after 401", 0):
        parts.append(f"{rejoins} rejoins after a 401")
    return ", ".join(parts)


def _admission_lines(outcome: Outcome) -> list[str]:
    room = outcome.room
    lines = [
        f"- Claimed (server counter): {outcome.claims:,}; sessions opened by applicants: "
        f"{outcome.results.events.get('admissions', 0):,}. Configured: "
        f"{room.rate_per_minute}/min (burst {room.burst}).",
    ]
    achieved, first = outcome.achieved_per_minute, outcome.first_admission
    if achieved is None or first is None:
        return [*lines, "- No admissions."]
    rates = [
        f"{achieved:.0f}/min from the first admission ({first - outcome.started:.1f} s in) "
        "to the end"
    ]
    if (steady := outcome.steady_per_minute) is not None:
        rates.append(f"{steady:.0f}/min once flowing (from 10 s after the first admission)")
    rates.append(f"busiest 60 s: {outcome.busiest_minute}")
    longest = max((s.waiting for s in outcome.samples), default=0)
    active = [f"max {outcome.max_active} of {room.max_active}"]
    if (share := outcome.cap_bound_share) is not None:
        active.append(
            f"active plus offered-but-unclaimed at the cap (the line held back by it) in "
            f"{share:.0%} of the once-a-second readings"
        )
    active.append(f"longest line: {longest:,} waiting")
    return [
        *lines,
        f"- Achieved: {'; '.join(rates)}.",
        f"- Active sessions: {'; '.join(active)}.",
    ]


def _booking_lines(outcome: Outcome) -> list[str]:
    """Booking answers by outcome, what applicants did, and what the database holds."""
    res, ledger = outcome.results, outcome.bookings.ledger
    answers = ", ".join(f"{outcome} {n:,}" for outcome, n in sorted(res.bookings.items()))
    events = res.events
    steps = [
        f"{events.get(key, 0):,} {label}"
        for key, label in (
            ("bookings paid", "paid"),
            ("bookings confirmed when read back", "read back confirmed"),
            ("left: the office had nothing left", "admitted applicants left: nothing left"),
            ("gave up after slot_full", "gave up after 3 slot_full in a row"),
            ("bookings sent again with the same key", "sent again with the same key"),
            ("accounts at their limit of people", "left: their account at 5 people"),
            ("logins paced", "waited for a login turn"),
            ("left: no login turn before the stop", "left: no login turn before the stop"),
        )
    ]
    statuses = ", ".join(f"{status} {n:,}" for status, n in sorted(ledger.by_status.items()))
    return [
        f"- Booking answers (POST /api/v1/bookings) by outcome: {answers or 'none'}.",
        f"- Applicants: {'; '.join(steps)}.",
        f"- Database after the run: {ledger.stored:,} bookings of load accounts "
        f"({statuses or 'none'}); {ledger.acknowledged:,} acknowledged with a 201; "
        f"`{outcome.bookings.office}` {ledger.office_booked} of {ledger.office_capacity} "
        f"places taken; invariants read over all {ledger.slots:,} slots.",
    ]


def _promise_lines(outcome: Outcome) -> list[str]:
    """How the ETA given at join compared with the wait, and how often polls were capped."""
    res, cap = outcome.results, outcome.load.poll_cap_seconds
    lines = []
    if waits := res.waits:
        n = len(waits)
        sooner = sum(1 for w, low, _ in waits if w < low)
        later = sum(1 for w, _, high in waits if w > high + cap)
        lines.append(
            f"- ETA given at join against the wait until admitted ({n:,} admissions): "
            f"within [low, high + {cap:g} s poll cap] {(n - sooner - later) / n:.0%}, "
            f"admitted sooner than low {sooner / n:.0%}, later than high {later / n:.0%}. "
            f"Medians: waited {_median([w for w, _, _ in waits]):.0f} s, told "
            f"{_median([low for _, low, _ in waits]):.0f}-"
            f"{_median([high for _, _, high in waits]):.0f} s."
        )
    polls = res.events.get("polls suggested", 0)
    over = res.events.get("polls suggested over the cap", 0)
    if polls:
        lines.append(
            f"- poll_after_seconds: {over:,} of {polls:,} suggestions ({over / polls:.0%}) were "
            f"over the crowd's {cap:g} s cap (longest {res.longest_poll_after:g} s); the crowd "
            "polled at the cap instead, so browsers that wait as told claim their offers later."
        )
    return lines or ["- Nothing recorded."]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


def write_samples(outcome: Outcome, path: Path) -> None:
    """The admin readings and counter scrapes as one CSV, in seconds from Locust's start."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["seconds", "active", "waiting", "admitted_last_minute", "claimed", "offered"]
        )
        for s in outcome.samples:
            at = f"{s.at - outcome.started:.2f}"
            writer.writerow([at, s.active, s.waiting, s.admitted_last_minute, "", ""])
        for c in outcome.counts:
            at = f"{c.at - outcome.started:.2f}"
            writer.writerow([at, "", "", "", round(c.claimed), round(c.offered)])
