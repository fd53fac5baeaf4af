"""`python -m loadtests.chaos` (`make chaos`): every fault in turn under a booking load, judged.

Starts its own Redis (AOF, `appendfsync everysec`, as the product runs it) and PostgreSQL on
private ports and folders, then `antri up` against them (two app processes and the supervised
worker), creates the load's accounts and runs 50 applicants that join the line, log in, book,
pay at the sandbox bank and cancel (`chaos_load.py`). Meanwhile it injects each fault of
`faults.py` in turn: a few seconds of plain load, the fault, its repair, then load until no
request has failed for a few seconds. At the end it stops the load, waits for the worker to
send every confirmation and write every receipt, and holds the client-side ledger of
acknowledged writes against PostgreSQL.

Per fault the report says: requests, acknowledged writes, writes lost (acknowledged but not in
the database: must be 0), 5xx by status (500 must be 0), requests without an answer, the
seconds until requests succeeded again after the repair, login sessions lost, and whether every
booking paid in that window had its confirmation e-mailed exactly once and its receipt written.
Written to var/chaos/report.md and report.json. Only processes this run started are signalled.

Exit status: 0 every promise held; 1 one was broken; 2 the run itself broke.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
import asyncpg
import redis
from rq import Queue, Worker

from api import jobs
from api.database import EmbeddedPostgres
from api.embedded import RedisServer

from .chaos_load import NO_RETRY_AFTER, Ledger, run_load
from .chaos_report import FaultResult, Mail, render
from .faults import FAULTS, SCHEDULER_LOCK, Done, Target
from .ledger import read_ledger
from .processes import ProcessGroup
from .run import HOST, RunError, antri_command, free_port, log, wait_ready

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "chaos"
PASSWORD = "Antri-Uji-Kacau-2026"
ROOM = "paspor"


@dataclass(frozen=True)
class Options:
    clients: int
    port: int
    redis_port: int
    out: Path
    faults: list[str]
    hold: float
    before: float
    quiet: float
    settle_max: float
    drain: float
    recovery_limit: float
    accounts: int = 6000


@dataclass
class Phase:
    name: str
    start: float
    end: float = 0.0
    done: Done | None = None
    error: str = ""


@dataclass
class Run:
    opts: Options
    ledger: Ledger = field(default_factory=Ledger)
    phases: list[Phase] = field(default_factory=list)


def antri_env(data_dir: Path, redis_url: str, database_url: str, port: int) -> dict[str, str]:
    """`antri up`'s environment: inherited ANTRI_* settings dropped; the given Redis and
    PostgreSQL; a room that admits at once (the line is not what is tested here)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTRI_")}
    return env | {
        "ANTRI_HOST": HOST,
        "ANTRI_PORT": str(port),
        "ANTRI_DATA_DIR": str(data_dir),
        "ANTRI_REDIS_URL": redis_url,
        "ANTRI_DATABASE_URL": database_url,
        "ANTRI_ADMIN_TOKEN": secrets.token_urlsafe(24),
        "ANTRI_SANDBOX_PAYMENTS": "1",
        "ANTRI_ROOMS": ROOM,
        "ANTRI_RATE_PER_MINUTE": "60000",
        "ANTRI_BURST": "1000",
        "ANTRI_MAX_ACTIVE": "2000",
        "ANTRI_SESSION_MINUTES": "15",
        "ANTRI_POW_DIFFICULTY": "0",
        "ANTRI_JOINS_PER_MINUTE_PER_CLIENT": "0",
    }


async def create_accounts(opts: Options, env: dict[str, str]) -> None:
    argv = [*antri_command(), "accounts", "bulk-create", "--count", str(opts.accounts),
            "--prefix", PREFIX, "--password", PASSWORD]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RunError(f"antri accounts bulk-create failed:\n{output.decode(errors='replace')}")


async def offices(base_url: str) -> list[str]:
    url = f"{base_url}/api/v1/offices"
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        body = await resp.json()
    items = body["offices"] if isinstance(body, dict) else body
    return [str(office["id"]) for office in items]


