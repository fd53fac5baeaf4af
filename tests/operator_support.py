"""Operator accounts for the tests: made in the test's real database, logged in through the real
login forms."""

from __future__ import annotations

import itertools

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from api.appkeys import OPERATORS

from .page_support import post_form

#: a password zxcvbn accepts, for every test operator
OPERATOR_PASSWORD = "Kopi-Tubruk-Pagi-2026"
_numbers = itertools.count(1)


async def new_operator(client: TestClient, role: str, email: str | None = None) -> str:
    """A new operator of `role` in the app's database; their e-mail."""
    email = email or f"{role}{next(_numbers)}@kantor.antri.test"
    await client.server.app[OPERATORS].create(email, role, OPERATOR_PASSWORD, f"Uji {role}")
    return email


async def token_for(client: TestClient, role: str) -> str:
    """An API token of a new operator of `role`."""
    email = await new_operator(client, role)
    return await client.server.app[OPERATORS].issue_token(email, "test")


async def desk_login(
    client: TestClient, email: str, password: str = OPERATOR_PASSWORD
) -> ClientResponse:
    """Log in at the officer's desk."""
    return await post_form(client, "/petugas/masuk", {"email": email, "password": password})


async def console_login(
    client: TestClient, email: str, password: str = OPERATOR_PASSWORD
) -> ClientResponse:
    """Log in at the console."""
    return await post_form(client, "/konsol/masuk", {"email": email, "password": password})
