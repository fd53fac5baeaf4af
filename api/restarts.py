"""A child of `antri up` that is started again whenever it exits (the RQ workers): the
confirmation e-mails of paid bookings must not wait for someone to restart a worker by hand.

The restarts back off (1 s, doubling up to 30 s) so that a worker that cannot start does not
spin, and the wait is back to 1 s once a worker has run for a minute. Each exit is one line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

from . import children

FIRST_DELAY_SECONDS = 1.0
LAST_DELAY_SECONDS = 30.0
#: a child that ran this long was healthy: its next restart waits the first delay again
HEALTHY_SECONDS = 60.0


class Supervised:
    """One child process, restarted with backoff when it exits, until `stop()`."""

    def __init__(self, kind: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self.kind = kind
        self._argv = list(argv)
        self._env = dict(env)
        self._delay = FIRST_DELAY_SECONDS
        self._restart_at: float | None = None
        self._stopped = False
        self.process = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        self._started = time.monotonic()
        return children.spawn(self._argv, self._env)

    def check(self) -> None:
        """Called often by the supervisor: note an exit, and restart when its wait is over."""
        if self._stopped:
            return
        now = time.monotonic()
        if self._restart_at is None:
            if self.process.poll() is None:
                return
            # What it forked (its scheduler, a job's horse) goes with it: an orphaned
            # scheduler would keep the scheduler lock from the new worker.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            if now - self._started >= HEALTHY_SECONDS:
                self._delay = FIRST_DELAY_SECONDS
            self._restart_at = now + self._delay
            print(
                f"antri: {self.kind} {self.process.pid} exited (status {self.process.returncode});"
                f" restarting in {self._delay:g} s",
                file=sys.stderr,
                flush=True,
            )
            self._delay = min(self._delay * 2, LAST_DELAY_SECONDS)
        elif now >= self._restart_at:
            self._restart_at = None
            self.process = self._spawn()

    def stop(self, timeout: float) -> None:
        """Stop it for good (SIGTERM, then SIGKILL after `timeout` seconds)."""
        self._stopped = True
        children.stop(self.process, timeout)
