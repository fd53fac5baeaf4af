"""The chaos run's report: one row per fault, the promises checked, Markdown and JSON."""

from __future__ import annotations

import dataclasses
import datetime
import os
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Mail:
    """The bookings paid within a fault's window, and what the worker did for them."""

    paid: int
    mailed_once: int  #: with exactly one confirmation in the outbox
    receipts: int  #: with their receipt written

    @property
    def all_sent(self) -> bool:
        return self.mailed_once == self.paid and self.receipts == self.paid


@dataclass
class FaultResult:
    name: str
    seconds: float
    requests: int
    acknowledged: int
    lost: list[str]
    server_errors: dict[str, int]  #: 5xx by status
    error_codes: dict[str, int]  #: 5xx by "status request error"
    no_answer: int
    failing_seconds: float | None  #: from the injection to the last failed request
    recovery_seconds: float | None
    sessions_lost: int
    mail: Mail
    notes: dict[str, Any] = field(default_factory=dict)
    without_retry_after: int = 0  #: 503s without Retry-After
    error: str = ""
    invariants: dict[str, int] = field(default_factory=dict)

    def broken(self, recovery_limit: float) -> list[str]:
        """The promises this window broke."""
        broken = []
        if self.error:
            broken.append(f"not injected: {self.error}")
        if self.lost:
            broken.append(f"{len(self.lost)} acknowledged writes lost")
        if self.server_errors.get("500"):
            broken.append(f"{self.server_errors['500']} answers 500")
        if self.without_retry_after:
            broken.append(f"{self.without_retry_after} answers 503 without Retry-After")
        if self.recovery_seconds is not None and self.recovery_seconds > recovery_limit:
            broken.append(f"recovered only after {self.recovery_seconds} s")
        if not self.mail.all_sent:
            broken.append(
                f"of {self.mail.paid} paid: {self.mail.mailed_once} mailed once,"
                f" {self.mail.receipts} receipts"
            )
        broken += [f"{name}: {count}" for name, count in self.invariants.items() if count]
        if self.notes.get("scheduler taken over after s", 0) is None:
            broken.append("no worker took the scheduler over")
        return broken


def render(
    results: list[FaultResult], recovery_limit: float, extra: dict[str, Any]
) -> tuple[str, bool, dict[str, Any]]:
    """The Markdown report, whether every promise held, and the JSON summary."""
    broken = {r.name: r.broken(recovery_limit) for r in results}
    passed = not any(broken.values())
    now = datetime.datetime.now().astimezone()
    lines = [
        f"# Antri under injected faults, {now:%Y-%m-%d %H:%M %Z}",
        "",
        f"**Result: {'PASS' if passed else 'FAIL'}**",
        "",
        f"- Load: {extra['clients']} applicants joining the line, logging in, booking, paying at"
        " the sandbox bank and cancelling, each write retried until acknowledged; Redis with"
        " `appendfsync everysec`, `antri up --processes 2` with its supervised worker.",
        f"- Run: {extra.get('run seconds', 0):g} s; the e-mails and receipts were all done"
        f" {extra['mail drained after s']:g} s after the load stopped."
        f" Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end.",
        *(
            [f"- **E-mails or receipts still owed at the end**: {extra['still owed at the end']}"]
            if "still owed at the end" in extra
            else []
        ),
        "- Lost: writes acknowledged to a client (booking 201, payment 200, cancellation 200)"
        " that PostgreSQL does not hold at the end. Recovery: seconds from the repair (the"
        " restart, the resume) to the last failed request (a 5xx or no answer); failing: from"
        " the injection to that last failure. Sessions lost: logins acknowledged, later refused.",
        "",
        "| fault | s | requests | acknowledged | lost | 5xx | no answer | failing s | recovery s |"
        " sessions lost | paid: mailed once / receipts | held |",
        "|---|--:|--:|--:|--:|---|--:|--:|--:|--:|---|---|",
    ]
    for r in results:
        fives = ", ".join(f"{n} x {code}" for code, n in sorted(r.server_errors.items())) or "0"
        recovery = "–" if r.recovery_seconds is None else f"{r.recovery_seconds:g}"
        failing = "–" if r.failing_seconds is None else f"{r.failing_seconds:g}"
        mail = f"{r.mail.paid}: {r.mail.mailed_once} / {r.mail.receipts}"
        held = "yes" if not broken[r.name] else "**no**"
        lines.append(
            f"| {r.name} | {r.seconds:g} | {r.requests} | {r.acknowledged} | {len(r.lost)} |"
            f" {fives} | {r.no_answer} | {failing} | {recovery} | {r.sessions_lost} | {mail} |"
            f" {held} |"
        )
    lines += ["", "## Notes per fault", ""]
    for r in results:
        details = [f"{k}: {v}" for k, v in r.notes.items()]
        details += [f"{n} x {what}" for what, n in sorted(r.error_codes.items())]
        details += broken[r.name]
        if details:
            lines.append(f"- **{r.name}**: " + "; ".join(str(d) for d in details))
    lines += [
        "",
        "## Over the whole run",
        "",
        *(f"- {name}: {count}" for name, count in results[0].invariants.items()),
        "",
    ]
    summary = {
        "passed": passed,
        **extra,
        "faults": [dataclasses.asdict(r) | {"broken": broken[r.name]} for r in results],
    }
    return "\n".join(lines), passed, summary
