"""The language switch: a cookie, then back to the page the visitor was on."""

from __future__ import annotations

from aiohttp import web

from ..errors import ApiError
from .guards import local_path
from .i18n import LANG_COOKIE, LANGUAGES
from .render import set_cookie
from .types import Routes

LANG_SECONDS = 365 * 86_400


async def switch_language(request: web.Request) -> web.StreamResponse:
    """GET /bahasa/{lang}?kembali=/path: remember the choice and go back."""
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        raise ApiError(404, "not_found", "Bahasa itu tidak tersedia.")
    response = web.HTTPSeeOther(local_path(request.query.get("kembali")))
    set_cookie(response, request, LANG_COOKIE, lang, LANG_SECONDS)
    raise response


ROUTES: Routes = [("GET", "/bahasa/{lang}", switch_language)]
