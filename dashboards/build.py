"""The Grafana dashboards, written as data: `python -m dashboards.build` rewrites
`grafana/dashboards/*.json` (a test checks that the files are what this makes).

How the queries add up, whether each app process is scraped separately (one series per process)
or one multiprocess endpoint exports one series per room: a room's view and settings and the
shared facts (Redis, RQ, PostgreSQL up, places left) are the same in every process, so they are
taken with `max`; per-process counters are summed (`sum(rate(…))`); per-process amounts (pool
connections) are summed. Error panels end in `or vector(0)`, so that a healthy system shows 0,
not "no data".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "grafana" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
#: the label filters every query carries (Grafana's variables)
ROOM = 'room=~"$room", instance=~"$instance"'
INST = 'instance=~"$instance"'
RATE = "[$__rate_interval]"
BOOKING_ROUTES = "/api/v1/bookings.*|/api/v1/payments/.*|/permohonan/baru.*|/akun/permohonan.*"

Json = dict[str, Any]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  #: timeseries, stat or table
    width: int = 8
    height: int = 8
    #: (value, colour) steps after the base green; drawn as lines on time series
    thresholds: tuple[tuple[float, str], ...] = ()
    mappings: tuple[Json, ...] = ()
    max: float | None = None
    stack: bool = False


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[str, ...] = ("instance",)
    extra: Json = field(default_factory=dict)


def q(expr: str, legend: str) -> Query:
    return Query(expr, legend)


STATE_MAPPINGS: tuple[Json, ...] = (
    {
        "type": "value",
        "options": {
            "0": {"text": "no", "color": "green", "index": 0},
            "1": {"text": "yes", "color": "orange", "index": 1},
        },
    },
)


WAITING_ROOM = Dashboard(
    uid="antri-waiting-room",
    title="Antri — waiting room",
    description="The line, admissions against the configured rate and cap, ETA and no-show, "
    "and the room's state; one series per room whatever the number of app processes.",
    variables=("room", "instance"),
    panels=(
        Panel(
            "Room state",
            "What the operator set (open, paused, closed); sold out when the booking flow "
            "reported no places left.",
            (
                q(f"max by (room, state) (antri_room_state{{{ROOM}}}) == 1", "{{room}}: {{state}}"),
                q(f"max by (room) (antri_room_sold_out{{{ROOM}}})", "{{room}} sold out"),
            ),
            kind="stat",
            width=6,
            height=5,
            mappings=STATE_MAPPINGS,
        ),
        Panel(
            "In line",
            "Tickets waiting for a place (every process sees the same line: max, not sum).",
            (q(f"max by (room) (antri_visitors_waiting{{{ROOM}}})", "{{room}}"),),
            kind="stat",
            width=4,
            height=5,
        ),
        Panel(
            "Active sessions / cap",
            "Admitted sessions now, and the configured cap on them.",
            (
                q(f"max by (room) (antri_sessions_active{{{ROOM}}})", "{{room}} active"),
                q(f"max by (room) (antri_room_max_active{{{ROOM}}})", "{{room}} cap"),
            ),
            kind="stat",
            width=5,
            height=5,
        ),
        Panel(
            "Configured rate",
            "Admissions per minute the operator configured (claimed places, not offers).",
            (q(f"max by (room) (antri_room_rate_per_minute{{{ROOM}}})", "{{room}}"),),
            unit="/min",
            kind="stat",
            width=3,
            height=5,
        ),
        Panel(
            "No-show share",
            "Share of recent offers never claimed.",
            (q(f"max by (room) (antri_no_show_ratio{{{ROOM}}})", "{{room}}"),),
            unit="percentunit",
            kind="stat",
            width=3,
            height=5,
            thresholds=((0.3, "orange"), (0.6, "red")),
        ),
        Panel(
            "ETA of the last in line",
            "Expected wait of the last ticket (the slow end of its range).",
            (q(f"max by (room) (antri_eta_last_visitor_seconds{{{ROOM}}})", "{{room}}"),),
            unit="s",
            kind="stat",
            width=3,
            height=5,
        ),
        Panel(
            "Line",
            "Tickets waiting for a place, and places offered but not yet claimed.",
            (
                q(f"max by (room) (antri_visitors_waiting{{{ROOM}}})", "{{room}} in line"),
                q(
                    f"max by (room) (antri_room_offers_pending{{{ROOM}}})",
                    "{{room}} offers pending",
                ),
            ),
        ),
        Panel(
            "Active sessions vs cap",
            "Live sessions plus pending offers never exceed the cap.",
            (
                q(f"max by (room) (antri_sessions_active{{{ROOM}}})", "{{room}} active"),
                q(f"max by (room) (antri_room_max_active{{{ROOM}}})", "{{room}} cap"),
            ),
        ),
        Panel(
            "Admissions per minute: offered vs claimed vs configured",
            "Offers and claims summed over processes; the configured rate is the setting; the "
            "offer target is the rate / (1 - no-show), what the offer bucket runs at.",
            (
                q(
                    f"sum by (room) (rate(antri_admissions_offered_total{{{ROOM}}}{RATE})) * 60",
                    "{{room}} offered",
                ),
                q(
                    f"sum by (room) (rate(antri_admissions_claimed_total{{{ROOM}}}{RATE})) * 60",
                    "{{room}} claimed",
                ),
                q(f"max by (room) (antri_room_rate_per_minute{{{ROOM}}})", "{{room}} configured"),
                q(
                    f"max by (room) (antri_admission_rate_per_minute{{{ROOM}}})",
                    "{{room}} offer target",
                ),
            ),
            unit="/min",
        ),
        Panel(
            "Joins per second",
            "New tickets, all processes.",
            (q(f"sum by (room) (rate(antri_joins_total{{{ROOM}}}{RATE}))", "{{room}}"),),
            unit="reqps",
        ),
        Panel(
            "ETA of the last in line",
            "Expected wait of the last in line (the slow end of its range).",
            (q(f"max by (room) (antri_eta_last_visitor_seconds{{{ROOM}}})", "{{room}} ETA"),),
            unit="s",
        ),
        Panel(
            "No-show share",
            "Share of offers never claimed within the grace.",
            (q(f"max by (room) (antri_no_show_ratio{{{ROOM}}})", "{{room}}"),),
            unit="percentunit",
            thresholds=((0.6, "red"),),
            max=1,
        ),
        Panel(
            "View age per process",
            "Seconds since each process refreshed its view of the room; past 3 s it answers 503.",
            (
                q(
                    f"time() - min by (room, instance) "
                    f"(antri_room_view_refreshed_timestamp_seconds{{{ROOM}}})",
                    "{{room}} {{instance}}",
                ),
            ),
            unit="s",
            thresholds=((3, "red"),),
        ),
        Panel(
            "Waiting-room 503s",
            "Joins, polls and claims refused because Redis was unavailable (0 when healthy).",
            (
                q(
                    'sum by (route) (rate(antri_http_requests_total{route=~"/api/v1/rooms.*'
                    f'|/antre.*", status="503", {INST}}}{RATE})) or vector(0)',
                    "{{route}}",
                ),
                q(
                    f"sum by (room, operation) (rate(antri_redis_errors_total{{{ROOM}}}{RATE})) "
                    "or vector(0)",
                    "Redis errors {{room}} {{operation}}",
                ),
            ),
            unit="reqps",
            thresholds=((0.1, "red"),),
        ),
        Panel(
            "Status poll latency",
            "p50 and p99 of the status poll, all processes.",
            (
                q(
                    "histogram_quantile(0.5, sum by (le) (rate(antri_http_request_duration_"
                    f'seconds_bucket{{route="/api/v1/rooms/{{room}}/status", {INST}}}{RATE})))',
                    "p50",
                ),
                q(
                    "histogram_quantile(0.99, sum by (le) (rate(antri_http_request_duration_"
                    f'seconds_bucket{{route="/api/v1/rooms/{{room}}/status", {INST}}}{RATE})))',
                    "p99",
                ),
            ),
            unit="s",
            thresholds=((0.2, "red"),),
        ),
    ),
)


def booking_share(status: str) -> str:
    return (
        f'sum(rate(antri_http_requests_total{{route=~"{BOOKING_ROUTES}", status=~"{status}", '
        f'{INST}}}{RATE})) / sum(rate(antri_http_requests_total{{route=~"{BOOKING_ROUTES}", '
        f"{INST}}}{RATE})) or vector(0)"
    )


BOOKING = Dashboard(
    uid="antri-booking",
    title="Antri — booking flow",
    description="Bookings, places left, payments, expiries and refusals; counters summed over "
    "processes, places taken with max.",
    panels=(
        Panel(
            "Bookings per minute",
            "Bookings created, all processes.",
            (
                q(
                    f'sum(rate(antri_bookings_total{{outcome="created", {INST}}}{RATE})) * 60 '
                    "or vector(0)",
                    "created",
                ),
            ),
            unit="/min",
            kind="stat",
            width=6,
            height=5,
        ),
        Panel(
            "Places left",
            "Released, bookable places left, all offices.",
            (q(f"max(antri_places_remaining{{{INST}}})", "places left"),),
            kind="stat",
            width=6,
            height=5,
            thresholds=(),
        ),
        Panel(
            "Payments per minute",
            "Payment callbacks confirmed, all processes.",
            (
                q(
                    f'sum(rate(antri_payments_total{{outcome="confirmed", {INST}}}{RATE})) * 60 '
                    "or vector(0)",
                    "confirmed",
                ),
            ),
            unit="/min",
            kind="stat",
            width=6,
            height=5,
        ),
        Panel(
            "Booking 5xx share",
            "Share of booking and payment requests failing with 5xx (0 when healthy).",
            (q(booking_share("5.."), "5xx share"),),
            unit="percentunit",
            kind="stat",
            width=6,
            height=5,
            thresholds=((0.01, "orange"), (0.05, "red")),
        ),
        Panel(
            "Booking attempts per minute by outcome",
            "Created, replayed (Idempotency-Key) or refused, all processes.",
            (
                q(
                    f"sum by (outcome) (rate(antri_bookings_total{{{INST}}}{RATE})) * 60 "
                    "or vector(0)",
                    "{{outcome}}",
                ),
            ),
            unit="/min",
            width=12,
        ),
        Panel(
            "Refusals per minute by reason",
            "Bookings refused: slot full, NIK already booked, too many applicants, not released.",
            (
                q(
                    'sum by (outcome) (rate(antri_bookings_total{outcome!~"created|replayed", '
                    f"{INST}}}{RATE})) * 60 or vector(0)",
                    "{{outcome}}",
                ),
            ),
            unit="/min",
            width=12,
        ),
        Panel(
            "Places left per office",
            "Released, bookable places by office (the 15 with the fewest).",
            (
                q(
                    f"bottomk(15, max by (office) (antri_office_places_remaining{{{INST}}}))",
                    "{{office}}",
                ),
            ),
            kind="table",
            width=8,
            height=10,
        ),
        Panel(
            "Payments per minute by outcome",
            "Confirmed, replayed, or refused (bad signature, expired code, …).",
            (
                q(
                    f"sum by (outcome) (rate(antri_payments_total{{{INST}}}{RATE})) * 60 "
                    "or vector(0)",
                    "{{outcome}}",
                ),
            ),
            unit="/min",
            height=10,
        ),
        Panel(
            "Expiries per minute, by who did them",
            "Unpaid bookings expired by the app processes' sweepers, by the worker's jobs, "
            "and billing codes found expired by a payment callback.",
            (
                q(
                    f"sum by (by) (rate(antri_bookings_expired_total{{{INST}}}{RATE})) * 60 "
                    "or vector(0)",
                    "app {{by}}",
                ),
                q(
                    f"max by (job) (rate(antri_worker_expired_bookings{{{INST}}}{RATE})) * 60",
                    "worker {{job}}",
                ),
                q(
                    f'sum(rate(antri_payments_total{{outcome="billing_expired", {INST}}}{RATE}))'
                    " * 60 or vector(0)",
                    "payment found it expired",
                ),
            ),
            unit="/min",
            height=10,
        ),
        Panel(
            "Booking latency",
            "p50 and p99 of POST /api/v1/bookings, all processes.",
            (
                q(
                    "histogram_quantile(0.5, sum by (le) (rate(antri_http_request_duration_"
                    f'seconds_bucket{{route="/api/v1/bookings", {INST}}}{RATE})))',
                    "p50",
                ),
                q(
                    "histogram_quantile(0.99, sum by (le) (rate(antri_http_request_duration_"
                    f'seconds_bucket{{route="/api/v1/bookings", {INST}}}{RATE})))',
                    "p99",
                ),
            ),
            unit="s",
            thresholds=((0.5, "red"),),
            width=12,
        ),
        Panel(
            "Booking and payment errors",
            "5xx per second on booking, payment and wizard routes, by route (0 when healthy).",
            (
                q(
                    f'sum by (route) (rate(antri_http_requests_total{{route=~"{BOOKING_ROUTES}", '
                    f'status=~"5..", {INST}}}{RATE})) or vector(0)',
                    "{{route}}",
                ),
            ),
            unit="reqps",
            thresholds=((0.1, "red"),),
            width=12,
        ),
    ),
)


INFRASTRUCTURE = Dashboard(
    uid="antri-infrastructure",
    title="Antri — infrastructure",
    description="App processes, Redis, PostgreSQL and RQ. Shared facts with max, "
    "per-process amounts summed.",
    panels=(
        Panel(
            "App processes up",
            "Scrape targets answering (1) or not (0).",
            (q(f'up{{job="antri", {INST}}}', "{{instance}}"),),
            kind="stat",
            width=6,
            height=5,
            thresholds=(),
            mappings=(
                {
                    "type": "value",
                    "options": {
                        "0": {"text": "down", "color": "red", "index": 0},
                        "1": {"text": "up", "color": "green", "index": 1},
                    },
                },
            ),
        ),
        Panel(
            "Stores and jobs",
            "Redis and PostgreSQL answer; RQ workers alive; the scheduler holds its lock.",
            (
                q(f"min(antri_redis_up{{{INST}}})", "Redis up"),
                q(f"min(antri_database_up{{{INST}}})", "PostgreSQL up"),
                q(f"max(antri_rq_workers{{{INST}}})", "RQ workers"),
                q(f"max(antri_rq_scheduler_up{{{INST}}})", "scheduler up"),
            ),
            kind="stat",
            width=10,
            height=5,
            thresholds=(),
        ),
        Panel(
            "Build",
            "Version and Python of each process.",
            (
                q(
                    f"max by (instance, version, python) (antri_build_info{{{INST}}})",
                    "{{instance}} {{version}} (Python {{python}})",
                ),
            ),
            kind="stat",
            width=8,
            height=5,
        ),
        Panel(
            "CPU per process",
            "Share of one core each app process uses.",
            (
                q(
                    f'rate(process_cpu_seconds_total{{job="antri", {INST}}}{RATE})',
                    "{{instance}} {{pid}}",
                ),
            ),
            unit="percentunit",
            thresholds=((0.9, "red"),),
        ),
        Panel(
            "Memory per process",
            "Resident memory of each app process.",
            (q(f'process_resident_memory_bytes{{job="antri", {INST}}}', "{{instance}} {{pid}}"),),
            unit="bytes",
        ),
        Panel(
            "Requests per second by status",
            "All routes, all processes.",
            (
                q(
                    f"sum by (status) (rate(antri_http_requests_total{{{INST}}}{RATE}))",
                    "{{status}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Redis memory vs maxmemory",
            "With noeviction, a full Redis refuses joins and claims.",
            (
                q(f"max(antri_redis_used_memory_bytes{{{INST}}})", "used"),
                q(f"max(antri_redis_maxmemory_bytes{{{INST}}})", "maxmemory (0: no limit)"),
            ),
            unit="bytes",
        ),
        Panel(
            "Redis clients and refusals",
            "Connected clients; connections refused and commands refused for memory, per "
            "second (0 when healthy).",
            (
                q(f"max(antri_redis_connected_clients{{{INST}}})", "clients"),
                q(
                    f"max(rate(antri_redis_rejected_connections{{{INST}}}{RATE})) or vector(0)",
                    "connections refused/s",
                ),
                q(
                    f"max(rate(antri_redis_oom_rejected_commands{{{INST}}}{RATE})) or vector(0)",
                    "OOM refusals/s",
                ),
            ),
        ),
        Panel(
            "GC collections per second",
            "Python's garbage collector by generation, all processes.",
            (
                q(
                    f'sum by (generation) (rate(python_gc_collections_total{{job="antri", {INST}}}'
                    f"{RATE}))",
                    "generation {{generation}}",
                ),
            ),
        ),
        Panel(
            "PostgreSQL pool",
            "Connections in use and idle, summed over processes, against their maximum.",
            (
                q(
                    f"sum by (state) (antri_database_pool_connections{{{INST}}})",
                    "{{state}}",
                ),
                q(f"sum(antri_database_pool_max_connections{{{INST}}})", "maximum"),
            ),
        ),
        Panel(
            "PostgreSQL errors by operation",
            "Failed PostgreSQL operations per second by route (0 when healthy).",
            (
                q(
                    f"sum by (operation) (rate(antri_database_errors_total{{{INST}}}{RATE})) > 0 "
                    "or vector(0)",
                    "{{operation}}",
                ),
            ),
            unit="reqps",
            thresholds=((0.1, "red"),),
        ),
        Panel(
            "RQ jobs",
            "Queued, running, scheduled and failed jobs.",
            (
                q(f"max(antri_rq_queued_jobs{{{INST}}})", "queued"),
                q(f"max(antri_rq_started_jobs{{{INST}}})", "started"),
                q(f"max(antri_rq_scheduled_jobs{{{INST}}})", "scheduled"),
                q(f"max(antri_rq_failed_jobs{{{INST}}})", "failed"),
            ),
        ),
        Panel(
            "RQ worker and scheduler",
            "How long the queue's oldest job has waited (a dead worker lets it grow), how late "
            "the most overdue scheduled job is (a dead scheduler lets it grow), and the "
            "freshest heartbeat (an idle worker beats every few minutes).",
            (
                q(f"max(antri_rq_oldest_queued_seconds{{{INST}}})", "oldest queued job"),
                q(
                    f"min(antri_rq_worker_heartbeat_age_seconds{{{INST}}}) or vector(0)",
                    "heartbeat age",
                ),
                q(f"max(antri_rq_scheduled_overdue_seconds{{{INST}}})", "most overdue job"),
            ),
            unit="s",
            thresholds=((120, "red"),),
        ),
    ),
)

DASHBOARDS = (WAITING_ROOM, BOOKING, INFRASTRUCTURE)


def _variable(name: str) -> Json:
    metric = {"room": "antri_room_rate_per_minute", "instance": 'up{job="antri"}'}[name]
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": f"label_values({metric}, {name})", "refId": f"{name}-values"},
        "definition": f"label_values({metric}, {name})",
        "refresh": 2,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def _panel(panel: Panel, number: int, x: int, y: int) -> Json:
    steps: list[Json] = [{"color": "green", "value": None}]
    steps += [{"color": colour, "value": value} for value, colour in panel.thresholds]
    defaults: Json = {
        "unit": panel.unit,
        "min": 0,
        "thresholds": {"mode": "absolute", "steps": steps},
        "mappings": list(panel.mappings),
        "color": {"mode": "palette-classic" if panel.kind == "timeseries" else "thresholds"},
    }
    if panel.max is not None:
        defaults["max"] = panel.max
    options: Json
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 2,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": True,
            "stacking": {"mode": "normal" if panel.stack else "none"},
            "thresholdsStyle": {"mode": "line" if panel.thresholds else "off"},
        }
        options = {
            "legend": {
                "showLegend": True,
                "displayMode": "table",
                "placement": "bottom",
                "calcs": ["lastNotNull", "max"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    elif panel.kind == "stat":
        options = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "value_and_name",
            "colorMode": "value",
            "graphMode": "none",
            "orientation": "auto",
            "justifyMode": "auto",
        }
    else:
        options = {"showHeader": True, "sortBy": [{"displayName": "Value", "desc": False}]}
    targets: list[Json] = [
        {
            "refId": chr(ord("A") + i),
            "datasource": DATASOURCE,
            "expr": query.expr,
            "legendFormat": query.legend,
            "range": panel.kind == "timeseries",
            "instant": panel.kind != "timeseries",
        }
        for i, query in enumerate(panel.queries)
    ]
    out: Json = {
        "id": number,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "targets": targets,
    }
    if panel.kind == "table":
        out["transformations"] = [
            {"id": "reduce", "options": {"reducers": ["lastNotNull"], "mode": "seriesToRows"}}
        ]
    return out


#: Every change made through the operations console, the operator's API or the release
#: scheduler, as a marker on every panel (the audit trail's counts, read at scrape time; the
#: details are at /konsol/audit and /api/v1/admin/audit/annotations).
OPERATOR_CHANGES: Json = {
    "name": "Operator changes",
    "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
    "enable": True,
    "iconColor": "purple",
    "expr": "sum by (action) (increase(antri_audit_changes[1m])) > 0",
    "step": "30s",
    "titleFormat": "{{action}}",
    "textFormat": "{{action}}: see /konsol/audit",
    "useValueForTime": False,
}


def render(dashboard: Dashboard) -> Json:
    """The dashboard as Grafana's JSON model, importable through the UI (its datasource is
    the `DS_PROMETHEUS` input) and by provisioning (the same name is a datasource variable)."""
    panels, x, y, row_height = [], 0, 0, 0
    for number, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel(panel, number, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    datasource_variable: Json = {
        "name": "DS_PROMETHEUS",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
    }
    return {
        "__inputs": [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "description": "The Prometheus that scrapes Antri",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "table", "name": "Table", "version": ""},
        ],
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["antri"],
        "editable": True,
        "schemaVersion": 39,
        "version": 3,
        "refresh": "10s",
        "time": {"from": "now-30m", "to": "now"},
        "timezone": "",
        "templating": {"list": [datasource_variable, *(_variable(v) for v in dashboard.variables)]},
        "annotations": {"list": [OPERATOR_CHANGES]},
        "links": [
            {
                "title": "Antri dashboards",
                "type": "dashboards",
                "tags": ["antri"],
                "asDropdown": True,
            }
        ],
        "panels": panels,
    }


def text(dashboard: Dashboard) -> str:
    return json.dumps(render(dashboard), indent=2, ensure_ascii=False) + "\n"


def path(dashboard: Dashboard) -> Path:
    return OUT / f"{dashboard.uid}.json"


def main() -> None:
    for dashboard in DASHBOARDS:
        path(dashboard).write_text(text(dashboard))
        print(f"wrote {path(dashboard)}")


if __name__ == "__main__":
    main()
