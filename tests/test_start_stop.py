"""`antri up` as a new user runs it, as a subprocess on this helper's ports: a wrong setting or
an unreachable service ends the start with one line; one `antri up` per data folder; Ctrl-C
and SIGTERM stop everything in order, with nothing left running; two app processes share one
room and one set of metrics; the whole flow with the rooms on a Redis Cluster and the jobs on a
plain Redis.

One `antri up` (embedded Redis and PostgreSQL, two app processes) is shared by the tests that
can share it; the last of them stops it with Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
import pytest
from prometheus_client import Gauge
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.appkeys import REGISTRY
from api.embedded import RedisServer
from api.mail import read_outbox
from api.settings import Settings, SettingsError

from .booking_support import booking_body
from .conftest import antri_process_env
from .conftest import test_settings as settings_for
from .support import RedisClusterServers

ANTRI = str(Path(sys.executable).with_name("antri"))
HOST = "127.0.0.1"
SHARED_PORT = 18700
SIGTERM_PORT = 18701
CLUSTER_PORT = 18702
SPARE_PORT = 18703  # a start that must fail before it listens
SILENT_PORT = 18790  # accepts connections (the kernel does) and never answers
CLOSED_PORT = 18799  # nobody listens
ROOM = "paspor"
START_SECONDS = 180.0  # under a loaded machine; the embedded PostgreSQL takes seconds


clean_env = antri_process_env


class Antri:
    """One `antri up` in a session of its own (so that Ctrl-C can be sent to its group, as a
    terminal does), its output in files."""

    def __init__(self, directory: Path, port: int, *args: str, **settings: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.data_dir = directory / "data"
        self.port = port
        self.url = f"http://{HOST}:{port}"
        env = clean_env(ANTRI_DATA_DIR=str(self.data_dir), ANTRI_PORT=str(port), **settings)
        self._out = (directory / "stdout.txt").open("wb")
        self._err = (directory / "stderr.txt").open("wb")
        self.process = subprocess.Popen(
            [ANTRI, "up", *args],
            cwd=directory,
            env=env,
            stdout=self._out,
            stderr=self._err,
            start_new_session=True,
        )

    @property
    def stdout(self) -> str:
        return (self.directory / "stdout.txt").read_text()

    @property
    def stderr(self) -> str:
        return (self.directory / "stderr.txt").read_text()

    def wait_until_up(self) -> Antri:
        deadline = time.monotonic() + START_SECONDS
        while "Antri is up" not in self.stdout:
            if self.process.poll() is not None:
                raise AssertionError(f"antri up exited:\n{self.stdout}\n{self.stderr}")
            assert time.monotonic() < deadline, f"not up:\n{self.stdout}\n{self.stderr}"
            time.sleep(0.1)
        return self

    def children(self) -> dict[str, list[int]]:
        """The processes it starts, by kind (PostgreSQL daemonises: found by its pid file);
        not what they fork in turn (a worker's scheduler)."""
        found: dict[str, list[int]] = {"app": [], "worker": [], "redis": [], "postgres": []}
        for child in psutil.Process(self.process.pid).children():
            try:
                line = " ".join(child.cmdline())
            except psutil.Error:  # exited (a zombie until antri up reaps it)
                continue
            kind = (
                "app"
                if " serve " in line
                else "worker"
                if " worker" in line
                else "redis"
                if "redis-server" in line
                else "other"
            )
            found.setdefault(kind, []).append(child.pid)
        pid_file = self.data_dir / "postgres" / "postmaster.pid"
        if pid_file.exists():
            found["postgres"].append(int(pid_file.read_text().split()[0]))
        return found

    def stop(self, signum: int = signal.SIGINT, whole_group: bool = True) -> int:
        if whole_group:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)
        return self.wait()

    def wait(self, timeout: float = 90.0) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._out.close()
            self._err.close()

    def kill(self) -> None:
        """For a test that failed half-way: take down the whole group."""
        if self.process.poll() is None:
            pids = [p for pids in self.children().values() for p in pids]
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
            for pid in pids:
                with _gone():
                    psutil.Process(pid).kill()
        self._out.close()
        self._err.close()


