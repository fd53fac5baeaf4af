"""Child processes of `antri up`: each in its own process group, so that the terminal's Ctrl-C
reaches `antri up` alone (which then stops them in order), and each told by the kernel to stop
(SIGTERM) if `antri up` dies without stopping them, so that none outlives it."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_PR_SET_PDEATHSIG = 1


def _parent_death_signal() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    # Loaded here, before any fork: the function below runs between fork and exec.
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def die_with_parent() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return die_with_parent


_die_with_parent = _parent_death_signal()


def spawn(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
    **options: Any,
) -> subprocess.Popen[bytes]:
    """Start `argv` as a child of this process that stops with it."""
    return subprocess.Popen(
        list(argv),
        env=env,
        pass_fds=tuple(pass_fds),
        process_group=0,
        preexec_fn=_die_with_parent,
        **options,
    )


def stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, a wait of up to `timeout` seconds, then SIGKILL to whatever is left of its
    process group (what it forked, or itself if it did not stop in time)."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
