"""`make screenshots`: the key pages as an applicant sees them, on a phone and on a desktop.

Starts the real app as the tests do (a private Redis, an embedded PostgreSQL migrated and seeded,
the app on loopback), drives Debian's chromium through each page and saves
`docs/screenshots/<page>-phone.png` (390x844) and `<page>-desktop.png`
(1280x900). A page that logs a console error or CSP violation is still saved, then reported, and
the run exits with status 1.

To add a page: write `async def my_page(site: Site, page: Page) -> None` that brings `page` to
the state worth showing (first `await admitted(site, page)` for a page behind the waiting room,
`await site.sign_in(page.context)` for one that needs an account), and add it to PAGES. Each
page function runs once per viewport, in a fresh context. Naming pages on the command line
(`python -m tests.browser.screenshots konsol-ruang`) shoots only those.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page, async_playwright, expect

from api.app import create_app
from api.appkeys import DRAFTS, OPERATORS, RELEASES
from api.database import EmbeddedPostgres, create_pool, migrate
from api.embedded import RedisServer
from api.login import SESSION_COOKIE
from api.services import booking_services

from ..booking_support import OFFICE, applicant, booking_body
from ..conftest import app_settings, test_settings
from ..operator_support import OPERATOR_PASSWORD
from .conftest import DESKTOP, LOCALE, PHONE, ConsoleWatch, Site, launch

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: Device scale 1: sharp enough to read, and a long page stays a few hundred KB in the repo.
VIEWPORTS: dict[str, dict[str, Any]] = {"phone": PHONE, "desktop": DESKTOP}
#: How many people stand ahead in the waiting-room picture, and how fast that room admits.
CROWD_AHEAD = 41
SHOWN_RATE_PER_MINUTE = 10
#: `python -m tests.browser.screenshots NAME…` shoots only those pages
ONLY = frozenset(sys.argv[1:])


# --- The pages ------------------------------------------------------------------------------


async def home(site: Site, page: Page) -> None:
    """The home page: what the service is, what it costs, when places open."""
    await page.goto(site.url("/"))


async def waiting(site: Site, page: Page) -> None:
    """The waiting room with a crowd ahead (in the other room, so the guarded one stays free)."""
    await page.goto(site.waiting_url(site.other_room))
    await expect(page.locator("#waiting-room")).to_have_attribute("data-state", "waiting")


async def application(site: Site, page: Page) -> None:
    """The first page behind the waiting room, once admitted."""
    await admitted(site, page)


async def my_applications(site: Site, page: Page) -> None:
    """A new account's list of applications (empty)."""
    await site.sign_in(page.context)
    await page.goto(site.url("/akun/permohonan"))


async def calendar(site: Site, page: Page) -> None:
    """The wizard's calendar of dates and sessions (earlier steps filled in)."""
    await admitted(site, page)
    account_id = await site.sign_in(page.context)
    draft = {"id": f"shots{account_id}", "office_id": OFFICE, "lane": "reguler",
             "application_kind": "baru", "passport_type": "elektronik", "validity_years": 10,
             "applicant": applicant(), "applicant_checked": True,
             "documents": {kind: {} for kind in ("ktp", "kk", "pendukung")}}  # fmt: skip
    session = next(c["value"] for c in await page.context.cookies() if c["name"] == SESSION_COOKIE)
    await site.client.server.app[DRAFTS].save(session, account_id, draft)
    await page.goto(site.url("/permohonan/baru/jadwal"))


async def billing(site: Site, page: Page) -> None:
    """A new booking's billing page: the code, the amount, the deadline."""
    await page.goto(site.url(f"/akun/permohonan/{await booking(site, page)}"))


async def confirmation(site: Site, page: Page) -> None:
    """A paid booking: the booking code, the QR code and the PDF link."""
    booking_id = await booking(site, page)
    view = await (await page.request.get(site.url(f"/api/v1/bookings/{booking_id}"))).json()
    paid = await page.request.post(
        site.url("/api/v1/payments/sandbox/pay"), data={"billing_code": view["billing_code"]}
    )
    assert paid.ok, await paid.text()
    await page.goto(site.url(f"/akun/permohonan/{booking_id}"))


async def booking(site: Site, page: Page) -> str:
    """A booking made by `page`'s browser through the JSON API (admitted, signed in): its id."""
    await admitted(site, page)
    await site.sign_in(page.context)
    days = await (await page.request.get(site.url(f"/api/v1/offices/{OFFICE}/availability"))).json()
    day = next(d["date"] for d in days["dates"] if d["released"] and d["sessions"])
    made = await page.request.post(site.url("/api/v1/bookings"), data=booking_body(day))
    assert made.status == 201, await made.text()
    booking_id: str = (await made.json())["id"]
    return booking_id


