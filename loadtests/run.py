"""`python -m loadtests.run`: a flash crowd at a private Antri, judged, in one command.

Starts `antri up` on a free loopback port (own Redis, temporary data dir, known admin token,
a room that makes queueing visible), runs the Locust flash crowd headless until its shape stops
it, samples the admin endpoint meanwhile, stops Antri (always), and prints a report, also
written to var/loadtest/report.md.

Exit status: 0 when every check passed; 1 when one failed (5xx, cap exceeded, status p99 at or
over the limit, rate bound exceeded, other failed requests); 2 when the run itself broke.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import os
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

from .config import TALLY_FILE_ENV, ConfigError, LoadSettings
from .outcome import Outcome, RoomConfig
from .processes import ProcessGroup
from .report import render, write_samples
from .results import LocustResults
from .sampler import Sampler, ServerCounts, fetch_metrics, parse_metrics

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
HOST = "127.0.0.1"


class RunError(RuntimeError):
    """The run could not be carried out (as opposed to a check that failed)."""


@dataclass(frozen=True, slots=True)
class Options:
    """One run: the crowd, the room, the limit, where to write."""

    load: LoadSettings
    room: RoomConfig
    p99_limit_ms: float
    out: Path


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
        "ANTRI_ROOMS": opts.load.room,
        "ANTRI_RATE_PER_MINUTE": str(opts.room.rate_per_minute),
        "ANTRI_BURST": str(opts.room.burst),
        "ANTRI_MAX_ACTIVE": str(opts.room.max_active),
        "ANTRI_SESSION_MINUTES": "15",
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
    """Start Locust headless; the FlashCrowd shape stops it by itself."""
    out = opts.out
    argv = [
        sys.executable, "-m", "locust",
        "-f", str(LOCUSTFILE),
        "--headless",
        "--host", base_url,
        "--csv", str(out / "locust"),
        "--html", str(out / "locust.html"),
        "--only-summary",
        "--exit-code-on-error", "0",
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


async def load_phase(
    opts: Options, base_url: str, admin_token: str, stack: contextlib.ExitStack
) -> Outcome:
    """Run the crowd while watching the room; gather everything the report needs."""
    sampler = Sampler(base_url, admin_token, opts.load.room)
    state, before = await snapshot(sampler)
    check_room(state, opts.room)
    loadavg_before = os.getloadavg()[0]
    for stale in [*opts.out.glob("locust*"), opts.out / "tally.json"]:
        stale.unlink(missing_ok=True)

    stop = asyncio.Event()
    watching = asyncio.create_task(sampler.run(stop))
    started = time.monotonic()
    try:
        locust = await run_locust(opts, base_url, stack)
        code = await wait_for_exit(locust, started + opts.load.duration + 60.0)
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
    )


async def run(opts: Options, stack: contextlib.ExitStack) -> Outcome:
    """Start Antri, run the crowd, and leave stopping Antri to `stack`."""
    data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="antri-load-")))
    admin_token = secrets.token_urlsafe(24)
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    argv = [*antri_command(), "up", "--host", HOST, "--port", str(port)]
    antri = ProcessGroup(
        "antri", argv, opts.out / "antri.log", antri_env(opts, data_dir, admin_token)
    )
    stack.callback(_stop_antri, antri)
    log(f"starting antri on {base_url} (data in {data_dir})")
    antri.start(cwd=ROOT)
    await wait_ready(antri, base_url)
    outcome = await load_phase(opts, base_url, admin_token, stack)
    if antri.returncode() is not None:
        raise RunError(f"antri exited during the run:\n{antri.log_tail()}")
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
        )
    except ConfigError as exc:
        parser.error(str(exc))
    return Options(
        load, RoomConfig(args.rate, args.burst, args.max_active), args.p99_limit_ms, args.out
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
