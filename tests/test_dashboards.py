"""Dashboards and alerts query only metrics the app really exposes (they cannot drift apart)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .conftest import AppFactory
from .test_http import admitted, rooms

DASHBOARDS = Path(__file__).parent.parent / "dashboards"
METRIC = re.compile(r"\bantri_[a-z_]+\b")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def queried_metrics() -> set[str]:
    texts = [p.read_text() for p in DASHBOARDS.rglob("*") if p.suffix in {".json", ".yml"}]
    return {name for text in texts for name in METRIC.findall(text)}


def family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_dashboard_is_valid_json_with_panels() -> None:
    for path in (DASHBOARDS / "grafana" / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text())
        assert dashboard["panels"], path
        for panel in dashboard["panels"]:
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]


async def test_every_queried_metric_is_exposed(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=6000, burst=10)
    guard, _ = rooms(client)
    await admitted(client, guard)
    exposed = await (await client.get("/metrics")).text()
    families = set(re.findall(r"^# TYPE (\S+) ", exposed, re.MULTILINE))
    names = queried_metrics()
    assert len(names) >= 8
    missing = {n for n in names if family(n) not in families and n not in exposed}
    assert not missing, f"dashboards query metrics the app does not expose: {missing}"
