"""After admission: the hub of the admitted visitor, and the end of their turn."""

from __future__ import annotations

from aiohttp import web

from ..appkeys import ENGINE
from ..gate import ADMISSION, ADMISSION_COOKIE, gated
from .csrf import checked_form
from .render import page
from .types import Routes


@gated
async def admitted(request: web.Request) -> web.Response:
    """GET /permohonan: where an admitted visitor lands."""
    return page(request, "permohonan.html")


@gated
async def leave(request: web.Request) -> web.Response:
    """POST /permohonan/selesai: end the turn now so that the next person in line comes in."""
    await checked_form(request)
    admission = request[ADMISSION]
    await request.config_dict[ENGINE].room(admission.room).release(admission.token_id)
    response = web.HTTPSeeOther("/akun/permohonan")
    response.del_cookie(ADMISSION_COOKIE)
    raise response


ROUTES: Routes = [
    ("GET", "/permohonan", admitted),
    ("POST", "/permohonan/selesai", leave),
]
