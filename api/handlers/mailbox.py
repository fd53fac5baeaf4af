"""The local mailbox page: e-mails written to the outbox when no SMTP server is configured.

It shows every verification code, name and booking code mailed, so it is the operator's only:
an officer logged in at the desk (whose cookie is sent only under /petugas, hence the page's
address) or `Authorization: Bearer <admin token>`. Never an anonymous visitor.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..appkeys import SETTINGS
from ..errors import ApiError
from ..mail import read_outbox
from ..pages.officer import is_admin, is_operator, mailbox_login_page
from ..pages.render import page

MAILBOX_PATH = "/petugas/kotak-surat"


async def mailbox(request: web.Request) -> web.Response:
    """GET /petugas/kotak-surat: the newest e-mails in the outbox (only without SMTP)."""
    if not await is_operator(request):
        return mailbox_login_page(request)
    settings = request.config_dict[SETTINGS]
    if settings.smtp_url is not None:
        raise ApiError(404, "not_found", "E-mail goes out over SMTP; there is no local mailbox.")
    entries = await asyncio.to_thread(read_outbox, settings.outbox)
    context = {"entries": entries, "outbox": str(settings.outbox)}
    return page(request, "kotak-surat.html", context)


async def old_address(request: web.Request) -> web.Response:
    """GET /kotak-surat: the page itself for the admin token, else on to its address under
    /petugas (where an officer's cookie is sent)."""
    if is_admin(request):
        return await mailbox(request)
    raise web.HTTPSeeOther(MAILBOX_PATH)
