"""`python -m loadtests.run`: a flash crowd at a private Antri, judged, in one command.

Starts `antri up` on a free loopback port (own Redis and PostgreSQL, temporary data dir, known
admin token, a room that makes queueing visible), creates the crowd's accounts and makes one
office's released places few, runs the Locust flash crowd headless until its shape stops it
(admitted applicants book), samples the admin endpoint meanwhile, reads the booking database's
invariants, stops Antri (always), and prints a report, also written to var/loadtest/report.md.

Exit status: 0 when every check passed; 1 when one failed (5xx, cap exceeded, status or booking
p99 at or over its limit, rate bound exceeded, other failed requests, a slot over capacity or
out of step with its bookings, a NIK with two active bookings, a booking lost); 2 when the run
itself broke.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
import asyncpg

from .config import TALLY_FILE_ENV, ConfigError, LoadSettings
from .ledger import Ledger, read_ledger
from .outcome import Bookings, Outcome, RoomConfig
from .processes import ProcessGroup
from .report import render, write_samples
from .results import LocustResults
from .sampler import Sampler, ServerCounts, fetch_metrics, parse_metrics

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
HOST = "127.0.0.1"
#: seconds Locust's users get at the stop to finish the step they are in
STOP_TIMEOUT = 20
#: how `antri accounts` (and `antri up`) name the embedded PostgreSQL they attach to
_DATABASE_LINE = re.compile(r"^PostgreSQL \(embedded\) at (\S+)$", re.M)


class RunError(RuntimeError):
    """The run could not be carried out (as opposed to a check that failed)."""


@dataclass(frozen=True, slots=True)
class Options:
    """One run: the crowd, the room, the limit, where to write."""

    load: LoadSettings
    room: RoomConfig
    p99_limit_ms: float
    out: Path
    slot_capacity: int = 2  #: places in each released reguler slot of the booked office
    booking_p99_limit_ms: float = 500.0
    login_p99_limit_ms: float = 1000.0


@dataclass(frozen=True, slots=True)
class BookingSetup:
    """What the run prepared for booking: where the database is, which slots it made small."""

    database_url: str
    days: list[str]  #: the released dates of the office
    slots: int  #: reguler slots made small
    places: int  #: places in them


def log(message: str) -> None:
    """A progress line on stderr."""
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def antri_command() -> list[str]:
    """`antri` from this interpreter's environment (else the module it runs)."""
    script = shutil.which("antri", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "api.cli"]


