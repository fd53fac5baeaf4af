"""What the Locust process counts beyond Locust's own stats, and its hand-over file.

The locustfile counts into `TALLY`; when Locust quits, `write` puts that together with
Locust's final stats (per request name: counts and p50/p99; the failures) into one JSON file
for `loadtests.run`, and every request (when it ended, name, ms, status) into requests.csv
beside it. Taken at quitting time, the numbers agree with each other exactly, which
Locust's CSV files, rewritten once a second, do not always do.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class Tally:
    """Counts kept by the locustfile."""

    #: responses by "name status" (status 0: no response at all)
    responses: Counter[str] = field(default_factory=Counter)
    #: what applicants went through: "admissions", "polls suggested", ...
    events: Counter[str] = field(default_factory=Counter)
    #: per admission: [seconds from join to admission, the ETA low and high the join gave]
    waits: list[list[float]] = field(default_factory=list)
    #: the longest poll_after_seconds the server suggested
    longest_poll_after: float = 0.0
    #: booking answers by outcome: "201", "409 slot_full", "422 invalid", "0" (no answer) ...
    bookings: Counter[str] = field(default_factory=Counter)
    #: the id of every booking acknowledged with a 201
    booked_ids: list[str] = field(default_factory=list)
    #: when each Applicant first arrived (epoch seconds), and the first arrival of the
    #: Applicant behind each new booking: who got the places, early or late arrivals
    arrivals: list[float] = field(default_factory=list)
    placed: list[float] = field(default_factory=list)
    #: what the crowd said once: booking skipped for want of accounts, step-to-break's verdict
    notes: list[str] = field(default_factory=list)
    #: every request: when it ended (epoch seconds), its name, its time in ms, its status
    timeline: list[tuple[float, str, float, int]] = field(default_factory=list)

    def response(self, name: str, status: int) -> None:
        """Count one response."""
        self.responses[f"{name} {status}"] += 1

    def booking(self, outcome: str) -> None:
        """Count one answer to a booking request."""
        self.bookings[outcome] += 1

    def suggested_poll(self, seconds: float, cap: float) -> None:
        """Note one poll_after_seconds the server suggested, and whether it was over `cap`."""
        self.events["polls suggested"] += 1
        self.events["polls suggested over the cap"] += seconds > cap
        self.longest_poll_after = max(self.longest_poll_after, seconds)


TALLY = Tally()


def _percentile(entry: Any, q: float) -> float | None:
    return float(entry.get_response_time_percentile(q)) if entry.num_requests else None


def locust_stats(stats: Any) -> dict[str, list[dict[str, Any]]]:
    """Locust's RequestStats as plain data: a row per request name (and the total), and the
    failures grouped as Locust groups them."""
    from locust.stats import StatsError

    entries = sorted(stats.entries.values(), key=lambda e: (e.name, e.method or ""))
    rows = [
        {
            "method": entry.method or "",
            "name": entry.name,
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50_ms": _percentile(entry, 0.5),
            "p99_ms": _percentile(entry, 0.99),
        }
        for entry in [*entries, stats.total]
    ]
    failures = [
        {
            "method": error.method or "",
            "name": error.name,
            "error": StatsError.parse_error(error.error),
            "count": error.occurrences,
        }
        for error in stats.errors.values()
    ]
    return {"rows": rows, "failures": failures}


def write(path: Path, stats: Any) -> None:
    """Write the tally and Locust's stats to `path` as JSON."""
    data = {
        "responses": dict(TALLY.responses),
        "events": dict(TALLY.events),
        "waits": TALLY.waits,
        "longest_poll_after": TALLY.longest_poll_after,
        "bookings": dict(TALLY.bookings),
        "booked_ids": TALLY.booked_ids,
        "notes": TALLY.notes,
        "arrivals": TALLY.arrivals,
        "placed": TALLY.placed,
        "stats": locust_stats(stats),
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    with path.with_name("requests.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ended", "name", "ms", "status"])
        for at, name, ms, status in TALLY.timeline:
            writer.writerow([f"{at:.3f}", name, f"{ms:.1f}", status])
