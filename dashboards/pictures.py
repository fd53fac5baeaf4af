"""`make dashboard-pictures`: every dashboard's panels drawn from real data, into
`docs/dashboards/*.png`.

No Grafana can run here, so this runs what the dashboards would watch -- its own Redis and
PostgreSQL, two app processes, an RQ worker, Debian's Prometheus scraping both processes every
second -- puts a short crowd through it (joins, polls, no-shows, a pause, bookings, payments,
refusals, expiries, then the worker stopped), asks Prometheus for each panel's queries over the
run (`query_range`, exactly the panel's PromQL), and draws them with matplotlib in the
dashboard's own layout. About three minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from api.database import EmbeddedPostgres
from api.embedded import RedisServer
from dashboards import build
from dashboards.monitor import command, write_config
from testkit import people as kit

OUT = Path(__file__).parent.parent / "docs" / "dashboards"
OFFICE = "tanjung-priok"
APP_PORTS = (18810, 18811)
PROMETHEUS_PORT = 18812
REDIS_PORT = 18813
ADMIN = "pictures-admin-token"
ROOM = "paspor"
RUN_SECONDS = 150
STEP = 2


class Run:
    """Redis, PostgreSQL, two app processes, a worker and Prometheus, stopped on exit."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[subprocess.Popen[bytes]] = []
        self.redis = RedisServer(directory / "redis", REDIS_PORT, extra=("--maxmemory", "64mb"))
        self.postgres = EmbeddedPostgres(directory / "postgres")
        self.env: dict[str, str] = {}
        self.worker: subprocess.Popen[bytes] | None = None

    def spawn(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        out = (self.directory / log).open("wb")
        process = subprocess.Popen(args, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.redis.start()
        self.postgres.start()
        self.env = os.environ | {
            "ANTRI_REDIS_URL": self.redis.url,
            "ANTRI_DATABASE_URL": self.postgres.url,
            "ANTRI_DATA_DIR": str(self.directory / "data"),
            "ANTRI_ADMIN_TOKEN": ADMIN,
            "ANTRI_ROOMS": ROOM,
            "ANTRI_RATE_PER_MINUTE": "120",
            "ANTRI_BURST": "10",
            "ANTRI_MAX_ACTIVE": "40",
            "ANTRI_SESSION_MINUTES": "1",
            # short enough that unpaid bookings expire during the run
            "ANTRI_PAYMENT_WINDOW_SECONDS": "45",
        }
        python = sys.executable
        subprocess.run(
            [
                python,
                "-m",
                "api.cli",
                "accounts",
                "bulk-create",
                "--count",
                "200",
                "--prefix",
                "load",
            ],
            env=self.env,
            check=True,
            capture_output=True,
        )
        for port in APP_PORTS:  # one after the other: the first generates the secrets
            self.spawn(python, "-m", "api.cli", "serve", "--port", str(port), log=f"app{port}.log")
            await ready(session, f"http://127.0.0.1:{port}/readyz")
        self.worker = self.spawn(python, "-m", "api.cli", "worker", log="worker.log")
        config = write_config(
            self.directory / "prometheus",
            [f"127.0.0.1:{port}" for port in APP_PORTS],
            scrape_interval="1s",
        )
        listen = f"127.0.0.1:{PROMETHEUS_PORT}"
        self.spawn(*command(config, self.directory / "prometheus" / "data", listen), log="p.log")
        await ready(session, f"http://{listen}/-/ready")

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(20)
        self.redis.stop()
        self.postgres.stop()


async def ready(session: aiohttp.ClientSession, url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(url) as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{url} did not become ready")


def booking_body(day: str, serial: int) -> dict[str, object]:
    """A valid booking at OFFICE for a man born 1990-05-17 whose NIK ends in `serial`."""
    who = kit.Person(kit.nik(serial=serial), kit.DEFAULT_BIRTH, "L")
    return kit.booking_body(day, who=who, office=OFFICE)


class Crowd:
    """Visitors who wait, some who walk away, and some who book and pay."""

    def __init__(self, session: aiohttp.ClientSession, days: list[str]) -> None:
        self.session = session
        self.days = days
        self.accounts = iter(range(1, 201))
        self.serials = iter(range(1000, 9000))
        self.started = time.monotonic()

    def app(self) -> str:
        return f"http://127.0.0.1:{random.choice(APP_PORTS)}"

    async def visit(self) -> None:
        async with self.session.post(f"{self.app()}/api/v1/rooms/{ROOM}/join") as r:
            if r.status != 200:
                return
            ticket = (await r.json())["ticket"]
        walks_away = time.monotonic() + (random.uniform(10, 40) if random.random() < 0.3 else 1e9)
        while time.monotonic() - self.started < RUN_SECONDS:
            headers = {"X-Antri-Ticket": ticket}
            async with self.session.get(
                f"{self.app()}/api/v1/rooms/{ROOM}/status", headers=headers
            ) as r:
                body = await r.json() if r.status == 200 else {}
            if body.get("state") == "admitted":
                await self.use_turn(body["admission_token"])
                return
            if time.monotonic() > walks_away:
                return  # a no-show: offered a place later, never claims it
            await asyncio.sleep(min(float(body.get("poll_after_seconds", 2)), 3))

    async def use_turn(self, admission: str) -> None:
        bearer = {"Authorization": f"Bearer {admission}"}
        if random.random() < 0.6:
            await self.book(bearer)
        await asyncio.sleep(random.uniform(3, 25))
        async with self.session.post(f"{self.app()}/api/v1/session/release", headers=bearer):
            pass

    async def book(self, bearer: dict[str, str]) -> None:
        number = next(self.accounts, None)
        if number is None:
            return
        login = {"email": f"load{number}@antri.test", "password": "Antri-Uji-2026"}
        async with self.session.post(f"{self.app()}/api/v1/login", json=login) as r:
            if r.status != 200:
                return
            headers = bearer | {"X-Session-Token": (await r.json())["session_token"]}
        serial = next(self.serials)
        if random.random() < 0.15:  # someone booking a NIK that already holds a place
            serial -= 1
        body = booking_body(random.choice(self.days[:3]), serial)
        async with self.session.post(
            f"{self.app()}/api/v1/bookings", json=body, headers=headers
        ) as r:
            if r.status != 201:
                return
            receipt = await r.json()
        if random.random() < 0.6:  # the rest stay unpaid and expire
            await asyncio.sleep(random.uniform(1, 5))
            pay = {"billing_code": receipt["billing_code"]}
            async with self.session.post(f"{self.app()}/api/v1/payments/sandbox/pay", json=pay):
                pass
        elif random.random() < 0.3:  # a forged callback
            forged = {"X-Antri-Signature": "t=1,v1=00"}
            async with self.session.post(
                f"{self.app()}/api/v1/payments/callback", json={}, headers=forged
            ):
                pass


async def operate(session: aiohttp.ClientSession, run: Run, crowd: Crowd) -> None:
    """The operator's day: a crowd, a pause, a second wave, then the worker dies."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    room = f"http://127.0.0.1:{APP_PORTS[0]}/api/v1/admin/rooms/{ROOM}"
    visits: list[asyncio.Task[None]] = []

    async def wave(count: int, seconds: float) -> None:
        for _ in range(count):
            visits.append(asyncio.create_task(crowd.visit()))
            await asyncio.sleep(random.expovariate(count / seconds))

    await wave(300, 30)
    await asyncio.sleep(20)
    async with session.patch(room, json={"state": "paused"}, headers=admin):
        print("room paused")
    await asyncio.sleep(20)
    async with session.patch(room, json={"state": "open", "rate_per_minute": 180}, headers=admin):
        print("room open again, 180/min")
    await wave(150, 20)
    await asyncio.sleep(max(0.0, RUN_SECONDS - 25 - (time.monotonic() - crowd.started)))
    run.stop_worker()
    print("worker stopped")
    await asyncio.sleep(max(0.0, RUN_SECONDS - (time.monotonic() - crowd.started)))
    for task in visits:
        task.cancel()
    await asyncio.gather(*visits, return_exceptions=True)


async def series(
    session: aiohttp.ClientSession, expr: str, start: float, end: float
) -> list[tuple[dict[str, str], list[float], list[float]]]:
    """(name, times in seconds from start, values) of each series `expr` gives over the run."""
    params = {"query": expr, "start": str(start), "end": str(end), "step": str(STEP)}
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/query_range"
    async with session.get(url, params=params) as response:
        body = await response.json()
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    return [
        (
            dict(result["metric"]),
            [float(t) - start for t, _ in result["values"]],
            [float(v) for _, v in result["values"]],
        )
        for result in body["data"]["result"]
    ]


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legend format, filled from a series' labels."""
    out = template
    for key, value in labels.items():
        out = out.replace("{{" + key + "}}", value)
    return out.replace("{{", "").replace("}}", "")


def query_of(expr: str) -> str:
    return expr.replace("$room", ROOM).replace("$instance", ".*").replace("$__rate_interval", "15s")


def value_text(value: float, unit: str) -> str:
    if value != value:
        return "NaN"
    if unit == "percentunit":
        return f"{value:.0%}"
    if unit == "bytes":
        return f"{value / 2**20:.1f} MiB"
    if unit == "s":
        return f"{value:.0f} s"
    if unit == "/min":
        return f"{value:.0f}/min"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


async def draw(
    session: aiohttp.ClientSession, dashboard: build.Dashboard, start: float, end: float
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec

    model = build.render(dashboard)
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in model["panels"])
    figure = plt.figure(figsize=(22, rows * 0.42 + 1.2), facecolor="#111217")
    grid = GridSpec(rows, 24, figure=figure, hspace=2.2, wspace=1.2)
    when = datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d %H:%M UTC")
    figure.suptitle(
        f"{dashboard.title} — drawn by make dashboard-pictures from Prometheus ({when}, "
        f"{(end - start) / 60:.0f} min, 2 app processes)",
        color="white",
        fontsize=15,
    )
    for panel, spec in zip(dashboard.panels, model["panels"], strict=True):
        pos = spec["gridPos"]
        ax = figure.add_subplot(
            grid[pos["y"] : pos["y"] + pos["h"], pos["x"] : pos["x"] + pos["w"]]
        )
        ax.set_facecolor("#181b1f")
        ax.set_title(panel.title, color="white", fontsize=10, loc="left")
        for spine in ax.spines.values():
            spine.set_color("#444")
        ax.tick_params(colors="#aaa", labelsize=7)
        # Stats and tables are instant queries at the end, as Grafana sends them.
        since = start if panel.kind == "timeseries" else end
        found = [
            (legend(q.legend, labels), t, v)
            for q in panel.queries
            for labels, t, v in await series(session, query_of(q.expr), since, end)
        ]
        if panel.kind == "timeseries":
            for name, t, v in found:
                ax.plot(t, v, linewidth=1.4, label=name)
            for threshold, colour in panel.thresholds:
                ax.axhline(threshold, color=colour, linestyle="--", linewidth=0.8)
            ax.set_xlabel("seconds into the run", color="#aaa", fontsize=7)
            ax.set_ylabel(panel.unit, color="#aaa", fontsize=7)
            ax.grid(color="#333", linewidth=0.5)
            if found:
                ax.legend(fontsize=6.5, loc="upper left", facecolor="#222", labelcolor="white")
        else:
            ax.set_xticks([])
            ax.set_yticks([])
            shown = [(name, v[-1]) for name, _, v in found if v][
                : 8 if panel.kind == "table" else 4
            ]
            if panel.kind == "table":
                shown.sort(key=lambda item: item[1])
            for i, (name, last) in enumerate(shown):
                text = value_text(last, panel.unit)
                for mapping in panel.mappings:
                    text = mapping["options"].get(f"{last:.0f}", {}).get("text", text)
                y = 1 - (i + 0.5) / max(len(shown), 1)
                size = 9 if panel.kind == "table" else max(9, 22 - 3 * len(shown))
                ax.text(
                    0.04, y, name, color="#ccc", fontsize=8, va="center", transform=ax.transAxes
                )
                ax.text(
                    0.96,
                    y,
                    text,
                    color="#73bf69",
                    fontsize=size,
                    va="center",
                    ha="right",
                    transform=ax.transAxes,
                    weight="bold",
                )
            if not shown:
                ax.text(0.5, 0.5, "no data", color="#888", ha="center", transform=ax.transAxes)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{dashboard.uid}.png"
    figure.savefig(path, dpi=80, facecolor=figure.get_facecolor())
    plt.close(figure)
    return path


async def main() -> None:
    random.seed(11)
    with tempfile.TemporaryDirectory(prefix="antri-pictures-") as tmp:
        run = Run(Path(tmp))
        timeout = aiohttp.ClientTimeout(total=20)
        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            try:
                await run.start(session)
                url = (
                    f"http://127.0.0.1:{APP_PORTS[0]}/api/v1/offices/{OFFICE}/availability?days=40"
                )
                async with session.get(url) as r:
                    days = [
                        d["date"]
                        for d in (await r.json())["dates"]
                        if d["released"] and d["sessions"]
                    ]
                start = time.time()
                print(f"running a crowd for {RUN_SECONDS} s")
                await operate(session, run, Crowd(session, days))
                await asyncio.sleep(3)
                end = time.time()
                for dashboard in build.DASHBOARDS:
                    print(f"wrote {await draw(session, dashboard, start - 10, end)}")
            finally:
                run.stop()


if __name__ == "__main__":
    asyncio.run(main())
