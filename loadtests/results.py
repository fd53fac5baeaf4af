"""What a Locust run left behind: its stats and failures CSV files and the locustfile's tallies."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

_CATCH_WRAPPER = re.compile(r"^CatchResponseError\('(.*)'\)$")


@dataclass(frozen=True, slots=True)
class RequestRow:
    """One line of Locust's stats CSV."""

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
    """One line of Locust's failures CSV."""

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
    """What the Locust process left behind: its CSV files and the locustfile's tallies."""

    rows: list[RequestRow]
    failures: list[Failure]
    responses: dict[str, int]  #: "name status" -> count
    events: dict[str, int]
    waits: list[tuple[float, float, float]]  #: per admission: waited, ETA low, ETA high (s)
    longest_poll_after: float

    @classmethod
    def read(cls, csv_prefix: Path, tally_file: Path) -> LocustResults:
        """Read `<prefix>_stats.csv`, `<prefix>_failures.csv` and the tally JSON."""
        with Path(f"{csv_prefix}_stats.csv").open(newline="") as f:
            rows = [
                RequestRow(
                    r["Type"],
                    r["Name"],
                    int(r["Request Count"]),
                    int(r["Failure Count"]),
                    _ms(r["50%"]),
                    _ms(r["99%"]),
                )
                for r in csv.DictReader(f)
            ]
        with Path(f"{csv_prefix}_failures.csv").open(newline="") as f:
            failures = [
                Failure(r["Method"], r["Name"], _unwrap(r["Error"]), int(r["Occurrences"]))
                for r in csv.DictReader(f)
            ]
        tallies = json.loads(tally_file.read_text())
        return cls(
            rows,
            failures,
            tallies["responses"],
            tallies["events"],
            [(w, low, high) for w, low, high in tallies["waits"]],
            float(tallies["longest_poll_after"]),
        )

    def row(self, name: str) -> RequestRow | None:
        """The stats of one request name ("Aggregated" for the total)."""
        return next((r for r in self.rows if r.name == name), None)

    def count_status(self, first_digit: str) -> int:
        """Responses whose status code starts with `first_digit` ("0": no response at all)."""
        return sum(
            n for key, n in self.responses.items() if key.rsplit(" ", 1)[1][0] == first_digit
        )


def _ms(text: str) -> float | None:
    return None if text in ("", "N/A") else float(text)


def _unwrap(error: str) -> str:
    match = _CATCH_WRAPPER.match(error)
    return match.group(1) if match else error
