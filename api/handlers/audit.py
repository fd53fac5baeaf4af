"""The audit trail as JSON: for scripts, and as Grafana annotations (docs/operations.md)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from aiohttp import web

from .. import audit
from ..operator_auth import requires
from ..operators import READ
from ..params import AnnotationsQuery, read_query
from ..web import json_response


@dataclass(frozen=True, slots=True)
class AuditViews:
    """The audit trail's JSON: bound to the database."""

    pool: asyncpg.Pool

    @requires(READ)
    async def grafana_annotations(self, request: web.Request) -> web.Response:
        """GET /api/v1/admin/audit/annotations?from=&to=&target=&limit=: the changes in a time range
        as Grafana annotations (time in ms, title, text, tags), newest first."""
        query = read_query(request.query, AnnotationsQuery)
        rows = await audit.recent(
            self.pool,
            query.limit,
            since=query.moment(query.start),
            until=query.moment(query.end),
            target=query.target or None,
        )
        return json_response([audit.annotation(row) for row in rows])
