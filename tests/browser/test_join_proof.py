"""Joining the waiting room from the page: the browser solves the room's proof of work in a
Web Worker, with a progress message in the visitor's language, and only then takes a place;
without JavaScript the page says what to do, and a plain visit takes no place."""

from __future__ import annotations

import re

from playwright.async_api import expect

from .conftest import ContextFactory, Shot, SiteFactory

#: one session at a time, so the visitor stays in line behind the one inside
ONE_AT_A_TIME = {"max_active": 1, "rate_per_minute": 600, "burst": 10}
#: about a quarter of a second here: the check is real, and long enough to be seen
DIFFICULTY = 17

#: Every text the join message shows, kept across the page's reload (sessionStorage), so the
#: test can read what was shown while the proof was being solved.
RECORD_MESSAGES = """
let last = "";
new MutationObserver(() => {
  const message = document.getElementById("join-message");
  if (!message || message.textContent === last) return;
  last = message.textContent;
  const seen = JSON.parse(sessionStorage.getItem("seen") || "[]");
  seen.push(last);
  sessionStorage.setItem("seen", JSON.stringify(seen));
}).observe(document, { childList: true, characterData: true, subtree: true });
"""


async def test_the_page_solves_the_proof_and_gets_in_line(
    start_site: SiteFactory, new_context: ContextFactory, shot: Shot
) -> None:
    site = await start_site(pow_difficulty=DIFFICULTY, **ONE_AT_A_TIME)
    await site.line_with_one_inside(waiting=1)
    for lang, solving in (
        ("id", "Browser Anda sedang mengerjakan pemeriksaan singkat"),
        ("en", "Your browser is doing a short check"),
    ):
        context = await new_context()
        await context.add_cookies([{"name": "antri_lang", "value": lang, "url": site.url("/")}])
        await context.add_init_script(RECORD_MESSAGES)
        page = await context.new_page()
        await page.goto(site.waiting_room)
        room = page.locator("#waiting-room")
        await expect(room).to_have_attribute("data-state", "waiting", timeout=30_000)
        seen = await page.evaluate("() => JSON.parse(sessionStorage.getItem('seen') || '[]')")
        assert any(solving in text for text in seen), seen
        await shot(page, f"in-line-{lang}")
    state = await site.admin("GET", "", {})
    assert state["arrivals"] == 2 + 2, "each browser took exactly one place"


async def test_without_javascript_the_page_says_it_needs_it(
    start_site: SiteFactory, new_context: ContextFactory, shot: Shot
) -> None:
    site = await start_site(pow_difficulty=DIFFICULTY, **ONE_AT_A_TIME)
    context = await new_context(java_script_enabled=False)
    page = await context.new_page()
    for _ in range(2):
        await page.goto(site.waiting_room)
        await expect(page.locator("#needs-javascript")).to_contain_text(
            re.compile("memerlukan JavaScript")
        )
        await expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)
    await shot(page, "needs-javascript")
    state = await site.admin("GET", "", {})
    assert state["arrivals"] == 0, "a visit without the proof takes no place"
