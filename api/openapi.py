"""The OpenAPI 3 document of Antri's JSON API (placeholder until the full document lands)."""

from __future__ import annotations

from aiohttp import web

from .web import json_response


async def document(request: web.Request) -> web.Response:
    """GET /api/openapi.json."""
    return json_response(
        {"openapi": "3.1.0", "info": {"title": "Antri", "version": "1"}, "paths": {}}
    )
