"""The crowd's shapes: none follows -u/-r/-t; step-to-break stops at the first step over a
budget and names the point (pure functions: no Locust, no server)."""

from __future__ import annotations

import pytest

from loadtests.shapes import Breaking, Plan


def test_none_is_locusts_own_users_rate_and_time() -> None:
    plan = Plan(users=200, spawn_rate=20, run_time=60)
    assert plan.target(0) == (200, 20)
    assert plan.target(59.9) == (200, 20)
    assert plan.target(60) is None
    assert Plan(users=5).target(10_000) == (5, 1.0)  # no -t: until stopped


def test_release_steady_and_soak_have_their_own_default_times() -> None:
    release = Plan(shape="release", users=300, prequeue=30)
    assert release.duration == 90 and release.target(0) == (300, 10)
    assert Plan(shape="steady", users=100).duration == 600
    assert Plan(shape="soak", users=100).duration == 3600
    assert Plan(shape="soak", users=100, run_time=120).target(120) is None
    with pytest.raises(ValueError):
        Plan(shape="flash")


def test_step_to_break_reports_the_breaking_point() -> None:
    plan = Plan(shape="step", users=100, step_users=10, step_seconds=30, p99_budget_ms=500)
    assert plan.target(0)[0] == 10 and plan.target(31)[0] == 20
    assert plan.target(10_000)[0] == 100  # -u is the ceiling
    judge = Breaking(plan)
    # step 1 (10 users): 1000 requests, 2 failures, p99 100 ms: within budget
    assert judge.observe(15, 10, 500, 1, 100) is None
    assert judge.observe(30, 10, 1000, 2, 100) is None
    # step 2 (20 users): p99 over budget
    verdict = judge.observe(60, 20, 2000, 4, 800)
    assert verdict is not None and "broke at 20 users" in verdict and "held 10 users" in verdict
    assert "p99 800 ms" in verdict
    errors = Breaking(plan)
    errors.observe(30, 10, 100, 50, 10)  # half the first step failed
    assert "50.0% of its 100 requests failed" in errors.final()
    assert "not broken" in Breaking(plan).final()