async def console_rooms(site: Site, page: Page) -> None:
    """The operations console's rooms page, as an operator sees it during a release."""
    await console_login(site, page)
    await page.goto(site.url("/konsol/ruang"))


async def console_releases(site: Site, page: Page) -> None:
    """The console's release calendar (from the offices' rules) with the form to add one."""
    await console_login(site, page)
    await page.goto(site.url("/konsol/rilis"))


async def console_login(site: Site, page: Page) -> None:
    """Log `page`'s browser in to the console as an operator (made on first use)."""
    email = "operator@kantor.antri.test"
    operators = site.client.server.app[OPERATORS]
    if await operators.pool.fetchval("SELECT id FROM operators WHERE email = $1", email) is None:
        await operators.create(email, "operator", OPERATOR_PASSWORD, "Operator Rilis")
    await page.goto(site.url("/konsol"))
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(OPERATOR_PASSWORD)
    await page.locator("form.console-login button").click()
    await page.wait_for_url(re.compile(r"/konsol$"))


PAGES: list[tuple[str, Callable[[Site, Page], Awaitable[None]]]] = [
    ("home", home),
    ("waiting", waiting),
    ("permohonan", application),
    ("calendar", calendar),
    ("billing", billing),
    ("confirmation", confirmation),
    ("akun-permohonan", my_applications),
    ("konsol-ruang", console_rooms),
    ("konsol-rilis", console_releases),
]


async def admitted(site: Site, page: Page) -> None:
    """Let `page`'s browser through the guarded waiting room (it admits freely here): it ends on
    /permohonan holding an admission cookie."""
    await page.goto(site.waiting_room)
    await page.wait_for_url(re.compile(r"/permohonan$"))


async def prepare(site: Site) -> None:
    """The state the pictures show: the other room admits slowly and one at a time, with one
    visitor inside and a crowd waiting, so each browser that joins stands behind them."""
    settings = {"max_active": 1, "rate_per_minute": SHOWN_RATE_PER_MINUTE, "burst": 1}
    await site.admin("PATCH", "", settings, site.other_room)
    await site.line_with_one_inside(CROWD_AHEAD, site.other_room)
    # The console shows the week's releases from the offices' rules.
    await site.client.server.app[RELEASES].plan(datetime.now(UTC))


# --- Running the app and the browser --------------------------------------------------------


async def seeded_database(postgres: EmbeddedPostgres, data_dir: Path) -> str:
    """The embedded server's database, migrated, with the offices' slots created."""
    pool = await create_pool(postgres.url, size=2)
    try:
        async with pool.acquire() as connection:
            await migrate(connection)
        settings = test_settings(postgres.url, data_dir)
        await booking_services(pool, settings).slots.sync(datetime.now(UTC))
    finally:
        await pool.close()
    return postgres.url


@contextlib.asynccontextmanager
async def running_site(data_dir: Path) -> AsyncIterator[Site]:
    """The real app on loopback over a private Redis and PostgreSQL under `data_dir`; its rooms
    admit freely (a fast rate, a high cap) unless `prepare` says otherwise."""
    with (
        RedisServer(data_dir / "redis") as redis,
        EmbeddedPostgres(data_dir / "postgres") as postgres,
    ):
        database = await seeded_database(postgres, data_dir)
        settings = app_settings(redis.url, database, data_dir, rate_per_minute=600, burst=50)
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        http = Site.http_session()
        try:
            yield Site(client, http)
        finally:
            await http.close()
            await client.close()


async def shoot(browser: Browser, site: Site, console: ConsoleWatch) -> list[Path]:
    """Every page at every viewport, each in a fresh context."""
    OUT.mkdir(parents=True, exist_ok=True)
    saved = []
    for name, show in PAGES:
        if ONLY and name not in ONLY:
            continue
        for viewport, options in VIEWPORTS.items():
            context = await browser.new_context(**(options | LOCALE))
            context.set_default_timeout(15_000)
            console.watch(context)
            try:
                page = await context.new_page()
                await show(site, page)
                path = OUT / f"{name}-{viewport}.png"
                await page.screenshot(path=str(path), full_page=True)
                saved.append(path)
                print(f"saved {path.relative_to(OUT.parents[1])}")
            finally:
                await context.close()
    return saved


async def main() -> int:
    console = ConsoleWatch()
    with tempfile.TemporaryDirectory(prefix="antri-screenshots-") as scratch:
        async with running_site(Path(scratch)) as site, async_playwright() as playwright:
            await prepare(site)
            browser = await launch(playwright)
            try:
                await shoot(browser, site, console)
            finally:
                await browser.close()
    problems = console.unexpected()
    if problems:
        print("The pages logged errors:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
