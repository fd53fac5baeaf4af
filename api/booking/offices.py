"""Immigration offices (Kantor Imigrasi): sessions, quotas and weekly release schedules."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import Any


class Lane(StrEnum):
    """A booking lane; each has its own quota per session."""

    #: The ordinary lane, done in about four working days.
    REGULER = "reguler"
    #: Same-day issue for a surcharge.
    PERCEPATAN = "percepatan"
    #: Priority lane (elderly, disabled, pregnant, small children); costs as reguler.
    PRIORITAS = "prioritas"


LANES: tuple[str, ...] = tuple(lane.value for lane in Lane)

#: The zone label Indonesians use for each IANA zone an office may be in.
ZONE_LABELS: Mapping[str, str] = MappingProxyType(
    {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
)

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class SessionTemplate:
    """A daily appointment session, in office-local time."""

    id: str
    start: time
    end: time


DEFAULT_SESSIONS = (
    SessionTemplate("s1", time(8, 0), time(10, 0)),
    SessionTemplate("s2", time(10, 0), time(12, 0)),
    SessionTemplate("s3", time(13, 0), time(15, 0)),
)


@dataclass(frozen=True)
class ReleaseSchedule:
    """The weekly instant (office-local) at which the next `horizon_days` of dates open."""

    weekday: int  # 0 = Monday
    at: time
    horizon_days: int


@dataclass(frozen=True)
class Office:
    """One immigration office and its booking rules."""

    id: str
    name: str
    city: str
    province: str
    timezone: str
    sessions: tuple[SessionTemplate, ...]
    # Excluded from hashing so an Office can still be a dict key or set member.
    capacity: Mapping[str, int] = field(hash=False)
    release: ReleaseSchedule
    closed_weekdays: frozenset[int] = frozenset({5, 6})

    @property
    def zone_label(self) -> str:
        """The zone label Indonesians use: WIB, WITA or WIT."""
        return ZONE_LABELS[self.timezone]

    def session(self, session_id: str) -> SessionTemplate | None:
        """The session with this id, or None."""
        for template in self.sessions:
            if template.id == session_id:
                return template
        return None

    def public_json(self) -> dict[str, Any]:
        """What the public API shows about the office."""
        return {
            "id": self.id,
            "name": self.name,
            "city": self.city,
            "province": self.province,
            "timezone": self.zone_label,
            "tz": self.timezone,
            "sessions": [
                {"id": s.id, "start": s.start.strftime("%H:%M"), "end": s.end.strftime("%H:%M")}
                for s in self.sessions
            ],
        }


def _time(value: Any, where: str) -> time:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected 'HH:MM', got {value!r}")
    return time.fromisoformat(value)


def _sessions(raw: Any, where: str) -> tuple[SessionTemplate, ...]:
    sessions = tuple(
        SessionTemplate(str(item["id"]), _time(item["start"], where), _time(item["end"], where))
        for item in raw
    )
    if not sessions:
        raise ValueError(f"{where}: no sessions")
    if len({s.id for s in sessions}) != len(sessions):
        raise ValueError(f"{where}: duplicate session ids")
    if any(s.start >= s.end for s in sessions):
        raise ValueError(f"{where}: a session ends before it starts")
    return sessions


def _capacity(raw: Any, where: str) -> Mapping[str, int]:
    if set(raw) != set(LANES):
        raise ValueError(f"{where}: capacity must name exactly the lanes {LANES}")
    values = {lane: raw[lane] for lane in LANES}
    if any(type(n) is not int or n < 0 for n in values.values()):
        raise ValueError(f"{where}: capacities must be non-negative integers")
    return MappingProxyType(values)


def _release(raw: Any, where: str) -> ReleaseSchedule:
    schedule = ReleaseSchedule(
        weekday=int(raw["weekday"]),
        at=_time(raw["at"], where),
        horizon_days=int(raw["horizon_days"]),
    )
    if not 0 <= schedule.weekday <= 6 or schedule.horizon_days < 1:
        raise ValueError(f"{where}: bad release schedule {raw!r}")
    return schedule


def _office(raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> Office:
    merged = {**defaults, **raw}
    where = f"office {merged.get('id')!r}"
    if not isinstance(merged.get("id"), str) or not _SLUG.fullmatch(merged["id"]):
        raise ValueError(f"{where}: id must be a lowercase slug")
    if merged.get("timezone") not in ZONE_LABELS:
        raise ValueError(f"{where}: unknown timezone {merged.get('timezone')!r}")
    closed = frozenset(int(day) for day in merged["closed_weekdays"])
    if not closed <= set(range(7)):
        raise ValueError(f"{where}: closed_weekdays must be 0..6")
    return Office(
        id=merged["id"],
        name=str(merged["name"]),
        city=str(merged["city"]),
        province=str(merged["province"]),
        timezone=merged["timezone"],
        sessions=_sessions(merged["sessions"], where),
        capacity=_capacity(merged["capacity"], where),
        release=_release(merged["release"], where),
        closed_weekdays=closed,
    )


def parse_offices(document: Mapping[str, Any]) -> dict[str, Office]:
    """Offices from a document shaped like data/offices.json, validated, in document order."""
    builtin = {
        "closed_weekdays": [5, 6],
        "sessions": [
            {"id": s.id, "start": s.start.isoformat("minutes"), "end": s.end.isoformat("minutes")}
            for s in DEFAULT_SESSIONS
        ],
    }
    defaults = {**builtin, **document.get("defaults", {})}
    offices: dict[str, Office] = {}
    for raw in document["offices"]:
        office = _office(raw, defaults)
        if office.id in offices:
            raise ValueError(f"duplicate office id {office.id!r}")
        offices[office.id] = office
    return offices


def load_offices() -> dict[str, Office]:
    """The packaged seed offices, validated, in file order."""
    text = resources.files("api.booking").joinpath("data/offices.json").read_text("utf-8")
    return parse_offices(json.loads(text))
