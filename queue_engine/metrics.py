"""The engine's Prometheus metrics, declared once per registry (no module-level globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

NAMESPACE = "antri"


class EngineMetrics:
    """Queue depth, admissions and Redis health, labelled by room."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, doc: str) -> Gauge:
            # Every process reports the same room view: across processes, the latest one.
            return Gauge(
                name,
                doc,
                ["room"],
                namespace=NAMESPACE,
                registry=registry,
                multiprocess_mode="mostrecent",
            )

        def counter(name: str, doc: str, labels: tuple[str, ...] = ("room",)) -> Counter:
            return Counter(name, doc, list(labels), namespace=NAMESPACE, registry=registry)

        self.waiting = gauge("visitors_waiting", "Tickets in line not yet offered a place.")
        self.active = gauge("sessions_active", "Admitted sessions currently live.")
        self.noshow = gauge("no_show_ratio", "Share of recent offers never claimed (0..1).")
        self.rate = gauge(
            "admission_rate_per_minute", "Current offer rate, compensated for no-shows."
        )
        self.eta_last = gauge("eta_last_visitor_seconds", "Expected wait of the last in line.")
        self.joins = counter("joins", "Visitors given a number by this process.")
        self.offered = counter("admissions_offered", "Places offered by this process's ticks.")
        self.claimed = counter("admissions_claimed", "Offers claimed through this process.")
        self.redis_errors = counter(
            "redis_errors", "Redis calls that failed.", ("room", "operation")
        )
