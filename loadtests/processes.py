"""Child processes in their own process group, so that stopping one stops all it started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


class ProcessGroup:
    """A command started in a new session (its own process group); output goes to `log`."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.env = dict(env)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, cwd: Path | None = None) -> ProcessGroup:
        """Start the command; its stdout and stderr go to the log file."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=cwd,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int | None:
        """The group leader's pid, once started."""
        return self._process.pid if self._process else None

    def returncode(self) -> int | None:
        """The leader's exit status, or None while it runs (or before it started)."""
        return self._process.poll() if self._process else None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the whole group, SIGKILL whatever is left after `grace` s; safe to repeat."""
        process, self._process = self._process, None
        if process is None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
        # The leader may be gone while a child of it (redis-server) still lingers.
        deadline = time.monotonic() + 2.0
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the process's output."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has already exited
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
