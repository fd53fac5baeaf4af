"""Load-test accounts on a deployed instance: the operator's API is off unless asked for, then
only for the admin token; a batch is made, its bookings removed with their places given back,
and the batch removed, leaving the database as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from api.settings import Settings, SettingsError

from .booking_support import assert_invariants, booked, booking_body, pool, released_days, turn
from .conftest import ADMIN_TOKEN, AppFactory

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ROUTES = [
    ("POST", "/api/v1/admin/test-accounts"),
    ("GET", "/api/v1/admin/test-accounts/stg"),
    ("DELETE", "/api/v1/admin/test-accounts/stg"),
    ("DELETE", "/api/v1/admin/test-accounts/stg/bookings"),
]
BATCH = {"prefix": "stg", "count": 3, "password": "Uji-Beban-2026"}


async def test_off_by_default_says_nothing(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    for method, path in ROUTES:
        response = await client.request(method, path, headers=ADMIN, json=BATCH)
        assert response.status == 404, (method, path)
        assert (await response.json())["error"] == "not_found"
    assert await pool(client).fetchval("SELECT count(*) FROM accounts") == 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-the-token"}])
async def test_on_needs_the_admin_token(make_client: AppFactory, headers: dict[str, str]) -> None:
    client = await make_client(changes={"load_test_accounts": True}, **FAST_ROOM)
    for method, path in ROUTES:
        response = await client.request(method, path, headers=headers, json=BATCH)
        assert response.status == 401, (method, path)
    assert await pool(client).fetchval("SELECT count(*) FROM accounts") == 0


async def test_bad_batches_are_refused_with_their_fields(make_client: AppFactory) -> None:
    client = await make_client(changes={"load_test_accounts": True}, **FAST_ROOM)
    for body, field in (
        ({**BATCH, "prefix": "Stg%"}, "prefix"),
        ({**BATCH, "count": 0}, "count"),
        ({**BATCH, "count": "3"}, "count"),
        ({**BATCH, "password": "short"}, "password"),
        ({**BATCH, "extra": 1}, "extra"),
    ):
        response = await client.post("/api/v1/admin/test-accounts", json=body, headers=ADMIN)
        assert response.status == 422, body
        assert field in (await response.json())["fields"], body
    response = await client.get("/api/v1/admin/test-accounts/a.b", headers=ADMIN)
    assert response.status == 422


async def login(client: TestClient, email: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/login", json={"email": email, "password": password})
    assert response.status == 200, await response.text()
    return {"X-Session-Token": (await response.json())["session_token"]}


async def test_a_batch_books_and_leaves_nothing_behind(make_client: AppFactory) -> None:
    client = await make_client(changes={"load_test_accounts": True}, **FAST_ROOM)
    db = pool(client)
    # Someone else's booking in the same slot, and an account whose address only looks alike:
    # neither may be touched.
    other = await db.fetchval(
        "INSERT INTO accounts (email, name, phone, password_hash, verified_at)"
        " VALUES ('stg-real@antri.test', 'Orang Lain', '081200000000', 'x', now()) RETURNING id"
    )
    made = await client.post("/api/v1/admin/test-accounts", json=BATCH, headers=ADMIN)
    assert made.status == 201, await made.text()
    assert await made.json() == {
        "prefix": "stg",
        "emails": "stg<n>@antri.test",
        "accounts": 3,
        "bookings_holding_places": 0,
        "created": 3,
    }
    again = await client.post("/api/v1/admin/test-accounts", json=BATCH, headers=ADMIN)
    assert (await again.json())["created"] == 0  # kept, not doubled

    day = (await released_days(client))[0]
    before = await booked(client, day)
    for n in (1, 2):
        headers = await login(client, f"stg{n}@antri.test", BATCH["password"]) | await turn(client)
        response = await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
        assert response.status == 201, await response.text()
        if n == 1:  # one of them paid: payments and events hang on it
            code = (await response.json())["billing_code"]
            paid = await client.post("/api/v1/payments/sandbox/pay", json={"billing_code": code})
            assert paid.status == 200, await paid.text()
    await db.execute(  # the other account's booking, made as the domain would
        "INSERT INTO bookings (account_id, slot_id, status, application_kind, passport_type,"
        " validity_years, nik_cipher, nik_hash, nik_masked, applicant, amount, fee_lines,"
        " billing_code, expires_at)"
        " SELECT $1, slot_id, status, application_kind, passport_type, validity_years,"
        " nik_cipher, 'other'::bytea, nik_masked, applicant, amount, fee_lines, 'OTHER-1',"
        " expires_at FROM bookings LIMIT 1",
        other,
    )
    await db.execute(
        "UPDATE slots SET booked = booked + 1 WHERE id = (SELECT slot_id FROM bookings"
        " WHERE billing_code = 'OTHER-1')"
    )
    assert await booked(client, day) == before + 3
    state = await client.get("/api/v1/admin/test-accounts/stg", headers=ADMIN)
    assert (await state.json())["bookings_holding_places"] == 2

    cleaned = await client.delete("/api/v1/admin/test-accounts/stg/bookings", headers=ADMIN)
    assert await cleaned.json() == {
        "prefix": "stg",
        "bookings_removed": 2,
        "places_freed": 2,
        "accounts_removed": 0,
    }
    assert await booked(client, day) == before + 1
    await assert_invariants(client)
    batch_ids = "SELECT id FROM accounts WHERE email ~ '^stg[0-9]+@antri\\.test$'"
    assert (
        await db.fetchval(f"SELECT count(*) FROM bookings WHERE account_id IN ({batch_ids})") == 0
    )
    assert await db.fetchval("SELECT count(*) FROM payments") == 0
    assert await db.fetchval(f"SELECT count(*) FROM ({batch_ids}) a") == 3

    removed = await client.delete("/api/v1/admin/test-accounts/stg", headers=ADMIN)
    assert (await removed.json())["accounts_removed"] == 3
    assert await db.fetchval(f"SELECT count(*) FROM ({batch_ids}) a") == 0
    assert await db.fetchval("SELECT count(*) FROM accounts WHERE id = $1", other) == 1
    assert await db.fetchval("SELECT count(*) FROM bookings WHERE account_id = $1", other) == 1
    await assert_invariants(client)


def test_the_setting_is_parsed_strictly(tmp_path: Path) -> None:
    base = {"ANTRI_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(base).load_test_accounts is False
    for word, on in (("1", True), ("on", True), ("0", False), ("off", False)):
        env = base | {"ANTRI_LOAD_TEST_ACCOUNTS": word}
        assert Settings.from_env(env).load_test_accounts is on
    with pytest.raises(SettingsError, match="ANTRI_LOAD_TEST_ACCOUNTS"):
        Settings.from_env(base | {"ANTRI_LOAD_TEST_ACCOUNTS": "staging"})
