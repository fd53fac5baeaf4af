"""Prometheus metrics that stay right when `antri up --processes N` runs N app processes.

prometheus-client's multiprocess mode: each process writes its samples to memory-mapped files
in PROMETHEUS_MULTIPROC_DIR (set by `antri up` in the app processes' environment before they
import prometheus_client, a private folder under the data dir, emptied at each start), and
/metrics, answered by any one process, reads all of them: counters and histograms are summed
over the processes, each gauge is combined by its `multiprocess_mode` (a room's view, the same
in every process, as the most recent value; a per-process count as the sum over live ones).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import CollectorRegistry, multiprocess

#: the variable prometheus-client reads, once, when it is imported
DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare_directory(data_dir: Path) -> Path:
    """The metrics folder of this start under `data_dir`, emptied: files left by a previous
    run would be counted again."""
    directory = data_dir / "prometheus"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def scrape_registry(own: CollectorRegistry) -> CollectorRegistry:
    """What /metrics serves: every process's samples in multiprocess mode, else `own`."""
    directory = os.environ.get(DIRECTORY_VARIABLE)
    if not directory:
        return own
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def process_exited(directory: Path, pid: int) -> None:
    """Forget the live-only gauges of an app process that has exited."""
    multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
