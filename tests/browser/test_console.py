"""The operations console in a real browser: an operator runs a release day (pauses a room while
a visitor waits, changes the rate, adds a release that opens the room by itself on time, changes
a quota in bulk) and finds each action in the audit trail; a viewer cannot change anything, an
officer cannot open the room controls."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import BrowserContext, Locator, Page, expect

from api.appkeys import ENGINE, OPERATORS
from tests.operator_support import OPERATOR_PASSWORD

from ..booking_support import OFFICE, released_days
from .conftest import DESKTOP, ConsoleWatch, ContextFactory, Shot, Site, SiteFactory

ONE_AT_A_TIME = {"max_active": 1, "rate_per_minute": 600, "burst": 10}
WIB = ZoneInfo("Asia/Jakarta")


def menu(page: Page, name: str) -> Locator:
    """A link of the console's menu."""
    return page.get_by_role("navigation", name="Menu konsol").get_by_role(
        "link", name=name, exact=True
    )


async def operator_page(site: Site, context: BrowserContext, role: str) -> Page:
    """A page logged in to the console as a new operator of `role`, through the login form."""
    email = f"{role}-{datetime.now(UTC).timestamp():.0f}@kantor.antri.test"
    await site.client.server.app[OPERATORS].create(email, role, OPERATOR_PASSWORD)
    page = await context.new_page()
    await page.goto(site.url("/konsol"))
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Kata sandi").fill(OPERATOR_PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("heading", name="Konsol operasi")).to_be_visible()
    return page


async def test_an_operator_runs_a_release_day(
    start_site: SiteFactory, new_context: ContextFactory, shot: Shot, console: ConsoleWatch
) -> None:
    console.allow(r"status of 422 .*/atur:")  # the refused rate, on purpose
    site = await start_site(**ONE_AT_A_TIME)
    _inside, visitor = await site.line_with_one_inside(waiting=1)
    assert (await site.status(visitor))["state"] == "waiting"
    page = await operator_page(site, await new_context(**DESKTOP), "operator")

    # Pause the room while the visitor waits: their next poll says paused.
    await menu(page, "Ruang tunggu").click()
    card = page.locator(f"#ruang-{site.room}")
    await expect(card.locator(".waiting")).to_have_text("1")
    await card.get_by_label("Alasan perubahan").first.fill("Gangguan bank")
    await card.get_by_role("button", name="Jeda").click()
    await expect(card.locator(".state")).to_have_text("Dijeda")
    await shot(page, "1-paused")
    assert (await site.status(visitor))["state"] == "paused"

    # Change the rate, with a reason; a refused value is named first.
    card = page.locator(f"#ruang-{site.room}")
    await card.get_by_text("Ubah laju dan batas").click()
    await card.get_by_label("Laju per menit").fill("0")
    await card.locator("form.limits-form").get_by_label("Alasan perubahan").fill("Rilis Senin")
    await card.get_by_role("button", name="Simpan").click()
    await expect(page.locator(f"#ruang-{site.room} .hint.error").first).to_contain_text("Laju")
    card = page.locator(f"#ruang-{site.room}")
    await card.get_by_label("Laju per menit").fill("90")
    await card.locator("form.limits-form").get_by_label("Alasan perubahan").fill("Rilis Senin")
    await card.get_by_role("button", name="Simpan").click()
    await expect(page.locator(f"#ruang-{site.room} dl")).to_contain_text("laju 90/menit")
    assert site.client.server.app[ENGINE].room(site.room).view().rate_per_minute == 90

    # Close the room, then add a release a few seconds ahead: it opens the room by itself.
    card = page.locator(f"#ruang-{site.room}")
    await card.get_by_label("Alasan perubahan").first.fill("Tutup sampai rilis")
    await card.get_by_role("button", name="Tutup ruang").click()
    await expect(page.locator(f"#ruang-{site.room} .state")).to_have_text("Ditutup")
    await menu(page, "Rilis kuota").click()
    starts = (datetime.now(UTC) + timedelta(seconds=6)).astimezone(WIB)
    form = page.locator("form.add-release")
    await form.get_by_label("Ruang").select_option(site.room)
    await form.get_by_label("Nama rilis").fill("Rilis kilat")
    await form.get_by_label("Mulai (WIB)").fill(starts.strftime("%Y-%m-%dT%H:%M:%S"))
    await form.get_by_label("Pra-antre (menit sebelum)").fill("0")
    await form.get_by_label("Laju per menit").fill("120")
    await form.get_by_label("Batas aktif").fill("5")
    await form.get_by_label("Alasan perubahan").fill("Kuota tambahan")
    await form.get_by_role("button", name="Tambah rilis").click()
    row = page.locator("tr", has_text="Rilis kilat")
    await expect(row).to_be_visible()
    await shot(page, "2-release")
    # The rooms page refreshes its numbers in place: the state turns open without a reload.
    await menu(page, "Ruang tunggu").click()
    await page.evaluate("() => { window.sameDocument = true; }")
    await expect(page.locator(f"#ruang-{site.room} .state")).to_have_text("Terbuka", timeout=15_000)
    assert await page.evaluate("() => window.sameDocument === true")
    joined = await site.join()
    assert (await site.status(joined))["state"] in ("prequeue", "waiting")
    await page.wait_for_timeout(max(0, (starts - datetime.now(UTC)).total_seconds() * 1000) + 2500)
    status = await site.status(joined)
    assert status["state"] in ("waiting", "admitted"), status

    # Change a quota in bulk.
    day = (await released_days(site.client))[-1]
    await menu(page, "Kuota").click()
    await page.get_by_label("Kantor").select_option(OFFICE)
    await page.locator("#dari").fill(day)
    await page.locator("#sampai").fill(day)
    await page.get_by_role("button", name="Tampilkan").click()
    bulk = page.locator("form.bulk-quota")
    await bulk.get_by_label("Dari").fill(day)
    await bulk.get_by_label("Sampai").fill(day)
    await bulk.get_by_label("Jalur").select_option("reguler")
    await bulk.get_by_label("Kapasitas per sesi").fill("25")
    await bulk.get_by_label("Alasan perubahan").fill("Petugas tambahan")
    await bulk.get_by_role("button", name="Ubah kuota").click()
    await expect(page.get_by_role("status")).to_contain_text("Kuota diubah")
    await expect(page.locator("table.quota")).to_contain_text("/ 25")

    # Every action is in the audit trail, with who and why.
    await menu(page, "Jejak audit").click()
    trail = page.locator("table.audit")
    for action, reason in (
        ("room.state", "Gangguan bank"),
        ("room.configure", "Rilis Senin"),
        ("room.state", "Tutup sampai rilis"),
        ("release.add", "Kuota tambahan"),
        ("release.arm", "Rilis kilat"),
        ("release.start", "Rilis kilat"),
        ("quota.bulk", "Petugas tambahan"),
    ):
        await expect(trail.locator(f'tr[data-action="{action}"]', has_text=reason)).to_have_count(1)
    await expect(trail.locator('tr[data-action="release.start"]')).to_contain_text("scheduler")
    await shot(page, "3-audit")


