"""The audit trail as JSON: for scripts, and as Grafana annotations (docs/operations.md)."""

from __future__ import annotations

from aiohttp import web

from .. import audit
from ..appkeys import BOOKINGS
from ..operator_auth import requires
from ..operators import READ
from ..params import AnnotationsQuery, read_query
from ..web import json_response


@requires(READ)
async def grafana_annotations(request: web.Request) -> web.Response:
    """GET /api/v1/admin/audit/annotations?from=&to=&target=&limit=: the changes in a time range
    as Grafana annotations (time in ms, title, text, tags), newest first."""
    query = read_query(request.query, AnnotationsQuery)
    rows = await audit.recent(
        request.config_dict[BOOKINGS].pool,
        query.limit,
        since=query.moment(query.start),
        until=query.moment(query.end),
        target=query.target or None,
    )
    return json_response([audit.annotation(row) for row in rows])
