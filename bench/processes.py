"""Server subprocesses on loopback: started, awaited until they listen, always stopped."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .serving import HOST


class ServerError(RuntimeError):
    """A server process exited or did not start listening in time."""


class Server:
    """One HTTP server process listening on 127.0.0.1:`port`; its output goes to `log`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        log: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`env` is the process's whole environment (default: this process's)."""
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.log = log
        self.env = dict(os.environ if env is None else env)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    async def start(self, timeout: float = 20.0) -> Server:
        """Start the process and wait until its port accepts connections."""
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerError(f"{self.name} exited at start:\n{self._log_tail()}")
            if _listening(self.port):
                return self
            await asyncio.sleep(0.05)
        self.stop()
        raise ServerError(f"{self.name} did not listen on port {self.port}:\n{self._log_tail()}")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 10 s); safe to call twice."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far (Linux /proc), 0 if stopped."""
        if self._process is None:
            return 0.0
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tree_cpu_seconds(self) -> float:
        """User plus system CPU time used so far by the process and its descendants (an
        `antri up`'s app processes), 0 if stopped."""
        return 0.0 if self._process is None else tree_cpu_seconds(self._process.pid)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def tree_cpu_seconds(pid: int) -> float:
    """User plus system CPU time used so far by process `pid` and its descendants (Linux /proc):
    the live ones, and those that ended and were waited for (PostgreSQL's backends of closed
    connections are in the postmaster's children's time)."""
    children: dict[int, list[int]] = {}
    times: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)
        times[child] = sum(int(ticks) for ticks in fields[11:15])  # utime stime cutime cstime
    total, todo = 0, [pid]
    while todo:
        one = todo.pop()
        total += times.get(one, 0)
        todo += children.get(one, [])
    return total / os.sysconf("SC_CLK_TCK")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False
