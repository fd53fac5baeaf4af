"""The benchmark's verdict: a table of the measured targets and the ratios against targets."""

from __future__ import annotations

from dataclasses import dataclass

from .wrk import Result

#: status@1M may be at most this much slower than status@1k and still count as flat
FLAT = 0.9


@dataclass(frozen=True, slots=True)
class Ratio:
    """A measured ratio and the bound it should meet (None: measured, no target set)."""

    name: str
    value: float
    bound: float | None = None
    at_most: bool = False  #: True when the value must stay at or below the bound
    unit: str = ""
    note: str = ""

    @property
    def met(self) -> bool:
        """True when the target is met (or there is none)."""
        if self.bound is None:
            return True
        return self.value <= self.bound if self.at_most else self.value >= self.bound

    def row(self) -> str:
        """The ratio as a Markdown table row."""
        value = f"{self.value:.2f}{self.unit}"
        if self.bound is None:
            return f"| {self.name} | {value} | — | measured | {self.note} |"
        sign = "≤" if self.at_most else "≥"
        verdict = "met" if self.met else "**MISSED**"
        bound = f"{sign} {self.bound:g}{self.unit}"
        return f"| {self.name} | {value} | {bound} | {verdict} | {self.note} |"


@dataclass(frozen=True, slots=True)
class MemoryUse:
    """Redis used_memory around the bulk fill."""

    before: int
    after: int
    visitors: int

    @property
    def per_visitor(self) -> float:
        """Bytes of Redis memory per waiting visitor added."""
        return (self.after - self.before) / self.visitors


@dataclass(frozen=True, slots=True)
class Measured:
    """The six measured targets, in the order they ran."""

    hello: Result  #: baseline A, interleaved with status_1k
    status_1k: Result  #: the line 1,000 long, before the fill
    control_1k: Result  #: a second room's line, 1,000 long, interleaved with status_1m
    status_1m: Result  #: the line 1,000,000 long, after the fill
    evalsha: Result  #: baseline B, interleaved with join
    join: Result

    def all(self) -> list[Result]:
        """Every result, in order."""
        return [
            self.hello,
            self.status_1k,
            self.control_1k,
            self.status_1m,
            self.evalsha,
            self.join,
        ]

    def ratios(self, memory: MemoryUse) -> list[Ratio]:
        """The four ratios the benchmark is judged by."""
        across_fill = self.status_1m.rps / self.status_1k.rps
        return [
            Ratio("status@1k / hello-world (A)", self.status_1k.rps / self.hello.rps, 0.8),
            Ratio(
                "status@1M / status@1k (flat)",
                self.status_1m.rps / self.control_1k.rps,
                FLAT,
                note=f"against its same-window control; across the fill: {across_fill:.2f}",
            ),
            Ratio("join / one-EVALSHA (B)", self.join.rps / self.evalsha.rps, 0.8),
            Ratio(
                "Redis bytes per waiting visitor",
                memory.per_visitor,
                150,
                at_most=True,
                unit=" B",
                note=f"used_memory {memory.before:,} → {memory.after:,}",
            ),
        ]


def results_table(results: list[Result]) -> str:
    """The measured targets as a Markdown table."""
    lines = [
        "| target | req/s | p50 ms | p99 ms | requests | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        flag = "" if r.clean else " **!**"
        lines.append(
            f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.requests:,} | {r.errors}{flag} |"
        )
    return "\n".join(lines)


def ratios_table(ratios: list[Ratio]) -> str:
    """The ratios against their targets as a Markdown table."""
    lines = ["| ratio | value | target | verdict | note |", "|---|---:|---:|---|---|"]
    lines += [ratio.row() for ratio in ratios]
    return "\n".join(lines)