class _gone:
    """Ignore a process that has exited already."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, *rest: object) -> bool:
        return kind is not None and issubclass(kind, psutil.NoSuchProcess)  # type: ignore[arg-type]


def failed_start(
    directory: Path, *args: str, port: int = SPARE_PORT, **settings: str
) -> tuple[int, str, str, float]:
    """Run `antri up` that must fail: its status, stdout, stderr and how long it took."""
    directory.mkdir(parents=True, exist_ok=True)
    env = clean_env(ANTRI_DATA_DIR=str(directory / "data"), ANTRI_PORT=str(port)) | settings
    began = time.monotonic()
    try:
        done = subprocess.run(
            [ANTRI, "up", "--processes", "1", *args],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"still starting after 20 s: {exc.stdout!r} {exc.stderr!r}") from None
    return done.returncode, done.stdout, done.stderr, time.monotonic() - began


def assert_one_line_error(outcome: tuple[int, str, str, float], variable: str, *words: str) -> None:
    status, out, err, seconds = outcome
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 1, (status, out, err)
    assert len(lines) == 1, err
    assert lines[0].startswith(f"antri: {variable}:"), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in out + err
    assert "Antri is up" not in out
    assert seconds < 10, f"the start took {seconds:.1f} s to fail"


@pytest.fixture(scope="module")
def silent_server() -> Iterator[int]:
    """A port whose connections complete (the kernel's backlog) but are never answered."""
    with socket.socket() as sock:
        sock.bind((HOST, SILENT_PORT))
        sock.listen(64)
        yield SILENT_PORT


BAD_SETTINGS = [
    ({"ANTRI_PORT": "99999"}, "ANTRI_PORT", "99999"),
    ({"ANTRI_PORT": "http"}, "ANTRI_PORT", "'http'"),
    ({"ANTRI_SANDBOX_PAYMENTS": "maybe"}, "ANTRI_SANDBOX_PAYMENTS", "'maybe'"),
    ({"ANTRI_COOKIE_SECURE": "2"}, "ANTRI_COOKIE_SECURE", "'2'"),
    ({"ANTRI_RATE_PER_MINUTE": "0"}, "ANTRI_RATE_PER_MINUTE", "at least 1"),
    ({"ANTRI_MAX_ACTIVE": "lots"}, "ANTRI_MAX_ACTIVE", "'lots'"),
    ({"ANTRI_REDIS_URL": "http://127.0.0.1:6379"}, "ANTRI_REDIS_URL", "redis://"),
    ({"ANTRI_REDIS_URL": "redis://"}, "ANTRI_REDIS_URL", "no host"),
    ({"ANTRI_DATABASE_URL": "mysql://db/antri"}, "ANTRI_DATABASE_URL", "postgresql://"),
    ({"ANTRI_SMTP_URL": "smtp://:25"}, "ANTRI_SMTP_URL", "no host"),
    ({"ANTRI_PUBLIC_URL": "antri.example"}, "ANTRI_PUBLIC_URL", "https://"),
    ({"ANTRI_ROOMS": "Paspor!"}, "ANTRI_ROOMS", "'Paspor!'"),
    ({"ANTRI_REDIS_CLUSTER": "1"}, "ANTRI_REDIS_CLUSTER", "ANTRI_REDIS_URL"),
    (
        {"ANTRI_REDIS_CLUSTER": "1", "ANTRI_REDIS_URL": f"redis://{HOST}:{CLOSED_PORT}/0"},
        "ANTRI_JOBS_REDIS_URL",
        "plain Redis",
    ),
    ({"ANTRI_HOST": "no-such-host.invalid"}, "ANTRI_HOST", "no-such-host.invalid"),
    ({"ANTRI_HOST": "192.0.2.1"}, "ANTRI_HOST", "not an address of this machine"),
    ({"ANTRI_REDIS_URL": f"redis://{HOST}:{CLOSED_PORT}/0"}, "ANTRI_REDIS_URL", "refused"),
    ({"ANTRI_REDIS_URL": f"redis://{HOST}:{SILENT_PORT}/0"}, "ANTRI_REDIS_URL", "no answer"),
]


@pytest.mark.parametrize(("settings", "variable", "says"), BAD_SETTINGS)
def test_a_bad_setting_ends_the_start_with_one_line(
    tmp_path: Path, silent_server: int, settings: dict[str, str], variable: str, says: str
) -> None:
    assert_one_line_error(failed_start(tmp_path, **settings), variable, says)


@pytest.mark.parametrize(
    ("variable", "port", "says"),
    [
        ("ANTRI_DATABASE_URL", CLOSED_PORT, "refused"),
        ("ANTRI_DATABASE_URL", SILENT_PORT, "no answer"),
        ("ANTRI_JOBS_REDIS_URL", CLOSED_PORT, "refused"),
        ("ANTRI_JOBS_REDIS_URL", SILENT_PORT, "no answer"),
    ],
)
def test_an_unreachable_service_ends_the_start_with_one_line(
    tmp_path: Path,
    silent_server: int,
    redis_server: RedisServer,
    variable: str,
    port: int,
    says: str,
) -> None:
    scheme = "postgresql" if variable == "ANTRI_DATABASE_URL" else "redis"
    settings = {"ANTRI_REDIS_URL": redis_server.url, variable: f"{scheme}://{HOST}:{port}/0"}
    assert_one_line_error(failed_start(tmp_path, **settings), variable, says)


@pytest.mark.parametrize("word", ["0", "false", "False", "NO", "off", "Off"])
def test_every_spelling_of_off_turns_the_sandbox_off(tmp_path: Path, word: str) -> None:
    env = {"ANTRI_DATA_DIR": str(tmp_path), "ANTRI_SANDBOX_PAYMENTS": word}
    assert Settings.from_env(env).sandbox_payments is False


@pytest.mark.parametrize("word", ["1", "true", "TRUE", "yes", "on", "On"])
def test_every_spelling_of_on_turns_the_sandbox_on(tmp_path: Path, word: str) -> None:
    env = {"ANTRI_DATA_DIR": str(tmp_path), "ANTRI_SANDBOX_PAYMENTS": word}
    assert Settings.from_env(env).sandbox_payments is True


def test_port_bounds(tmp_path: Path) -> None:
    for good in ("1", "65535"):
        assert Settings.from_env({"ANTRI_DATA_DIR": str(tmp_path), "ANTRI_PORT": good})
    for bad in ("0", "65536", "-1", "8080.0"):
        with pytest.raises(SettingsError, match="ANTRI_PORT"):
            Settings.from_env({"ANTRI_DATA_DIR": str(tmp_path), "ANTRI_PORT": bad})


async def test_every_gauge_says_how_to_combine_the_processes(tmp_path: Path) -> None:
    """In multiprocess mode a Gauge left at the default ("all") is one series per process,
    with a pid label: a room's view would be reported N times. Each must say how."""
    app = create_app(settings_for("postgresql://127.0.0.1:1/none", tmp_path))
    collectors = list(app[REGISTRY]._collector_to_names)
    gauges = {c._name: c._multiprocess_mode for c in collectors if isinstance(c, Gauge)}
    assert "antri_visitors_waiting" in gauges
    assert [name for name, mode in gauges.items() if mode == "all"] == []


# -- one shared `antri up`: embedded Redis and PostgreSQL, two app processes -----------------


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Antri]:
    """Rooms that admit 3 at once and then one a minute: whatever the processes, 3 in."""
    antri = Antri(
        tmp_path_factory.mktemp("shared"),
        SHARED_PORT,
        "--processes", "2", "--workers", "1",
        ANTRI_BURST="3", ANTRI_MAX_ACTIVE="3", ANTRI_RATE_PER_MINUTE="1",
        # Plain joins from one address: no proof of work, no per-address budget.
        ANTRI_POW_DIFFICULTY="0", ANTRI_JOINS_PER_MINUTE_PER_CLIENT="0",
    )  # fmt: skip
    try:
        yield antri.wait_until_up()
    finally:
        antri.kill()


