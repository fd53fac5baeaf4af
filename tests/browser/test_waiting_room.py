"""The waiting room in a real browser: the line moves, sold-out shows at once, a reload keeps
the place, and it all works without JavaScript too.

The rooms here admit one visitor at a time (`max_active=1`) at a generous rate, so the line moves
exactly when a test lets someone ahead finish (`Site.release`): no test waits on the clock.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page, expect

from .conftest import ContextFactory, Shot, SiteFactory

#: One session at a time; the rate and burst never hold anyone back.
ONE_AT_A_TIME = {"max_active": 1, "rate_per_minute": 600, "burst": 10}


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


async def mark_page(page: Page) -> None:
    """Tag the loaded document, to check later that no reload happened in between."""
    await page.evaluate("() => { window.sameDocument = true; }")


async def same_document(page: Page) -> bool:
    return bool(await page.evaluate("() => window.sameDocument === true"))


async def progress_value(page: Page) -> float:
    """The waiting room's progress bar, in percent."""
    return float(await page.locator("progress#progress").evaluate("bar => bar.value"))


async def ticket_cookie(context: BrowserContext) -> str:
    cookies = {c["name"]: c["value"] for c in await context.cookies()}
    assert "antri_ticket" in cookies, f"no ticket cookie among {sorted(cookies)}"
    return cookies["antri_ticket"]


async def test_position_falls_until_admitted(
    start_site: SiteFactory, page: Page, shot: Shot
) -> None:
    """A visitor third in line watches the position fall, without a reload, as each one ahead
    finishes, and lands on the application page when the turn comes."""
    site = await start_site(**ONE_AT_A_TIME)
    inside, *waiting = await site.line_with_one_inside(waiting=2)

    await page.goto(site.waiting_room)
    room = page.locator("#waiting-room")
    await expect(room).to_have_attribute("data-state", "waiting")
    await expect(room).to_have_attribute("data-room", site.room)
    await expect(page.locator("#position")).to_have_text("3")
    await expect(page.locator("#ahead")).to_have_text("2")
    await shot(page, "1-third")
    await mark_page(page)
    progress = [await progress_value(page)]

    await site.release(inside)  # the first one waiting is offered the place
    await expect(page.locator("#position")).to_have_text("2")
    await expect(page.locator("#ahead")).to_have_text("1")
    assert await same_document(page), "the page reloaded instead of updating in place"
    await shot(page, "2-second")
    progress.append(await progress_value(page))

    await site.enter(waiting[0])
    await site.release(waiting[0])
    await expect(page.locator("#position")).to_have_text("1")
    await expect(page.locator("#ahead")).to_have_text("0")
    assert await same_document(page), "the page reloaded instead of updating in place"
    await shot(page, "3-next")
    progress.append(await progress_value(page))
    assert progress == sorted(progress), f"the progress bar went backwards: {progress}"

    await site.enter(waiting[1])
    await site.release(waiting[1])  # now it is this visitor's turn
    await page.wait_for_url(re.compile(r"/permohonan$"))
    await expect(page.locator("h1")).to_be_visible()
    await shot(page, "4-admitted")


async def test_sold_out_shows_at_once(start_site: SiteFactory, page: Page, shot: Shot) -> None:
    """When nothing is left to book, a waiting visitor is told so within a poll or two."""
    site = await start_site(**ONE_AT_A_TIME)
    await site.line_with_one_inside(waiting=1)
    await page.goto(site.waiting_room)
    room = page.locator("#waiting-room")
    await expect(room).to_have_attribute("data-state", "waiting")
    await expect(page.locator("#position")).to_have_text("2")
    await shot(page, "1-waiting")

    await site.sell_out()
    await expect(room).to_have_attribute("data-state", "sold_out", timeout=4_000)
    await expect(page.locator("#message")).not_to_be_empty()
    await expect(page.locator("#position")).to_be_hidden()
    await shot(page, "2-sold-out")


async def test_reload_and_new_tab_keep_the_place(
    start_site: SiteFactory, new_context: ContextFactory, shot: Shot
) -> None:
    """A reload, or closing the tab and opening the room again, keeps the same ticket and the
    same place in line."""
    site = await start_site(**ONE_AT_A_TIME)
    await site.line_with_one_inside(waiting=2)
    context = await new_context()
    page = await context.new_page()
    await page.goto(site.waiting_room)
    await expect(page.locator("#position")).to_have_text("3")
    ticket = await ticket_cookie(context)
    await shot(page, "1-first-visit")

    await page.reload()
    await expect(page.locator("#position")).to_have_text("3")
    assert await ticket_cookie(context) == ticket
    await shot(page, "2-reloaded")

    await page.close()
    tab = await context.new_page()
    await tab.goto(site.waiting_room)
    await expect(tab.locator("#position")).to_have_text("3")
    assert await ticket_cookie(context) == ticket
    await shot(tab, "3-new-tab")


async def test_without_javascript_the_page_refreshes_itself(
    start_site: SiteFactory, new_context: ContextFactory, shot: Shot
) -> None:
    """With JavaScript off, the visitor joins with the page's button; the waiting room then
    refreshes itself (meta refresh) and still takes the visitor to the application page when the
    turn comes."""
    site = await start_site(**ONE_AT_A_TIME)
    inside, ahead = await site.line_with_one_inside(waiting=1)
    context = await new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(site.waiting_room)
    # A plain visit takes no place: the visitor asks for one with the page's button.
    await expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)
    await page.get_by_role("button", name="Masuk antrean").click()
    await expect(page.locator("#position")).to_have_text("2")
    await expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(1)
    await shot(page, "1-waiting")

    await site.release(inside)
    await expect(page.locator("#position")).to_have_text("1", timeout=5_000)
    await shot(page, "2-next")

    await site.enter(ahead)
    await site.release(ahead)
    await page.wait_for_url(re.compile(r"/permohonan$"), timeout=5_000)
    await shot(page, "3-admitted")
