"""The home page: what the service is, what it costs, when places open."""

from __future__ import annotations

from .types import Routes

ROUTES: Routes = []
