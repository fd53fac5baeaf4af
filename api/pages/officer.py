"""(being written)"""

from __future__ import annotations

from .types import Routes

ROUTES: Routes = []