def antri_env(opts: Options, data_dir: Path, admin_token: str) -> dict[str, str]:
    """Antri's environment: inherited ANTRI_* settings dropped, this run's room set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTRI_")}
    return env | {
        "ANTRI_DATA_DIR": str(data_dir),
        "ANTRI_ADMIN_TOKEN": admin_token,
        # The crowd pays at the sandbox bank (off unless asked for).
        "ANTRI_SANDBOX_PAYMENTS": "1",
        "ANTRI_ROOMS": opts.load.room,
        "ANTRI_RATE_PER_MINUTE": str(opts.room.rate_per_minute),
        "ANTRI_BURST": str(opts.room.burst),
        "ANTRI_MAX_ACTIVE": str(opts.room.max_active),
        "ANTRI_SESSION_MINUTES": "15",
        # The crowd comes from one address and solves no proofs: those defences are measured
        # on their own (bench/defences.py).
        "ANTRI_POW_DIFFICULTY": "0",
        "ANTRI_JOINS_PER_MINUTE_PER_CLIENT": "0",
    }


async def wait_ready(antri: ProcessGroup, base_url: str, timeout: float = 30.0) -> None:
    """Wait until GET /readyz answers 200; fail early if Antri exits."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as session:
        while time.monotonic() < deadline:
            if antri.returncode() is not None:
                raise RunError(f"antri exited at start:\n{antri.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{base_url}/readyz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RunError(f"antri was not ready within {timeout:g} s:\n{antri.log_tail()}")


async def snapshot(
    sampler: Sampler, keep: Path | None = None
) -> tuple[dict[str, Any], ServerCounts]:
    """The room's admin state and the server's counters, read once (outside the sampling);
    the scrape's text is kept in the file `keep`, if given."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5.0)) as session:
        state = await sampler.admin_state(session)
        text = await fetch_metrics(session, sampler.base_url)
    if keep is not None:
        keep.write_text(text)
    return state, ServerCounts.parse(parse_metrics(text), sampler.room, time.monotonic())


def check_room(state: dict[str, Any], room: RoomConfig) -> None:
    """Make sure the room runs with the settings this run asked for."""
    got = RoomConfig(int(state["rate_per_minute"]), int(state["burst"]), int(state["max_active"]))
    if got != room or state.get("state") != "open":
        raise RunError(f"the room runs with {got} ({state.get('state')}), not {room}")


async def run_locust(opts: Options, base_url: str, stack: contextlib.ExitStack) -> ProcessGroup:
    """Start Locust headless: the flash crowd is Locust's -u/-r/-t; it stops by itself."""
    out = opts.out
    argv = [
        sys.executable, "-m", "locust",
        "-f", str(LOCUSTFILE),
        "--headless",
        "--host", base_url,
        "--users", str(opts.load.users),
        "--spawn-rate", f"{opts.load.spawn_rate:g}",
        "--run-time", f"{opts.load.duration:g}s",
        "--csv", str(out / "locust"),
        "--html", str(out / "locust.html"),
        "--only-summary",
        "--exit-code-on-error", "0",
        # at the stop, each user finishes the step it is in: no booking is cut off after the
        # server took it but before Locust heard the 201
        "--stop-timeout", str(STOP_TIMEOUT),
    ]  # fmt: skip
    env = os.environ | opts.load.as_env() | {TALLY_FILE_ENV: str(out / "tally.json")}
    locust = ProcessGroup("locust", argv, out / "locust.log", env)
    stack.callback(locust.stop, 5.0)
    log(f"starting the crowd: {opts.load.users} users, {opts.load.duration:g} s")
    return locust.start(cwd=ROOT)


async def wait_for_exit(locust: ProcessGroup, deadline: float) -> int:
    """Locust's exit status, once its shape has stopped it; RunError past `deadline`."""
    while (code := locust.returncode()) is None:
        if time.monotonic() > deadline:
            raise RunError(f"locust did not stop by itself:\n{locust.log_tail()}")
        await asyncio.sleep(0.2)
    return code


async def create_accounts(opts: Options, env: dict[str, str]) -> str:
    """`antri accounts bulk-create` beside the running Antri (same data dir: it attaches to the
    same embedded PostgreSQL); returns that database's URL, which it prints."""
    load = opts.load
    argv = [
        *antri_command(), "accounts", "bulk-create",
        "--count", str(load.accounts),
        "--prefix", load.account_prefix,
        "--password", load.account_password,
    ]  # fmt: skip
    log(f"creating {load.accounts} accounts {load.account_prefix}<n>@antri.test")
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 120.0)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RunError("antri accounts bulk-create took over 120 s") from None
    text = output.decode(errors="replace")
    (opts.out / "accounts.log").write_text(text)
    if process.returncode != 0:
        raise RunError(f"antri accounts bulk-create failed ({process.returncode}):\n{text}")
    if (found := _DATABASE_LINE.search(text)) is None:
        raise RunError(f"antri accounts did not say where its database is:\n{text}")
    return found.group(1)


async def shrink_places(opts: Options, base_url: str, admin_token: str) -> tuple[list[str], int]:
    """Make every released reguler slot of the office `slot_capacity` places, through the
    admin API, so that the crowd sells the office out; returns the dates and the slot count."""
    office = opts.load.office
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10.0)) as session:
        url = f"{base_url}/api/v1/offices/{office}/availability?days=30"
        async with session.get(url) as resp:
            if resp.status != 200:
                raise RunError(f"availability of {office}: HTTP {resp.status}")
            body = await resp.json()
        slots = [
            (d["date"], s["id"])
            for d in body["dates"]
            if d["released"]
            for s in d["sessions"]
            if "reguler" in s["lanes"]
        ]
        if not slots:
            raise RunError(f"{office} has no released reguler places")
        for day, session_id in slots:
            quota = {"date": day, "session_id": session_id, "lane": "reguler",
                     "capacity": opts.slot_capacity}  # fmt: skip
            async with session.put(
                f"{base_url}/api/v1/admin/offices/{office}/quota", json=quota, headers=headers
            ) as resp:
                if resp.status != 200:
                    raise RunError(f"quota {quota}: HTTP {resp.status} {await resp.text()}")
    log(
        f"{office}: {len(slots)} released reguler slots set to {opts.slot_capacity} places "
        f"({len(slots) * opts.slot_capacity} in all)"
    )
    return sorted({day for day, _ in slots}), len(slots)