async def test_a_viewer_reads_and_an_officer_is_kept_out(
    start_site: SiteFactory, new_context: ContextFactory, shot: Shot, console: ConsoleWatch
) -> None:
    console.allow(r"status of 403 .*/konsol/ruang:")  # the officer's refusal, on purpose
    site = await start_site(**ONE_AT_A_TIME)
    viewer = await operator_page(site, await new_context(), "viewer")
    await menu(viewer, "Ruang tunggu").click()
    card = viewer.locator(f"#ruang-{site.room}")
    await expect(card.locator(".waiting")).to_be_visible()
    await expect(card.get_by_role("button")).to_have_count(0)
    token = next(c["value"] for c in await viewer.context.cookies() if c["name"] == "antri_csrf")
    for path, form in (
        (f"/konsol/ruang/{site.room}/keadaan", {"state": "paused", "alasan": "x"}),
        (f"/konsol/ruang/{site.room}/atur", {"rate_per_minute": "5", "alasan": "x"}),
        ("/konsol/kuota", {"kantor": OFFICE, "dari": "2030-01-01", "sampai": "2030-01-01",
                           "jalur": "reguler", "kapasitas": "1", "alasan": "x"}),
    ):  # fmt: skip
        refused = await viewer.request.post(site.url(path), form=form | {"csrf": token})
        assert refused.status == 403, path
    assert site.client.server.app[ENGINE].room(site.room).view().state == "open"

    officer = await operator_page(site, await new_context(), "officer")
    await expect(officer.get_by_text("bukan di konsol")).to_be_visible()
    await expect(menu(officer, "Ruang tunggu")).to_have_count(0)
    response = await officer.goto(site.url("/konsol/ruang"))
    assert response is not None and response.status == 403
    await expect(officer.get_by_role("alert")).to_contain_text("tidak membuka")
    await shot(officer, "officer-refused")
    assert re.search(r"/konsol/ruang$", officer.url)


async def test_the_console_works_without_javascript(
    start_site: SiteFactory, new_context: ContextFactory
) -> None:
    site = await start_site(**ONE_AT_A_TIME)
    page = await operator_page(site, await new_context(java_script_enabled=False), "operator")
    await menu(page, "Ruang tunggu").click()
    card = page.locator(f"#ruang-{site.room}")
    await card.get_by_label("Alasan perubahan").first.fill("Tanpa skrip")
    await card.get_by_role("button", name="Antrekan semua").click()
    await expect(page.locator(f"#ruang-{site.room} .state")).to_have_text("Semua antre")
    assert site.client.server.app[ENGINE].room(site.room).view().state == "queue_all"
    # English, one click away.
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Waiting room")).to_be_visible()
    await expect(page.locator(f"#ruang-{site.room} .state")).to_have_text("Queue everyone")
