"""The shape of an area's route list."""

from __future__ import annotations

from ..web import Handler

#: (method, path, handler) of each page an area serves
Routes = list[tuple[str, str, Handler]]