async def prepare_bookings(
    opts: Options, base_url: str, admin_token: str, env: dict[str, str]
) -> BookingSetup:
    """Accounts for the crowd, and an office with few places; checks the database answers."""
    database_url = await create_accounts(opts, env)
    days, slots = await shrink_places(opts, base_url, admin_token)
    try:
        connection = await asyncpg.connect(database_url, timeout=10)
        try:
            made = await connection.fetchval(
                "SELECT count(*) FROM accounts WHERE email LIKE $1 AND verified_at IS NOT NULL",
                f"{opts.load.account_prefix}%@antri.test",
            )
        finally:
            await connection.close()
    except (OSError, asyncpg.PostgresError) as exc:
        raise RunError(f"cannot read the database at {database_url}: {exc}") from exc
    if made < opts.load.accounts:
        raise RunError(f"only {made} of {opts.load.accounts} load accounts are in the database")
    return BookingSetup(database_url, days, slots, slots * opts.slot_capacity)


async def check_ledger(opts: Options, setup: BookingSetup, results: LocustResults) -> Ledger:
    """The database's invariants and the load accounts' bookings, read after the crowd."""
    try:
        return await read_ledger(
            setup.database_url,
            opts.load.account_prefix,
            results.booked_ids,
            opts.load.office,
            setup.days,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise RunError(f"cannot read the database at {setup.database_url}: {exc}") from exc


async def load_phase(
    opts: Options,
    base_url: str,
    admin_token: str,
    setup: BookingSetup,
    stack: contextlib.ExitStack,
) -> Outcome:
    """Run the crowd while watching the room; gather everything the report needs."""
    sampler = Sampler(base_url, admin_token, opts.load.room)
    state, before = await snapshot(sampler)
    check_room(state, opts.room)
    loadavg_before = os.getloadavg()[0]
    for stale in [*opts.out.glob("locust*"), opts.out / "tally.json", opts.out / "requests.csv"]:
        stale.unlink(missing_ok=True)

    stop = asyncio.Event()
    watching = asyncio.create_task(sampler.run(stop))
    started = time.monotonic()
    try:
        locust = await run_locust(opts, base_url, stack)
        code = await wait_for_exit(locust, started + opts.load.duration + STOP_TIMEOUT + 60.0)
    finally:
        stop.set()
        await watching
    ended = time.monotonic()
    if code != 0:
        raise RunError(f"locust exited with status {code}:\n{locust.log_tail()}")
    log(f"the crowd is gone after {ended - started:.1f} s; {len(sampler.samples)} samples taken")

    _, after = await snapshot(sampler, keep=opts.out / "metrics.txt")
    try:
        results = LocustResults.read(opts.out / "tally.json")
    except (OSError, KeyError, ValueError) as exc:
        raise RunError(f"could not read Locust's results: {exc}") from exc
    ledger = await check_ledger(opts, setup, results)
    log(
        f"database: {ledger.stored} bookings of load accounts, {ledger.acknowledged} "
        f"acknowledged; {ledger.office_booked} of {ledger.office_capacity} places taken"
    )
    return Outcome(
        load=opts.load,
        room=opts.room,
        results=results,
        samples=sampler.samples,
        counts=sampler.counts,
        sampler_errors=dict(sampler.errors),
        server_before=before,
        server_after=after,
        started=started,
        ended=ended,
        loadavg=(loadavg_before, os.getloadavg()[0]),
        p99_limit_ms=opts.p99_limit_ms,
        bookings=Bookings(
            office=opts.load.office,
            slots=setup.slots,
            slot_capacity=opts.slot_capacity,
            p99_limit_ms=opts.booking_p99_limit_ms,
            ledger=ledger,
            login_p99_limit_ms=opts.login_p99_limit_ms,
        ),
    )


@dataclass(frozen=True, slots=True)
class Started:
    """An `antri up` of the run's own, ready and with its applicants prepared."""

    antri: ProcessGroup
    base_url: str
    admin_token: str
    data_dir: Path
    setup: BookingSetup


async def start_antri(opts: Options, stack: contextlib.ExitStack, prefix: str) -> Started:
    """Start Antri in a fresh data folder and prepare the bookings; `stack` stops it."""
    data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
    admin_token = secrets.token_urlsafe(24)
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    argv = [*antri_command(), "up", "--host", HOST, "--port", str(port)]
    env = antri_env(opts, data_dir, admin_token)
    antri = ProcessGroup("antri", argv, opts.out / "antri.log", env)
    stack.callback(_stop_antri, antri)
    log(f"starting antri on {base_url} (data in {data_dir}), room {opts.room}")
    antri.start(cwd=ROOT)
    await wait_ready(antri, base_url)
    setup = await prepare_bookings(opts, base_url, admin_token, env)
    return Started(antri, base_url, admin_token, data_dir, setup)


def check_still_up(antri: ProcessGroup) -> None:
    if antri.returncode() is not None:
        raise RunError(f"antri exited during the run:\n{antri.log_tail()}")


async def run(opts: Options, stack: contextlib.ExitStack) -> Outcome:
    """Start Antri, run the crowd, and leave stopping Antri to `stack`."""
    up = await start_antri(opts, stack, "antri-load-")
    outcome = await load_phase(opts, up.base_url, up.admin_token, up.setup, stack)
    check_still_up(up.antri)
    return outcome


def _stop_antri(antri: ProcessGroup) -> None:
    log("stopping antri")
    antri.stop()


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Turn SIGINT and SIGTERM into KeyboardInterrupt, so that every cleanup runs."""
    raise KeyboardInterrupt(f"signal {signum}")


def parse_options(argv: Sequence[str] | None) -> Options:
    """Options from the command line; the crowd's defaults come from LOAD_* variables."""
    load = LoadSettings.from_env()
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.run",
        description=__doc__,
        epilog="The crowd's defaults can also be set with LOAD_USERS, LOAD_RAMP_SECONDS, "
        "LOAD_HOLD_SECONDS, LOAD_FORM_MIN_SECONDS, LOAD_FORM_MAX_SECONDS, LOAD_POLL_CAP_SECONDS.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--users", type=int, default=load.users, help="users in the crowd")
    add("--ramp", type=float, default=load.ramp_seconds, help="seconds to bring them all in")
    add("--hold", type=float, default=load.hold_seconds, help="seconds they stay")
    add("--rate", type=int, default=600, help="the room's admissions per minute")
    add("--burst", type=int, default=10, help="the room's burst")
    add("--max-active", type=int, default=50, help="the room's cap on active sessions")
    add("--form-min", type=float, default=load.form_min_seconds, help="shortest form, s")
    add("--form-max", type=float, default=load.form_max_seconds, help="longest form, s")
    add("--poll-cap", type=float, default=load.poll_cap_seconds, help="longest poll pause, s")
    add("--p99-limit-ms", type=float, default=200.0, help="status p99 must stay under this")
    add("--office", default=load.office, help="the office whose places the crowd books")
    add("--slot-capacity", type=int, default=2,
        help="places in each of the office's released reguler slots")  # fmt: skip
    add("--pay-share", type=float, default=load.pay_share, help="share of bookings paid")
    add("--logins-per-second", type=float, default=load.logins_per_second,
        help="logins the crowd starts per second at most (0: unpaced)")  # fmt: skip
    add("--booking-p99-limit-ms", type=float, default=500.0,
        help="the booking POST's p99 must stay under this")  # fmt: skip
    add("--login-p99-limit-ms", type=float, default=1000.0,
        help="the login POST's p99 must stay under this")  # fmt: skip
    add("--out", type=Path, default=ROOT / "var" / "loadtest", help="where results go")
    args = parser.parse_args(argv)
    try:
        load = dataclasses.replace(
            load,
            users=args.users,
            ramp_seconds=args.ramp,
            hold_seconds=args.hold,
            form_min_seconds=args.form_min,
            form_max_seconds=args.form_max,
            poll_cap_seconds=args.poll_cap,
            office=args.office,
            pay_share=args.pay_share,
            logins_per_second=args.logins_per_second,
            accounts=args.users,
            account_password=secrets.token_urlsafe(12),
        )
    except ConfigError as exc:
        parser.error(str(exc))
    if args.slot_capacity < 0:
        parser.error("the slot capacity must be >= 0")
    return Options(
        load,
        RoomConfig(args.rate, args.burst, args.max_active),
        args.p99_limit_ms,
        args.out,
        args.slot_capacity,
        args.booking_p99_limit_ms,
        args.login_p99_limit_ms,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run once; print and write the report; the exit status says whether it held."""
    try:
        opts = parse_options(argv)
    except ConfigError as exc:
        print(f"loadtests: {exc}", file=sys.stderr)
        return 2
    opts.out.mkdir(parents=True, exist_ok=True)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _terminate)  # also where a shell started us with SIGINT ignored
    try:
        with contextlib.ExitStack() as stack:
            outcome = asyncio.run(run(opts, stack))
    except RunError as exc:
        log(f"the run broke: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted; everything started was stopped")
        return 130
    report = render(outcome)
    path = opts.out / "report.md"
    path.write_text(report)
    write_samples(outcome, opts.out / "samples.csv")
    print(report)
    log(f"report written to {path}")
    return 0 if outcome.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
