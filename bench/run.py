"""`make bench`: the waiting room and booking against same-run baselines, on loopback.

Starts a private redis-server, an embedded PostgreSQL and each server process on free loopback
ports, drives them with wrk (waiting room) or a client process (booking) and prints a Markdown
report. Targets that form a ratio are measured in interleaved rounds:

1. baseline A (a hello-world aiohttp handler, same request bytes) and the status endpoint of
   room paspor, its line 1,000 long, 1,000 valid tickets rotating;
2. 1,000,000 real joins to paspor and Redis memory per waiting visitor; then status with 1,000
   tickets at the back of that line, and, as its same-window control, status in a second
   room (kontrol) whose line stayed 1,000 long;
3. baseline B (an aiohttp handler making one bare EVALSHA) and the join endpoint, every
   request a new visitor;
4. booking (its own `antri serve`, whose guard room admits at once): 200 clients book into 10
   small slots until all are full, in rounds, each after a round of hello-world POSTs of the
   same size by the same clients; then the database is checked for overbooking; then the
   ceiling: pgbench calling `create_booking` on the same database with 8 and 16 clients,
   into as many slots; CPU a booking is read for each part (app, PostgreSQL, Redis, client);
5. pages (their own `antri serve`, room paspor admitting nobody): baseline A, the home page
   for a visitor not logged in, and the waiting page for 1,000 held tickets rotating (cookies);
   every answer must be a 200 with HTML.

6. defences (their own `antri serve`): join with proof verification against join without, one
   attacking process with and without each defence, the honest visitor's proof in Chromium
   (bench/defences.py).
7. scale: status with `antri up --processes 2` against one process, wrk pinned to one CPU
   (bench/scale.py).

`--only waiting-room`, `--only booking`, `--only pages`, `--only defences` or `--only scale` runs
one part.
The exit status is 0 whether or not the targets are met: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import functools
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from api.database import EmbeddedPostgres
from api.embedded import RedisServer, free_port

from . import booking, line, pages
from .applicants import LANE, OFFICE
from .booking import BookingBench, BookingOptions, Round, Run
from .booking_report import render_booking
from .defences import Defences, DefencesBench, render_defences
from .pages import Pages, render_pages
from .pgbench import Ceiling, measure_ceiling, render_ceiling
from .processes import Server, tree_cpu_seconds
from .report import Measured, MemoryUse, ratios_table, results_table
from .scale import Scale, measure_scale, render_scale
from .serving import HOST
from .wrk import Load, Result, Target, measure_together

#: the parts of a run, in the order they run
PARTS = ("waiting-room", "booking", "pages", "defences", "scale")
#: visitors joined ahead of the measured tickets, so that the room's trickle (1 a minute) never
#: brings a measured ticket to the front during the run
FRONT = 10


@dataclass(frozen=True, slots=True)
class Options:
    """What to measure and how hard."""

    load: Load
    visitors: int
    fill: int
    only: str = "all"
    booking: BookingOptions = field(default_factory=BookingOptions)

    def runs(self, part: str) -> bool:
        """True when `part` ("waiting-room", "booking" or "pages") is to be measured."""
        return self.only in ("all", part)


@dataclass(frozen=True, slots=True)
class WaitingRoom:
    """The waiting room's results."""

    measured: Measured
    memory: MemoryUse
    fill_seconds: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything the report shows (None: the part was not run)."""

    waiting_room: WaitingRoom | None
    booking: list[Round] | None
    pages: Pages | None
    ceiling: list[Ceiling] | None = None
    defences: Defences | None = None
    scale: Scale | None = None


def log(message: str) -> None:
    """A progress line on stderr."""
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _python_module(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", name, *args]


def _app_env(redis_url: str, database_url: str, port: int, data_dir: Path) -> dict[str, str]:
    """`antri serve`'s environment: inherited ANTRI_* settings dropped, a slow trickle set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTRI_")}
    return env | {
        "ANTRI_HOST": HOST,
        "ANTRI_PORT": str(port),
        "ANTRI_REDIS_URL": redis_url,
        "ANTRI_DATABASE_URL": database_url,
        "ANTRI_DATA_DIR": str(data_dir),
        "ANTRI_ROOMS": f"{line.ROOM},{line.CONTROL_ROOM}",
        # One admission a minute: measured tickets stay `waiting`, polls stay on the fast path.
        "ANTRI_RATE_PER_MINUTE": "1",
        "ANTRI_BURST": "1",
        # The crowd comes from one address and solves no proofs: those defences are measured
        # on their own (bench/defences.py).
        "ANTRI_POW_DIFFICULTY": "0",
        "ANTRI_JOINS_PER_MINUTE_PER_CLIENT": "0",
        # Planned releases follow the real clock: in the half hour before an office's weekly
        # release the guard room's pre-queue would admit nobody, and every part would stall.
        "ANTRI_PLAN_RELEASES": "0",
    }


