"""The gate in front of the booking pages, and the language switch in the header."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from .conftest import Shot, SiteFactory
from .test_waiting_room import ONE_AT_A_TIME, path_of


async def test_gated_page_sends_a_newcomer_to_the_waiting_room(
    start_site: SiteFactory, page: Page, shot: Shot
) -> None:
    """Without an admission, the application page redirects to the guarded room's waiting room,
    which gives the visitor a place in line."""
    site = await start_site(**ONE_AT_A_TIME)
    await site.line_with_one_inside(waiting=0)

    await page.goto(site.url("/permohonan"))
    assert path_of(page) == f"/antre/{site.room}"
    room = page.locator("#waiting-room")
    await expect(room).to_have_attribute("data-room", site.room)
    await expect(room).to_have_attribute("data-state", "waiting")
    await expect(page.locator("#position")).to_have_text("1")
    await shot(page, "waiting-room")


async def test_english_switch_stays_across_pages_and_back(
    start_site: SiteFactory, page: Page, shot: Shot
) -> None:
    """The header's language link switches the page to English and back; the choice holds on
    the next page, and <html lang> follows it."""
    site = await start_site(**ONE_AT_A_TIME)
    inside, *_ = await site.line_with_one_inside(waiting=0)
    html, nav = page.locator("html"), page.locator("header nav")

    await page.goto(site.waiting_room)
    await expect(html).to_have_attribute("lang", "id")
    indonesian_nav = await nav.inner_text()
    await shot(page, "1-indonesian")

    await nav.locator('a[hreflang="en"]').click()
    await expect(html).to_have_attribute("lang", "en")
    assert path_of(page) == f"/antre/{site.room}", "the switch should come back to the same page"
    await expect(page.locator("#position")).to_have_text("1")  # same place in line
    await expect(nav.locator('a[hreflang="id"]')).to_be_visible()
    assert await nav.inner_text() != indonesian_nav, "the header was not translated"
    await shot(page, "2-english")

    await site.release(inside)  # the visitor's turn: on to the next page, still in English
    await page.wait_for_url(re.compile(r"/permohonan$"))
    await expect(html).to_have_attribute("lang", "en")
    english_nav = await nav.inner_text()
    await shot(page, "3-english-next-page")

    await nav.locator('a[hreflang="id"]').click()
    await expect(html).to_have_attribute("lang", "id")
    assert path_of(page) == "/permohonan"
    assert await nav.inner_text() not in (english_nav, ""), "the header stayed in English"
    await expect(nav.locator('a[hreflang="en"]')).to_be_visible()
    await shot(page, "4-indonesian-again")
