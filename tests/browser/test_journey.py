"""The whole applicant journey in a real browser, as a person on a phone goes through it: the
home page, the waiting room, an account, the booking wizard, the bank, the proof."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect

from api.appkeys import SETTINGS
from api.mail import read_outbox

from ..booking_support import nik, pool
from ..documents_support import png
from ..test_accounts_and_jobs import run_jobs
from .conftest import ConsoleWatch, Shot, SiteFactory

FAST_ROOM = {"rate_per_minute": 6000, "burst": 100, "max_active": 100}
PNG = png()


async def click(page: Page, name: str) -> None:
    """Click the button or link in the page's content a person would read as `name`."""
    main = page.locator("main")
    target = main.get_by_role("button", name=name).or_(main.get_by_role("link", name=name))
    await target.first.click()


async def test_from_the_home_page_to_a_paid_booking_and_its_pdf(
    start_site: SiteFactory, page: Page, shot: Shot, console: ConsoleWatch, tmp_path: Path
) -> None:
    site = await start_site(**FAST_ROOM)
    console.allow(r"status of 422 .*/permohonan/baru/pemohon")  # the NIK typed wrong on purpose
    email = "dewi.lestari@antri.test"

    await page.goto(site.url("/"))
    await shot(page, "01-home")
    await page.locator(f'a[href="/antre/{site.room}"]').first.click()
    await page.wait_for_url(re.compile(r"/permohonan$"), timeout=15_000)  # through the room
    await expect(page.locator(".session-banner")).to_be_visible()
    await shot(page, "02-admitted")

    # An account, verified with the code from the mail.
    await click(page, "Buat akun")
    await page.fill("#f-name", "Dewi Lestari")
    await page.fill("#f-email", email)
    await page.fill("#f-phone", "081298765432")
    await page.fill("#f-password", "Rahasia123")
    await click(page, "Daftar")
    await page.wait_for_url(re.compile(r"/verifikasi"))
    await run_jobs(site.client)
    mail = next(m for m in read_outbox(site.client.server.app[SETTINGS].outbox) if m.to == email)
    code = re.search(r"\b(\d{6})\b", mail.text)
    assert code
    await page.fill("#f-code", code.group(1))
    await click(page, "Verifikasi")
    await page.wait_for_url(re.compile(r"/masuk"))
    await page.fill("#f-password", "Rahasia123")
    await page.fill("#f-email", email)
    await click(page, "Masuk")

    # The wizard, step by step.
    await page.wait_for_url(re.compile(r"/permohonan/baru/kantor"))
    await page.select_option("#f-provinsi", "DKI Jakarta")  # reloads with Jakarta first
    await page.get_by_label(re.compile("Tanjung Priok")).check()
    await shot(page, "03-office")
    await click(page, "Lanjut")
    await page.get_by_label(re.compile("Paspor elektronik, 5 tahun")).check()
    await page.get_by_role("radio", name=re.compile("Reguler")).check()
    await page.get_by_role("radio", name=re.compile("Paspor baru")).check()
    await shot(page, "04-service")
    await click(page, "Lanjut")

    await page.fill("#f-nik", "12")
    await click(page, "Lanjut")
    await expect(page.locator("#e-nik")).to_have_text("NIK terdiri dari tepat 16 angka.")
    await page.fill("#f-nik", nik(sex="P"))
    await page.fill("#f-full_name", "Dewi Lestari")
    await page.fill("#f-birth_place", "Jakarta")
    await page.fill("#f-birth_date", "1990-05-17")
    await page.get_by_label("Perempuan").check()
    await page.fill("#f-phone", "081298765432")
    await page.fill("#f-address", "Jl. Enggano No. 10, Tanjung Priok, Jakarta Utara")
    await page.select_option("#f-marital_status", "kawin")
    await page.select_option("#f-purpose", "umrah")
    await page.fill("#f-destination", "Arab Saudi")
    await shot(page, "05-applicant")
    await click(page, "Lanjut")

    scan = tmp_path / "scan.png"
    scan.write_bytes(PNG)
    for kind in ("ktp", "kk", "pendukung"):
        await page.set_input_files(f"#f-{kind}", str(scan))
        await expect(page.locator(f"#s-{kind}")).to_contain_text("Terunggah")
        await expect(page.locator(f"#p-{kind}")).to_have_attribute("value", "100")
    await shot(page, "06-documents")
    await click(page, "Lanjut")

    await page.wait_for_url(re.compile(r"/jadwal"))
    first_open = page.locator("input[type=radio][name=slot]").first
    slot = await first_open.get_attribute("value")
    await first_open.check()
    await shot(page, "07-calendar")
    await click(page, "Lanjut")
    await expect(page.get_by_text("Rp 650.000").first).to_be_visible()
    await shot(page, "08-review")
    await click(page, "Ajukan permohonan")

    # The billing page: code, amount and the 2-hour countdown.
    await page.wait_for_url(re.compile(r"/akun/permohonan/[0-9a-f-]{36}$"))
    booking_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator("[data-countdown]").first).to_have_text(re.compile(r"^1:5\d:\d\d$"))
    await expect(page.get_by_text("Rp 650.000").first).to_be_visible()
    await shot(page, "09-billing")

    # The sandbox bank, then back to the confirmation.
    await click(page, "Bayar di bank uji coba (sandbox)")
    await shot(page, "10-bank")
    await click(page, "Bayar Rp 650.000")
    await expect(page.get_by_text("Pembayaran berhasil")).to_be_visible()
    await click(page, "Kembali ke Antri")
    await page.wait_for_url(re.compile(booking_id))
    await expect(page.locator(".qr svg")).to_be_visible()
    await shot(page, "11-confirmation")

    pdf = await page.request.get(site.url(f"/api/v1/bookings/{booking_id}/proof.pdf"))
    assert pdf.status == 200 and (await pdf.body()).startswith(b"%PDF")
    assert await page.get_by_role("link", name="Unduh bukti (PDF)").count() == 1

    row = await pool(site.client).fetchrow(
        "SELECT b.status, s.day::text || '/' || s.session_id AS slot, count(d.kind) AS documents"
        " FROM bookings b JOIN slots s ON s.id = b.slot_id"
        " LEFT JOIN documents d ON d.booking_id = b.id WHERE b.id = $1::uuid"
        " GROUP BY b.status, s.day, s.session_id",
        booking_id,
    )
    assert (row["status"], row["slot"], row["documents"]) == ("confirmed", slot, 3)
