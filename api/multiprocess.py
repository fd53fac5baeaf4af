"""Prometheus metrics that stay right when `antri up --processes N` runs N app processes.

prometheus-client's multiprocess mode: each process writes its samples to memory-mapped files
in PROMETHEUS_MULTIPROC_DIR (set by `antri up` in the app processes' environment before they
import prometheus_client, a private folder under the data dir, emptied at each start), and
/metrics, answered by any one process, reads all of them: counters and histograms are summed
over the processes, each gauge is combined by its `multiprocess_mode` (a room's view, the same
in every process, as the most recent value; a per-process count as the sum over live ones).
"""

from __future__ import annotations

import gc
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, ProcessCollector, multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

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
    registry.register(AppProcesses(Path(directory)))
    return registry


class AppProcesses(Collector):
    """CPU, memory and file descriptors of each live app process, labelled by its pid.

    prometheus-client's process collector reads only the process it runs in, and multiprocess
    mode has no place for it: /metrics is answered by whichever process the kernel picked, so
    the dashboards would see one random process's CPU. Here the process that answers reads
    every app process's /proc entry (the pids are those that wrote metrics files)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for pid in sorted(self._live_pids()):
            reader = ProcessCollector(pid=_always(pid), registry=None)
            for family in reader.collect():
                merged = families.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                for sample in family.samples:
                    merged.add_sample(sample.name, sample.labels | {"pid": str(pid)}, sample.value)
        yield from families.values()

    def _live_pids(self) -> set[int]:
        pids = set()
        for path in self.directory.glob("*.db"):
            tail = path.stem.rsplit("_", 1)[-1]
            if tail.isdigit() and Path(f"/proc/{tail}").exists():
                pids.add(int(tail))
        return pids


def process_exited(directory: Path, pid: int) -> None:
    """Forget the live-only gauges of an app process that has exited."""
    multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def shared() -> bool:
    """Whether this process writes its metrics where the others' are (several app processes)."""
    return bool(os.environ.get(DIRECTORY_VARIABLE))


class GcCounts:
    """The garbage collector's counts, for the processes together.

    prometheus-client's GC collector reads the process it runs in at scrape time, which
    multiprocess mode cannot combine. Each process instead adds what its collector did since
    its last reading to shared counters (`record`, from the sweeper's tick): the same names,
    summed over the processes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["generation"]
        self.collections = Counter(
            "python_gc_collections", "Collections of each generation.", labels, registry=registry
        )
        self.collected = Counter(
            "python_gc_objects_collected", "Objects collected.", labels, registry=registry
        )
        self.uncollectable = Counter(
            "python_gc_objects_uncollectable", "Objects found uncollectable.", labels,
            registry=registry,
        )  # fmt: skip
        self._seen = [dict.fromkeys(("collections", "collected", "uncollectable"), 0)] * 3

    def record(self) -> None:
        """Add what the collector did since the last call."""
        seen = []
        for generation, (stats, before) in enumerate(zip(gc.get_stats(), self._seen, strict=False)):
            label = str(generation)
            self.collections.labels(label).inc(stats["collections"] - before["collections"])
            self.collected.labels(label).inc(stats["collected"] - before["collected"])
            self.uncollectable.labels(label).inc(stats["uncollectable"] - before["uncollectable"])
            seen.append(dict(stats))
        self._seen = seen


def _always(pid: int) -> Callable[[], int]:
    return lambda: pid
