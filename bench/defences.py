"""The front door's defences (issue 9), measured: what they cost the server, an attacker and an
honest visitor.

1. Join with proof verification ÷ join without (target ≥ 0.9): new-visitor joins to a room
   asking for a proof (difficulty 1: checking a solution costs one hash at any difficulty, so
   the bench can pre-solve hundreds of thousands) and to one asking for none, in interleaved
   wrk rounds; each round sends proofs solved just before it (challenges are single-use). A
   third target counts the address budget too (100,000 a minute: counted, never reached).
2. Places one attacking process (bench/attacker.py: 64 connections, no cookies, solving with
   the reference solver) takes in 10 s, in four rooms: no defence, the proof of work only, the
   address budget only, and both (the defaults).
3. The honest visitor's cost at the default difficulty: the waiting page's own Web Worker in
   headless Chromium solving fresh challenges, and the reference solver for comparison.
"""

from __future__ import annotations

import asyncio
import math
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from queue_engine.proof import Challenges, solution, solve
from queue_engine.settings import DEFAULT_POW_DIFFICULTY, RoomSettings

from .processes import Server
from .report import Ratio, ratios_table, results_table
from .wrk import Load, Result, Sample, Target, run_wrk

SECRET = "bench-secret-for-the-defences-part"
ADMIN_TOKEN = "bench-admin-token"
BUDGET = RoomSettings().joins_per_minute_per_client
#: room -> (pow_difficulty, joins_per_minute_per_client)
ATTACKED = {
    "tanpa-pertahanan": (0, 0),
    "bukti-kerja": (DEFAULT_POW_DIFFICULTY, 0),
    "anggaran-alamat": (0, BUDGET),
    "bawaan": (DEFAULT_POW_DIFFICULTY, BUDGET),
}
COST_ROOMS = {"join-bare": (0, 0), "join-proof": (1, 0), "join-budget": (0, 100_000)}
#: the app's environment for this part (on top of the bench's common one)
APP_ENV = {
    "ANTRI_ROOMS": ",".join([*COST_ROOMS, *ATTACKED]),
    "ANTRI_SECRET": SECRET,
    "ANTRI_ADMIN_TOKEN": ADMIN_TOKEN,
}
ATTACK_SECONDS = 10
#: challenges solved in Chromium for the honest visitor's cost
BROWSER_SOLVES = 20
#: the single-use bodies written for each wrk round (more than any round here can send)
PROOFS_PER_ROUND = 40_000
#: How much slower a mid-range phone runs this JavaScript than one core of the bench machine.
#: An assumption, not a measurement (no phone here): mid-range Android phones score about a
#: quarter of a desktop core in JavaScript benchmarks (JetStream, Speedometer).
PHONE_FACTOR = 4.0


@dataclass(frozen=True, slots=True)
class Attack:
    """What one attacking process got in one room."""

    room: str
    difficulty: int
    budget: int
    places: int
    solved: int
    refused_proof: int
    refused_budget: int
    cpu_seconds: float


@dataclass(frozen=True, slots=True)
class HonestCost:
    """The honest visitor's proof at `difficulty`: seconds per solve in Chromium (each solve
    timed from handing the challenge to the Web Worker to its answer) and the hash rates."""

    difficulty: int
    browser_seconds: list[float]
    browser_rate: float  #: hashes a second in the page's Web Worker
    #: the fastest single solve's rate: the least disturbed by the shared machine's other load
    fastest_rate: float
    python_rate: float  #: hashes a second of the reference solver

    @property
    def expected_hashes(self) -> float:
        return 2.0**self.difficulty

    @property
    def phone_seconds(self) -> float:
        """The mean cost on a mid-range phone: the expected hashes at this machine's browser
        rate slowed by PHONE_FACTOR."""
        return self.expected_hashes / (self.browser_rate / PHONE_FACTOR)


