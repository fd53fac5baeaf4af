"""Audited changes to a room: each change an operator (or the scheduler) makes to a room's
settings goes to Redis, then into the audit trail with the values it replaced.

The previous values come from the same atomic Redis step as the change (configure.lua), so the
same change sent many times at once is recorded once: only the call that really changed
something writes a row. A room lives in Redis, not PostgreSQL, so the row is written right after
the change and cannot share its transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg

from queue_engine.changes import PUBLIC_NAMES, parse_changes
from queue_engine.room import Room

from . import audit
from .audit import Actor
from .booking.calendar import iso_utc

log = logging.getLogger(__name__)


def _shown(field: str, value: str) -> Any:
    """A Redis field's value as an operator edits it (minutes, ISO instants, numbers)."""
    if value == "":
        return None
    if field == "session_seconds":
        return int(value) / 60
    if field == "event_starts_at":
        return iso_utc(datetime.fromtimestamp(int(value) / 1000, UTC))
    return int(value) if value.lstrip("-").isdigit() else value


async def configure(
    pool: asyncpg.Pool,
    room: Room,
    raw: Mapping[str, object],
    actor: Actor,
    reason: str | None,
    action: str = "room.configure",
) -> dict[str, Any]:
    """Validate `raw` (InvalidChanges names each refused field), apply it, and record what
    changed. Returns {name: [before, after]} of the fields that really changed."""
    changes = parse_changes(raw)
    previous, number = await room.configure(changes.fields, new_cohort=changes.new_cohort)
    changed: dict[str, Any] = {}
    for field, value in changes.fields.items():
        before, after = _shown(field, previous.get(field, "")), _shown(field, value)
        if before != after:
            changed[PUBLIC_NAMES.get(field, field)] = [before, after]
    if changed:
        await record(
            pool,
            actor,
            action,
            room,
            {name: pair[0] for name, pair in changed.items()},
            {name: pair[1] for name, pair in changed.items()},
            reason,
            number,
        )
    return changed


async def record(
    pool: asyncpg.Pool,
    actor: Actor,
    action: str,
    room: Room,
    before: Any,
    after: Any,
    reason: str | None,
    number: int | None = None,
) -> None:
    """One audit row about `room`, written after its change in Redis (logged if it fails: the
    change itself stands); `number`: the room's change number, if the change has one."""
    try:
        target = f"room:{room.name}"
        await audit.record(pool, actor, action, target, before, after, reason, number)
    except (OSError, asyncpg.PostgresError):
        log.exception("room %s: %s by %s was made but not audited", room.name, action, actor.name)
        raise
