"""Whether a process that Redis says is working (a worker, a scheduler) is gone.

RQ keeps a worker's or a scheduler's name, host and pid in Redis until a time-out expires: after
a kill -9 that is a minute (the scheduler's lock) to minutes (a worker and the job it had
started). A process of this host can be looked up at once instead.
"""

from __future__ import annotations

import os
import socket


def gone(hostname: bytes | str | None, pid: bytes | str | int | None) -> bool:
    """True only for a process of this host that no longer runs; a process elsewhere, or one
    recorded without its host or pid, is not known to be gone."""
    if hostname is None or pid is None:
        return False
    host = hostname.decode() if isinstance(hostname, bytes) else hostname
    if host != socket.gethostname():
        return False
    try:
        number = int(pid)
    except ValueError:
        return False
    if number <= 0:
        return False
    try:
        os.kill(number, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # another user's: running
    return False
