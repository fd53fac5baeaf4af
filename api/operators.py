"""Operator accounts: the people who run the waiting room, the quotas and the officer's desk.

Each has a role (ROLES) that says what they may do; each action they take carries their name
(an `Actor`) into the audit trail. Logins use the applicants' rules (argon2id, attempts counted
before the check: api/booking/accounts.py) and open a session that lives in Redis, so logging
out ends it on the server. An operator may also hold API tokens for scripts; only a keyed hash
of each is stored. The admin token (ANTRI_ADMIN_TOKEN) remains the bootstrap credential: it acts
as `ADMIN_TOKEN_ACTOR`.

No web code here: the pages and the JSON API call it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from typing import Final

import asyncpg
from argon2.exceptions import InvalidHashError, VerificationError

from queue_engine.scripts import RedisClient

from .audit import SCHEDULER, Actor
from .booking import attempts
from .booking.accounts import (
    LOGIN_ACCOUNT_CEILING,
    LOGIN_ACCOUNT_PACE,
    LOGIN_FAILURES,
    LOGIN_PER_ADDRESS,
    LOGIN_WINDOW,
    is_common_password,
    password_hasher,
)
from .booking.errors import Conflict, Invalid, TooManyAttempts, Unauthenticated

#: what each role may do; a role not listed for a permission is refused it
VIEWER, OPERATOR, OFFICER, ADMIN = "viewer", "operator", "officer", "admin"
ROLES: Final = (VIEWER, OPERATOR, OFFICER, ADMIN)
#: read the console (rooms, events, quotas, the audit trail)
READ = frozenset({VIEWER, OPERATOR, ADMIN})
#: change rooms, release events and quotas
STEER = frozenset({OPERATOR, ADMIN})
#: the officer's desk: look bookings up and move them along
DESK = frozenset({OFFICER, ADMIN})

SESSION_SECONDS = 8 * 3600
TOKEN_PREFIX = "antri_op_"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


#: the bootstrap credential, ANTRI_ADMIN_TOKEN
ADMIN_TOKEN_ACTOR = Actor("admin-token", ADMIN)
__all__ = ["ADMIN_TOKEN_ACTOR", "SCHEDULER", "Actor", "Operators"]


def _digest(text: str) -> str:
    return hashlib.sha256(text.lower().encode()).hexdigest()


def _session_key(session_id: str) -> str:
    return "antri:operator-session:" + hashlib.sha256(session_id.encode()).hexdigest()


def login_failures_key(email: str, address: str) -> str:
    """The Redis key counting failed logins on an operator account from one address."""
    return f"antri:operator-login-failures:{_digest(email)}:{address}"


def _account_key(email: str) -> str:
    return "antri:operator-login-account:" + _digest(email)


class Operators:
    """Operator accounts in PostgreSQL, their sessions and login counters in Redis."""

    def __init__(self, pool: asyncpg.Pool, redis: RedisClient | None, secret: bytes) -> None:
        self.pool = pool
        self._redis = redis
        self._token_key = hmac.new(secret, b"antri operator tokens v1", "sha256").digest()
        self.hasher = password_hasher()
        self._dummy_hash: str | None = None
        self._hashing = asyncio.Semaphore(4)

    @property
    def redis(self) -> RedisClient:
        assert self._redis is not None, "this Operators has no Redis (the CLI's)"
        return self._redis

    # -- accounts ---------------------------------------------------------------------------

    async def create(self, email: str, role: str, password: str, name: str = "") -> int:
        """A new operator; raises Invalid naming each bad field, Conflict if the e-mail is taken."""
        email, name = email.strip(), " ".join(name.split()) or email.strip().split("@")[0]
        fields: dict[str, str] = {}
        if not (_EMAIL.match(email) and len(email) <= 254):
            fields["email"] = "not an e-mail address"
        if role not in ROLES:
            fields["role"] = "must be one of " + ", ".join(ROLES)
        if not 12 <= len(password) <= 128:
            fields["password"] = "must be 12 to 128 characters"
        elif await asyncio.to_thread(is_common_password, password, [email, name]):
            fields["password"] = "too easy to guess; use a longer passphrase"
        if not 1 <= len(name) <= 100:
            fields["name"] = "1 to 100 characters"
        if fields:
            raise Invalid(fields)
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        try:
            return int(
                await self.pool.fetchval(
                    "INSERT INTO operators (email, name, role, password_hash)"
                    " VALUES ($1, $2, $3, $4) RETURNING id",
                    email,
                    name,
                    role,
                    password_hash,
                )
            )
        except asyncpg.UniqueViolationError:
            raise Conflict("operator_exists", f"An operator <{email}> exists already.") from None

    async def actor(self, operator_id: int) -> Actor | None:
        """The operator as an actor, unless unknown or disabled (read afresh: a role changed or an
        account disabled takes effect at once, even on open sessions)."""
        row = await self.pool.fetchrow(
            "SELECT id, email, role FROM operators WHERE id = $1 AND disabled_at IS NULL",
            operator_id,
        )
        return Actor(row["email"], row["role"], row["id"]) if row is not None else None

    # -- login sessions ---------------------------------------------------------------------

    async def login(self, email: str, password: str, address: str) -> tuple[str, Actor]:
        """A new session id for the operator. Attempts are counted before the password is
        checked, with the applicants' limits (LOGIN_FAILURES per account and address in
        LOGIN_WINDOW, then a pace per account), so that a burst of guesses cannot outrun them.
        Raises TooManyAttempts or Unauthenticated."""
        redis = self.redis
        await attempts.take(
            redis, "antri:login-address:" + address, LOGIN_PER_ADDRESS, 60, "Too many attempts."
        )
        failures = login_failures_key(email, address)
        await attempts.take(
            redis, failures, LOGIN_FAILURES, LOGIN_WINDOW, "Too many failed logins; wait."
        )
        counted, _ = await attempts.count(redis, _account_key(email), LOGIN_WINDOW)
        if counted > LOGIN_ACCOUNT_CEILING and not await redis.set(
            "antri:operator-login-pace:" + _digest(email), 1, ex=LOGIN_ACCOUNT_PACE, nx=True
        ):
            await attempts.refund(redis, failures)
            raise TooManyAttempts("too_many_attempts", "Try again in a few seconds.", 3)
        row = await self.pool.fetchrow(
            "SELECT id, email, role, password_hash FROM operators"
            " WHERE lower(email) = lower($1) AND disabled_at IS NULL",
            email.strip(),
        )
        password_hash = row["password_hash"] if row is not None else await self._dummy()
        if not await self._matches(password_hash, password) or row is None:
            raise Unauthenticated("bad_credentials", "The e-mail address or password is wrong.")
        await redis.delete(failures)
        await attempts.refund(redis, _account_key(email))
        session_id = secrets.token_urlsafe(32)
        await redis.set(_session_key(session_id), row["id"], ex=SESSION_SECONDS)
        return session_id, Actor(row["email"], row["role"], row["id"])

    async def session(self, session_id: str) -> Actor | None:
        """The operator of a live session, if any."""
        if not 20 <= len(session_id) <= 100:
            return None
        value = await self.redis.get(_session_key(session_id))
        return await self.actor(int(value)) if value is not None else None

    async def logout(self, session_id: str) -> None:
        """End the session on the server (a copied cookie stops working)."""
        if session_id:
            await self.redis.delete(_session_key(session_id))

    async def _matches(self, password_hash: str, password: str) -> bool:
        try:
            async with self._hashing:
                return await asyncio.to_thread(self.hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _dummy(self) -> str:
        """A hash to check unknown e-mails against, so that they take as long as known ones."""
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self.hasher.hash, secrets.token_hex(16))
        return self._dummy_hash

    # -- API tokens -------------------------------------------------------------------------

    def _token_hash(self, token: str) -> bytes:
        return hmac.new(self._token_key, token.encode(), "sha256").digest()

    async def issue_token(self, email: str, label: str) -> str:
        """A new API token for the operator with this e-mail (shown once; only its hash is
        kept). Raises Invalid if there is no such operator."""
        operator_id = await self.pool.fetchval(
            "SELECT id FROM operators WHERE lower(email) = lower($1) AND disabled_at IS NULL",
            email.strip(),
        )
        if operator_id is None:
            raise Invalid({"email": "no such operator"})
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        await self.pool.execute(
            "INSERT INTO operator_tokens (token_hash, operator_id, label) VALUES ($1, $2, $3)",
            self._token_hash(token),
            operator_id,
            label[:100] or "token",
        )
        return token

    async def by_token(self, token: str) -> Actor | None:
        """The operator an API token belongs to, unless revoked or disabled."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            return None
        row = await self.pool.fetchrow(
            "SELECT o.id, o.email, o.role FROM operator_tokens t JOIN operators o"
            " ON o.id = t.operator_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
            " AND o.disabled_at IS NULL",
            self._token_hash(token),
        )
        return Actor(row["email"], row["role"], row["id"]) if row is not None else None

    async def disable(self, email: str) -> bool:
        """Disable an operator: their open sessions and API tokens stop working at once (both are
        checked against the account on every request). False if there is no such operator."""
        result: str = await self.pool.execute(
            "UPDATE operators SET disabled_at = now() WHERE lower(email) = lower($1)"
            " AND disabled_at IS NULL",
            email.strip(),
        )
        return result != "UPDATE 0"

    async def revoke_tokens(self, email: str) -> int:
        """Revoke every API token of the operator; how many were live."""
        result = await self.pool.execute(
            "UPDATE operator_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND"
            " operator_id = (SELECT id FROM operators WHERE lower(email) = lower($1))",
            email.strip(),
        )
        return int(result.split()[-1])