@dataclass(frozen=True, slots=True)
class Defences:
    """The part's results."""

    bare: Result
    proof: Result
    budget: Result
    #: join with proof ÷ join without, round by round
    per_round: list[float]
    #: the app process's CPU seconds per join: no defence, proof verified, budget counted
    cpu_per_join: list[float]
    attacks: list[Attack]
    honest: HonestCost | None
    honest_note: str
    #: seconds of CPU to check one proof in-process (the body's JSON, the HMAC, the hash)
    verify_seconds: float = math.nan


Log = Callable[[str], None]


class DefencesBench:
    """Runs the three measurements against one `antri serve` (started by `start_app`)."""

    def __init__(
        self,
        start_app: Callable[[str, dict[str, str]], Awaitable[Server]],
        tmp: Path,
        load: Load,
        log: Log,
    ) -> None:
        self.start_app = start_app
        self.tmp = tmp
        self.load = load
        self.log = log

    async def run(self) -> Defences:
        app = await self.start_app("antri-defences", APP_ENV)
        try:
            for room, (difficulty, budget) in {**COST_ROOMS, **ATTACKED}.items():
                await configure(app.url, room, difficulty, budget)
            self.log("measuring join without and with proof verification (and the budget)")
            bare, proof, budget, per_round, cpu = await self.join_cost(app)
            attacks = []
            for room, (difficulty, budget_setting) in ATTACKED.items():
                self.log(f"one attacking process on room {room}, {ATTACK_SECONDS} s")
                attacks.append(await attack(app.url, room, difficulty, budget_setting))
            self.log(f"the honest visitor's proof in Chromium, {BROWSER_SOLVES} solves")
            honest, note = await honest_cost(app.url, "bawaan", DEFAULT_POW_DIFFICULTY)
            verify = verify_cost()
            return Defences(bare, proof, budget, per_round, cpu, attacks, honest, note, verify)
        finally:
            app.stop()

    async def join_cost(
        self, app: Server
    ) -> tuple[Result, Result, Result, list[float], list[float]]:
        """The three join targets in interleaved rounds (after a warm-up of each), the order
        reversed every other round so that a drift in the machine's load favours none; and the
        ratio proof ÷ bare of each round (the machine here is shared: a round's pair is measured
        within seconds of each other, so their ratio is steadier than the totals'); and the app
        process's CPU seconds per join of each target, which other processes' load disturbs far
        less than throughput."""
        url = app.url
        cpu = [0.0, 0.0, 0.0]
        challenges = Challenges(SECRET.encode())
        samples = [Sample(), Sample(), Sample()]
        per_round: list[float] = []
        for measured in range(-1, self.load.rounds):
            seconds = self.load.warmup_seconds if measured < 0 else self.load.round_seconds
            if seconds <= 0:
                continue
            proofs = self.tmp / f"proofs-{measured + 1}.txt"
            write_proofs(challenges, "join-proof", PROOFS_PER_ROUND, proofs)
            targets = [
                Target("join, no defence", f"{url}/api/v1/rooms/join-bare/join"),
                Target(
                    "join, proof verified", f"{url}/api/v1/rooms/join-proof/join", proofs=proofs
                ),
                Target("join, address budget counted", f"{url}/api/v1/rooms/join-budget/join"),
            ]
            order = list(range(3)) if measured % 2 else [2, 1, 0]
            got: dict[int, Sample] = {}
            for i in order:
                before = app.cpu_seconds()
                got[i] = await run_wrk(targets[i], self.load, seconds)
                if measured >= 0:
                    cpu[i] += app.cpu_seconds() - before
            if measured >= 0:
                for i, sample in got.items():
                    samples[i].add(sample)
                per_round.append(rate(got[1]) / rate(got[0]) if rate(got[0]) else math.nan)
        names = ("join, no defence", "join, proof verified", "join, address budget counted")
        bare, proof, budget = (Result.of(n, s) for n, s in zip(names, samples, strict=True))
        pairs = zip(cpu, samples, strict=True)
        per_join = [c / s.requests if s.requests else math.nan for c, s in pairs]
        return bare, proof, budget, per_round, per_join


