"""The chaos run's verdict (loadtests/chaos_report.py): which results break a promise."""

from __future__ import annotations

import dataclasses

from loadtests.chaos_report import FaultResult, Mail, render


def _result(**changes: object) -> FaultResult:
    held = FaultResult(
        name="Redis kill -9",
        seconds=12.0,
        requests=1000,
        acknowledged=300,
        lost=[],
        server_errors={"503": 40},
        error_codes={"503 book unavailable": 40},
        no_answer=0,
        failing_seconds=4.0,
        recovery_seconds=0.0,
        sessions_lost=0,
        mail=Mail(paid=90, mailed_once=90, receipts=90),
        invariants={"slots over capacity": 0},
    )
    return dataclasses.replace(held, **changes)  # type: ignore[arg-type]


EXTRA = {"clients": 50, "mail drained after s": 100.0, "run seconds": 300.0}


def test_503s_with_retry_after_and_nothing_lost_hold() -> None:
    report, passed, summary = render([_result()], 10.0, EXTRA)
    assert passed and summary["passed"]
    assert "**Result: PASS**" in report
    assert "| Redis kill -9 |" in report


def test_each_broken_promise_fails_the_run() -> None:
    broken = [
        _result(lost=["booking 1"]),
        _result(server_errors={"500": 1}),
        _result(without_retry_after=2),
        _result(recovery_seconds=11.0),
        _result(mail=Mail(paid=90, mailed_once=89, receipts=90)),
        _result(mail=Mail(paid=90, mailed_once=90, receipts=88)),
        _result(invariants={"NIKs with two active bookings": 1}),
        _result(notes={"scheduler taken over after s": None}),
        _result(error="RuntimeError: antri up runs no worker"),
    ]
    for result in broken:
        _, passed, summary = render([result], 10.0, EXTRA)
        assert not passed, result
        assert summary["faults"][0]["broken"], result
