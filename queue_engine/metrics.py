"""The engine's Prometheus metrics, declared once per registry (no module-level globals)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge

from .settings import RoomState

if TYPE_CHECKING:
    from .room import RoomView

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
        self.limits = RoomLimitMetrics(registry)


class RoomLimitMetrics:
    """What each room is set to, from the view every process refreshes: the same in every
    process, so a dashboard takes `max by (room)` (and multiprocess mode keeps the maximum)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def setting(name: str, doc: str, labels: tuple[str, ...] = ("room",)) -> Gauge:
            return Gauge(
                name,
                doc,
                list(labels),
                namespace=NAMESPACE,
                registry=registry,
                multiprocess_mode="max",
            )

        self.state = setting(
            "room_state",
            "1 for the room's operator state (open, paused, closed).",
            ("room", "state"),
        )
        self.sold_out = setting("room_sold_out", "1 when the booking flow reported nothing left.")
        self.rate_setting = setting(
            "room_rate_per_minute", "Configured admissions per minute (claimed, not offered)."
        )
        self.burst = setting("room_burst", "Configured burst of the admission bucket.")
        self.max_active = setting("room_max_active", "Configured cap on active sessions.")
        self.inventory = setting(
            "room_inventory", "Places left as fed by the booking flow (-1: not known)."
        )
        self.pending = setting("room_offers_pending", "Places offered and not yet claimed.")
        self.event_starts = setting(
            "room_event_start_timestamp_seconds", "When the release starts (0: no start set)."
        )
        #: the oldest view of any process: a process whose refresher stalled shows here
        self.refreshed = Gauge(
            "room_view_refreshed_timestamp_seconds",
            "When this process last refreshed its view of the room (Unix time).",
            ["room"],
            namespace=NAMESPACE,
            registry=registry,
            multiprocess_mode="livemin",
        )

    def observe(self, room: str, view: RoomView) -> None:
        """Export `view`'s settings (called after each refresh, never per request)."""
        for state in RoomState:
            self.state.labels(room, state.value).set(1 if view.state is state else 0)
        self.sold_out.labels(room).set(1 if view.sold_out else 0)
        self.rate_setting.labels(room).set(view.rate_per_minute)
        self.burst.labels(room).set(view.burst)
        self.max_active.labels(room).set(view.max_active)
        self.inventory.labels(room).set(-1 if view.inventory is None else view.inventory)
        self.pending.labels(room).set(view.pending)
        self.event_starts.labels(room).set((view.event_starts_ms or 0) / 1000)
        self.refreshed.labels(room).set(time.time())
