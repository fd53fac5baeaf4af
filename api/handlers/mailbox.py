"""The local mailbox page: e-mails written to the outbox when no SMTP server is configured.

It shows every verification code, name and booking code mailed, so it is the operator's only:
an officer logged in at the desk (whose cookie is sent only under /petugas, hence the page's
address) or `Authorization: Bearer <admin token>`. Never an anonymous visitor.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ..errors import ApiError
from ..mail import read_outbox
from ..pages.officer import is_admin, is_operator, mailbox_login_page
from ..pages.render import page
from ..pages.types import Routes

MAILBOX_PATH = "/petugas/kotak-surat"


@dataclass(frozen=True, slots=True)
class MailboxPages:
    """The local mailbox: bound to where the outbox is, and whether mail goes out over SMTP."""

    outbox: Path
    smtp: bool

    async def mailbox(self, request: web.Request) -> web.Response:
        """GET /petugas/kotak-surat: the newest e-mails in the outbox (only without SMTP)."""
        if not await is_operator(request):
            return mailbox_login_page(request)
        if self.smtp:
            raise ApiError(
                404, "not_found", "E-mail goes out over SMTP; there is no local mailbox."
            )
        entries = await asyncio.to_thread(read_outbox, self.outbox)
        return page(request, "kotak-surat.html", {"entries": entries, "outbox": str(self.outbox)})

    async def old_address(self, request: web.Request) -> web.Response:
        """GET /kotak-surat: the page itself for the admin token, else on to its address under
        /petugas (where an officer's cookie is sent)."""
        if is_admin(request):
            return await self.mailbox(request)
        raise web.HTTPSeeOther(MAILBOX_PATH)


ROUTES: Routes = [
    ("GET", "/kotak-surat", MailboxPages.old_address),
    ("GET", MAILBOX_PATH, MailboxPages.mailbox),
]
