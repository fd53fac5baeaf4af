"""The backend's CPU while a crowd runs, read from /proc once a second: every process of
`antri up`'s session (the app processes, the workers, the embedded Redis; each in a process
group of its own) and the embedded PostgreSQL (its postmaster starts a session of its own: it
and its children are found from its pid file)."""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from pathlib import Path

#: which part of the backend a process is, by its command name
PARTS = {"postgres": "PostgreSQL", "redis-server": "Redis"}
OTHER = "Antri (app, workers)"
_TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(session: int, postmaster: int | None) -> dict[str, float]:
    """CPU seconds used so far by the live processes of `session` and by the postmaster
    `postmaster` and its children, by part."""
    used: dict[str, float] = defaultdict(float)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        pid, ppid, sid = int(entry.name), int(fields[1]), int(fields[3])
        if sid != session and postmaster not in (pid, ppid):
            continue
        part = next((name for key, name in PARTS.items() if comm.startswith(key)), OTHER)
        used[part] += (int(fields[11]) + int(fields[12])) / _TICKS
    return dict(used)


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of the embedded PostgreSQL under Antri's data dir, if it runs."""
    try:
        return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class CpuSampler:
    """Samples the backend's CPU once a second in a thread: (epoch, cores busy by part)."""

    def __init__(self, session: int, postmaster: int | None, interval: float = 1.0) -> None:
        self.session = session
        self.postmaster = postmaster
        self.interval = interval
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        before, then = backend_cpu(self.session, self.postmaster), time.time()
        while not self._stop.wait(self.interval):
            now_used, now = backend_cpu(self.session, self.postmaster), time.time()
            # A process that exited takes its seconds with it: never below zero.
            busy = {
                part: max(now_used.get(part, 0.0) - before.get(part, 0.0), 0.0) / (now - then)
                for part in {*now_used, *before}
            }
            self.samples.append((now, busy))
            before, then = now_used, now