def test_up_only_once_it_answers(shared: Antri) -> None:
    lines = shared.stdout.splitlines()
    up = next(i for i, line in enumerate(lines) if line.startswith("Antri is up"))
    assert any("PostgreSQL (embedded)" in line for line in lines[:up])
    assert any("Redis (embedded" in line for line in lines[:up])
    assert "2 app processes, 1 workers" in lines[up]
    with socket.create_connection((HOST, SHARED_PORT), timeout=2):
        pass
    assert shared.stderr.strip() == "", "quiet by default"


def test_a_second_antri_up_on_the_same_data_folder_names_the_holder(
    shared: Antri, tmp_path: Path
) -> None:
    outcome = failed_start(tmp_path, ANTRI_DATA_DIR=str(shared.data_dir))
    assert_one_line_error(outcome, "ANTRI_DATA_DIR", f"pid {shared.process.pid}")
    # The holder's Redis was not touched: it still answers, once.
    assert len(shared.children()["redis"]) == 1


def test_a_busy_port_is_named(shared: Antri, tmp_path: Path) -> None:
    outcome = failed_start(tmp_path, port=SHARED_PORT)
    assert_one_line_error(outcome, "ANTRI_PORT", str(SHARED_PORT), "in use")


async def test_two_processes_share_one_room_and_one_set_of_metrics(shared: Antri) -> None:
    app_pids = shared.children()["app"]
    assert len(app_pids) == 2
    # A connection each, so that the kernel spreads them over both processes.
    fresh = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(shared.url, connector=fresh) as http:

        async def call(method: str, path: str, **kwargs: Any) -> Any:
            async with http.request(method, path, **kwargs) as response:
                assert response.status == 200, await response.text()
                return await response.json()

        tickets = [(await call("POST", f"/api/v1/rooms/{ROOM}/join"))["ticket"] for _ in range(12)]

        async def states() -> list[str]:
            path = f"/api/v1/rooms/{ROOM}/status"
            return [
                (await call("GET", path, headers={"X-Antri-Ticket": t}))["state"] for t in tickets
            ]

        deadline = time.monotonic() + 20
        while (seen := await states()).count("admitted") < 3:
            assert time.monotonic() < deadline, seen
            await asyncio.sleep(0.3)
        await asyncio.sleep(1.5)  # both processes' ticks run meanwhile: still 3, not 6
        seen = await states()
        assert seen.count("admitted") == 3, seen
        assert seen.count("waiting") == 9, seen
        for _ in range(20):
            async with http.get("/healthz") as response:
                assert response.status == 200
        room = await call("GET", f"/api/v1/rooms/{ROOM}")
        assert room["waiting"] == 9
        await asyncio.sleep(0.5)  # a refresh of both views
        async with http.get("/metrics") as response:
            text = await response.text()

    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]

    def values(name: str, **labels: str) -> list[float]:
        return [
            s.value
            for s in samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    # A room's gauges: one series, not one per process, nor a sum of them.
    assert values("antri_visitors_waiting", room=ROOM) == [9]
    assert values("antri_sessions_active", room=ROOM) in ([3], [0]), "offered or claimed"
    assert all("pid" not in s.labels for s in samples if not s.name.startswith("process_"))
    # Each app process's CPU and memory, read by whichever answered the scrape.
    cpu = {s.labels["pid"] for s in samples if s.name == "process_cpu_seconds_total"}
    assert cpu == {str(pid) for pid in shared.children()["app"]}
    # ... and their garbage collectors' work, added up by each process's sweeper.
    assert values("python_gc_collections_total", generation="0")[0] > 0
    # Counters: summed over the processes.
    assert values("antri_joins_total", room=ROOM) == [12]
    healthz = values("antri_http_requests_total", route="/healthz", method="GET", status="200")
    assert healthz == [20]
    # ... and both processes did count some of them.
    per_process = {
        pid: _requests_counted(shared.data_dir / "prometheus" / f"counter_{pid}.db")
        for pid in app_pids
    }
    assert all(count > 0 for count in per_process.values()), per_process


def _requests_counted(path: Path) -> float:
    if not path.exists():
        return 0
    return sum(
        value
        for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path))
        if '"antri_http_requests_total"' in key
    )


