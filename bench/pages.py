"""The two pages a release stampede hits, each against hello-world in interleaved rounds.

- The home page `/` for a visitor who is not logged in: rendered at most once per language every
  2 s per process (api/pages/front.py) and served from memory in between.
- The waiting room's page `/antre/paspor` for a visitor holding a ticket: what a browser without
  JavaScript asks for on every meta refresh, and what every tab loads first. The room admits
  nobody (one a minute, visitors ahead of the measured ones), so every request renders the
  waiting page rather than redirecting. wrk rotates through many tickets, each sent as a browser
  sends it on a refresh: the ticket cookie and the CSRF cookie the first load set.

Every answer must be a 200 with HTML (bench/wrk.lua counts anything else); before and after the
rounds, the first and last tickets' pages are checked to show the waiting state and to set no
cookie (the ticket unchanged: the fast path, no Redis).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aiohttp

from api.gate import TICKET_COOKIE
from api.pages.csrf import CSRF_COOKIE

from . import line
from .report import Ratio, ratios_table, results_table
from .wrk import Load, Result, Target

HOME_PATH = "/"
CONTENT_TYPE = "text/html"
#: the CSRF token a browser holds after its first page (any token of 20-64 characters is kept)
CSRF_TOKEN = "bench-csrf-token-held-by-the-browser"
#: what each page must contain: the home page's heading, the waiting room in its waiting state
HOME_MARK = 'id="judul"'
WAITING_MARK = 'data-state="waiting"'


class PageError(RuntimeError):
    """A page did not answer as the benchmark needs (a redirect, another state, a new cookie)."""


def waiting_path(room: str = line.ROOM) -> str:
    """The waiting room's page of `room`."""
    return f"/antre/{room}"


def cookie_header(ticket: str) -> str:
    """The Cookie header of a browser that holds `ticket` and has loaded a page before."""
    return f"{TICKET_COOKIE}={ticket}; {CSRF_COOKIE}={CSRF_TOKEN}"


def write_cookies(tickets: list[str], path: Path) -> Path:
    """One Cookie header per line, for the wrk script."""
    path.write_text("".join(cookie_header(ticket) + "\n" for ticket in tickets))
    return path


async def check_page(url: str, mark: str, cookie: str | None = None) -> None:
    """`url` must answer 200 with HTML containing `mark`, not a redirect; with a `cookie`, it
    must also set none (the ticket unchanged, the CSRF token known)."""
    headers = {"Cookie": cookie} if cookie else {}
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
        session.get(url, headers=headers, allow_redirects=False) as response,
    ):
        body = await response.text()
    where = f"GET {url} answered {response.status} {response.content_type}"
    if response.status != 200 or response.content_type != CONTENT_TYPE:
        raise PageError(where)
    if mark not in body:
        raise PageError(f"{where} without {mark!r}")
    if cookie and "Set-Cookie" in response.headers:
        raise PageError(f"{where} and set a cookie: {response.headers.getall('Set-Cookie')}")


async def check_pages(base_url: str, tickets: list[str]) -> None:
    """The home page, and the waiting page for the first and last tickets, are as measured."""
    await check_page(base_url + HOME_PATH, HOME_MARK)
    for ticket in (tickets[0], tickets[-1]):
        await check_page(base_url + waiting_path(), WAITING_MARK, cookie_header(ticket))


def targets(hello_url: str, app_url: str, cookies: Path, waiting: int) -> list[Target]:
    """Baseline A and the two pages, for interleaved rounds: the waiting page rotating the
    Cookie headers in `cookies`, in a line `waiting` long."""
    return [
        Target.page("A: hello-world", f"{hello_url}/", "text/plain"),
        Target.page("home page /, not logged in", app_url + HOME_PATH, CONTENT_TYPE),
        Target.page(
            f"waiting page {waiting_path()}, line of {waiting:,}",
            app_url + waiting_path(),
            CONTENT_TYPE,
            cookies,
        ),
    ]


@dataclass(frozen=True, slots=True)
class Pages:
    """The pages part's results, measured in the same interleaved rounds."""

    hello: Result  #: baseline A
    home: Result
    waiting: Result

    def all(self) -> list[Result]:
        """Every result, in order."""
        return [self.hello, self.home, self.waiting]

    def ratios(self) -> list[Ratio]:
        """Each page against hello-world: measured, no target set."""
        return [
            Ratio(
                "home page / hello-world (A)",
                self.home.rps / self.hello.rps,
                note="not logged in; rendered once per language every 2 s",
            ),
            Ratio(
                "waiting page / hello-world (A)",
                self.waiting.rps / self.hello.rps,
                note="ticket held, state waiting; rendered on every request",
            ),
        ]


def render_pages(pages: Pages, load: Load) -> str:
    """The pages section of the report, in Markdown."""
    dirty = [r.name for r in pages.all() if not r.clean]
    lines = [
        f"Pages: {load.describe()}; every answer checked to be a 200 with HTML "
        "(text/plain for hello-world)",
        "",
        results_table(pages.all()),
        "",
        ratios_table(pages.ratios()),
    ]
    if dirty:
        lines += ["", f"**Errors (not a 200 of the right type, or socket) in: {', '.join(dirty)}**"]
    return "\n".join(lines)
