"""Operator accounts: created by the CLI, logged in with the applicants' limits, API tokens kept
hashed, and each role allowed only its own part of the operator's API."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from api.appkeys import OPERATORS, SETTINGS
from api.booking.accounts import LOGIN_FAILURES
from api.operators import TOKEN_PREFIX

from .conftest import ADMIN_TOKEN, SECRET, AppFactory
from .operator_support import OPERATOR_PASSWORD, console_login, new_operator, token_for
from .page_support import csrf_of, post_form

ANTRI = str(Path(sys.executable).with_name("antri"))


async def antri(database: str, data_dir: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    """Run the real `antri` command against the test's database: (status, stdout + stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTRI_")}
    env |= {
        "ANTRI_DATABASE_URL": database,
        "ANTRI_DATA_DIR": str(data_dir),
        "ANTRI_SECRET": SECRET.decode(),
    }
    process = await asyncio.create_subprocess_exec(
        ANTRI,
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_the_cli_creates_operators_and_tokens_that_the_api_accepts(
    make_client: AppFactory, database: str, tmp_path: Path
) -> None:
    client = await make_client()
    room = client.server.app[SETTINGS].guard_room
    email = "ops@kantor.antri.test"
    status, out = await antri(
        database, tmp_path, "operators", "create", "--email", email, "--role", "operator",
        "--password-stdin", stdin=OPERATOR_PASSWORD + "\n",
    )  # fmt: skip
    assert status == 0 and f"<{email}> (operator)" in out, out
    # Bad input: one clear line, no traceback.
    for bad_args, stdin, words in (
        (["--email", "not-an-email", "--role", "viewer"], OPERATOR_PASSWORD, "e-mail"),
        (["--email", "x@y.id", "--role", "viewer"], "password1", "password"),
        (["--email", email, "--role", "viewer"], OPERATOR_PASSWORD, "exists"),
    ):
        status, out = await antri(
            database, tmp_path, "operators", "create", *bad_args, stdin=stdin + "\n"
        )
        assert status == 1 and words in out and "Traceback" not in out, out
    status, out = await antri(database, tmp_path, "operators", "token", "--email", email)
    token = out.strip()
    assert status == 0 and token.startswith(TOKEN_PREFIX), out

    # Only a keyed hash of the token is stored.
    connection = await asyncpg.connect(database)
    try:
        stored = await connection.fetch("SELECT token_hash::text AS h FROM operator_tokens")
    finally:
        await connection.close()
    assert len(stored) == 1 and token not in stored[0]["h"]

    bearer = {"Authorization": f"Bearer {token}"}
    changed = await client.patch(
        f"/api/v1/admin/rooms/{room}", json={"rate_per_minute": 77}, headers=bearer
    )
    assert changed.status == 200 and (await changed.json())["rate_per_minute"] == 77
    status, out = await antri(database, tmp_path, "operators", "revoke-tokens", "--email", email)
    assert status == 0 and "revoked 1" in out
    revoked = await client.get(f"/api/v1/admin/rooms/{room}", headers=bearer)
    assert revoked.status == 401
    # Disabling ends the operator's access at once, tokens made before included.
    status, out = await antri(database, tmp_path, "operators", "token", "--email", email)
    fresh = {"Authorization": f"Bearer {out.strip()}"}
    assert (await client.get(f"/api/v1/admin/rooms/{room}", headers=fresh)).status == 200
    status, out = await antri(database, tmp_path, "operators", "disable", "--email", email)
    assert status == 0 and "disabled" in out
    assert (await client.get(f"/api/v1/admin/rooms/{room}", headers=fresh)).status == 401
    status, out = await antri(database, tmp_path, "operators", "disable", "--email", email)
    assert status == 1 and "no active operator" in out


async def test_each_role_gets_its_own_part_of_the_api(make_client: AppFactory) -> None:
    client = await make_client()
    room = client.server.app[SETTINGS].guard_room
    path = f"/api/v1/admin/rooms/{room}"
    tokens = {role: await token_for(client, role) for role in ("viewer", "operator", "officer")}
    tokens["admin-token"] = ADMIN_TOKEN

    async def status(method: str, url: str, role: str, **kwargs: object) -> int:
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        response = await client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]
        return response.status

    change = {"json": {"rate_per_minute": 90}}
    assert [await status("GET", path, role) for role in tokens] == [200, 200, 403, 200]
    assert [await status("PATCH", path, role, **change) for role in tokens] == [403, 200, 403, 200]
    lookup = "/api/v1/admin/bookings?code=ABCD-EFGH-JKMNP"
    assert [await status("GET", lookup, role) for role in tokens] == [403, 403, 404, 404]
    forbidden = await client.patch(path, json={"state": "paused"}, headers={
        "Authorization": f"Bearer {tokens['viewer']}"})  # fmt: skip
    assert (await forbidden.json())["error"] == "forbidden"
    for guess in ("antri_op_" + "x" * 43, "x" * 500, ""):
        response = await client.get(path, headers={"Authorization": f"Bearer {guess}"})
        assert response.status == 401, guess


async def test_a_guessed_operator_password_meets_the_limit(client_with_operator: tuple) -> None:
    client, email = client_with_operator
    csrf = await csrf_of(client, "/konsol")
    guesses = await asyncio.gather(
        *(
            post_form(
                client, "/konsol/masuk", {"email": email, "password": f"tebak-{n}"}, csrf=csrf
            )
            for n in range(250)
        )
    )
    statuses = Counter(r.status for r in guesses)
    # Counted before checking: only LOGIN_FAILURES guesses were checked at all.
    assert statuses == {401: LOGIN_FAILURES, 429: 250 - LOGIN_FAILURES}, statuses
    assert "Retry-After" in next(r for r in guesses if r.status == 429).headers
    # Even the right password waits now (from this address).
    assert (await console_login(client, email)).status == 429
    # An unknown e-mail gets the same answer as a wrong password.
    unknown = await console_login(client, "nobody@kantor.antri.test", "Salah-Sekali-2026")
    assert unknown.status == 401


async def test_operator_sessions_end_at_logout(client_with_operator: tuple) -> None:
    client, email = client_with_operator
    logged_in = await console_login(client, email)
    assert logged_in.status == 303
    cookie = next(c for c in logged_in.headers.getall("Set-Cookie") if "antri_konsol=" in c)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/konsol" in cookie
    copied = logged_in.cookies["antri_konsol"].value
    assert (await client.get("/konsol/audit")).status == 200
    assert (await post_form(client, "/konsol/keluar", {})).status == 303
    client.session.cookie_jar.update_cookies({"antri_konsol": copied})
    again = await client.get("/konsol/audit", allow_redirects=False)
    assert again.status in (303, 401)
    # A disabled account's open session stops working at once.
    second = await console_login(client, email)
    assert second.status == 303
    await client.server.app[OPERATORS].pool.execute(
        "UPDATE operators SET disabled_at = now() WHERE email = $1", email
    )
    assert (await client.get("/konsol/audit", allow_redirects=False)).status in (303, 401)


@pytest.fixture
async def client_with_operator(make_client: AppFactory) -> tuple[TestClient, str]:
    client = await make_client()
    return client, await new_operator(client, "operator")
