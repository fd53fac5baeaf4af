"""What a Locust run left behind: Locust's final stats and the locustfile's tally."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

_CATCH_WRAPPER = re.compile(r"^CatchResponseError\('(.*)'\)$")


@dataclass(frozen=True, slots=True)
class RequestRow:
    """Locust's stats of one request name (or of all: name "Aggregated")."""

    method: str
    name: str
    requests: int
    failures: int
    p50_ms: float | None
    p99_ms: float | None

    @property
    def label(self) -> str:
        """Method and name, as the report shows the request."""
        return f"{self.method} {self.name}".strip()


@dataclass(frozen=True, slots=True)
class Failure:
    """One kind of failure of one request, as Locust groups them."""

    method: str
    name: str
    error: str
    count: int

    @property
    def is_5xx(self) -> bool:
        """True for a failure that was a 5xx answer."""
        return re.fullmatch(r"HTTP 5\d\d", self.error) is not None


@dataclass(frozen=True, slots=True)
class LocustResults:
    """What the Locust process left behind: its final stats and the locustfile's tally."""

    rows: list[RequestRow]
    failures: list[Failure]
    responses: dict[str, int]  #: "name status" -> count
    events: dict[str, int]
    waits: list[tuple[float, float, float]]  #: per admission: waited, ETA low, ETA high (s)
    longest_poll_after: float
    bookings: dict[str, int]  #: booking answers by outcome ("201", "409 slot_full", ...)
    booked_ids: list[str]  #: the ids of the bookings acknowledged with a 201

    @classmethod
    def read(cls, tally_file: Path) -> LocustResults:
        """Read the JSON file the locustfile wrote when Locust quit (see loadtests.tally)."""
        data = json.loads(tally_file.read_text(encoding="utf-8"))
        stats = data["stats"]
        return cls(
            rows=[RequestRow(**row) for row in stats["rows"]],
            failures=[
                Failure(f["method"], f["name"], _unwrap(f["error"]), f["count"])
                for f in stats["failures"]
            ],
            responses=data["responses"],
            events=data["events"],
            waits=[(w, low, high) for w, low, high in data["waits"]],
            longest_poll_after=float(data["longest_poll_after"]),
            bookings=data["bookings"],
            booked_ids=data["booked_ids"],
        )

    def row(self, name: str) -> RequestRow | None:
        """The stats of one request name ("Aggregated" for the total)."""
        return next((r for r in self.rows if r.name == name), None)

    def count_status(self, first_digit: str) -> int:
        """Responses whose status code starts with `first_digit` ("0": no response at all)."""
        return sum(
            n for key, n in self.responses.items() if key.rsplit(" ", 1)[1][0] == first_digit
        )


def _unwrap(error: str) -> str:
    match = _CATCH_WRAPPER.match(error)
    return match.group(1) if match else error