def is_failure(status: int) -> bool:
    return status == 0 or status >= 500


async def settle(run: Run, after: float) -> None:
    """Wait until no request has failed for `quiet` seconds (at least that long after
    `after`), at most `settle_max` seconds."""
    opts = run.opts
    deadline = after + opts.settle_max
    while time.time() < deadline:
        last = max((r.at for r in run.ledger.requests[-5000:] if is_failure(r.status)), default=0)
        if time.time() - max(last, after) >= opts.quiet:
            return
        await asyncio.sleep(0.25)


async def inject_all(run: Run, target: Target) -> None:
    opts = run.opts
    phase = Phase("no fault (baseline)", time.time())
    run.phases.append(phase)
    await asyncio.sleep(opts.before * 2)
    for name in opts.faults:
        phase.end = time.time()
        phase = Phase(name, phase.end)
        run.phases.append(phase)
        await asyncio.sleep(opts.before)
        log(f"fault: {name}")
        try:
            phase.done = await FAULTS[name](target)
        except Exception as exc:
            phase.error = f"{type(exc).__name__}: {exc}"
            log(f"  the fault could not be injected: {phase.error}")
            continue
        await settle(run, phase.done.repaired)
    phase.end = time.time()


async def mail_settled(database_url: str, drain: float) -> tuple[float, int]:
    """Wait until every paid booking is notified and its receipt written (at most `drain`
    seconds); the seconds waited and the bookings still owed something."""
    started = time.time()
    connection = await asyncpg.connect(database_url)
    try:
        while True:
            owed = await connection.fetchval(
                "SELECT count(*) FROM bookings WHERE paid_at IS NOT NULL"
                " AND (notified_at IS NULL OR receipt_written_at IS NULL)"
            )
            if owed == 0 or time.time() - started >= drain:
                return time.time() - started, int(owed)
            await asyncio.sleep(2.0)
    finally:
        await connection.close()


def jobs_state(redis_url: str) -> dict[str, Any]:
    """What RQ holds, for a report whose e-mails were not all done: where the jobs are."""
    connection = redis.Redis.from_url(redis_url)
    try:
        queue = Queue(jobs.QUEUE_NAME, connection=connection)
        return {
            "queued": queue.count,
            "scheduled": queue.scheduled_job_registry.count,
            "sweep scheduled": "antri-sweep" in queue.scheduled_job_registry.get_job_ids(),
            "started": queue.started_job_registry.count,
            "failed": queue.failed_job_registry.count,
            "workers": Worker.count(queue=queue),
            "scheduler lock": connection.get(SCHEDULER_LOCK) is not None,
        }
    finally:
        connection.close()


def notes(phase: Phase, turns_lost: int) -> dict[str, Any]:
    """What the fault noted, and the admitted turns that Redis lost in its window."""
    found = dict(phase.done.notes) if phase.done else {}
    if turns_lost:
        found["admitted turns lost (joined again)"] = turns_lost
    return found


