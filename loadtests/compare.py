"""`python -m loadtests.compare` (`make load-compare`): the M-Paspor failure, measured.

The same crowd twice against the same backend (a fresh `antri up` each time, same settings,
same accounts and places): once straight at the booking flow — the gate in pass-through mode,
the room admitting everyone at once (a rate and a cap nobody reaches) but still counting —
and once through the waiting room (admitting 300 a minute, burst 5, at most 50 active: the pace
the logins' argon2 checks can take).
Each run is `loadtests.run`'s judged run (its own report in var/loadcompare/<run>/); then one
HTML report puts the two side by side: login and booking latency percentiles over time, errors
and timeouts, bookings completed per minute, the places early and late arrivals got, and the
backend's CPU, with a verdict sentence for each way, in numbers.

Exit status: 0 when the report was written (each run's failed checks are listed in it: the run
without the waiting room is expected to fail them, and on a loaded machine the other may miss
a latency limit too); 2 when a run broke.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import csv
import dataclasses
import html
import io
import json
import os
import secrets
import signal
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import LoadSettings
from .cpu import CpuSampler, postmaster_pid
from .outcome import LOGIN_NAME, Outcome, RoomConfig
from .report import render, write_samples
from .run import (
    ROOT,
    Options,
    RunError,
    _terminate,
    check_still_up,
    load_phase,
    log,
    start_antri,
)

BOOKING = "/api/v1/bookings"
#: the gate in pass-through mode: everyone admitted at once, every admission still counted
OPEN = RoomConfig(rate_per_minute=1_000_000, burst=100_000, max_active=1_000_000)
#: the waiting room sized to what the backend serves: logins (argon2, one check per spare core
#: at a time) arrive a few a second, after each admitted applicant's form
GATED = RoomConfig(rate_per_minute=300, burst=5, max_active=50)
#: a login slower than this is one an applicant gives up on
SLOW_MS = 5000.0
#: the crowd's patience: a request unanswered this long is given up (the locustfile's timeout)
TIMEOUT_S = 10.0
BUCKET = 5.0  #: seconds per point of the latency and error charts
RATE_BUCKET = 15.0  #: seconds per point of the bookings-per-minute chart
QUINTILES = 5


@dataclass(frozen=True, slots=True)
class Run:
    """One of the two runs: what Locust and the CPU sampler saw."""

    key: str  #: "open" or "gated"
    title: str
    room: RoomConfig
    outcome: Outcome
    #: every request: seconds since the crowd's start when it ended, name, ms, status
    requests: list[tuple[float, str, float, int]]
    cpu: list[tuple[float, dict[str, float]]]  #: seconds since the start, cores by part
    arrivals: list[float]  #: seconds since the start, per applicant
    placed: list[float]  #: the arrival of the applicant behind each new booking

    def latencies(self, name: str) -> list[float]:
        return [ms for _, n, ms, _ in self.requests if n == name]

    def early_share(self) -> float | None:
        """The share of the places that went to the earlier half of the arrivals."""
        if not self.placed or not self.arrivals:
            return None
        middle = statistics.median(self.arrivals)
        return sum(1 for a in self.placed if a <= middle) / len(self.placed)

    def quintile_shares(self) -> list[float]:
        """The share of the places each fifth of the arrivals (by arrival order) got."""
        order = sorted(self.arrivals)
        if not order or not self.placed:
            return [0.0] * QUINTILES
        edges = [order[min(len(order) - 1, len(order) * q // QUINTILES)] for q in range(1, 5)]
        counts = Counter(sum(1 for e in edges if a > e) for a in self.placed)
        return [counts[q] / len(self.placed) for q in range(QUINTILES)]


def read_run(key: str, title: str, room: RoomConfig, outcome: Outcome, out: Path,
             cpu: list[tuple[float, dict[str, float]]]) -> Run:  # fmt: skip
    """The run's files as the charts need them, on one clock: seconds since the first
    request started."""
    with (out / "requests.csv").open() as f:
        rows = [
            (float(r["ended"]), r["name"], float(r["ms"]), int(r["status"]))
            for r in csv.DictReader(f)
        ]
    tally = json.loads((out / "tally.json").read_text())
    start = min([ended - ms / 1000 for ended, _, ms, _ in rows] + tally["arrivals"] or [0.0])
    return Run(
        key=key,
        title=title,
        room=room,
        outcome=outcome,
        requests=[(ended - start, name, ms, status) for ended, name, ms, status in rows],
        cpu=[(at - start, parts) for at, parts in cpu],
        arrivals=[a - start for a in tally["arrivals"]],
        placed=[a - start for a in tally["placed"]],
    )


async def run_one(opts: Options, key: str, title: str) -> Run:
    """`loadtests.run`'s judged run with the backend's CPU sampled; Antri stopped after."""
    with contextlib.ExitStack() as stack:
        log(f"{title}:")
        up = await start_antri(opts, stack, "antri-cmp-")
        assert up.antri.pid is not None
        with CpuSampler(up.antri.pid, postmaster_pid(up.data_dir)) as cpu:
            outcome = await load_phase(opts, up.base_url, up.admin_token, up.setup, stack)
        check_still_up(up.antri)
    report = render(outcome)
    (opts.out / "report.md").write_text(report)
    write_samples(outcome, opts.out / "samples.csv")
    return read_run(key, title, opts.room, outcome, opts.out, cpu.samples)


# -- numbers and sentences ---------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) of `values`, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def secs(ms: float | None) -> str:
    if ms is None:
        return "n/a"
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def figures(run: Run) -> dict[str, Any]:
    """The numbers the verdict and the table give."""
    logins = run.latencies(LOGIN_NAME)
    bookings = run.latencies(BOOKING)
    created = [t for t, n, _, s in run.requests if n == BOOKING and s == 201]
    per_minute = Counter(int(t // RATE_BUCKET) for t in created)
    total = run.outcome.results.row("Aggregated")
    cores = [sum(parts.values()) for _, parts in run.cpu]
    return {
        "login_p50": pct(logins, 50),
        "login_p99": pct(logins, 99),
        "logins": len(logins),
        "slow_logins": sum(1 for ms in logins if ms > SLOW_MS),
        "booking_p50": pct(bookings, 50),
        "booking_p99": pct(bookings, 99),
        "requests": total.requests if total else 0,
        "failures": total.failures if total else 0,
        "timeouts": sum(1 for *_, s in run.requests if s == 0),
        "server_errors": sum(1 for *_, s in run.requests if s >= 500),
        "booked": len(created),
        "best_per_minute": max(per_minute.values(), default=0) * 60 / RATE_BUCKET,
        "early_share": run.early_share(),
        "cpu_mean": statistics.fmean(cores) if cores else 0.0,
        "cpu_peak": max(cores, default=0.0),
        "checks_failed": [c.name for c in run.outcome.checks() if not c.passed],
        "loadavg": " / ".join(f"{x:.1f}" for x in run.outcome.loadavg),
    }


def verdict(run: Run, f: dict[str, Any]) -> str:
    """One sentence with the run's numbers."""
    early = "n/a" if f["early_share"] is None else f"{f['early_share']:.0%}"
    return (
        f"{run.title}, logins took {secs(f['login_p50'])} at the median and "
        f"{secs(f['login_p99'])} at p99 ({f['slow_logins']} of {f['logins']} over "
        f"{SLOW_MS / 1000:g} s); bookings {secs(f['booking_p50'])} at the median, "
        f"{secs(f['booking_p99'])} at p99; {f['failures']:,} of {f['requests']:,} requests "
        f"failed ({f['timeouts']} without an answer within {TIMEOUT_S:g} s, "
        f"{f['server_errors']} 5xx); "
        f"{f['booked']} places were booked (at best {f['best_per_minute']:.0f} a minute), "
        f"{early} of them by the earlier half of the arrivals; the backend used "
        f"{f['cpu_mean']:.2f} cores on average ({f['cpu_peak']:.2f} at peak) of "
        f"{os.cpu_count()}."
    )


