"""Browser tests: Debian's chromium driven by Playwright, against the real app on loopback.

One browser for the whole run, in the same asyncio loop as the app under test; a fresh context
(cookies, storage) per test, phone-sized unless a test asks otherwise. Every console error, page
error or CSP violation fails the test: our pages must run clean under their CSP.

Playwright's own browser download does not work here (no network but the package registries), so
the browser is Debian's `chromium` package, which `make test` installs when it is missing.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    WebError,
    async_playwright,
)

from api.appkeys import SETTINGS
from api.joining import PROOF_HEADER
from api.login import SESSION_COOKIE
from queue_engine.proof import solution

from ..booking_support import new_account
from ..conftest import ADMIN_TOKEN, AppFactory

#: Flags for a headless chromium on a machine without a GPU, a sandbox (we run as root) or any
#: network but loopback: without the background-networking ones chromium keeps trying Google.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 1,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1}
#: Applicants are in Indonesia: their browser says so (the site's language is our own cookie).
LOCALE: dict[str, Any] = {"locale": "id-ID", "timezone_id": "Asia/Jakarta"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def chromium_path() -> str:
    """Debian's chromium, or a failure that says how to get it (never a silent skip)."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.fail(
            "Debian's chromium is not installed, so the browser tests cannot run. "
            "`make test` installs it (apt-get install chromium); or run "
            "`apt-get update && apt-get install -y chromium` yourself.",
            pytrace=False,
        )
    return found


async def launch(playwright: Any) -> Browser:
    """Debian's chromium, headless, with the flags this machine needs."""
    browser: Browser = await playwright.chromium.launch(
        executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
    )
    return browser


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One chromium for the whole run (starting it costs about a second)."""
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        yield browser
        await browser.close()


# --- Console errors and CSP violations ------------------------------------------------------


@dataclass
class ConsoleWatch:
    """What went wrong inside the pages of a test: console errors (CSP violations and failed
    loads are reported there too) and uncaught page errors."""

    problems: list[str] = field(default_factory=list)
    #: The browser asks for /favicon.ico by itself; the site serving none is no page's fault.
    allowed: list[re.Pattern[str]] = field(
        default_factory=lambda: [re.compile(r"\(at \S+/favicon\.ico:\d*\)$")]
    )

    def watch(self, context: BrowserContext) -> None:
        """Collect from every page of `context`, present and future."""
        context.on("console", self._console)
        context.on("weberror", self._page_error)

    def allow(self, pattern: str) -> None:
        """Tolerate problems matching `pattern` (a regex), for a test that causes them on purpose,
        e.g. loading an error page logs "Failed to load resource: … 404"."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        """Problems no `allow` pattern covers."""
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location
            url = where.get("url", "") if where else ""
            line = where.get("lineNumber", "") if where else ""
            self.problems.append(f"console error: {message.text} (at {url}:{line})")

    def _page_error(self, error: WebError) -> None:
        self.problems.append(f"page error: {error.error}")


@pytest.fixture
def console() -> ConsoleWatch:
    """The console problems of this test's pages; checked when the test ends."""
    return ConsoleWatch()


ContextFactory = Callable[..., Awaitable[BrowserContext]]


@pytest.fixture
async def new_context(
    browser: Browser, console: ConsoleWatch, start_site: SiteFactory
) -> AsyncIterator[ContextFactory]:
    """`await new_context(**options)`: a fresh browser context (phone-sized unless `options`
    say otherwise, e.g. `**DESKTOP` or `java_script_enabled=False`), watched for console errors
    and closed when the test ends; then the test fails if any page logged an error.

    It depends on `start_site` so that its contexts close before the app stops: a page still
    polling a stopped server would log errors of its own."""
    contexts: list[BrowserContext] = []

    async def make(**options: Any) -> BrowserContext:
        context = await browser.new_context(**(PHONE | LOCALE | options))
        context.set_default_timeout(10_000)
        console.watch(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        await context.close()
    problems = console.unexpected()
    if problems:
        pytest.fail(
            "the pages logged errors (console, page errors or CSP violations):\n  "
            + "\n  ".join(problems),
            pytrace=False,
        )


@pytest.fixture
async def page(new_context: ContextFactory) -> Page:
    """A page in a fresh phone-sized context."""
    context = await new_context()
    return await context.new_page()


Shot = Callable[[Page, str], Awaitable[Path]]


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shot:
    """`await shot(page, "name")`: a full-page screenshot in var/screenshots/<test>/name.png."""
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "_", request.node.name)

    async def take(page: Page, name: str) -> Path:
        path = folder / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take


# --- The site under test and people in its line, over HTTP ----------------------------------


@dataclass
class Visitor:
    """Someone in line without a browser: their room, ticket and, once admitted, admission."""

    room: str
    ticket: str
    admission: str | None = None


