"""The application's shared objects, under typed keys (no module-level singletons)."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment
from prometheus_client import CollectorRegistry

from queue_engine.engine import Engine

from .settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
REGISTRY = web.AppKey("registry", CollectorRegistry)
TEMPLATES = web.AppKey("templates", Environment)
