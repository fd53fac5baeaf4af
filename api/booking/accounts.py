"""Accounts: registration, e-mail verification, login sessions and their rate limits.

Accounts live in PostgreSQL; login sessions and attempt counters in Redis, where they expire
by themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from queue_engine.scripts import RedisClient

from .application import is_worded, mobile_number
from .codes import verification_code
from .errors import Conflict, Forbidden, Invalid, TooManyAttempts, Unauthenticated

SESSION_SECONDS = 12 * 3600
VERIFICATION_TTL = timedelta(minutes=30)
VERIFICATION_ATTEMPTS = 5
#: a new verification code may be asked for once this often per address
RESEND_SECONDS = 60
#: failed logins per e-mail address in LOGIN_WINDOW before it is locked for the window
LOGIN_FAILURES = 5
LOGIN_WINDOW = 15 * 60
#: login attempts per client address per minute (generous: carriers put many phones behind one)
LOGIN_PER_ADDRESS = 300


#: argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~35 ms of one core. The
#: library's default (64 MiB, 3 passes, 4 lanes) costs ~260 ms of CPU a login, which at a quota
#: release starves the whole server; the per-account failure limit guards against guessing.
def password_hasher() -> PasswordHasher:
    """The argon2id hasher of account passwords."""
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class Account:
    """A logged-in account, as the handlers need it."""

    id: int
    email: str
    name: str


@dataclass(frozen=True)
class Registration:
    """What `register` did: the new account, and the code to e-mail to it."""

    account_id: int
    email: str
    name: str
    code: str


def _session_key(token: str) -> str:
    return "antri:login:" + hashlib.sha256(token.encode()).hexdigest()


def _failures_key(email: str) -> str:
    return "antri:login-failures:" + hashlib.sha256(email.lower().encode()).hexdigest()


def _address_key(address: str) -> str:
    return "antri:login-address:" + address


def check_registration(body: dict[str, Any]) -> tuple[str, str, str, str]:
    """(email, password, name, phone) from a registration body; raises Invalid naming each field."""
    fields: dict[str, str] = {}
    allowed = {"email", "password", "name", "phone"}
    for unknown in sorted(set(body) - allowed):
        fields[unknown] = "unknown field"
    values = {}
    for key in sorted(allowed):
        value = body.get(key)
        if value is None:
            fields[key] = "required"
        elif not isinstance(value, str):
            fields[key] = "must be a string"
        else:
            values[key] = value.strip() if key != "password" else value
    email, password = values.get("email", ""), values.get("password", "")
    name = " ".join(values.get("name", "").split())
    phone = mobile_number(values.get("phone", ""))
    if "email" in values and not (_EMAIL.match(email) and len(email) <= 254):
        fields["email"] = "not an e-mail address"
    if "password" in values:
        if not 8 <= len(password) <= 128:
            fields["password"] = "must be 8 to 128 characters"
        elif not any(c.isupper() for c in password) or not any(c.isdigit() for c in password):
            fields["password"] = "needs at least one capital letter and one digit"
    # The same rules as the application form's, so an account's name and phone fit it.
    if "name" in values and not (3 <= len(name) <= 100 and is_worded(name)):
        fields["name"] = "3 to 100 letters, spaces and . ' - ,"
    if "phone" in values and phone is None:
        fields["phone"] = "an Indonesian mobile number, e.g. 081234567890"
    if fields or phone is None:
        raise Invalid(fields)
    return email, password, name, phone


class Accounts:
    """Registration, verification and login, on PostgreSQL (accounts) and Redis (sessions)."""

    def __init__(self, pool: asyncpg.Pool, redis: RedisClient | None, secret: bytes) -> None:
        """`redis` holds the login sessions; without it (the `antri accounts` command) accounts
        can be created but nobody can log in."""
        self.pool = pool
        self._redis = redis
        self.hasher = password_hasher()
        # Hashing runs in threads; at most one per spare core, so that a burst of logins
        # queues instead of taking the CPU from everyone else's requests.
        self._hashing = asyncio.Semaphore(max(1, (os.cpu_count() or 2) - 1))
        self._code_key = hashlib.sha256(b"antri verification code v1" + secret).digest()

    @property
    def redis(self) -> RedisClient:
        """The Redis of the login sessions."""
        if self._redis is None:
            raise RuntimeError("login sessions need Redis")
        return self._redis

    def _code_hash(self, account_id: int, code: str) -> bytes:
        return hmac.new(self._code_key, f"{account_id}:{code}".encode(), "sha256").digest()

    async def hash_password(self, password: str) -> str:
        """An argon2id hash, computed off the event loop (it takes tens of milliseconds)."""
        async with self._hashing:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def register(self, body: dict[str, Any]) -> Registration:
        """Create an unverified account; the caller mails the returned code."""
        account = await self._checked(body)
        async with self.pool.acquire() as conn, conn.transaction():
            account_id = await self._insert(conn, account, verified=False)
            code = await self._new_code(conn, account_id)
        return Registration(account_id, account[0], account[1], code)

    async def _checked(self, body: dict[str, Any]) -> tuple[str, str, str, str]:
        """(e-mail, name, phone, password hash) of a registration body; raises Invalid. Hashed
        before a connection is taken, so that queued hashing holds none."""
        email, password, name, phone = check_registration(body)
        return email, name, phone, await self.hash_password(password)

    async def _insert(
        self, conn: asyncpg.Connection, account: tuple[str, str, str, str], verified: bool
    ) -> int:
        """The new account's id; Conflict if the e-mail address has one."""
        account_id = await conn.fetchval(
            "INSERT INTO accounts (email, name, phone, password_hash, verified_at)"
            " VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)"
            " ON CONFLICT DO NOTHING RETURNING id",
            *account,
            verified,
        )
        if account_id is None:
            raise Conflict("email_taken", "An account with this e-mail address exists.")
        return int(account_id)

    async def _new_code(self, conn: asyncpg.Connection, account_id: int) -> str:
        code = verification_code()
        await conn.execute(
            "INSERT INTO email_verifications (account_id, code_hash, expires_at)"
            " VALUES ($1, $2, now() + $3)"
            " ON CONFLICT (account_id) DO UPDATE"
            " SET code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = 0",
            account_id,
            self._code_hash(account_id, code),
            VERIFICATION_TTL,
        )
        return code

    async def new_code(self, email: str) -> Registration | None:
        """A fresh verification code for an unverified account (None for an unknown or verified
        address, which the caller does not reveal); at most one a minute per address."""
        key = "antri:verify-resend:" + hashlib.sha256(email.lower().encode()).hexdigest()
        if not await self.redis.set(key, 1, ex=RESEND_SECONDS, nx=True):
            ttl = await self.redis.ttl(key)
            raise TooManyAttempts(
                "too_many_attempts", "A code was sent a moment ago; wait a minute.", max(1, ttl)
            )
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT id, email, name FROM accounts"
                " WHERE lower(email) = lower($1) AND verified_at IS NULL FOR UPDATE",
                email,
            )
            if row is None:
                return None
            code = await self._new_code(conn, row["id"])
        return Registration(row["id"], row["email"], row["name"], code)

    async def verify(self, email: str, code: str) -> None:
        """Mark the account verified if `code` is its current code; attempts are limited."""
        refused = Invalid({"code": "the code is wrong or has expired"}, {"code": "wrong_code"})
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT a.id, a.verified_at, v.code_hash, v.expires_at > now() AS live, v.attempts"
                " FROM accounts a LEFT JOIN email_verifications v ON v.account_id = a.id"
                " WHERE lower(a.email) = lower($1) FOR UPDATE OF a",
                email,
            )
            if row is None:
                raise refused
            if row["verified_at"] is not None:
                return
            if row["code_hash"] is None or not row["live"]:
                raise refused
            if row["attempts"] >= VERIFICATION_ATTEMPTS:
                raise TooManyAttempts(
                    "too_many_attempts", "Too many wrong codes; register again later.", 900
                )
            if not hmac.compare_digest(row["code_hash"], self._code_hash(row["id"], code)):
                await conn.execute(
                    "UPDATE email_verifications SET attempts = attempts + 1 WHERE account_id = $1",
                    row["id"],
                )
                raise refused
            await conn.execute("UPDATE accounts SET verified_at = now() WHERE id = $1", row["id"])
            await conn.execute("DELETE FROM email_verifications WHERE account_id = $1", row["id"])

    async def login(self, email: str, password: str, address: str) -> tuple[str, Account]:
        """A new session token for a verified account; failures and addresses are rate-limited."""
        await self._limit(_address_key(address), LOGIN_PER_ADDRESS, 60)
        failures_key = _failures_key(email)
        failures = int(await self.redis.get(failures_key) or 0)
        if failures >= LOGIN_FAILURES:
            ttl = await self.redis.ttl(failures_key)
            raise TooManyAttempts(
                "too_many_attempts",
                "Too many failed logins for this account; try again later.",
                max(1, int(ttl)),
            )
        row = await self.pool.fetchrow(
            "SELECT id, email, name, password_hash, verified_at FROM accounts"
            " WHERE lower(email) = lower($1)",
            email,
        )
        if row is None or not await self._password_matches(row["password_hash"], password):
            await self.count_attempt(failures_key, LOGIN_WINDOW)
            raise Unauthenticated("bad_credentials", "The e-mail address or password is wrong.")
        if row["verified_at"] is None:
            raise Forbidden("email_not_verified", "Verify your e-mail address first.")
        await self.redis.delete(failures_key)
        if self.hasher.check_needs_rehash(row["password_hash"]):
            # Made with other argon2 parameters (older defaults): the password is at hand now.
            await self.pool.execute(
                "UPDATE accounts SET password_hash = $2 WHERE id = $1",
                row["id"],
                await self.hash_password(password),
            )
        return await self.open_session(row["id"]), Account(row["id"], row["email"], row["name"])

    async def open_session(self, account_id: int) -> str:
        """A new session token for the account (after its password was checked)."""
        token = secrets.token_urlsafe(32)
        await self.redis.set(_session_key(token), account_id, ex=SESSION_SECONDS)
        return token

    async def _password_matches(self, password_hash: str, password: str) -> bool:
        try:
            async with self._hashing:
                return await asyncio.to_thread(self.hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def count_attempt(self, key: str, window: int) -> int:
        """Count one attempt under `key` in a fixed window that starts with the first attempt;
        the count so far."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(key, 0, ex=window, nx=True)  # (EXPIRE … NX needs Redis 7)
        pipe.incr(key)
        _, count = await pipe.execute()
        return int(count)

    async def _limit(self, key: str, limit: int, window: int) -> None:
        if await self.count_attempt(key, window) > limit:
            raise TooManyAttempts("too_many_attempts", "Too many attempts; wait a minute.", window)

    async def logout(self, token: str) -> None:
        """End the session (idempotent)."""
        await self.redis.delete(_session_key(token))

    @staticmethod
    def session_key(token: str) -> str:
        """The Redis key of a login session (the gate reads it in its own round trip)."""
        return _session_key(token)

    async def account_id(self, token: str) -> int | None:
        """The account a session token belongs to, if the session is live."""
        value = await self.redis.get(_session_key(token))
        return int(value) if value is not None else None

    async def profile(self, account_id: int) -> dict[str, Any]:
        """What the account's owner sees of it, with how many people it applies for now."""
        row = await self.pool.fetchrow(
            "SELECT a.id, a.email, a.name, a.phone, a.verified_at IS NOT NULL AS verified,"
            " (SELECT count(DISTINCT nik_hash) FROM bookings b"
            "  WHERE b.account_id = a.id AND booking_is_active(b.status)) AS applicants"
            " FROM accounts a WHERE a.id = $1",
            account_id,
        )
        return dict(row) if row is not None else {}

    async def create(self, email: str, password: str, name: str, phone: str, verified: bool) -> int:
        """An account made by an operator (`antri accounts create`), verified if asked."""
        body = {"email": email, "password": password, "name": name, "phone": phone}
        account = await self._checked(body)
        async with self.pool.acquire() as conn:
            return await self._insert(conn, account, verified)

    async def bulk_create(self, count: int, prefix: str, password: str) -> int:
        """Verified accounts `<prefix><n>@antri.test` for load tests, one password hash for all;
        existing ones are kept. Returns how many were new."""
        password_hash = await self.hash_password(password)
        emails = [f"{prefix}{n}@antri.test" for n in range(1, count + 1)]
        result = await self.pool.fetchval(
            "WITH new AS (INSERT INTO accounts (email, name, phone, password_hash, verified_at)"
            " SELECT e, 'Pemohon Uji', '+6281200000000', $2, now() FROM unnest($1::text[]) e"
            " ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM new",
            emails,
            password_hash,
        )
        return int(result)
