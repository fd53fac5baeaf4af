"""The local mailbox page: e-mails written to the outbox when no SMTP server is configured."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..appkeys import SETTINGS
from ..errors import ApiError
from ..mail import read_outbox
from ..pages.render import page


async def mailbox(request: web.Request) -> web.Response:
    """GET /kotak-surat: the newest e-mails in the outbox (only without SMTP)."""
    settings = request.config_dict[SETTINGS]
    if settings.smtp_url is not None:
        raise ApiError(404, "not_found", "E-mail goes out over SMTP; there is no local mailbox.")
    entries = await asyncio.to_thread(read_outbox, settings.outbox)
    context = {"entries": entries, "outbox": str(settings.outbox)}
    return page(request, "kotak-surat.html", context)