# -- charts ------------------------------------------------------------------------------------


def _buckets(points: list[tuple[float, float]], width: float) -> dict[int, list[float]]:
    found: dict[int, list[float]] = defaultdict(list)
    for t, value in points:
        found[int(t // width)].append(value)
    return found


def charts(runs: list[Run]) -> list[tuple[str, str]]:
    """(title, PNG as base64) per row of the report: the runs side by side, same scales."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: list[tuple[str, str]] = []

    def row(
        title: str, draw: Any, ylabel: str, log_scale: bool = False,
        xlabel: str = "seconds since the crowd's start",
    ) -> None:  # fmt: skip
        fig, axes = plt.subplots(1, len(runs), figsize=(12, 3.2), sharey=True, squeeze=False)
        for ax, run in zip(axes[0], runs, strict=True):
            draw(ax, run)
            ax.set_title(run.title, fontsize=10)
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
            if log_scale:
                ax.set_yscale("log")
        axes[0][0].set_ylabel(ylabel)
        axes[0][-1].legend(fontsize=8, loc="upper right")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
        plt.close(fig)
        rows.append((title, base64.b64encode(buffer.getvalue()).decode()))

    def latency(name: str) -> Any:
        def draw(ax: Any, run: Run) -> None:
            found = _buckets([(t, ms) for t, n, ms, _ in run.requests if n == name], BUCKET)
            xs = sorted(found)
            for q, style in ((50, "-"), (95, "--"), (99, ":")):
                ys = [pct(found[x], q) for x in xs]
                ax.plot([x * BUCKET for x in xs], ys, style, label=f"p{q}")

        return draw

    def failures(ax: Any, run: Run) -> None:
        end = int(max((t for t, *_ in run.requests), default=0) // BUCKET) + 1
        xs = [x * BUCKET for x in range(end)]
        tests: list[tuple[str, Callable[[int], bool]]] = [
            ("no answer (timeout)", lambda s: s == 0),
            ("5xx", lambda s: s >= 500),
        ]
        for label, test in tests:
            counts = Counter(int(t // BUCKET) for t, _, _, s in run.requests if test(s))
            ax.plot(xs, [counts[x] for x in range(end)], label=label)

    def booked(ax: Any, run: Run) -> None:
        created = Counter(
            int(t // RATE_BUCKET) for t, n, _, s in run.requests if n == BOOKING and s == 201
        )
        end = int(max((t for t, *_ in run.requests), default=0) // RATE_BUCKET) + 1
        xs = [x * RATE_BUCKET for x in range(end)]
        ax.bar(xs, [created[x] * 60 / RATE_BUCKET for x in range(end)], width=RATE_BUCKET * 0.8,
               align="edge", label="bookings a minute")  # fmt: skip

    def fairness(ax: Any, run: Run) -> None:
        shares = run.quintile_shares()
        ax.bar(range(1, QUINTILES + 1), [s * 100 for s in shares], label="share of places")
        ax.axhline(100 / QUINTILES, color="grey", linestyle="--", label="an even share")
        ax.set_xticks(range(1, QUINTILES + 1), ["first 20%", "2nd", "3rd", "4th", "last 20%"])

    def cpu(ax: Any, run: Run) -> None:
        parts = sorted({p for _, sample in run.cpu for p in sample})
        xs = [t for t, _ in run.cpu]
        ax.stackplot(xs, *[[s.get(p, 0.0) for _, s in run.cpu] for p in parts], labels=parts)
        ax.axhline(os.cpu_count() or 1, color="grey", linestyle="--", label="all cores")

    row("Login latency (POST /api/v1/login), per 5 s; no answer in 10 s counts as 10 s",
        latency(LOGIN_NAME), "ms", True)  # fmt: skip
    row("Booking latency (POST /api/v1/bookings), per 5 s", latency(BOOKING), "ms", True)
    row("Errors and timeouts, per 5 s", failures, "requests")
    row("Bookings completed, per minute", booked, "bookings a minute")
    row("Places sold, by arrival order (fairness)", fairness, "% of the places",
        xlabel="applicants by arrival, in fifths")  # fmt: skip
    row("The backend's CPU (Antri, Redis, PostgreSQL)", cpu, "cores busy")
    return rows


def headline(runs: list[Run], facts: list[dict[str, Any]]) -> str:
    """The difference in one sentence: the first run against the second."""
    (a, fa), (b, fb) = zip(runs, facts, strict=True)
    return (
        f"{b.title} instead of {a.title[0].lower()}{a.title[1:]}: login median "
        f"{secs(fa['login_p50'])} → {secs(fb['login_p50'])}, logins over {SLOW_MS / 1000:g} s "
        f"{fa['slow_logins']} → {fb['slow_logins']}, failed requests {fa['failures']:,} → "
        f"{fb['failures']:,}, places to the earlier half of the arrivals "
        f"{_share(fa['early_share'])} → {_share(fb['early_share'])}."
    )


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def render_html(runs: list[Run], load: LoadSettings) -> str:
    """The one-page report: verdicts, a table of numbers, the charts."""
    facts = [figures(run) for run in runs]
    sentences = [verdict(run, f) for run, f in zip(runs, facts, strict=True)]
    table_rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("login p50 / p99", lambda f: f"{secs(f['login_p50'])} / {secs(f['login_p99'])}"),
        (f"logins over {SLOW_MS / 1000:g} s", lambda f: f"{f['slow_logins']} of {f['logins']}"),
        ("booking p50 / p99", lambda f: f"{secs(f['booking_p50'])} / {secs(f['booking_p99'])}"),
        ("failed requests", lambda f: f"{f['failures']:,} of {f['requests']:,}"),
        ("no answer / 5xx", lambda f: f"{f['timeouts']} / {f['server_errors']}"),
        ("places booked (best a minute)", lambda f: f"{f['booked']} ({f['best_per_minute']:.0f})"),
        ("to the earlier half of arrivals",
         lambda f: "n/a" if f["early_share"] is None else f"{f['early_share']:.0%}"),
        ("backend CPU, mean / peak (cores)",
         lambda f: f"{f['cpu_mean']:.2f} / {f['cpu_peak']:.2f}"),
        ("make load's checks failed", lambda f: ", ".join(f["checks_failed"]) or "none"),
        ("machine's load average, before / after", lambda f: f["loadavg"]),
    ]  # fmt: skip
    head = "".join(f"<th>{html.escape(r.title)}</th>" for r in runs)
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>"
        + "".join(f"<td>{html.escape(cell(f))}</td>" for f in facts)
        + "</tr>"
        for name, cell in table_rows
    )
    images = "".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{data}'>"
        for title, data in charts(runs)
    )
    rooms = "; ".join(
        f"{r.title.lower()}: rate {r.room.rate_per_minute:,}/min, burst {r.room.burst:,}, "
        f"max_active {r.room.max_active:,}"
        for r in runs
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Antri: with and without the waiting room</title>
<style>body{{font-family:sans-serif;max-width:1120px;margin:1em auto;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
img{{max-width:100%}}.verdict{{background:#f4f4f4;padding:.6em;border-left:4px solid #555}}</style>
</head><body>
<h1>The same crowd, without and with the waiting room</h1>
<p>{load.users} users arriving within {load.ramp_seconds:g} s and staying {load.hold_seconds:g} s
(Locust, <code>loadtests/locustfile.py</code>); each applicant, once let in, fills the form for
{load.form_min_seconds:g}-{load.form_max_seconds:g} s, logs in (an argon2 check), books a place
and pays half of the time. The same backend both times (a fresh <code>antri up</code>,
{os.cpu_count()} cores shared with Locust): {html.escape(rooms)}.</p>
<p class="verdict"><strong>{html.escape(headline(runs, facts))}</strong></p>
{"".join(f'<p class="verdict">{html.escape(s)}</p>' for s in sentences)}
<table><tr><th></th>{head}</tr>{body}</table>
{images}
<p>Each run's own report (checks, Locust's HTML report, every request) is in its folder:
{", ".join(f"<code>{r.key}/</code>" for r in runs)}.</p>
</body></html>
"""


def parse_options(argv: Sequence[str] | None) -> tuple[LoadSettings, int, Path]:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=400, help="users in the crowd")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds to bring them all in")
    parser.add_argument("--hold", type=float, default=45.0, help="seconds they stay")
    parser.add_argument(
        "--slot-capacity", type=int, default=5,
        help="places in each released reguler slot of the office (enough to sell for a while)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "loadcompare")
    args = parser.parse_args(argv)
    load = dataclasses.replace(
        LoadSettings.from_env(),
        users=args.users,
        accounts=args.users,
        ramp_seconds=args.ramp,
        hold_seconds=args.hold,
        account_password=secrets.token_urlsafe(12),
    )
    return load, args.slot_capacity, args.out


def main(argv: Sequence[str] | None = None) -> int:
    load, slot_capacity, out = parse_options(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _terminate)
    runs: list[Run] = []
    try:
        for key, title, room in (
            ("open", "Without the waiting room", OPEN),
            ("gated", "Through the waiting room", GATED),
        ):
            opts = Options(load, room, 200.0, out / key, slot_capacity=slot_capacity)
            opts.out.mkdir(parents=True, exist_ok=True)
            runs.append(asyncio.run(run_one(opts, key, title)))
    except RunError as exc:
        log(f"the run broke: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted; everything started was stopped")
        return 130
    page = out / "report.html"
    page.write_text(render_html(runs, load))
    facts = [figures(run) for run in runs]
    for run, f in zip(runs, facts, strict=True):
        print(verdict(run, f))
    print(headline(runs, facts))
    log(f"report written to {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
