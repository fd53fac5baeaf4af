"""Temporary: screenshots of the application pages (deleted after use)."""

from __future__ import annotations

from playwright.async_api import async_playwright

from api.appkeys import SETTINGS
from api.gate import ADMISSION_COOKIE
from api.pages.i18n import LANG_COOKIE
from api.login import SESSION_COOKIE

from .booking_support import admission, booking_body, new_account, pay, released_days
from .conftest import AppFactory

ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


async def test_shots(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=60000, burst=500, max_active=1000)
    days = await released_days(client)
    _, login = await new_account(client)
    gate = await admission(client)
    r1 = await (await client.post("/api/v1/bookings", json=booking_body(days[0]), headers=login | gate)).json()
    r2 = await (await client.post("/api/v1/bookings", json=booking_body(days[1], "s2"), headers=login | gate)).json()
    await pay(client, login, r2)
    base = str(client.make_url("/")).rstrip("/")
    admission_cookie = next(c.value for c in client.session.cookie_jar if c.key == ADMISSION_COOKIE)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, viewport in (("phone", {"width": 390, "height": 844}), ("desktop", {"width": 1280, "height": 900})):
            for lang in ("id", "en"):
                ctx = await browser.new_context(viewport=viewport)
                cookies = [{"name": SESSION_COOKIE, "value": login["X-Session-Token"], "url": base},
                           {"name": ADMISSION_COOKIE, "value": admission_cookie, "url": base},
                           {"name": LANG_COOKIE, "value": lang, "url": base}]
                await ctx.add_cookies(cookies)
                page = await ctx.new_page()
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                for label, path in (("list", "/akun/permohonan"), ("billing", f"/akun/permohonan/{r1['id']}"),
                                    ("confirm", f"/akun/permohonan/{r2['id']}"),
                                    ("reschedule", f"/akun/permohonan/{r2['id']}/jadwal-ulang"),
                                    ("cancel", f"/akun/permohonan/{r2['id']}/batal")):
                    if lang == "en" and label not in ("billing", "confirm"):
                        continue
                    await page.goto(base + path)
                    await page.wait_for_timeout(1200)
                    await page.screenshot(path=f"/tmp/shots/{label}-{name}-{lang}.png", full_page=True)
                print(name, lang, "console errors:", errors)
                await ctx.close()
        await browser.close()