class Bench:
    """One run: its scratch directory, its Redis and PostgreSQL, and every server it starts
    (stopped at the end of its part, and in any case by `stack`)."""

    def __init__(
        self,
        tmp: Path,
        redis_url: str,
        database_url: str,
        opts: Options,
        stack: contextlib.ExitStack,
        service_pids: dict[str, int] | None = None,
    ) -> None:
        """`service_pids`: Redis's and PostgreSQL's process ids (booking reads their CPU)."""
        self.service_pids = service_pids or {}
        self.tmp = tmp
        self.redis_url = redis_url
        self.database_url = database_url
        self.opts = opts
        self.stack = stack

    async def start_app(
        self, name: str = "antri", settings: dict[str, str] | None = None
    ) -> Server:
        """`antri serve` (via `python -m api.cli serve`) on a free port, `settings` added."""
        port = free_port()
        env = _app_env(self.redis_url, self.database_url, port, self.tmp / name)
        argv = _python_module("api.cli", "serve")
        return await self._launch(name, port, argv, env | (settings or {}), timeout=60.0)

    async def start_baseline(self, name: str, module: str, *args: str) -> Server:
        """One of the baseline apps in bench/ on a free port."""
        port = free_port()
        argv = _python_module(module, "--port", str(port), *args)
        return await self._launch(name, port, argv)

    async def _launch(
        self,
        name: str,
        port: int,
        argv: list[str],
        env: dict[str, str] | None = None,
        timeout: float = 20.0,
    ) -> Server:
        server = Server(name, argv, port, self.tmp / f"{name}.log", env)
        self.stack.callback(server.stop)
        log(f"starting {name} on {server.url}")
        return await server.start(timeout)

    async def tickets(self, app: Server, room: str) -> tuple[Path, int]:
        """Join `visitors` new visitors to `room`; their tickets' file and the last one's place."""
        tickets = await line.join_visitors(app.url, room, self.opts.visitors)
        place = await line.check_waiting(app.url, room, tickets)
        path = self.tmp / f"tickets-{room}-{place}.txt"
        return line.write_tickets(tickets, path), place

    async def measure_status(
        self, app: Server, targets: list[tuple[str, str, Path]], baseline: Target | None = None
    ) -> list[Result]:
        """Measure status (name, room, tickets) targets, then check they stayed on the fast path.

        A ticket held unchanged for over a quarter of the keep-place time (75 s) is re-signed on
        every poll; the check makes sure no phase ran that long.
        """
        status = [Target(name, app.url + line.status_path(room), t) for name, room, t in targets]
        results = await measure_together(([baseline] if baseline else []) + status, self.opts.load)
        for _, room, tickets in targets:
            await line.check_waiting(app.url, room, tickets.read_text().split())
        return results

    async def run(self) -> Outcome:
        """Every part asked for, in order."""
        waiting_room = await self.waiting_room() if self.opts.runs("waiting-room") else None
        rounds = await self.booking() if self.opts.runs("booking") else None
        ceiling = await self.ceiling() if self.opts.runs("booking") else None
        measured_pages = await self.pages() if self.opts.runs("pages") else None
        defences = await self.defences() if self.opts.runs("defences") else None
        scale = await self.scale() if self.opts.runs("scale") else None
        return Outcome(waiting_room, rounds, measured_pages, ceiling, defences, scale)

    async def scale(self) -> Scale:
        """Status with two app processes against one (bench/scale.py)."""
        return await measure_scale(self.start_up, self.tmp, self.opts.visitors, self.opts.load)

    async def start_up(self, name: str, processes: int, cpus: str | None) -> Server:
        """`antri up --processes N` (no workers) on the run's Redis and PostgreSQL, on a free
        port, pinned to `cpus` (its app processes inherit it) if given."""
        port = free_port()
        env = _app_env(self.redis_url, self.database_url, port, self.tmp / name)
        pin = ["taskset", "-c", cpus] if cpus is not None else []
        argv = [*pin, *_python_module("api.cli", "up", "--processes", str(processes),
                                      "--workers", "0")]  # fmt: skip
        return await self._launch(name, port, argv, env, timeout=60.0)

    async def start_booking_app(self, processes: int) -> Server:
        """The booking part's app: `antri up --processes N` (no workers) on the run's Redis and
        PostgreSQL, with the guard room that admits at once; `antri serve` for one process."""
        port = free_port()
        env = _app_env(self.redis_url, self.database_url, port, self.tmp / "antri-booking")
        argv = _python_module("api.cli", "serve")
        if processes > 1:
            argv = _python_module("api.cli", "up", "--processes", str(processes), "--workers", "0")
        return await self._launch("antri-booking", port, argv, env | booking.APP_ENV, 60.0)

    async def defences(self) -> Defences:
        """The front door's defences: join cost, one attacker, the honest visitor's proof."""
        return await DefencesBench(self.start_app, self.tmp, self.opts.load, log).run()

    async def booking(self) -> list[Round]:
        """The booking part, against an `antri serve` of its own and hello-world."""
        app = await self.start_booking_app(self.opts.booking.processes)
        hello = await self.start_baseline("hello-world", "bench.hello")
        try:
            bench = BookingBench(
                app.url,
                hello.url,
                self.database_url,
                self.redis_url,
                self.tmp / "booking",
                {"app": app.tree_cpu_seconds}
                | {
                    part: functools.partial(tree_cpu_seconds, pid)
                    for part, pid in self.service_pids.items()
                },
            )
            return await bench.run(self.opts.booking, log)
        finally:
            app.stop()
            hello.stop()

    async def ceiling(self) -> list[Ceiling]:
        """pgbench calling create_booking on the same database: what PostgreSQL alone does."""
        log("measuring the ceiling: pgbench calling create_booking")
        postgres = self.service_pids.get("PostgreSQL")
        return await measure_ceiling(
            self.database_url,
            self.tmp / "pgbench",
            OFFICE,
            LANE,
            self.opts.booking.slots,
            (lambda: 0.0) if postgres is None else functools.partial(tree_cpu_seconds, postgres),
        )

    async def pages(self) -> Pages:
        """The pages part, against an `antri serve` of its own (paspor admitting nobody) and
        hello-world, all three measured in the same interleaved rounds."""
        app = await self.start_app("antri-pages")
        hello = await self.start_baseline("hello-world", "bench.hello")
        try:
            await line.join_visitors(app.url, line.ROOM, FRONT)
            tickets = await line.join_visitors(app.url, line.ROOM, self.opts.visitors)
            await line.check_waiting(app.url, line.ROOM, tickets)
            await pages.check_pages(app.url, tickets)
            cookies = pages.write_cookies(tickets, self.tmp / "page-cookies.txt")
            waiting = await line.line_length(app.url, line.ROOM)
            log(f"measuring A, the home page and the waiting page ({len(tickets):,} tickets)")
            results = await measure_together(
                pages.targets(hello.url, app.url, cookies, waiting), self.opts.load
            )
            # Still waiting, still on the fast path: no page was a redirect or a re-signing.
            await line.check_waiting(app.url, line.ROOM, tickets)
            await pages.check_pages(app.url, tickets)
            return Pages(*results)
        finally:
            app.stop()
            hello.stop()

    async def waiting_room(self) -> WaitingRoom:
        """The waiting room's phases, in order."""
        app = await self.start_app()
        hello = await self.start_baseline("hello-world", "bench.hello")
        evalsha = await self.start_baseline(
            "one-evalsha", "bench.evalsha", "--redis", self.redis_url
        )
        for room in (line.ROOM, line.CONTROL_ROOM):
            await line.join_visitors(app.url, room, FRONT)

        tickets, place = await self.tickets(app, line.ROOM)
        log(f"measuring A and status, {self.opts.visitors:,} tickets (last at place {place:,})")
        hello_result, status_1k = await self.measure_status(
            app,
            [(f"status, line of {place:,}", line.ROOM, tickets)],
            baseline=Target("A: hello-world", f"{hello.url}/", tickets),
        )

        before = await line.used_memory(self.redis_url)
        log(f"joining {self.opts.fill:,} visitors to {line.ROOM} with the join script")
        fill_seconds = await line.fill_line(self.redis_url, self.opts.fill)
        after = await line.used_memory(self.redis_url)
        log(f"filled in {fill_seconds:.1f} s; used_memory {before:,} -> {after:,} bytes")

        control, control_place = await self.tickets(app, line.CONTROL_ROOM)
        tickets, place = await self.tickets(app, line.ROOM)
        log(f"measuring status at the back of the line (place {place:,}) and in the control room")
        control_1k, status_1m = await self.measure_status(
            app,
            [
                (
                    f"status, line of {control_place:,} (room {line.CONTROL_ROOM})",
                    line.CONTROL_ROOM,
                    control,
                ),
                (f"status, line of {place:,}", line.ROOM, tickets),
            ],
        )

        log("measuring B and join (every request a new visitor)")
        evalsha_result, join = await measure_together(
            [
                Target("B: one EVALSHA", f"{evalsha.url}/"),
                Target("join", app.url + line.join_path(line.ROOM)),
            ],
            self.opts.load,
        )
        measured = Measured(hello_result, status_1k, control_1k, status_1m, evalsha_result, join)
        for server in (app, hello, evalsha):
            server.stop()
        return WaitingRoom(measured, MemoryUse(before, after, self.opts.fill + 1), fill_seconds)