def verify_cost(count: int = 20_000) -> float:
    """CPU seconds to check one proof, in this process: what a join with a proof does beyond
    one without (but for reading its header, and the SET NX inside the join script, on Redis's
    side)."""
    challenges = Challenges(b"verify")
    proofs = [solution(challenges.issue("room", 1, time.time())[0], 1) for _ in range(count)]
    started = time.process_time()
    for proof in proofs:
        challenges.verify(proof, "room", time.time())
    return (time.process_time() - started) / count


def rate(sample: Sample) -> float:
    """Requests a second of one wrk run."""
    return sample.requests / sample.seconds if sample.seconds else 0.0


def write_proofs(challenges: Challenges, room: str, count: int, path: Path) -> None:
    """`count` solved single-use challenges of `room` (difficulty 1), one X-Antri-Proof value a
    line."""
    now = time.time()
    with path.open("w") as out:
        for _ in range(count):
            out.write(solution(challenges.issue(room, 1, now)[0], 1) + "\n")


async def configure(url: str, room: str, difficulty: int, budget: int) -> None:
    """Set a room's two defences through the operator's API."""
    body = {"pow_difficulty": difficulty, "joins_per_minute_per_client": budget}
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.patch(f"{url}/api/v1/admin/rooms/{room}", json=body, headers=headers) as answer,
    ):
        if answer.status != 200:
            raise RuntimeError(f"configuring {room}: {answer.status} {await answer.text()}")


async def attack(url: str, room: str, difficulty: int, budget: int) -> Attack:
    """bench/attacker.py in its own process against `room`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.attacker", "--url", url, "--room", room,
        "--seconds", str(ATTACK_SECONDS),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    stdout, _ = await process.communicate()
    found = re.search(r"^ATTACK (\{.*\})$", stdout.decode(errors="replace"), re.MULTILINE)
    if process.returncode != 0 or found is None:
        raise RuntimeError(f"the attacker failed:\n{stdout.decode(errors='replace')}")
    got: dict[str, Any] = orjson.loads(found.group(1))
    return Attack(
        room,
        difficulty,
        budget,
        got.get("places", 0),
        got.get("solved", 0),
        got.get("proof_required", 0),
        got.get("too_many_joins", 0),
        got.get("cpu_seconds", 0.0),
    )


SOLVE_IN_WORKER = """async ([worker, room, count]) => {
  const runs = [];
  for (let i = 0; i < count; i++) {
    const answer = await fetch(`/api/v1/rooms/${room}/challenge`, { cache: "no-store" });
    const challenge = await answer.json();
    const started = performance.now();
    const result = await new Promise((resolve) => {
      const w = new Worker(worker);
      w.onmessage = (event) => {
        if (event.data.nonce !== undefined) { w.terminate(); resolve(event.data); }
      };
      w.postMessage({ challenge: challenge.challenge, difficulty: challenge.difficulty });
    });
    runs.push([(performance.now() - started) / 1000, result.tried]);
  }
  return runs;
}"""


async def honest_cost(url: str, room: str, difficulty: int) -> tuple[HonestCost | None, str]:
    """The waiting page's Web Worker in headless Chromium (Debian's, as the browser tests use),
    solving BROWSER_SOLVES fresh challenges of `room`; and the reference solver's rate."""
    python_rate = reference_rate(difficulty)
    try:
        from playwright.async_api import async_playwright

        from tests.browser.conftest import CHROMIUM_ARGS, chromium_path
    except ImportError as exc:  # the dev extras are not installed
        return None, f"not measured in Chromium ({exc}); reference solver only"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{url}/")
            worker = "/static/pow-worker.js"
            runs = await page.evaluate(SOLVE_IN_WORKER, [worker, room, BROWSER_SOLVES])
        finally:
            await browser.close()
    seconds = [float(s) for s, _ in runs]
    rate = sum(int(t) for _, t in runs) / sum(seconds)
    # Short solves are mostly the worker's start-up: only those of 100,000 hashes or more.
    fastest = max((int(t) / float(s) for s, t in runs if int(t) >= 100_000), default=rate)
    return HonestCost(difficulty, seconds, rate, fastest, python_rate), ""


