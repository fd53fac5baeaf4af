"""Time-outs for the replies a pool's connections wait for, kept by one timer.

A read under `asyncio.timeout` costs a `Timeout` object, two coroutine calls and, on uvloop, a
timer handle made and cancelled per reply: about a sixth of a join's Redis call. Here each read
in flight is one dict entry (its stream and deadline), and one timer, set for the earliest
deadline, looks at them when it fires: a read whose deadline has passed has its stream failed
with `ReadTimedOut` (`StreamReader.set_exception`, public asyncio), which ends the waiting
`read()` at once. No task is cancelled, so a time-out can never be taken for a cancellation
or the other way round. The stream stays failed: the caller must drop the connection, as
redis-py does after any time-out.

Under a steady load the timer fires about once per time-out (not once per reply), finds the
reads it was set for long finished, and is set again for the oldest read in flight.
"""

from __future__ import annotations

import asyncio


class ReadTimedOut(Exception):
    """A read's deadline passed before its reply came."""


class ReadDeadlines:
    """The deadlines of the reads in flight, keyed by their stream."""

    def __init__(self) -> None:
        self._reads: dict[asyncio.StreamReader, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        return len(self._reads)

    def start(self, stream: asyncio.StreamReader, timeout: float) -> None:
        """A read from `stream` begins; it must end within `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._reads[stream] = deadline
        if self._timer is None or deadline < self._timer_at or self._timer_loop is not loop:
            # No timer yet, one set for later than this read (a shorter time-out), or one of an
            # event loop that has ended (tests run one loop each).
            self._arm(loop, deadline)

    def finish(self, stream: asyncio.StreamReader) -> bool:
        """The read from `stream` has ended: False if its deadline had passed first (its stream
        is failed; the connection must be dropped)."""
        return self._reads.pop(stream, None) is not None

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None and self._timer_loop is loop:
            self._timer.cancel()  # (a timer of an ended loop is simply forgotten)
        self._timer = loop.call_at(when, self._expire, loop)
        self._timer_at = when
        self._timer_loop = loop

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        earliest: float | None = None
        for stream, deadline in list(self._reads.items()):
            if deadline <= now:
                del self._reads[stream]
                stream.set_exception(ReadTimedOut())
            elif earliest is None or deadline < earliest:
                earliest = deadline
        if earliest is not None:
            self._arm(loop, earliest)
