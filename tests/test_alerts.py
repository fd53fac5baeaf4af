"""The alert rules are valid, every alert has unit tests that see it fire (and stay quiet on
the normal days that look like its incident), and every alert has a runbook section."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
DASHBOARDS = ROOT / "dashboards"
RUNBOOKS = ROOT / "docs" / "runbooks.md"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: `make prometheus` installs Debian's prometheus package")
    return found


def alerts() -> list[dict[str, str]]:
    groups = yaml.safe_load((DASHBOARDS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", "alerts.yml"],
        cwd=DASHBOARDS,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", "alerts_test.yml"],
        cwd=DASHBOARDS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_seen_firing_by_a_unit_test() -> None:
    tests = yaml.safe_load((DASHBOARDS / "alerts_test.yml").read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    names = {rule["alert"] for rule in alerts()}
    assert names - fired == set(), "alerts no unit test sees firing"


def test_every_alert_has_a_runbook_section() -> None:
    headings = {
        line[3:].strip().lower()
        for line in RUNBOOKS.read_text().splitlines()
        if line.startswith("## ")
    }
    for rule in alerts():
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert rule["annotations"]["runbook"].startswith("docs/runbooks.md#"), rule["alert"]
        assert anchor in {re.sub(r"[^a-z0-9-]", "", h.replace(" ", "-")) for h in headings}, (
            f"{rule['alert']}: no section '## …' in docs/runbooks.md for #{anchor}"
        )
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
