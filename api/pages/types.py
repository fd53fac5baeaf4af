"""The shape of an area's route list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

#: (method, path, handler) of each page an area serves; a handler may be a method of a views
#: class, bound to the app's instance when the routes are set up (api/routes.py, api/bound.py)
Routes = list[tuple[str, str, Callable[..., Awaitable[web.StreamResponse]]]]
