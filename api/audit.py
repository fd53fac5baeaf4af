"""The audit trail: who changed what, when, from what to what, and why.

A change stored in PostgreSQL is recorded in the same transaction as the change itself (pass the
transaction's connection to `record`), so the trail can never claim a change that was rolled
back nor miss one that was made. A change stored in Redis (a room's settings) is recorded right
after Redis took it. Every operator, officer and the release scheduler goes through here.

No web code here; no imports from the rest of the app (the booking domain uses it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change, as the audit trail records it."""

    name: str  #: an operator's e-mail, "admin-token" or "scheduler"
    role: str
    operator_id: int | None = None

    def may(self, permission: frozenset[str]) -> bool:
        """Whether this actor's role has `permission` (see api/operators.py)."""
        return self.role in permission


#: the release scheduler (api/releases.py), when it arms, opens or closes a room by itself
SCHEDULER = Actor("scheduler", "scheduler")

#: the most rows one listing returns
MAX_ROWS = 500


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, default=str).decode()


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    actor: Actor,
    action: str,
    target: str,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    sequence: int | None = None,
) -> None:
    """Write one row of the trail (inside the caller's transaction when given its connection);
    `sequence`: the change's number where its store numbers them (a room's, in Redis)."""
    await conn.execute(
        "INSERT INTO audit_log (actor, actor_role, action, target, before, after, reason,"
        " sequence) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8)",
        actor.name,
        actor.role,
        action,
        target,
        _json(before),
        _json(after),
        reason,
        sequence,
    )


async def recent(
    pool: asyncpg.Pool,
    limit: int = 100,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    target: str | None = None,
    action: str | None = None,
) -> list[dict[str, Any]]:
    """The newest rows first, optionally within [since, until] and for one target or action."""
    rows = await pool.fetch(
        "SELECT id, at, actor, actor_role, action, target, before, after, reason FROM audit_log"
        " WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at <= $2)"
        " AND ($3::text IS NULL OR target = $3) AND ($4::text IS NULL OR action = $4)"
        " ORDER BY at DESC, sequence DESC NULLS LAST, id DESC LIMIT $5",
        since,
        until,
        target,
        action,
        max(1, min(limit, MAX_ROWS)),
    )
    return [
        dict(row)
        | {
            "before": orjson.loads(row["before"]) if row["before"] is not None else None,
            "after": orjson.loads(row["after"]) if row["after"] is not None else None,
        }
        for row in rows
    ]


def annotation(row: dict[str, Any]) -> dict[str, Any]:
    """A row as a Grafana annotation (the JSON / Infinity data sources' shape): `time` in ms,
    a title, the text and tags to filter on."""
    reason = f" ({row['reason']})" if row["reason"] else ""
    return {
        "time": int(row["at"].timestamp() * 1000),
        "title": f"{row['action']} {row['target']}",
        "text": f"{row['actor']}: {row['action']} {row['target']}{reason}",
        "tags": ["antri", row["action"], row["target"], row["actor_role"]],
    }
