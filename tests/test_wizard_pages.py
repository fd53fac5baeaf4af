"""The booking wizard and the account pages over HTTP, as a browser without JavaScript uses them:
real forms with CSRF tokens, real uploads, the real booking service underneath."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import ssl
import time
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from api.appkeys import ACCOUNTS, DRAFTS, ENGINE, SETTINGS
from api.booking.documents import DocumentKind, DocumentStore
from api.mail import read_outbox
from api.pages.drafts import Drafts
from api.pages.render import secure_cookies

from .booking_support import (
    OFFICE,
    admission,
    applicant,
    assert_invariants,
    booked,
    new_account,
    pool,
    released_days,
    set_capacity,
)
from .conftest import AppFactory
from .conftest import test_settings as settings_for
from .documents_support import pdf, png
from .page_support import csrf_of, location, page_form_paths, post_form, session_of, sign_in
from .test_accounts_and_jobs import run_jobs

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}
PNG = png()
PDF = pdf()


async def applicant_ready(make_client: AppFactory) -> tuple[TestClient, int]:
    """An app and a client that is admitted and logged in, as after the waiting room."""
    client = await make_client(**FAST_ROOM)
    await admission(client)  # the admission cookie stays in the jar
    account_id, login = await new_account(client)
    sign_in(client, login)
    return client, account_id


async def fill_until_schedule(client: TestClient, person: dict[str, str] | None = None) -> None:
    """Steps 1–4: office, service, applicant, documents."""
    csrf = await csrf_of(client, "/permohonan")
    step = "/permohonan/baru"
    assert location(await post_form(client, f"{step}/kantor", {"office_id": OFFICE}, csrf=csrf))
    service = {"lane": "reguler", "application_kind": "baru", "passport": "elektronik/10"}
    assert location(await post_form(client, f"{step}/layanan", service, csrf=csrf)).endswith(
        "/pemohon"
    )
    response = await post_form(client, f"{step}/pemohon", person or applicant(), csrf=csrf)
    assert location(response).endswith("/dokumen")
    await upload(client, csrf, ktp=PNG, kk=PDF, pendukung=PNG)
    response = await post_form(client, f"{step}/dokumen", {}, csrf=csrf)
    assert location(response).endswith("/jadwal")


async def choose_service(client: TestClient, csrf: str, kind: str, passport: str) -> None:
    """Steps 1–2: Tanjung Priok, the reguler lane, this kind of application and passport."""
    await post_form(client, "/permohonan/baru/kantor", {"office_id": OFFICE}, csrf=csrf)
    service = {"lane": "reguler", "application_kind": kind, "passport": passport}
    await post_form(client, "/permohonan/baru/layanan", service, csrf=csrf)


async def upload(client: TestClient, csrf: str, **files: bytes) -> aiohttp.ClientResponse:
    """The plain (script-less) upload form: the CSRF field first, then the files."""
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    for kind, content in files.items():
        form.add_field(kind, content, filename=f"{kind}.bin", content_type="image/png")
    return await client.post("/permohonan/baru/dokumen/unggah", data=form, allow_redirects=False)


async def test_the_whole_wizard_makes_a_booking_with_its_documents(
    clock: datetime,
    make_client: AppFactory,
) -> None:
    client, account_id = await applicant_ready(make_client)
    await fill_until_schedule(client)
    day = (await released_days(client))[0]
    page = await (await client.get("/permohonan/baru/jadwal")).text()
    assert f'value="{day}/s1"' in page
    csrf = await csrf_of(client, "/permohonan")
    response = await post_form(client, "/permohonan/baru/jadwal", {"slot": f"{day}/s1"}, csrf=csrf)
    assert location(response).endswith("/tinjau")

    review = await (await client.get("/permohonan/baru/tinjau")).text()
    assert "Rp 950.000" in review and "Budi Santoso" in review and "Ajukan permohonan" in review
    response = await post_form(client, "/permohonan/baru/tinjau", {}, csrf=csrf)
    booking_id = location(response).rsplit("/", 1)[1]

    row = await pool(client).fetchrow(
        "SELECT status, account_id, amount FROM bookings WHERE id = $1::uuid", booking_id
    )
    assert (row["status"], row["account_id"], row["amount"]) == (
        "awaiting_payment",
        account_id,
        950000,
    )
    assert await booked(client, day) == 1
    kinds = await pool(client).fetch(
        "SELECT kind, path FROM documents WHERE booking_id = $1::uuid ORDER BY kind", booking_id
    )
    assert [k["kind"] for k in kinds] == ["kk", "ktp", "pendukung"]
    root: Path = client.server.app[SETTINGS].documents_dir
    for document in kinds:
        assert (root / document["path"]).read_bytes() in (PNG, PDF)
        assert document["path"].startswith(booking_id)
    # The draft and its staging folder are gone; the next application starts afresh.
    assert not [p for p in root.iterdir() if p.name.startswith("draft-")]
    assert (await client.server.app[DRAFTS].load(session_of(client), account_id)).keys() == {"id"}
    await assert_invariants(client)


async def test_a_double_submit_makes_one_booking(make_client: AppFactory) -> None:
    client, _ = await applicant_ready(make_client)
    await fill_until_schedule(client)
    day = (await released_days(client))[0]
    csrf = await csrf_of(client, "/permohonan")
    await post_form(client, "/permohonan/baru/jadwal", {"slot": f"{day}/s2"}, csrf=csrf)
    first, second = await asyncio.gather(
        post_form(client, "/permohonan/baru/tinjau", {}, csrf=csrf),
        post_form(client, "/permohonan/baru/tinjau", {}, csrf=csrf),
    )
    # The booking ends the turn: a click that comes after it lands on the applications, never
    # back in the line.
    landed = {r.headers.get("Location") for r in (first, second) if r.status == 303}
    booking_pages = {url for url in landed if url and url.startswith("/akun/permohonan/")}
    assert len(booking_pages) == 1 and landed - booking_pages <= {"/akun/permohonan"}
    assert await booked(client, day, "s2") == 1


async def test_inline_messages_in_indonesian_keep_what_was_typed(make_client: AppFactory) -> None:
    client, _ = await applicant_ready(make_client)
    csrf = await csrf_of(client, "/permohonan")
    await choose_service(client, csrf, "baru", "biasa/5")
    person = applicant(nik="12345", full_name="Siti Aminah", phone="12")
    response = await post_form(client, "/permohonan/baru/pemohon", person, csrf=csrf)
    page = await response.text()
    assert response.status == 422
    assert "NIK terdiri dari tepat 16 angka." in page
    assert "Masukkan nomor ponsel Indonesia" in page
    assert 'aria-invalid="true"' in page
    assert 'value="Siti Aminah"' in page  # kept
    # In English, the same messages in English.
    client.session.cookie_jar.update_cookies({"antri_lang": "en"})
    response = await post_form(client, "/permohonan/baru/pemohon", person, csrf=csrf)
    assert "A NIK is exactly 16 digits." in await response.text()
    # A later step cannot be reached before this one is right.
    response = await client.get("/permohonan/baru/jadwal", allow_redirects=False)
    assert location(response).endswith("/pemohon")


async def test_a_ten_year_passport_for_a_child_is_refused_on_the_applicant_step(
    make_client: AppFactory,
) -> None:
    client, _ = await applicant_ready(make_client)
    csrf = await csrf_of(client, "/permohonan")
    await choose_service(client, csrf, "baru", "elektronik/10")
    child = applicant(birth_date="2015-03-02", marital_status="belum_kawin")
    child["nik"] = f"317201020315{child['nik'][-4:]}"
    response = await post_form(client, "/permohonan/baru/pemohon", child, csrf=csrf)
    assert response.status == 422
    assert "Paspor 10 tahun hanya untuk pemohon" in await response.text()


async def test_a_slot_gone_at_the_last_step_sends_back_to_the_calendar(
    make_client: AppFactory,
) -> None:
    client, _ = await applicant_ready(make_client)
    await fill_until_schedule(client)
    day = (await released_days(client))[0]
    csrf = await csrf_of(client, "/permohonan")
    await post_form(client, "/permohonan/baru/jadwal", {"slot": f"{day}/s3"}, csrf=csrf)
    await set_capacity(client, day, "s3", 0)  # someone else took the last place meanwhile
    response = await post_form(client, "/permohonan/baru/tinjau", {}, csrf=csrf)
    assert location(response) == "/permohonan/baru/jadwal?alasan=slot_full"
    page = await (await client.get(location(response))).text()
    assert "Sesi itu baru saja penuh" in page
    assert await booked(client, day, "s3") == 0
    # Another session goes through with the same draft.
    await post_form(client, "/permohonan/baru/jadwal", {"slot": f"{day}/s1"}, csrf=csrf)
    response = await post_form(client, "/permohonan/baru/tinjau", {}, csrf=csrf)
    assert location(response).startswith("/akun/permohonan/")
    assert await booked(client, day, "s1") == 1


async def test_uploads_are_checked_and_answer_the_script_in_json(make_client: AppFactory) -> None:
    client, _ = await applicant_ready(make_client)
    csrf = await csrf_of(client, "/permohonan")
    await choose_service(client, csrf, "penggantian", "biasa/5")
    await post_form(client, "/permohonan/baru/pemohon", applicant(), csrf=csrf)
    page = await (await client.get("/permohonan/baru/dokumen")).text()
    assert 'name="paspor_lama"' in page  # a replacement needs the old passport

    async def send(kind: str, content: bytes, token: str | None = csrf) -> aiohttp.ClientResponse:
        form = aiohttp.FormData()
        form.add_field(kind, content, filename="x.png", content_type="image/png")
        headers = {"Accept": "application/json"} | ({"X-CSRF-Token": token} if token else {})
        return await client.post("/permohonan/baru/dokumen/unggah", data=form, headers=headers)

    ok = await send("ktp", PNG)
    assert ok.status == 201 and "PNG" in (await ok.json())["saved"]["ktp"]
    script = await send("kk", b"<script>alert(1)</script>")
    assert script.status == 415
    assert "JPG, PNG, atau PDF" in (await script.json())["errors"]["kk"]
    big = await send("kk", PNG + b"\x00" * (2 * 1024 * 1024))
    assert big.status == 413
    assert (await send("kk", PNG, token="forged")).status == 403
    # "Next" while documents are missing: told which.
    response = await post_form(client, "/permohonan/baru/dokumen", {}, csrf=csrf)
    assert response.status == 422 and "Unggah dokumen ini dulu." in await response.text()


async def test_the_wizard_is_behind_the_waiting_room_and_the_login(
    make_client: AppFactory,
) -> None:
    client = await make_client(**FAST_ROOM)
    guard = client.server.app[SETTINGS].guard_room
    response = await client.get("/permohonan/baru/kantor", allow_redirects=False)
    assert location(response) == f"/antre/{guard}"
    await admission(client)
    response = await client.get("/permohonan/baru/kantor", allow_redirects=False)
    assert location(response) == "/masuk?lanjut=/permohonan/baru/kantor"
    page = await (await client.get("/permohonan")).text()
    assert "Masuk dulu" in page and "Giliran Anda berlaku" in page


async def test_forms_without_the_csrf_token_are_refused(make_client: AppFactory) -> None:
    client, _ = await applicant_ready(make_client)
    await csrf_of(client, "/permohonan")
    for path in ("/permohonan/baru/kantor", "/masuk", "/daftar", "/permohonan/selesai"):
        response = await post_form(client, path, {"office_id": OFFICE}, csrf="wrong-token-wrong")
        assert response.status == 403, path
    token = await csrf_of(client, "/permohonan")
    response = await client.post(
        "/permohonan/baru/kantor",
        data={"csrf": token, "office_id": OFFICE},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert response.status == 403


async def test_register_verify_and_log_in_through_the_pages(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    email = "siti.pages@antri.test"
    fields = {"name": "Siti Aminah", "email": email, "phone": "0812 3456 7890",
              "password": "Rahasia123", "lanjut": "/permohonan/baru"}  # fmt: skip
    response = await post_form(client, "/daftar", fields | {"password": "short"})
    assert response.status == 422
    page = await response.text()
    assert "huruf kapital" in page and "Rahasia" not in page
    response = await post_form(client, "/daftar", fields)
    assert location(response) == "/verifikasi?lanjut=/permohonan/baru"
    verify_page = await (await client.get(location(response))).text()
    assert f'value="{email}"' in verify_page  # remembered, not put in the URL
    await run_jobs(client)
    mail = next(m for m in read_outbox(client.server.app[SETTINGS].outbox) if m.to == email)
    code = re.search(r"\b(\d{6})\b", mail.text)
    assert code
    wrong = await post_form(client, "/verifikasi", {"email": email, "code": "000000"})
    assert wrong.status == 422 and "Kode salah" in await wrong.text()
    response = await post_form(
        client, "/verifikasi", {"email": email, "code": code.group(1), "lanjut": "/permohonan/baru"}
    )
    assert location(response).startswith("/masuk?terverifikasi=1")
    bad = await post_form(client, "/masuk", {"email": email, "password": "Salah1234"})
    assert bad.status == 401 and "Alamat e-mail atau kata sandi salah." in await bad.text()
    response = await post_form(
        client, "/masuk", {"email": email, "password": "Rahasia123", "lanjut": "/permohonan/baru"}
    )
    assert location(response) == "/permohonan/baru"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    response = await post_form(client, "/keluar", {})
    assert location(response) == "/"
    response = await client.get("/akun/permohonan", allow_redirects=False)
    assert location(response).startswith("/masuk")


def test_abandoned_drafts_uploads_are_deleted_after_a_while(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    old = store.save("draft-old", DocumentKind.KTP, [PNG])
    fresh = store.save("draft-fresh", DocumentKind.KTP, [PNG])
    booking = store.save("0c5e4f5e-8a8b-4f9a-9a55-8d8f6f1b2c3d", DocumentKind.KTP, [PNG])
    day_ago = time.time() - 86_400
    os.utime(tmp_path / "draft-old", (day_ago, day_ago))
    os.utime(tmp_path / booking.path.parent, (day_ago, day_ago))
    assert store.discard_stale_drafts(timedelta(hours=4)) == 1
    assert not (tmp_path / old.path).exists()
    assert (tmp_path / fresh.path).exists() and (tmp_path / booking.path).exists()


async def test_starting_over_forgets_the_draft_and_its_uploads(make_client: AppFactory) -> None:
    client, account_id = await applicant_ready(make_client)
    csrf = await csrf_of(client, "/permohonan")
    await choose_service(client, csrf, "baru", "biasa/5")
    await post_form(client, "/permohonan/baru/pemohon", applicant(), csrf=csrf)
    await upload(client, csrf, ktp=PNG)
    root: Path = client.server.app[SETTINGS].documents_dir
    assert [p for p in root.iterdir() if p.name.startswith("draft-")]
    response = await post_form(client, "/permohonan/ulang", {}, csrf=csrf)
    assert location(response) == "/permohonan/baru/kantor"
    assert not [p for p in root.iterdir() if p.name.startswith("draft-")]
    assert (await client.server.app[DRAFTS].load(session_of(client), account_id)).keys() == {"id"}


def test_cookies_are_secure_over_tls_and_behind_a_tls_proxy(tmp_path: Path) -> None:
    app = web.Application()
    app[SETTINGS] = settings_for("postgresql://unused", tmp_path)
    plain = make_mocked_request("GET", "/", app=app)
    tls = make_mocked_request("GET", "/", app=app, sslcontext=ssl.create_default_context())
    assert (secure_cookies(plain), secure_cookies(tls)) == (False, True)
    app_behind_proxy = web.Application()
    app_behind_proxy[SETTINGS] = dataclasses.replace(app[SETTINGS], cookie_secure=True)
    assert secure_cookies(make_mocked_request("GET", "/", app=app_behind_proxy))


async def test_every_page_cookie_is_httponly_samesite_and_secure_when_asked(
    make_client: AppFactory,
) -> None:
    client = await make_client(changes={"cookie_secure": True}, **FAST_ROOM)
    response = await client.post(f"/api/v1/rooms/{client.server.app[SETTINGS].guard_room}/join")
    cookies = response.headers.getall("Set-Cookie")
    response = await client.get("/masuk")
    cookies += response.headers.getall("Set-Cookie")
    assert {c.split("=")[0] for c in cookies} >= {"antri_ticket", "antri_csrf"}
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=" in cookie and "Secure" in cookie, cookie
    assert "Content-Security-Policy" in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


async def test_every_form_route_refuses_a_post_without_the_csrf_token(
    make_client: AppFactory,
) -> None:
    """Every POST outside the JSON API (all are forms of the pages) checks the token, for a
    visitor who is admitted and logged in, so that no gate answers first."""
    client, _ = await applicant_ready(make_client)
    await csrf_of(client, "/permohonan")  # the cookie is there: only the field is missing
    paths = sorted(page_form_paths(client, "kantor"))
    assert len(paths) >= 15, paths
    for path in paths:
        form = aiohttp.FormData()
        form.add_field("ktp", PNG, filename="ktp.png", content_type="image/png")
        response = await client.post(path, data=form, allow_redirects=False)
        assert response.status == 403, (path, response.status)


async def test_giving_the_turn_back_frees_the_place_and_an_ended_turn_is_just_forgotten(
    make_client: AppFactory,
) -> None:
    client, _ = await applicant_ready(make_client)
    room = client.server.app[ENGINE].room(client.server.app[SETTINGS].guard_room)
    page = await (await client.get("/akun/permohonan")).text()
    assert "Selesai, berikan giliran ke orang berikutnya" in page  # offered beyond the wizard
    await room.refresh()
    active = room.view().active
    response = await post_form(client, "/permohonan/selesai", {}, csrf=await csrf_of(client))
    assert location(response) == "/akun/permohonan"
    await room.refresh()
    assert room.view().active == active - 1
    assert "antri_admission" not in {c.key for c in client.session.cookie_jar}
    # Again, with the turn gone: back to the applications, not into the line.
    client.session.cookie_jar.update_cookies({"antri_admission": "stale"})
    response = await post_form(client, "/permohonan/selesai", {}, csrf=await csrf_of(client))
    assert location(response) == "/akun/permohonan"


async def test_odd_input_in_the_forms_gets_a_clear_answer_never_a_500(
    make_client: AppFactory,
) -> None:
    client, _ = await applicant_ready(make_client)
    csrf = await csrf_of(client, "/permohonan")
    await choose_service(client, csrf, "baru", "biasa/5")
    odd = [
        applicant(address="Jl. Enggano\x00 10"),
        applicant(nik="١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦"),  # Arabic-Indic digits are not a NIK
        applicant(birth_date="99999-01-01", full_name="x" * 5000),
        {"nik": ["a", "b"]},
    ]
    for person in odd:
        response = await post_form(client, "/permohonan/baru/pemohon", person, csrf=csrf)
        assert response.status in (400, 422), (person, response.status)
    await post_form(client, "/permohonan/baru/pemohon", applicant(), csrf=csrf)
    await upload(client, csrf, ktp=PNG, kk=PNG, pendukung=PNG)
    for slot in ("", "2026-02-30/s1", "x" * 300, "2026-12-01/s9"):
        response = await post_form(client, "/permohonan/baru/jadwal", {"slot": slot}, csrf=csrf)
        assert response.status == 422, (slot, response.status)
    for step in ("kantor", "layanan"):
        response = await post_form(
            client, f"/permohonan/baru/{step}", {"office_id": "x"}, csrf=csrf
        )
        assert response.status == 422
    assert (await client.get("/permohonan/baru/nope")).status == 404


async def test_a_draft_belongs_to_its_login_session_and_goes_with_the_logout(
    make_client: AppFactory,
) -> None:
    """A half-filled application holds a NIK: another session (the same account id given to
    someone else after a restore, say) never sees it, and logging out forgets it."""
    client, account_id = await applicant_ready(make_client)
    csrf = await csrf_of(client, "/permohonan")
    await choose_service(client, csrf, "baru", "biasa/5")
    await post_form(client, "/permohonan/baru/pemohon", applicant(), csrf=csrf)
    drafts = client.server.app[DRAFTS]
    assert "applicant" in await drafts.load(session_of(client), account_id)
    other_session = await client.server.app[ACCOUNTS].open_session(account_id)
    assert (await drafts.load(other_session, account_id)).keys() == {"id"}
    first_session = session_of(client)
    assert location(await post_form(client, "/keluar", {}, csrf=csrf)) == "/"
    assert (await drafts.load(first_session, account_id)).keys() == {"id"}


async def test_a_draft_sealed_under_an_old_data_key_starts_over_with_a_message(
    make_client: AppFactory,
) -> None:
    """After ANTRI_DATA_KEY changed, a draft sealed under the old key cannot be read: the wizard
    starts over and says why (in the visitor's language), on every page of it, never a 500."""
    client, account_id = await applicant_ready(make_client)
    csrf = await csrf_of(client, "/permohonan")
    await choose_service(client, csrf, "baru", "biasa/5")
    drafts = client.server.app[DRAFTS]
    old_key = Drafts(drafts.redis, b"the data key before the rotation")
    said = {"id": "dimulai dari awal", "en": "started again"}
    for lang in ("id", "en", "id"):
        client.session.cookie_jar.update_cookies({"antri_lang": lang})
        for path in ("/permohonan/baru", "/permohonan/baru/pemohon", "/permohonan/baru/jadwal"):
            await old_key.save(session_of(client), account_id, {"id": "x", "office_id": OFFICE})
            response = await client.get(path)
            assert response.status == 200, (path, response.status)
            assert said[lang] in await response.text(), path
        await old_key.save(session_of(client), account_id, {"id": "x", "office_id": OFFICE})
        response = await post_form(
            client, "/permohonan/baru/kantor", {"office_id": OFFICE}, csrf=csrf
        )
        assert response.status == 303
        assert (await drafts.load(session_of(client), account_id)).get("office_id") == OFFICE
