"""The console's rooms page over HTTP on the real app: numbers shown, one-click state changes and
validated limit edits with a reason, role checks, CSRF and foreign Origins refused."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from api.appkeys import ENGINE, SETTINGS

from .conftest import AppFactory
from .operator_support import console_login, new_operator
from .page_support import csrf_of, post_form
from .test_audit import audit_rows


async def logged_in(make_client: AppFactory, role: str = "operator") -> tuple[TestClient, str]:
    client = await make_client()
    email = await new_operator(client, role)
    assert (await console_login(client, email)).status == 303
    return client, client.server.app[SETTINGS].guard_room


async def test_the_rooms_page_shows_each_room_and_its_numbers(make_client: AppFactory) -> None:
    client, room = await logged_in(make_client)
    await client.post(f"/api/v1/rooms/{room}/join")
    page = await client.get("/konsol/ruang")
    text = await page.text()
    assert page.status == 200
    assert f'id="ruang-{room}"' in text and "Panjang antrean" in text
    assert "Komitmen acakan" in text and "Terbuka" in text
    # The latest number handed out and the places left, as operators asked of other consoles.
    assert "Nomor terakhir / sudah dipanggil" in text and "Sisa tempat untuk dipesan" in text
    assert 'name="state" value="paused"' in text and 'name="alasan"' in text
    assert text.count('class="card room"') == len(client.server.app[ENGINE].rooms)


async def test_pause_queue_all_and_resume_with_a_reason(make_client: AppFactory) -> None:
    client, room = await logged_in(make_client)
    joined = await client.post(f"/api/v1/rooms/{room}/join")
    ticket = (await joined.json())["ticket"]
    path = f"/konsol/ruang/{room}/keadaan"
    missing = await post_form(client, path, {"state": "paused", "alasan": "  "})
    assert missing.status == 422 and "Tulis alasan" in await missing.text()
    unknown = await post_form(client, path, {"state": "asleep", "alasan": "x"})
    assert unknown.status == 422
    assert (await post_form(client, path, {"state": "paused", "alasan": "Bank down"})).status == 303
    engine_room = client.server.app[ENGINE].room(room)
    assert engine_room.view().state == "paused"
    status = await client.get(f"/api/v1/rooms/{room}/status", headers={"X-Antri-Ticket": ticket})
    assert (await status.json())["state"] == "paused"
    assert (await post_form(client, path, {"state": "queue_all", "alasan": "Tahan"})).status == 303
    status = await client.get(f"/api/v1/rooms/{room}/status", headers={"X-Antri-Ticket": ticket})
    body = await status.json()
    assert body["state"] == "waiting" and body["eta_seconds"] is None
    assert (await post_form(client, path, {"state": "open", "alasan": "Pulih"})).status == 303
    rows = await audit_rows(client, "room.state")
    assert [(r["before"], r["after"], r["reason"]) for r in rows] == [
        ('{"state": "open"}', '{"state": "paused"}', "Bank down"),
        ('{"state": "paused"}', '{"state": "queue_all"}', "Tahan"),
        ('{"state": "queue_all"}', '{"state": "open"}', "Pulih"),
    ]
    trail = await (await client.get("/konsol/audit")).text()
    assert "Bank down" in trail and "room.state" in trail


async def test_limit_edits_are_validated(make_client: AppFactory) -> None:
    client, room = await logged_in(make_client)
    path = f"/konsol/ruang/{room}/atur"
    limits = {"rate_per_minute": "120", "burst": "10", "max_active": "200",
              "session_minutes": "15", "pow_difficulty": "0"}  # fmt: skip
    for bad, words in (
        ({"rate_per_minute": "0"}, "Laju: bilangan bulat"),
        ({"rate_per_minute": "banyak"}, "Isi dengan angka"),
        ({"session_minutes": "999"}, "Lama sesi"),
        ({"pow_difficulty": "99"}, "Bukti kerja"),
        ({"alasan": ""}, "Tulis alasan"),
    ):
        refused = await post_form(client, path, limits | {"alasan": "uji"} | bad)
        text = await refused.text()
        assert refused.status == 422 and words in text, (bad, text[-2000:])
    assert await audit_rows(client) == []
    done = await post_form(client, path, limits | {"alasan": "Rilis Senin"})
    assert done.status == 303
    view = client.server.app[ENGINE].room(room).view()
    assert view.rate_per_minute == 120 and view.pow_difficulty == 0
    (row,) = await audit_rows(client, "room.configure")
    # Only what changed is recorded.
    assert row["after"] == '{"rate_per_minute": 120}' and row["reason"] == "Rilis Senin"
    same = await post_form(client, path, limits | {"alasan": "lagi"})
    assert same.status == 200 and "Tidak ada yang berubah" in await same.text()


async def test_roles_csrf_and_foreign_origins(make_client: AppFactory) -> None:
    client, room = await logged_in(make_client, "viewer")
    page = await (await client.get("/konsol/ruang")).text()
    assert "Panjang antrean" in page and 'name="state"' not in page
    change = {"state": "paused", "alasan": "x"}
    viewer = await post_form(client, f"/konsol/ruang/{room}/keadaan", change)
    assert viewer.status == 403 and "hanya boleh melihat" in await viewer.text()
    limits = {"rate_per_minute": "5", "alasan": "x"}
    assert (await post_form(client, f"/konsol/ruang/{room}/atur", limits)).status == 403

    officer_client, _ = await logged_in(make_client, "officer")
    refused = await officer_client.get("/konsol/ruang")
    assert refused.status == 403 and "tidak membuka" in await refused.text()
    home = await (await officer_client.get("/konsol")).text()
    assert "meja petugas" in home and "/konsol/ruang" not in home

    operator, room = await logged_in(make_client)
    for path, fields in ((f"/konsol/ruang/{room}/keadaan", change),
                         (f"/konsol/ruang/{room}/atur", limits)):  # fmt: skip
        assert (await post_form(operator, path, fields, csrf="x" * 32)).status == 403
        token = await csrf_of(operator, "/konsol/ruang")
        foreign = await operator.post(
            path, data=fields | {"csrf": token}, headers={"Origin": "https://evil.example"},
            allow_redirects=False,
        )  # fmt: skip
        assert foreign.status == 403
    assert await audit_rows(operator) == []
    anonymous = await make_client()
    token = await csrf_of(anonymous, "/konsol")
    out = await anonymous.post(
        f"/konsol/ruang/{room}/keadaan", data=change | {"csrf": token}, allow_redirects=False
    )
    assert out.status == 303 and out.headers["Location"] == "/konsol"
    unknown = await post_form(operator, "/konsol/ruang/nope/keadaan", change)
    assert unknown.status == 404


async def test_250_identical_pauses_at_once_record_one_row(make_client: AppFactory) -> None:
    client, room = await logged_in(make_client)
    token = await csrf_of(client, "/konsol/ruang")
    change = {"state": "paused", "alasan": "Serentak", "csrf": token}
    responses = await asyncio.gather(
        *(
            client.post(f"/konsol/ruang/{room}/keadaan", data=change, allow_redirects=False)
            for _ in range(250)
        )
    )
    assert {r.status for r in responses} == {303}
    assert len(await audit_rows(client, "room.state")) == 1