async def test_ctrl_c_stops_everything_in_order_with_requests_in_flight(shared: Antri) -> None:
    kinds = shared.children()
    assert len(kinds["app"]) == 2 and len(kinds["worker"]) == 1
    assert len(kinds["redis"]) == 1 and len(kinds["postgres"]) == 1
    # Every process of the tree, the worker's scheduler too.
    tree = {p.pid for p in psutil.Process(shared.process.pid).children(recursive=True)}
    tree |= set(kinds["postgres"])
    # A request in flight at the stop: a new account, whose INSERT waits for a lock held here.
    database = re.search(r"PostgreSQL \(embedded\) at (\S+)", shared.stdout)
    assert database is not None
    holder = await asyncpg.connect(database.group(1))
    lock = holder.transaction()
    await lock.start()
    await holder.execute("LOCK TABLE accounts IN EXCLUSIVE MODE")
    account = {"email": "larut@contoh.id", "password": "Rahasia123", "name": "Larut Malam",
               "phone": "081298765430"}  # fmt: skip
    async with aiohttp.ClientSession(shared.url) as http:
        request = asyncio.create_task(http.post("/api/v1/accounts", json=account))
        await asyncio.sleep(1.0)
        assert not request.done()
        began = time.monotonic()
        os.killpg(shared.process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        await asyncio.sleep(1.5)
        assert not request.done()
        await lock.rollback()
        await holder.close()
        response = await request
        assert response.status == 201, await response.text()
    ended = await asyncio.to_thread(_watch_the_stop, shared, tree, began)
    status = shared.wait()
    assert status == 0
    assert shared.stdout.rstrip().endswith("Antri stopped."), shared.stdout
    assert shared.stderr.strip() == "", "quiet logs, a quiet stop, no traceback"
    assert not [pid for pid in tree if running(pid)], "a process was left running"
    # In order: the app processes, the worker, Redis, PostgreSQL.
    order = [max(ended[pid] for pid in kinds[kind]) for kind in ("app", "worker")]
    order += [ended[kinds["redis"][0]], ended[kinds["postgres"][0]]]
    assert order == sorted(order), [t - began for t in order]
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as `antri up` does
        sock.bind((HOST, SHARED_PORT))  # the port is free again


def running(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not: its parent has yet to reap it, and where that
    parent is a container's init, which never reaps, it never will)."""
    with _gone():
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    return False


def _watch_the_stop(antri: Antri, tree: set[int], began: float) -> dict[int, float]:
    """When each process of `tree` ended (seen every 10 ms), once `antri up` has exited."""
    ended: dict[int, float] = {}
    while antri.process.poll() is None or len(ended) < len(tree):
        assert time.monotonic() - began < 90, "not stopped within 90 s"
        for pid in tree - set(ended):
            if not running(pid):
                ended[pid] = time.monotonic()
        time.sleep(0.01)
    return ended


# -- SIGTERM, on services given by URL ------------------------------------------------------


async def test_sigterm_stops_cleanly(
    tmp_path: Path, redis_server: RedisServer, database: str
) -> None:
    antri = Antri(
        tmp_path, SIGTERM_PORT, "--processes", "1", "--workers", "2",
        ANTRI_REDIS_URL=redis_server.url, ANTRI_DATABASE_URL=database,
    )  # fmt: skip
    try:
        await asyncio.to_thread(antri.wait_until_up)
        tree = {p.pid for p in psutil.Process(antri.process.pid).children(recursive=True)}
        assert len(tree) >= 3  # an app process, two workers (and their schedulers)
        status = await asyncio.to_thread(antri.stop, signal.SIGTERM, False)
    finally:
        antri.kill()
    assert status == 0
    assert antri.stdout.rstrip().endswith("Antri stopped.")
    assert "Traceback" not in antri.stdout + antri.stderr, antri.stderr
    assert not [pid for pid in tree if running(pid)], "a process was left running"


async def test_an_app_process_that_dies_is_replaced_and_none_left_stops_all(
    tmp_path: Path, redis_server: RedisServer, database: str
) -> None:
    antri = Antri(
        tmp_path, SIGTERM_PORT, "--processes", "2", "--workers", "1",
        ANTRI_REDIS_URL=redis_server.url, ANTRI_DATABASE_URL=database,
    )  # fmt: skip
    try:
        await asyncio.to_thread(antri.wait_until_up)
        tree = {p.pid for p in psutil.Process(antri.process.pid).children(recursive=True)}
        first, second = antri.children()["app"]
        os.kill(first, signal.SIGKILL)
        async with aiohttp.ClientSession() as http:
            for _ in range(5):
                async with http.get(f"{antri.url}/healthz") as response:
                    assert response.status == 200, "the other app process still serves"
        # A new app process takes the dead one's place on the shared port.
        deadline = time.monotonic() + 30
        while True:
            apps = antri.children()["app"]
            new = [pid for pid in apps if pid not in (first, second)]
            if new and _listens(new[0], SIGTERM_PORT):
                break
            assert time.monotonic() < deadline, f"no new app process: {antri.stderr}"
            await asyncio.sleep(0.2)
        tree.add(new[0])
        assert f"app process {first} exited" in antri.stderr
        # With none left at once, antri up stops.
        os.kill(second, signal.SIGKILL)
        os.kill(new[0], signal.SIGKILL)
        status = await asyncio.to_thread(antri.wait)
    finally:
        antri.kill()
    assert status == 1
    assert antri.stderr.splitlines()[-1] == "antri: no app process is left; stopping"
    assert "Traceback" not in antri.stdout + antri.stderr, antri.stderr
    assert not [pid for pid in tree if running(pid)], "a process was left running"


# -- the whole flow with the rooms on a Redis Cluster and the jobs on a plain Redis --------


async def test_the_whole_flow_with_rooms_on_a_redis_cluster(
    tmp_path: Path, redis_cluster: RedisClusterServers, redis_server: RedisServer, database: str
) -> None:
    antri = Antri(
        tmp_path, CLUSTER_PORT, "--processes", "1", "--workers", "1",
        ANTRI_REDIS_URL=redis_cluster.url, ANTRI_REDIS_CLUSTER="1",
        ANTRI_JOBS_REDIS_URL=redis_server.url, ANTRI_DATABASE_URL=database,
        ANTRI_SANDBOX_PAYMENTS="on", ANTRI_ROOMS="paspor-cluster",
        ANTRI_RATE_PER_MINUTE="6000", ANTRI_BURST="100", ANTRI_MAX_ACTIVE="100",
        # the proof of work on a cluster is tested in test_join_defences
        ANTRI_POW_DIFFICULTY="0",
    )  # fmt: skip
    try:
        await asyncio.to_thread(antri.wait_until_up)
        await _whole_flow(antri, "paspor-cluster")
    finally:
        status = await asyncio.to_thread(antri.stop, signal.SIGTERM, False)
        antri.kill()
    assert status == 0
    assert "Traceback" not in antri.stdout + antri.stderr, antri.stderr


async def _whole_flow(antri: Antri, room: str) -> None:
    outbox = antri.data_dir / "outbox"
    # unsafe: keep the cookies of a server named by its IP address
    async with aiohttp.ClientSession(antri.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:

        async def call(method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
            async with http.request(method, path, **kwargs) as response:
                assert response.status == expect, f"{path}: {await response.text()}"
                return await response.json()

        await call("POST", f"/api/v1/rooms/{room}/join")
        for _ in range(100):
            status = await call("GET", f"/api/v1/rooms/{room}/status")
            if status["state"] == "admitted":
                break
            await asyncio.sleep(0.1)
        assert status["state"] == "admitted", status
        admission = {"Authorization": f"Bearer {status['admission_token']}"}
        account = {"email": "dewi@contoh.id", "password": "Rahasia123", "name": "Dewi Lestari",
                   "phone": "081298765431"}  # fmt: skip
        await call("POST", "/api/v1/accounts", 201, json=account)
        mail = await _mail(outbox, lambda m: m.to == account["email"])
        code = re.search(r"\b(\d{6})\b", mail.subject)
        assert code is not None
        verify = {"email": account["email"], "code": code.group(1)}
        await call("POST", "/api/v1/accounts/verify", json=verify)
        login = {"email": account["email"], "password": account["password"]}
        session = await call("POST", "/api/v1/login", json=login)
        headers = {"X-Session-Token": session["session_token"]} | admission
        availability = await call("GET", "/api/v1/offices/tanjung-priok/availability?days=40")
        day = next(d["date"] for d in availability["dates"] if d["released"] and d["sessions"])
        booked = await call("POST", "/api/v1/bookings", 201, json=booking_body(day),
                            headers=headers)  # fmt: skip
        await call("POST", "/api/v1/payments/sandbox/pay",
                   json={"billing_code": booked["billing_code"]})  # fmt: skip
        proof = await _mail(outbox, lambda m: "Bukti pendaftaran" in m.subject)
        assert proof.to == account["email"]


async def _mail(outbox: Path, wanted: Any, timeout: float = 60.0) -> Any:
    """The first mail in `outbox` that is `wanted`, once the worker has sent it."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in read_outbox(outbox) if wanted(m)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, "no such mail: is the worker running its jobs?"
        await asyncio.sleep(0.2)


def _listens(pid: int, port: int) -> bool:
    """Whether process `pid` listens on `port`."""
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)
