"""The crowd's shapes, chosen with the locustfile's `--shape` (no Locust import here).

- none (default): Locust's own `-u`, `-r` and `-t` (or the web UI's fields), nothing else.
- release: the crowd of a quota release. Everyone arrives during the pre-queue (`--prequeue`
  seconds before the start; with `--admin-token` the room's `event_starts_at` is set to that
  start, so the room holds them in its pre-queue and draws their order fairly at the start),
  then stays until `-t` (default: the pre-queue and 60 s).
- steady: an ordinary day: `-u` users brought in gently over a fifth of the run and kept,
  until `-t` (default 10 minutes).
- soak: the steady crowd for long, to find what grows (default `-t` 1 hour).
- step: step-to-break: `--step-users` more users every `--step-seconds`, up to `-u` (the
  ceiling), until a step breaks the error budget (`--error-budget` percent of its requests
  failed) or the latency budget (the p99 of its requests over `--p99-budget-ms`); the
  test then stops and says at how many users it broke and why.
"""

from __future__ import annotations

from dataclasses import dataclass

SHAPES = ("none", "release", "steady", "soak", "step")
#: each shape's run time when `-t` is not given (None: until stopped)
DEFAULT_RUN_TIME: dict[str, float | None] = {
    "none": None,
    "steady": 600.0,
    "soak": 3600.0,
    "step": None,
}
#: the release's hold after the start when `-t` is not given
RELEASE_HOLD = 60.0


@dataclass(frozen=True, slots=True)
class Plan:
    """What the chosen shape needs to know: the crowd, its times, the step and the budgets."""

    shape: str = "none"
    users: int = 1
    spawn_rate: float = 1.0
    run_time: float | None = None
    prequeue: float = 30.0
    step_users: int = 10
    step_seconds: float = 30.0
    error_budget_percent: float = 1.0
    p99_budget_ms: float = 1000.0

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"--shape must be one of {', '.join(SHAPES)}, not {self.shape!r}")

    @property
    def duration(self) -> float | None:
        """Seconds until the shape stops the test (None: until stopped)."""
        if self.run_time:
            return self.run_time
        if self.shape == "release":
            return self.prequeue + RELEASE_HOLD
        return DEFAULT_RUN_TIME[self.shape]

    def target(self, elapsed: float) -> tuple[int, float] | None:
        """The user count and spawn rate `elapsed` seconds in; None when the test is over
        (step-to-break's stop on a broken budget is the judge's: see Breaking)."""
        if (end := self.duration) is not None and elapsed >= end:
            return None
        if self.shape == "release":
            return self.users, max(self.users / max(self.prequeue, 1.0), 0.1)
        if self.shape in ("steady", "soak"):
            ramp = max((end or 600.0) / 5, 1.0)
            return self.users, max(self.users / ramp, 0.1)
        if self.shape == "step":
            step = int(elapsed // self.step_seconds) + 1
            ceiling = max(self.users, self.step_users)
            users = min(step * self.step_users, ceiling)
            return users, max(self.step_users / 2.0, 1.0)  # each step in about 2 s
        return self.users, self.spawn_rate


@dataclass(slots=True)
class Breaking:
    """Step-to-break's judge: each step's requests, failures and p99, against the budgets."""

    plan: Plan
    step: int = 0  #: the step being measured (0: the first)
    requests_before: int = 0
    failures_before: int = 0
    held: int = 0  #: the most users a finished step held within budget
    verdict: str | None = None  #: once broken (or finished): what happened, in a sentence

    def due(self, elapsed: float) -> bool:
        """Whether a step has ended since the last judgement."""
        return self.verdict is None and int(elapsed // self.plan.step_seconds) != self.step

    def observe(
        self, elapsed: float, users: int, requests: int, failures: int, p99_ms: float | None
    ) -> str | None:
        """Judge the step that just ended, given the run's totals so far and the step's own
        p99. Returns the verdict once a budget is broken, else None."""
        step = int(elapsed // self.plan.step_seconds)
        if step == self.step or self.verdict is not None:
            return self.verdict
        done = requests - self.requests_before
        failed = failures - self.failures_before
        self.step, self.requests_before, self.failures_before = step, requests, failures
        share = 100.0 * failed / done if done else 0.0
        reasons = []
        if share > self.plan.error_budget_percent:
            reasons.append(
                f"{share:.1f}% of its {done} requests failed "
                f"(budget {self.plan.error_budget_percent:g}%)"
            )
        if p99_ms is not None and p99_ms > self.plan.p99_budget_ms:
            reasons.append(f"p99 {p99_ms:.0f} ms (budget {self.plan.p99_budget_ms:g} ms)")
        if reasons:
            self.verdict = (
                f"step-to-break: broke at {users} users: {' and '.join(reasons)}; "
                f"the last step within budget held {self.held} users"
            )
        else:
            self.held = users
        return self.verdict

    def final(self) -> str:
        """The sentence for the end of the run."""
        if self.verdict is not None:
            return self.verdict
        return f"step-to-break: not broken; held {self.held} users within budget"