def reference_rate(difficulty: int, solves: int = 5) -> float:
    """Hashes a second of queue_engine.proof.solve, over a few fresh challenges."""
    challenges = Challenges(b"rate")
    tried, started = 0, time.perf_counter()
    for _ in range(solves):
        text, _ = challenges.issue("rate", difficulty, time.time())
        tried += int(solve(text, difficulty)) + 1
    return tried / (time.perf_counter() - started)


def render_defences(outcome: Defences, load: Load) -> str:
    """The part's Markdown report."""
    ratio = statistics.median(outcome.per_round) if outcome.per_round else math.nan
    totals = outcome.proof.rps / outcome.bare.rps if outcome.bare.rps else math.nan
    budget_ratio = outcome.budget.rps / outcome.bare.rps if outcome.bare.rps else math.nan
    rounds = ", ".join(f"{r:.2f}" for r in outcome.per_round)
    bare_cpu, proof_cpu, budget_cpu = outcome.cpu_per_join
    ratios = [
        Ratio(
            "join with proof verification ÷ join without, by the app's CPU per join",
            bare_cpu / proof_cpu,
            0.9,
            note=f"{bare_cpu * 1e6:.0f} µs and {proof_cpu * 1e6:.0f} µs of CPU per join",
        ),
        Ratio(
            "join ÷ (join + checking one proof in-process)",
            bare_cpu / (bare_cpu + outcome.verify_seconds),
            note=f"{outcome.verify_seconds * 1e6:.0f} µs to check one proof",
        ),
        Ratio(
            "join with proof verification ÷ join without, by throughput",
            ratio,
            note=f"median of the rounds' ratios ({rounds}); of the totals {totals:.2f}",
        ),
        Ratio(
            "join with the address budget counted ÷ join without, by the app's CPU per join",
            bare_cpu / budget_cpu,
            note=f"throughput ratio {budget_ratio:.2f}",
        ),
    ]
    lines = [
        "### Defences of the front door (issue 9)",
        "",
        f"Load: {load.describe()}; every server on 127.0.0.1",
        "",
        results_table([outcome.bare, outcome.proof, outcome.budget]),
        "",
        ratios_table(ratios),
        "",
        f"One attacking process, {ATTACK_SECONDS} s, 64 connections, no cookies, one address, "
        "solving with the reference solver (bench/attacker.py):",
        "",
        "| room | proof of work | joins per minute per address | places | proofs solved "
        "| 428 | 429 | attacker CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in outcome.attacks:
        lines.append(
            f"| {a.room} | {a.difficulty or 'off'} | {a.budget or 'off'} | {a.places:,} "
            f"| {a.solved:,} | {a.refused_proof:,} | {a.refused_budget:,} | {a.cpu_seconds:.1f} |"
        )
    lines.append("")
    honest = outcome.honest
    if honest is None:
        lines.append(f"Honest visitor's cost: {outcome.honest_note}")
    else:
        runs = sorted(honest.browser_seconds)
        p90 = runs[min(len(runs) - 1, math.ceil(0.9 * len(runs)) - 1)]
        lines += [
            f"Honest visitor's cost at the default difficulty ({honest.difficulty} bits, "
            f"2^{honest.difficulty} = {honest.expected_hashes:,.0f} hashes on average):",
            "",
            f"- headless Chromium here, the page's Web Worker, {len(runs)} fresh challenges: "
            f"mean {statistics.mean(runs):.2f} s, median {statistics.median(runs):.2f} s, "
            f"90th percentile {p90:.2f} s; {honest.browser_rate:,.0f} hashes/s",
            f"- a mid-range phone (assumed {PHONE_FACTOR:g} times slower than one core here): "
            f"{honest.phone_seconds:.2f} s on average at this run's rate; "
            f"{honest.expected_hashes / (honest.fastest_rate / PHONE_FACTOR):.2f} s at its "
            f"fastest solve's ({honest.fastest_rate:,.0f} hashes/s, the least disturbed by the "
            "machine's other load)",
            f"- the reference solver (Python, one core): {honest.python_rate:,.0f} hashes/s, "
            f"{honest.expected_hashes / honest.python_rate:.2f} s a place on average",
        ]
    return "\n".join(lines)
