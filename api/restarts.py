"""A child of `antri up` that is started again whenever it exits (the RQ workers and the app
processes): the confirmation e-mails of paid bookings must not wait for someone to restart a
worker by hand, nor half the capacity for someone to restart an app process.

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
from collections.abc import Callable

from . import children
from .preflight import StartError

FIRST_DELAY_SECONDS = 1.0
LAST_DELAY_SECONDS = 30.0
#: a child that ran this long was healthy: its next restart waits the first delay again
HEALTHY_SECONDS = 60.0


class Supervised:
    """One child process, restarted with backoff when it exits, until `stop()`."""

    def __init__(
        self,
        kind: str,
        start: Callable[[], subprocess.Popen[bytes]],
        process: subprocess.Popen[bytes] | None = None,
        exited: Callable[[int], None] | None = None,
    ) -> None:
        """`start` starts the child (again); `process`: the first one, if already started;
        `exited`: told each dead child's pid."""
        self.kind = kind
        self._start = start
        self._exited = exited
        self._delay = FIRST_DELAY_SECONDS
        self._restart_at: float | None = None
        self._stopped = False
        self._started = time.monotonic()
        self.process = process if process is not None else start()

    def _spawn(self) -> None:
        self._started = time.monotonic()
        self.process = self._start()

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
            if self._exited is not None:
                self._exited(self.process.pid)
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
            try:
                self._spawn()
            except (OSError, StartError) as exc:  # the port taken meanwhile, no memory, …
                self._restart_at = now + self._delay
                print(f"antri: {self.kind} could not be started again ({exc}); retrying in"
                      f" {self._delay:g} s", file=sys.stderr, flush=True)  # fmt: skip
                self._delay = min(self._delay * 2, LAST_DELAY_SECONDS)
            else:
                self._restart_at = None

    @property
    def running(self) -> bool:
        """Whether its child runs now (not dead, nor waiting to be started again)."""
        return self._restart_at is None and self.process.poll() is None

    def stop(self, timeout: float) -> None:
        """Stop it for good (SIGTERM, then SIGKILL after `timeout` seconds)."""
        self._stopped = True
        children.stop(self.process, timeout)
