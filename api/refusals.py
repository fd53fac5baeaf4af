"""A log line for bursts of 503s: after a Redis restart every poll may be refused for a few
seconds, and one line per refusal would flood the log while none at all hides the outage."""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime

log = logging.getLogger("api.unavailable")


class UnavailableLog:
    """Logs the first refusal of a burst at once, then how many followed, at most once every
    `every` seconds while they go on (a burst's tail is logged at the next refusal)."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._since: float | None = None  #: monotonic start of the counting window; None: quiet
        self._since_wall = 0.0
        self._routes: Counter[str] = Counter()
        self._causes: Counter[str] = Counter()

    def refused(self, route: str, cause: BaseException) -> None:
        """A request to `route` was answered 503 because of `cause`."""
        now = time.monotonic()
        if self._since is not None and now - self._since >= self.every:
            self._flush(now)
        if self._since is None:
            log.warning(
                "503 on %s: %s (%s); counting the refusals that follow",
                route,
                type(cause).__name__,
                cause,
            )
            self._begin(now)
            return
        self._routes[route] += 1
        self._causes[type(cause).__name__] += 1

    def _begin(self, now: float) -> None:
        self._since, self._since_wall = now, time.time()

    def _flush(self, now: float) -> None:
        if not self._routes:  # nothing followed the first: the burst is over
            self._since = None
            return
        log.warning(
            "503: %d more requests refused as unavailable since %s (routes: %s; causes: %s)",
            self._routes.total(),
            datetime.fromtimestamp(self._since_wall).strftime("%H:%M:%S"),
            ", ".join(f"{r} {n}" for r, n in self._routes.most_common(5)),
            ", ".join(f"{c} {n}" for c, n in self._causes.most_common(3)),
        )
        self._routes.clear()
        self._causes.clear()
        self._begin(now)