def code_version() -> str:
    """The git commit measured, flagging uncommitted changes to the app's code."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "api", "queue_engine")
    return f"{commit} (with uncommitted changes to the app)" if dirty else commit


def render(outcome: Outcome, opts: Options) -> str:
    """The Markdown report of one run."""
    lines = [
        f"Antri benchmark, {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
        f"Code: {code_version()}",
    ]
    if outcome.waiting_room is not None:
        lines += ["", *_render_waiting_room(outcome.waiting_room, opts)]
    if outcome.booking is not None:
        lines += ["", render_booking(outcome.booking, opts.booking)]
    if outcome.ceiling is not None:
        app_rate = Run.total([r.booking for r in outcome.booking or []]).ok_rate
        lines += ["", render_ceiling(outcome.ceiling, app_rate)]
    if outcome.pages is not None:
        lines += ["", render_pages(outcome.pages, opts.load)]
    if outcome.defences is not None:
        lines += ["", render_defences(outcome.defences, opts.load)]
    if outcome.scale is not None:
        lines += ["", render_scale(outcome.scale, opts.load)]
    return "\n".join(lines)


def _render_waiting_room(outcome: WaitingRoom, opts: Options) -> list[str]:
    ratios = outcome.measured.ratios(outcome.memory)
    missed = [r.name for r in ratios if not r.met]
    dirty = [r.name for r in outcome.measured.all() if not r.clean]
    fill_rate = opts.fill / outcome.fill_seconds
    lines = [
        f"Load: {opts.load.describe()}; every server on 127.0.0.1",
        "",
        results_table(outcome.measured.all()),
        "",
        ratios_table(ratios),
        "",
        f"Bulk fill: {opts.fill:,} joins with the join script in {outcome.fill_seconds:.1f} s "
        f"({fill_rate:,.0f}/s, pipelined straight into Redis).",
        "",
        f"Targets MISSED: {', '.join(missed)}" if missed else "All targets met.",
    ]
    if dirty:
        lines.append(f"**Errors (non-2xx or socket) in: {', '.join(dirty)}**")
    return lines


def parse_options(argv: Sequence[str] | None) -> Options:
    """Options from the command line (defaults: the standard run)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--rounds", type=int, default=5, help="interleaved rounds per target")
    add("--round-seconds", type=int, default=2, help="wrk duration of one round")
    add("--warmup", type=int, default=2, help="wrk warm-up per target, in seconds")
    add("--connections", type=int, default=64, help="wrk connections")
    add("--threads", type=int, default=1, help="wrk threads")
    add("--visitors", type=int, default=1000, help="tickets rotated by wrk (status, waiting page)")
    add("--fill", type=int, default=1_000_000, help="joins that make the line long")
    add("--only", choices=("all", *PARTS), default="all", help="run one part")
    add("--booking-clients", type=int, default=200, help="concurrent booking clients")
    add("--booking-slots", type=int, default=10, help="slots booked into")
    add("--booking-capacity", type=int, default=100, help="places in each slot")
    add("--booking-rounds", type=int, default=5, help="booking rounds")
    add("--booking-processes", type=int, default=2, help="app processes (antri up)")
    add("--hello-seconds", type=float, default=2.0, help="hello-world POSTs before each round")
    args = parser.parse_args(argv)
    load = Load(args.threads, args.connections, args.rounds, args.round_seconds, args.warmup)
    booking_opts = BookingOptions(
        args.booking_clients,
        args.booking_slots,
        args.booking_capacity,
        args.booking_rounds,
        args.hello_seconds,
        args.booking_processes,
    )
    return Options(load, args.visitors, args.fill, args.only, booking_opts)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the cleanup in main()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole benchmark and print its report; every process started is stopped."""
    opts = parse_options(argv)
    wrk_parts = ("waiting-room", "pages", "defences", "scale")
    if any(opts.runs(part) for part in wrk_parts) and shutil.which("wrk") is None:
        print("bench: wrk is not installed (make bench installs it)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        outcome = _measure(opts)
    except KeyboardInterrupt:
        log("interrupted; every process it started is stopped")
        return 130
    print(render(outcome, opts))
    return 0


def _measure(opts: Options) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="antri-bench-") as tmp, contextlib.ExitStack() as stack:
        redis = RedisServer(Path(tmp) / "redis")
        stack.callback(redis.stop)
        log(f"starting redis-server on {redis.url}")
        redis.start()
        postgres = EmbeddedPostgres(Path(tmp) / "postgres")
        stack.callback(postgres.stop)
        log("starting PostgreSQL (embedded)")
        postgres.start()
        assert redis.pid is not None  # started
        pids = {"PostgreSQL": postgres.pid, "Redis": redis.pid}
        bench = Bench(Path(tmp), redis.url, postgres.url, opts, stack, pids)
        return asyncio.run(bench.run())


if __name__ == "__main__":
    raise SystemExit(main())