@dataclass
class Site:
    """The running app: addresses, its rooms, people in line driven over HTTP (each with their
    own ticket, no cookies shared) and the operator's API.

    The app serves two rooms: `room` guards the booking pages (admission to it opens
    /permohonan), `other_room` guards nothing (handy for a line that must not move while the
    guarded room admits freely)."""

    client: TestClient
    http: aiohttp.ClientSession

    @property
    def room(self) -> str:
        """The room guarding the booking pages."""
        room: str = self.client.server.app[SETTINGS].guard_room
        return room

    @property
    def other_room(self) -> str:
        """The app's other room, which guards no page."""
        rooms: tuple[str, ...] = self.client.server.app[SETTINGS].rooms
        return next(room for room in rooms if room != self.room)

    def url(self, path: str) -> str:
        """The absolute address of `path` on this site."""
        return str(self.client.make_url(path))

    def waiting_url(self, room: str | None = None) -> str:
        """The address of a room's waiting page (the guarded room's by default)."""
        return self.url(f"/antre/{room or self.room}")

    @property
    def waiting_room(self) -> str:
        """The address of the guarded room's waiting page."""
        return self.waiting_url()

    async def join(self, room: str | None = None) -> Visitor:
        """A new person in line (POST /api/v1/rooms/{room}/join, no ticket held), solving the
        room's proof of work with the reference solver when it asks for one."""
        room = room or self.room
        url = self.url(f"/api/v1/rooms/{room}/join")
        async with self.http.post(url) as response:
            body = await response.json()
        if response.status == 428:
            proof = {PROOF_HEADER: solution(body["challenge"], body["difficulty"])}
            async with self.http.post(url, headers=proof) as response:
                body = await response.json()
        assert response.status == 200, body
        return Visitor(room, body["ticket"])

    async def status(self, visitor: Visitor) -> dict[str, Any]:
        """Where `visitor` stands (a poll, which claims the place once it is offered)."""
        headers = {"X-Antri-Ticket": visitor.ticket}
        url = self.url(f"/api/v1/rooms/{visitor.room}/status")
        async with self.http.get(url, headers=headers) as response:
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json()
        if body.get("admission_token"):
            visitor.admission = body["admission_token"]
        return body

    async def enter(self, visitor: Visitor, timeout: float = 5.0) -> None:
        """Poll until `visitor` is admitted (the place must be offered within `timeout`)."""
        deadline = time.monotonic() + timeout
        while (await self.status(visitor))["state"] != "admitted":
            assert time.monotonic() < deadline, f"not admitted within {timeout} s"
            await asyncio.sleep(0.05)

    async def release(self, visitor: Visitor) -> None:
        """End `visitor`'s session now (POST /api/v1/session/release), freeing the place."""
        assert visitor.admission, "only an admitted visitor can release a place"
        if visitor.room == self.room:
            # An admission works only with the ticket it was claimed with.
            headers = {"Authorization": f"Bearer {visitor.admission}",
                       "X-Antri-Ticket": visitor.ticket}  # fmt: skip
            async with self.http.post(self.url("/api/v1/session/release"), headers=headers) as r:
                assert r.status == 200, await r.text()
        else:  # the session API knows the guarded room only: the operator ends it
            body = {"admission_token": visitor.admission}
            await self.admin("POST", "/revoke", body, visitor.room)

    async def admin(
        self, method: str, path: str, body: dict[str, Any], room: str | None = None
    ) -> dict[str, Any]:
        """The operator's API on a room (the guarded one by default): `path` comes after
        /api/v1/admin/rooms/{room}, e.g. "" to PATCH settings or "/inventory"."""
        url = self.url(f"/api/v1/admin/rooms/{room or self.room}{path}")
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with self.http.request(method, url, json=body, headers=headers) as response:
            assert response.status == 200, await response.text()
            result: dict[str, Any] = await response.json()
        return result

    async def sell_out(self, room: str | None = None) -> None:
        """Tell a room nothing is left to book: waiting visitors are turned away at once."""
        await self.admin("PUT", "/inventory", {"remaining": 0}, room)

    async def line_with_one_inside(self, waiting: int, room: str | None = None) -> list[Visitor]:
        """Fill a room with one visitor inside and `waiting` more behind: in a room admitting
        one at a time (`max_active=1`), a visitor who joins next is at position `waiting + 1`,
        and nobody moves until the one inside is released."""
        people = [await self.join(room) for _ in range(waiting + 1)]
        await self.enter(people[0])
        return people

    async def sign_in(self, context: BrowserContext) -> int:
        """A new verified account, signed in within `context` (its session cookie set, as the
        login page would): the account's id."""
        account_id, headers = await new_account(self.client)
        token = headers["X-Session-Token"]
        await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": self.url("/")}])
        return account_id

    @classmethod
    def http_session(cls) -> aiohttp.ClientSession:
        """A client without a cookie jar: each Visitor carries its own ticket in a header."""
        return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())


SiteFactory = Callable[..., Awaitable[Site]]


@pytest.fixture
async def start_site(make_client: AppFactory) -> AsyncIterator[SiteFactory]:
    """`await start_site(**room_defaults)`: the real app (real Redis, a fresh PostgreSQL
    database) serving on loopback, its guarded room created with `room_defaults` (see
    queue_engine.settings.RoomSettings: rate_per_minute, burst, max_active, …)."""
    sessions: list[aiohttp.ClientSession] = []

    async def start(**room_defaults: int) -> Site:
        client = await make_client(**room_defaults)
        http = Site.http_session()
        sessions.append(http)
        return Site(client, http)

    yield start
    for http in sessions:
        await http.close()
