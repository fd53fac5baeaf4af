"""Room settings: defaults for new rooms, and the engine's own timing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: about 1 s of a mid-range phone's browser (measured: BENCHMARKS.md, "Proof of work")
DEFAULT_POW_DIFFICULTY = 18


class RoomState(StrEnum):
    """What an operator has set a room to."""

    OPEN = "open"  #: admitting at the configured rate
    PAUSED = "paused"  #: joins accepted, nobody let in
    CLOSED = "closed"  #: no joins, nobody let in
    #: "queue everyone": joins accepted and told their place, nobody let in (not even a place
    #: offered before) until resumed; unlike PAUSED, visitors are not told of a pause
    QUEUE_ALL = "queue_all"


@dataclass(frozen=True, slots=True)
class RoomSettings:
    """The settings of a room, changeable at run time (see Room.configure)."""

    state: RoomState = RoomState.OPEN
    rate_per_minute: int = 60
    burst: int = 10
    max_active: int = 200
    session_seconds: int = 15 * 60
    #: how long a ticket whose holder stopped polling keeps its place
    keep_place_seconds: int = 5 * 60
    #: how long an offered visitor has to claim before counting as a no-show
    claim_grace_seconds: int = 30
    #: how many seconds of offers the no-show share is measured over
    noshow_window_seconds: int = 60
    #: leading zero bits of a join's proof of work (0: off); see queue_engine/proof.py
    pow_difficulty: int = DEFAULT_POW_DIFFICULTY
    #: joins a minute from one client address, an IPv4 address or an IPv6 /64 (0: off);
    #: generous, because carriers put many phones behind one address
    joins_per_minute_per_client: int = 60
    #: admissions one account may take per room epoch (0: no cap; one at a time always)
    turns_per_account: int = 0

    def as_fields(self) -> dict[str, str]:
        """The settings as Redis hash fields."""
        return {name: str(getattr(self, name)) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine keeps its per-process view of each room fresh."""

    #: seconds between refreshes of each room's counters (one script call per room)
    refresh_interval: float = 0.2
    #: a view older than this is not trusted: the engine fails closed
    stale_after: float = 3.0
    #: poll interval bounds suggested to waiting visitors, in seconds
    poll_floor: float = 2.0
    poll_ceiling: float = 30.0
    #: the line is not offered further while claims are scheduled more than this many seconds
    #: ahead (claims beyond the claim bucket take the next free instant rather than retrying)
    schedule_ahead: float = 5.0
