"""The one route table."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from . import health
from .admin import admin_app
from .rooms import RoomViews


def setup_routes(app: web.Application, rooms: RoomViews) -> None:
    """Register every route of the application."""
    r = app.router
    r.add_post("/api/v1/rooms/{room}/join", rooms.join)
    r.add_get("/api/v1/rooms/{room}/status", rooms.status)
    r.add_get("/api/v1/rooms/{room}", rooms.room_state)
    r.add_get("/api/v1/session", rooms.session)
    r.add_post("/api/v1/session/release", rooms.release)
    r.add_get("/", rooms.home_page)
    r.add_get("/antre/{room}", rooms.waiting_page)
    r.add_get("/permohonan", rooms.admitted_page)
    r.add_post("/permohonan/selesai", rooms.leave_page)
    r.add_get("/healthz", health.healthz)
    r.add_get("/readyz", health.readyz)
    r.add_get("/metrics", health.metrics)
    r.add_static("/static/", Path(__file__).parent / "static", append_version=True)
    app.add_subapp("/api/v1/admin/", admin_app())
