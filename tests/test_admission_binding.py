"""An admission belongs to its holder (issue 9): its ticket, then the account that first uses it;
one live turn per account; a turn ends once its booking is made."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from aiohttp.test_utils import TestClient

from api.appkeys import ENGINE, SETTINGS

from .booking_support import applicant, booking_body, new_account, released_days
from .conftest import AppFactory
from .test_http import ADMIN, admitted, join, refresh

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}
NOT_YOURS = (403, "admission_not_yours")


async def turn(client: TestClient) -> dict[str, str]:
    """A fresh visitor's admission: the token and the ticket it was claimed with, as headers
    (the cookie jar is emptied, so that nothing else is sent)."""
    client.session.cookie_jar.clear()
    body = await admitted(client, client.server.app[SETTINGS].guard_room)
    client.session.cookie_jar.clear()
    return {"Authorization": f"Bearer {body['admission_token']}", "X-Antri-Ticket": body["ticket"]}


async def own_ticket(client: TestClient) -> str:
    """A ticket of a visitor of its own, in line (not the holder's)."""
    client.session.cookie_jar.clear()
    body = await join(client, client.server.app[SETTINGS].guard_room)
    client.session.cookie_jar.clear()
    return str(body["ticket"])


async def answer(response: Any) -> tuple[int, str]:
    body = await response.json()
    return response.status, body.get("error", "")


async def first_day(client: TestClient) -> str:
    return (await released_days(client))[0]


def book(client: TestClient, headers: dict[str, str], day: str) -> Any:
    body = booking_body(day, applicant=applicant())
    return client.post("/api/v1/bookings", json=body, headers=headers)


async def active(client: TestClient) -> int:
    await refresh(client)
    room = client.server.app[SETTINGS].guard_room
    return int((await (await client.get(f"/api/v1/rooms/{room}")).json())["active"])


async def test_a_copied_token_books_once_for_its_holder(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    holder = await turn(client)
    _, holder_login = await new_account(client)
    # The holder logs in and opens the booking form: the admission is now the holder's.
    assert (await client.get("/api/v1/session", headers=holder | holder_login)).status == 200
    token = {"Authorization": holder["Authorization"]}
    copies: list[dict[str, str]] = []
    for n in range(20):  # other clients: the token alone, or with a ticket of their own
        ticket = {"X-Antri-Ticket": await own_ticket(client)} if n % 2 else {}
        copies.append(token | ticket | (await new_account(client))[1])
    for _ in range(20):  # other accounts with a copy of the ticket too
        copies.append(holder | (await new_account(client))[1])
    everyone = [holder | holder_login, *copies]
    outcomes = await asyncio.gather(*(book(client, h, day) for h in everyone))
    answers = [await answer(r) for r in outcomes]
    assert answers[0] == (201, "")
    assert Counter(answers[1:]) == {NOT_YOURS: 40}
    body = await outcomes[1].json()
    assert body["message"]


async def test_accounts_racing_to_bind_one_token_one_wins(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    holder = await turn(client)
    logins = [(await new_account(client))[1] for _ in range(20)]
    sessions = await asyncio.gather(
        *(client.get("/api/v1/session", headers=holder | login) for login in logins)
    )
    statuses = [r.status for r in sessions]
    assert Counter(statuses) == {200: 1, 403: 19}
    winner = logins[statuses.index(200)]
    bookings = await asyncio.gather(*(book(client, holder | login, day) for login in logins))
    answers = Counter([await answer(r) for r in bookings])
    assert answers == {(201, ""): 1, NOT_YOURS: 19}
    assert bookings[statuses.index(200)].status == 201, winner


async def test_a_token_without_its_ticket_is_refused(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    holder = await turn(client)
    token = {"Authorization": holder["Authorization"]}
    assert (await client.get("/api/v1/session", headers=holder)).status == 200
    assert await answer(await client.get("/api/v1/session", headers=token)) == NOT_YOURS
    other = token | {"X-Antri-Ticket": await own_ticket(client)}
    assert await answer(await client.get("/api/v1/session", headers=other)) == NOT_YOURS
    # Once bound, even the holder's own client needs the account's login.
    _, login = await new_account(client)
    assert (await client.get("/api/v1/session", headers=holder | login)).status == 200
    assert await answer(await client.get("/api/v1/session", headers=holder)) == NOT_YOURS


async def test_a_copied_admission_cookie_shows_the_waiting_room_message(
    make_client: AppFactory,
) -> None:
    client = await make_client(**FAST_ROOM)
    holder = await turn(client)
    token = holder["Authorization"].removeprefix("Bearer ")
    await own_ticket(client)
    guard = client.server.app[SETTINGS].guard_room
    await join(client, guard)  # this browser's own ticket in its cookie jar
    client.session.cookie_jar.update_cookies({"antri_admission": token})
    page = await client.get("/permohonan", allow_redirects=False)
    assert page.status == 403
    text = await page.text()
    assert "Giliran ini bukan milik Anda" in text and f"/antre/{guard}" in text
    english = await client.get("/permohonan", cookies={"antri_lang": "en"})
    assert "This turn is not yours" in await english.text()


async def test_one_account_holds_one_live_turn(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    first, second = await turn(client), await turn(client)
    _, login = await new_account(client)
    assert (await client.get("/api/v1/session", headers=first | login)).status == 200
    held = await client.get("/api/v1/session", headers=second | login)
    assert await answer(held) == (409, "turn_already_held")
    # Giving the first turn back lets the account take the second.
    assert (await client.post("/api/v1/session/release", headers=first | login)).status == 200
    assert (await client.get("/api/v1/session", headers=second | login)).status == 200


async def test_one_account_cannot_take_two_turns_at_once(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    turns = [await turn(client) for _ in range(10)]
    _, login = await new_account(client)
    attempts = [t for t in turns for _ in range(25)]  # 250 requests, 10 tokens, one account
    responses = await asyncio.gather(
        *(client.get("/api/v1/session", headers=t | login) for t in attempts)
    )
    by_token: dict[str, set[int]] = {}
    for headers, response in zip(attempts, responses, strict=True):
        by_token.setdefault(headers["Authorization"], set()).add(response.status)
    assert sorted(map(sorted, by_token.values())) == [[200]] + [[409]] * 9


async def test_turns_per_account_caps_an_account_per_epoch(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    guard = client.server.app[SETTINGS].guard_room
    url = f"/api/v1/admin/rooms/{guard}"
    for bad in (-1, "2", 1.5, True, 1001):
        refused = await client.patch(url, json={"turns_per_account": bad}, headers=ADMIN)
        assert refused.status == 422, bad
        assert "turns_per_account" in (await refused.json())["fields"]
    changed = await client.patch(url, json={"turns_per_account": 1}, headers=ADMIN)
    assert changed.status == 200 and (await changed.json())["turns_per_account"] == 1
    first, second = await turn(client), await turn(client)
    _, login = await new_account(client)
    assert (await client.get("/api/v1/session", headers=first | login)).status == 200
    assert (await client.post("/api/v1/session/release", headers=first | login)).status == 200
    used = await client.get("/api/v1/session", headers=second | login)
    assert await answer(used) == (409, "turn_limit_reached")
    _, someone_else = await new_account(client)
    assert (await client.get("/api/v1/session", headers=second | someone_else)).status == 200


async def test_a_turn_ends_once_its_booking_is_made(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    holder = await turn(client)
    _, login = await new_account(client)
    assert (await client.get("/api/v1/session", headers=holder | login)).status == 200
    assert await active(client) == 1
    assert (await book(client, holder | login, day)).status == 201
    assert await active(client) == 0, "the place went back to the line at once"
    after = await client.get("/api/v1/session", headers=holder | login)
    assert await answer(after) == (401, "admission_required")
    # A refused booking keeps the turn: the applicant picks another session.
    again = await turn(client)
    room = client.server.app[ENGINE].room(client.server.app[SETTINGS].guard_room)
    await room.refresh()
    full = booking_body(day, applicant=applicant(), session_id="nope")
    refused = await client.post("/api/v1/bookings", json=full, headers=again | login)
    assert refused.status in (409, 422)
    assert (await client.get("/api/v1/session", headers=again | login)).status == 200


async def test_the_wizard_ends_the_turn_with_its_booking(make_client: AppFactory) -> None:
    from .page_support import csrf_of, location, post_form
    from .test_wizard_pages import applicant_ready, fill_until_schedule

    client, _ = await applicant_ready(make_client)
    await fill_until_schedule(client)
    assert await active(client) == 1
    token = next(c.value for c in client.session.cookie_jar if c.key == "antri_admission")
    day = await first_day(client)
    csrf = await csrf_of(client, "/permohonan")
    await post_form(client, "/permohonan/baru/jadwal", {"slot": f"{day}/s1"}, csrf=csrf)
    done = await post_form(client, "/permohonan/baru/tinjau", {}, csrf=csrf)
    assert location(done).startswith("/akun/permohonan/")
    assert "antri_admission" not in {c.key for c in client.session.cookie_jar}
    assert await active(client) == 0, "the place went back to the line at once"
    # The token no longer opens the gate: a page of the wizard sends the applicant to the
    # applications (not back into the line), the API answers 401.
    client.session.cookie_jar.update_cookies({"antri_admission": token})
    again = await client.get("/permohonan/baru/kantor", allow_redirects=False)
    assert again.status == 303 and again.headers["Location"] == "/akun/permohonan"
    session = await client.get("/api/v1/session")
    assert await answer(session) == (401, "admission_required")


async def test_the_waiting_page_asks_for_the_login_near_the_front(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=6, burst=1, max_active=1)
    guard = client.server.app[SETTINGS].guard_room
    await turn(client)  # takes the only place: the next visitor waits at the front
    client.session.cookie_jar.clear()
    await join(client, guard)  # a plain GET of the page takes no place
    near = await (await client.get(f"/antre/{guard}")).text()
    assert 'id="login-soon"' in near and f"/masuk?lanjut=%2Fantre%2F{guard}" in near
    assert 'id="login-soon" class="card notice" aria-live="polite" hidden' not in near
    assert "Giliran Anda hampir tiba" in near and "/daftar?lanjut=" in near
    english = await (await client.get(f"/antre/{guard}", cookies={"antri_lang": "en"})).text()
    assert "Your turn is almost here" in english
    # Far back in the line the invitation waits (antre.js shows it when the turn nears).
    for _ in range(30):
        client.session.cookie_jar.clear()
        await join(client, guard)
    await refresh(client)
    far = await (await client.get(f"/antre/{guard}")).text()
    assert 'id="login-soon" class="card notice" aria-live="polite" hidden' in far
    # Logged in, there is nothing to ask.
    _, login = await new_account(client)
    client.session.cookie_jar.update_cookies({"antri_session": login["X-Session-Token"]})
    signed_in = await (await client.get(f"/antre/{guard}")).text()
    assert 'id="login-soon"' not in signed_in


async def test_the_home_page_invites_to_make_an_account_before_the_release(
    make_client: AppFactory,
) -> None:
    client = await make_client(**FAST_ROOM)
    home = await (await client.get("/")).text()
    assert "Siapkan akun sebelum kuota dibuka" in home and 'href="/daftar"' in home
    english = await (await client.get("/", cookies={"antri_lang": "en"})).text()
    assert "Get your account ready before the release" in english


async def test_a_second_turn_can_be_given_back_from_the_page(make_client: AppFactory) -> None:
    from .booking_support import admission
    from .page_support import location, post_form, sign_in

    client = await make_client(**FAST_ROOM)
    elsewhere = await turn(client)  # the account's turn on another device
    _, login = await new_account(client)
    assert (await client.get("/api/v1/session", headers=elsewhere | login)).status == 200
    await admission(client)  # this browser's own turn, in its cookie jar
    sign_in(client, login)
    held = await client.get("/permohonan", allow_redirects=False)
    assert held.status == 409 and "Akun Anda sudah memegang giliran" in await held.text()
    assert await active(client) == 2
    given_back = await post_form(client, "/permohonan/selesai", {}, csrf=None)
    assert location(given_back) == "/akun/permohonan"
    assert await active(client) == 1, "this browser's turn went back to the line"
    assert (await client.get("/api/v1/session", headers=elsewhere | login)).status == 200


async def test_one_turn_books_once_however_many_requests_race(make_client: AppFactory) -> None:
    """250 bookings at once on one admission and one login (each for another applicant): the
    turn makes one booking (README: "A turn makes one booking")."""
    client = await make_client(**FAST_ROOM)
    day = await first_day(client)
    holder = await turn(client)
    _, login = await new_account(client)
    outcomes = await asyncio.gather(*(book(client, holder | login, day) for _ in range(250)))
    answers = Counter([await answer(r) for r in outcomes])
    assert answers[(201, "")] == 1, answers
    assert all(status < 500 for status, _ in answers), answers
    assert answers[(409, "turn_used")] > 0, "some reached PostgreSQL before the turn ended"
    bookings = await (await client.get("/api/v1/bookings", headers=login)).json()
    assert len(bookings) == 1, bookings
    assert await active(client) == 0, "the place went back to the line"
