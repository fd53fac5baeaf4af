"""The booking benchmark's report: rates, latencies, refusals and the overbooking check."""

from __future__ import annotations

import math

from .booking import BookingOptions, Round, Run

#: bookings a second the booking endpoint should sustain
TARGET_BOOKINGS_PER_SECOND = 1000


def percentile(values: list[float], p: float) -> float:
    """The value below which `p` percent of `values` lie (nearest rank)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * p / 100) - 1))]


def _row(name: str, rate: float, t: Run) -> str:
    p50, p99 = percentile(t.latencies_ms, 50), percentile(t.latencies_ms, 99)
    return f"| {name} | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {t.requests:,} |"


def render_booking(rounds: list[Round], opts: BookingOptions) -> str:
    """The booking section of the report, in Markdown."""
    hello = Run.total([r.hello for r in rounds])
    book = Run.total([r.booking for r in rounds])
    over = sum(r.check.over_capacity for r in rounds)
    drift = sum(r.check.drift for r in rounds)
    booked = sum(r.check.booked for r in rounds)
    places = sum(r.check.places for r in rounds)
    refusals = ", ".join(f"{code} {n:,}" for code, n in sorted(book.errors.items())) or "none"
    statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(book.statuses.items()))
    ratio = book.ok_rate / hello.rate if hello.rate else 0.0
    met = book.ok_rate >= TARGET_BOOKINGS_PER_SECOND
    clean = over == 0 and drift == 0 and booked == book.ok == places and book.server_errors == 0
    lines = [
        f"Booking: {opts.clients} clients ({_processes(opts.processes)}) into {opts.slots} slots"
        f" of {opts.capacity} places, {len(rounds)} rounds, each after {opts.hello_seconds:g} s of "
        "hello-world POSTs by the same clients",
        "",
        "| target | req/s | p50 ms | p99 ms | requests |",
        "|---|---:|---:|---:|---:|",
        _row("hello-world POST (same clients, same body size)", hello.rate, hello),
        _row("booking attempts (201 and 409)", book.rate, book),
        "",
        "| round | 201s | seconds to full | bookings/s | attempts/s | hello req/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for n, r in enumerate(rounds, 1):
        b, h = r.booking, r.hello
        lines.append(
            f"| {n} | {b.ok:,} | {b.ok_seconds:.2f} | {b.ok_rate:,.0f} | {b.rate:,.0f} | "
            f"{h.rate:,.0f} |"
        )
    lines += [
        "",
        f"Bookings: {book.ok:,} of {places:,} places in {book.ok_seconds:.2f} s = "
        f"**{book.ok_rate:,.0f} bookings/s** (target ≥ {TARGET_BOOKINGS_PER_SECOND:,}: "
        f"{'met' if met else '**MISSED**'}); {ratio:.2f} of hello-world POST req/s.",
        f"Answers: {statuses} ({book.server_errors} 5xx); refusals: {refusals}.",
        f"Database: {over} slots over capacity, {drift} slots whose count differs from their "
        f"bookings; {booked:,} places taken = {book.ok:,} 201s"
        + ("" if clean else " — **CHECK FAILED**")
        + ".",
    ]
    lines += _cpu_lines(rounds)
    return "\n".join(lines)


def _cpu_lines(rounds: list[Round]) -> list[str]:
    """CPU a booking by part, per round: where the machine's two cores went."""
    parts = list(rounds[0].cpu) if rounds else []
    if not parts:
        return []
    lines = [
        "",
        "CPU a booking during the booking runs (user + system, ms), by part; busy = all parts'"
        " CPU ÷ the run's seconds (2 cores = 2.0); rows of `bookings` and its indexes read a"
        " booking (all backends' scans)",
        "",
        "| round | " + " | ".join(parts) + " | all | busy | rows read |",
        "|---|" + "---:|" * (len(parts) + 3),
    ]
    for n, r in enumerate(rounds, 1):
        each = [1000 * r.cpu[part] / max(1, r.booking.ok) for part in parts]
        busy = sum(r.cpu.values()) / r.booking.seconds if r.booking.seconds else 0.0
        cells = " | ".join(f"{ms:.2f}" for ms in each)
        rows = r.rows_read / max(1, r.booking.ok)
        lines.append(f"| {n} | {cells} | {sum(each):.2f} | {busy:.2f} | {rows:,.1f} |")
    return lines


def _processes(n: int) -> str:
    return "one aiohttp process" if n == 1 else f"antri up --processes {n}"
