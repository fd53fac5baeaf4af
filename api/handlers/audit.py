"""The audit trail as JSON: for scripts, and as Grafana annotations (docs/operations.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from .. import audit
from ..appkeys import BOOKINGS
from ..errors import ApiError
from ..operator_auth import requires
from ..operators import READ
from ..web import json_response

#: the last millisecond a datetime holds (9999-12-31T23:59:59.999Z)
LAST_MILLISECOND = 253_402_300_799_999


def _millis(request: web.Request, name: str) -> datetime | None:
    """A query parameter in Unix milliseconds (Grafana's `$__from` / `$__to`), if given."""
    text = request.query.get(name)
    if text is None:
        return None
    try:
        millis = int(text)
    except ValueError:
        millis = -1
    if not 0 <= millis <= LAST_MILLISECOND:
        raise ApiError(
            422, "invalid", f"{name}: Unix milliseconds expected",
            extra={"fields": {name: "must be a time in Unix milliseconds"}},
        )  # fmt: skip
    return datetime.fromtimestamp(millis / 1000, UTC)


@requires(READ)
async def grafana_annotations(request: web.Request) -> web.Response:
    """GET /api/v1/admin/audit/annotations?from=&to=&target=&limit=: the changes in a time range
    as Grafana annotations (time in ms, title, text, tags), newest first."""
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        limit = -1
    if not 1 <= limit <= audit.MAX_ROWS:
        raise ApiError(
            422, "invalid", "limit", extra={"fields": {"limit": f"1 to {audit.MAX_ROWS}"}}
        )
    rows = await audit.recent(
        request.config_dict[BOOKINGS].pool,
        limit,
        since=_millis(request, "from"),
        until=_millis(request, "to"),
        target=request.query.get("target") or None,
    )
    return json_response([audit.annotation(row) for row in rows])