async def judge(run: Run, database_url: str, data_dir: Path) -> list[FaultResult]:
    """Hold the ledger against the database, the outbox and the receipts, fault by fault."""
    ledger = run.ledger
    acked = list(ledger.booked)
    invariants = await read_ledger(database_url, PREFIX, acked, "", [])
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT b.id::text AS id, b.status, extract(epoch FROM b.paid_at) AS paid_at"
            " FROM bookings b JOIN accounts a ON a.id = b.account_id WHERE a.email LIKE $1",
            f"{PREFIX}%@antri.test",
        )
        emails = {
            row["email"]
            for row in await connection.fetch(
                "SELECT email FROM accounts WHERE email = ANY($1::text[])", list(ledger.registered)
            )
        }
    finally:
        await connection.close()
    stored = {row["id"]: row for row in rows}
    outbox = Counter(
        path.name.removeprefix("confirmed-").removesuffix(".eml")
        for path in (data_dir / "outbox").glob("confirmed-*.eml")
    )
    receipts = {path.stem for path in (data_dir / "receipts").glob("*.pdf")}

    lost: dict[str, float] = {}  # what was lost -> when it was acknowledged
    for booking_id, at in ledger.booked.items():
        if booking_id not in stored:
            lost[f"booking {booking_id}"] = at
    for booking_id, at in ledger.paid.items():
        row = stored.get(booking_id)
        if row is None or row["paid_at"] is None:
            lost[f"payment {booking_id}"] = at
    for booking_id, at in ledger.cancelled.items():
        row = stored.get(booking_id)
        if row is None or row["status"] != "cancelled":
            lost[f"cancellation {booking_id}"] = at
    for email, at in ledger.registered.items():
        if email not in emails:
            lost[f"registration {email}"] = at
    unexpected = sorted(
        booking_id
        for booking_id, row in stored.items()
        if row["status"] == "cancelled"
        and booking_id not in ledger.cancelled
        and booking_id not in ledger.uncertain
    )
    paid = {bid: float(row["paid_at"]) for bid, row in stored.items() if row["paid_at"]}
    results = []
    for phase in run.phases:

        def within(at: float, phase: Phase = phase) -> bool:
            return phase.start <= at < phase.end

        requests = [r for r in ledger.requests if within(r.at)]
        failures = [r for r in requests if is_failure(r.status)]
        paid_here = [bid for bid, at in paid.items() if within(at)]
        recovery = failing = None
        if phase.done is not None:
            last = max((r.at for r in failures), default=phase.done.injected)
            recovery = round(max(0.0, last - phase.done.repaired), 1)
            failing = round(max(0.0, last - phase.done.injected), 1)
        results.append(
            FaultResult(
                name=phase.name,
                seconds=round(phase.end - phase.start, 1),
                requests=len(requests),
                acknowledged=sum(
                    within(at)
                    for kind in (ledger.booked, ledger.paid, ledger.cancelled, ledger.registered)
                    for at in kind.values()
                ),
                lost=sorted(what for what, at in lost.items() if within(at)),
                server_errors=dict(Counter(str(r.status) for r in failures if r.status)),
                error_codes=dict(
                    Counter(f"{r.status} {r.name} {r.error}".strip() for r in failures if r.status)
                ),
                no_answer=sum(1 for r in failures if r.status == 0),
                failing_seconds=failing,
                recovery_seconds=recovery,
                sessions_lost=sum(1 for at in ledger.sessions_lost if within(at)),
                mail=Mail(
                    paid=len(paid_here),
                    mailed_once=sum(1 for bid in paid_here if outbox[bid] == 1),
                    receipts=sum(1 for bid in paid_here if bid in receipts),
                ),
                notes=notes(phase, sum(1 for at in ledger.turns_lost if within(at))),
                without_retry_after=sum(1 for r in failures if NO_RETRY_AFTER in r.error),
                error=phase.error,
            )
        )
    results[0].invariants = {
        "slots over capacity": invariants.over_capacity,
        "slots out of step with their bookings": len(invariants.drift),
        "NIKs with two active bookings": invariants.nik_doubles,
        "cancelled without being asked": len(unexpected),
        "confirmations for unpaid bookings": sum(1 for bid in outbox if bid not in paid),
    }
    return results


async def run_chaos(
    run: Run, stack: contextlib.ExitStack
) -> tuple[list[FaultResult], dict[str, Any]]:
    opts = run.opts
    data_dir = Path(tempfile.mkdtemp(prefix="antri-chaos-"))
    stack.callback(shutil.rmtree, data_dir, True)
    redis_server = RedisServer(data_dir / "redis", port=opts.redis_port or None)
    log(f"starting Redis on {redis_server.address} and PostgreSQL under {data_dir}")
    await asyncio.to_thread(redis_server.start)
    stack.callback(redis_server.stop)
    postgres = EmbeddedPostgres(data_dir / "postgres")
    await asyncio.to_thread(postgres.start)
    stack.callback(postgres.stop)
    port = opts.port or free_port()
    base_url = f"http://{HOST}:{port}"
    env = antri_env(data_dir, redis_server.url, postgres.url, port)
    antri = ProcessGroup(
        "antri", [*antri_command(), "up", "--processes", "2"], opts.out / "antri.log", env
    )
    stack.callback(antri.stop, 30.0)
    log(f"starting antri up on {base_url}")
    antri.start(cwd=ROOT)
    await wait_ready(antri, base_url, timeout=120)
    await create_accounts(opts, env)
    office_ids = await offices(base_url)
    assert antri.pid is not None
    target = Target(redis_server, postgres, antri.pid, hold=opts.hold)
    stopping = asyncio.Event()
    log(f"load: {opts.clients} applicants at {len(office_ids)} offices")
    load = asyncio.create_task(
        run_load(
            base_url,
            ROOM,
            office_ids,
            opts.clients,
            PREFIX,
            PASSWORD,
            opts.accounts,
            run.ledger,
            stopping,
        )
    )
    try:
        await inject_all(run, target)
    finally:
        stopping.set()
        await asyncio.wait_for(load, 60)
    log("load stopped; waiting for every confirmation and receipt")
    drained, owed = await mail_settled(postgres.url, opts.drain)
    rq_state = await asyncio.to_thread(jobs_state, redis_server.url) if owed else {}
    for task in target.pending:
        await asyncio.wait_for(task, 200)
    results = await judge(run, postgres.url, data_dir)
    shutil.copy(data_dir / "redis" / "redis.log", opts.out / "redis.log")
    extra: dict[str, Any] = {"mail drained after s": round(drained, 1), "clients": opts.clients}
    if owed:
        extra["still owed at the end"] = {"bookings": owed, **rq_state}
    return results, extra


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--port", type=int, default=0, help="Antri's port (default: a free one)")
    parser.add_argument("--redis-port", type=int, default=0, help="default: a free one")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "chaos")
    parser.add_argument("--faults", default=",".join(FAULTS),
                        help="which faults, comma-separated, in order (default: all)")  # fmt: skip
    parser.add_argument("--hold", type=float, default=4.0, help="seconds each fault lasts")
    parser.add_argument("--before", type=float, default=5.0, help="plain load before each")
    parser.add_argument("--quiet", type=float, default=4.0,
                        help="seconds without a failure that end a fault's window")  # fmt: skip
    parser.add_argument("--settle-max", type=float, default=45.0)
    parser.add_argument("--drain", type=float, default=420.0,
                        help="longest wait for the e-mails and receipts at the end")  # fmt: skip
    parser.add_argument("--recovery-limit", type=float, default=10.0,
                        help="most seconds from a repair until requests succeed")  # fmt: skip
    args = parser.parse_args(argv)
    faults = [name.strip() for name in args.faults.split(",") if name.strip()]
    unknown = [name for name in faults if name not in FAULTS]
    if unknown:
        parser.error(f"unknown faults {unknown}; known: {list(FAULTS)}")
    return Options(
        clients=args.clients, port=args.port, redis_port=args.redis_port, out=args.out,
        faults=faults, hold=args.hold, before=args.before, quiet=args.quiet,
        settle_max=args.settle_max, drain=args.drain, recovery_limit=args.recovery_limit,
    )  # fmt: skip


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_options(argv)
    opts.out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminate)
    run = Run(opts)
    started = time.time()
    try:
        with contextlib.ExitStack() as stack:
            results, extra = asyncio.run(run_chaos(run, stack))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except (RunError, OSError, RuntimeError, TimeoutError) as exc:
        log(f"the run broke: {type(exc).__name__}: {exc}")
        return 2
    extra["run seconds"] = round(time.time() - started, 1)
    report, passed, summary = render(results, opts.recovery_limit, extra)
    (opts.out / "report.md").write_text(report)
    (opts.out / "report.json").write_text(json.dumps(summary, indent=2))
    (opts.out / "ledger.json").write_text(json.dumps(run.ledger.as_json()))
    print(report)
    log(f"report written to {opts.out / 'report.md'} and report.json")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
