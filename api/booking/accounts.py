"""Accounts: registration, e-mail verification, login sessions and their rate limits.

Accounts live in PostgreSQL; login sessions and attempt counters in Redis, where they expire
by themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from zxcvbn import zxcvbn

from queue_engine.scripts import RedisClient
from queue_engine.validation import Problems, Strict, validated

from . import attempts
from .application import Name, Phone
from .codes import verification_code
from .errors import Conflict, Forbidden, Invalid, TooManyAttempts, Unauthenticated
from .sealing import Sealer

SESSION_SECONDS = 12 * 3600
VERIFICATION_TTL = timedelta(minutes=30)
#: codes checked per code sent; then even the right one is refused until a new one is asked for
VERIFICATION_ATTEMPTS = 5
#: a new verification code may be asked for once this often per address
RESEND_SECONDS = 60
#: and at most this many times a day: with VERIFICATION_ATTEMPTS each, a guesser of an address
#: they do not control checks 50 of the million codes a day
CODES_PER_DAY = 10
# Login limits. Knowing an e-mail address must not be enough to lock its owner out, so the
# tight limit is per account *and* client address: LOGIN_FAILURES attempts in LOGIN_WINDOW,
# after which only that address waits (the owner, elsewhere, still logs in). Across all
# addresses an account has a much higher ceiling, LOGIN_ACCOUNT_CEILING attempts in the window
# (each address adds at most LOGIN_FAILURES to it); beyond it the account is not locked but
# slowed: one password check per LOGIN_ACCOUNT_PACE seconds, whoever asks. Guessing from many
# addresses stays slow, and the owner gets in after a short wait at worst.
LOGIN_FAILURES = 5
LOGIN_WINDOW = 15 * 60
LOGIN_ACCOUNT_CEILING = 50
LOGIN_ACCOUNT_PACE = 3
#: zxcvbn's score (0–4) a new password needs: 2 means about a million guesses or more, which
#: refuses the common passwords of its lists and their obvious variants ("Password1")
PASSWORD_SCORE = 2
#: login attempts per client address per minute (generous: carriers put many phones behind one)
LOGIN_PER_ADDRESS = 300


#: argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~35 ms of one core. The
#: library's default (64 MiB, 3 passes, 4 lanes) costs ~260 ms of CPU a login, which at a quota
#: release starves the whole server; the per-account failure limit guards against guessing.
def password_hasher() -> PasswordHasher:
    """The argon2id hasher of account passwords."""
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


#: an e-mail address as registered (no spaces or @ before the @, a dotted domain after it)
EMAIL_PATTERN = r"^[^@ \t\n\r\f\v\x00]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"


@dataclass(frozen=True)
class Account:
    """A logged-in account, as the handlers need it."""

    id: int
    email: str
    name: str


@dataclass(frozen=True)
class PendingCode:
    """A verification code still to be mailed, read back by the mail job; `key` tells this
    code's mail from another code's without revealing it."""

    email: str
    name: str
    code: str
    key: str


@dataclass(frozen=True)
class Registration:
    """What `register` did: the new account, and the code to e-mail to it."""

    account_id: int
    email: str
    name: str
    code: str


def _session_key(token: str) -> str:
    return "antri:login:" + hashlib.sha256(token.encode()).hexdigest()


def _token_hash(token: str) -> bytes:
    """What PostgreSQL keeps of a session token."""
    return hashlib.sha256(token.encode()).digest()


def _email_digest(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()


def _failures_key(email: str, address: str) -> str:
    """Login attempts on an account from one client address."""
    return f"antri:login-failures:{_email_digest(email)}:{address}"


def _account_attempts_key(email: str) -> str:
    """Login attempts on an account from every address (its ceiling)."""
    return "antri:login-account:" + _email_digest(email)


def _verify_attempts_key(email: str) -> str:
    return "antri:verify-attempts:" + _email_digest(email)


def _address_key(address: str) -> str:
    return "antri:login-address:" + address


def _password_rules(password: str) -> str:
    if not any(c.isupper() for c in password) or not any(c.isdigit() for c in password):
        raise PydanticCustomError(
            "password_rules", "needs at least one capital letter and one digit"
        )
    return password


class NewAccount(Strict):
    """A registration. The name and phone follow the application form's rules, so that an
    account's fit it."""

    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
    password: Annotated[
        str,
        Field(min_length=8, max_length=128, description="A capital letter and a digit at least."),
        AfterValidator(_password_rules),
    ]
    name: Name
    phone: Phone


def check_registration(body: Mapping[str, Any]) -> NewAccount:
    """A registration body, checked; raises Invalid naming each field."""
    try:
        return validated(NewAccount, body)
    except Problems as problems:
        raise Invalid(problems.fields, problems.codes) from None


def is_common_password(password: str, own_words: list[str]) -> bool:
    """Whether zxcvbn (its lists of common passwords, words and names, keyboard patterns and
    l33t variants, plus the applicant's own e-mail and name) guesses the password too soon.
    Takes up to tens of milliseconds: call it off the event loop."""
    # zxcvbn's time grows with length; a password's first 64 characters are plenty to judge.
    return int(zxcvbn(password[:64], user_inputs=own_words)["score"]) < PASSWORD_SCORE


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
        # What an unknown e-mail address's password is checked against, so that a login for
        # one takes as long as a wrong password for a real account (no enumeration by timing).
        self._dummy_hash: str | None = None
        # The code is also kept sealed, for the mail job that is given only the account id.
        self._code_sealer = Sealer(secret, b"antri verification code sealed v1")

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
        new = check_registration(body)
        async with self._hashing:
            common = await asyncio.to_thread(
                is_common_password, new.password, [new.email, new.name]
            )
        if common:
            raise Invalid(
                {"password": "too common or easy to guess; choose a less obvious one"},
                {"password": "common_password"},
            )
        return new.email, new.name, new.phone, await self.hash_password(new.password)

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
            "INSERT INTO email_verifications (account_id, code_hash, expires_at, code_sealed)"
            " VALUES ($1, $2, now() + $3, $4)"
            " ON CONFLICT (account_id) DO UPDATE"
            " SET code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = 0,"
            " code_sealed = excluded.code_sealed",
            account_id,
            self._code_hash(account_id, code),
            VERIFICATION_TTL,
            self._code_sealer.seal(code),
        )
        return code

    async def pending_code(self, account_id: int) -> PendingCode | None:
        """The live verification code of an unverified account, for its mail (None once it is
        verified, expired or replaced by nothing)."""
        row = await self.pool.fetchrow(
            "SELECT a.email, a.name, v.code_sealed FROM accounts a"
            " JOIN email_verifications v ON v.account_id = a.id"
            " WHERE a.id = $1 AND a.verified_at IS NULL AND v.expires_at > now()"
            " AND v.code_sealed IS NOT NULL",
            account_id,
        )
        if row is None:
            return None
        sealed = bytes(row["code_sealed"])
        key = f"verify-{account_id}-{hashlib.sha256(sealed).hexdigest()[:16]}"
        return PendingCode(row["email"], row["name"], self._code_sealer.unseal(sealed), key)

    async def new_code(self, email: str) -> Registration | None:
        """A fresh verification code for an unverified account (None for an unknown or verified
        address, which the caller does not reveal); at most one a minute per address."""
        key = "antri:verify-resend:" + hashlib.sha256(email.lower().encode()).hexdigest()
        if not await self.redis.set(key, 1, ex=RESEND_SECONDS, nx=True):
            ttl = await self.redis.ttl(key)
            raise TooManyAttempts(
                "too_many_attempts", "A code was sent a moment ago; wait a minute.", max(1, ttl)
            )
        await attempts.take(
            self.redis,
            "antri:verify-codes:" + _email_digest(email),
            CODES_PER_DAY,
            24 * 3600,
            "Too many codes were sent to this address today; try again tomorrow.",
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
        await self.redis.delete(_verify_attempts_key(email))
        return Registration(row["id"], row["email"], row["name"], code)

    async def verify(self, email: str, code: str) -> None:
        """Mark the account verified if `code` is its current code. Each try is counted in Redis
        before the code is checked (a refusal rolls the database back; a count there would be
        lost, and a burst would pass it): after VERIFICATION_ATTEMPTS, even the right code is
        refused until a new one is asked for."""
        refused = Invalid({"code": "the code is wrong or has expired"}, {"code": "wrong_code"})
        await attempts.take(
            self.redis,
            _verify_attempts_key(email),
            VERIFICATION_ATTEMPTS,
            int(VERIFICATION_TTL.total_seconds()),
            "Too many wrong codes; ask for a new code.",
        )
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT a.id, a.verified_at, v.code_hash, v.expires_at > now() AS live"
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
            if not hmac.compare_digest(row["code_hash"], self._code_hash(row["id"], code)):
                raise refused
            await conn.execute("UPDATE accounts SET verified_at = now() WHERE id = $1", row["id"])
            await conn.execute("DELETE FROM email_verifications WHERE account_id = $1", row["id"])
        await self.redis.delete(_verify_attempts_key(email))

    async def login(self, email: str, password: str, address: str) -> tuple[str, Account]:
        """A new session token for a verified account. Attempts are counted before the password
        is checked (see LOGIN_FAILURES for the policy), so that a burst cannot outrun them."""
        await self._limit(_address_key(address), LOGIN_PER_ADDRESS, 60)
        failures_key = _failures_key(email, address)
        await attempts.take(
            self.redis,
            failures_key,
            LOGIN_FAILURES,
            LOGIN_WINDOW,
            "Too many failed logins for this account; try again later.",
        )
        try:
            await self._pace(email)
        except TooManyAttempts:
            # Not checked, so not this address's failure: the owner who is asked to wait a
            # moment must not use up their own tries by waiting.
            await attempts.refund(self.redis, failures_key)
            raise
        row = await self.pool.fetchrow(
            "SELECT id, email, name, password_hash, verified_at FROM accounts"
            " WHERE lower(email) = lower($1)",
            email,
        )
        password_hash = row["password_hash"] if row is not None else await self._dummy()
        if not await self._password_matches(password_hash, password) or row is None:
            raise Unauthenticated("bad_credentials", "The e-mail address or password is wrong.")
        # The right password: this try was no failure, on either count.
        await self.redis.delete(failures_key)
        await attempts.refund(self.redis, _account_attempts_key(email))
        if row["verified_at"] is None:
            raise Forbidden("email_not_verified", "Verify your e-mail address first.")
        if self.hasher.check_needs_rehash(row["password_hash"]):
            # Made with other argon2 parameters (older defaults): the password is at hand now.
            await self.pool.execute(
                "UPDATE accounts SET password_hash = $2 WHERE id = $1",
                row["id"],
                await self.hash_password(password),
            )
        return await self.open_session(row["id"]), Account(row["id"], row["email"], row["name"])

    async def _pace(self, email: str) -> None:
        """Beyond the account's ceiling, one password check per LOGIN_ACCOUNT_PACE seconds."""
        counted, _ = await attempts.count(self.redis, _account_attempts_key(email), LOGIN_WINDOW)
        if counted <= LOGIN_ACCOUNT_CEILING:
            return
        turn = "antri:login-pace:" + _email_digest(email)
        if not await self.redis.set(turn, 1, ex=LOGIN_ACCOUNT_PACE, nx=True):
            raise TooManyAttempts(
                "too_many_attempts",
                "Many logins are being tried on this account; try again in a few seconds.",
                LOGIN_ACCOUNT_PACE,
            )

    async def _dummy(self) -> str:
        """A hash of a random password with the real parameters (made once)."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash_password(secrets.token_urlsafe(16))
        return self._dummy_hash

    async def open_session(self, account_id: int) -> str:
        """A new session token for the account (after its password was checked): in
        PostgreSQL first (durable: Redis may lose its last second), then in Redis (read on
        every request)."""
        token = secrets.token_urlsafe(32)
        await self.pool.execute(
            "INSERT INTO login_sessions (token_hash, account_id, expires_at)"
            " VALUES ($1, $2, now() + $3::interval)",
            _token_hash(token),
            account_id,
            timedelta(seconds=SESSION_SECONDS),
        )
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
        counted, _ = await attempts.count(self.redis, key, window)
        return counted

    async def _limit(self, key: str, limit: int, window: int) -> None:
        await attempts.take(self.redis, key, limit, window, "Too many attempts; wait a minute.")

    async def logout(self, token: str) -> None:
        """End the session (idempotent), in both places."""
        await self.pool.execute(
            "DELETE FROM login_sessions WHERE token_hash = $1", _token_hash(token)
        )
        await self.redis.delete(_session_key(token))

    @staticmethod
    def session_key(token: str) -> str:
        """The Redis key of a login session (the gate reads it in its own round trip)."""
        return _session_key(token)

    async def account_id(self, token: str) -> int | None:
        """The account a session token belongs to, if the session is live. A token Redis does
        not know is looked up in PostgreSQL (Redis may have lost it) and put back."""
        value = await self.redis.get(_session_key(token))
        if value is not None:
            return int(value)
        row = await self.pool.fetchrow(
            "SELECT account_id, ceil(extract(epoch FROM expires_at - now()))::int AS seconds"
            " FROM login_sessions WHERE token_hash = $1 AND expires_at > now()",
            _token_hash(token),
        )
        if row is None:
            return None
        await self.redis.set(_session_key(token), row["account_id"], ex=max(1, row["seconds"]))
        return int(row["account_id"])

    async def forget_expired_sessions(self) -> int:
        """Delete the sessions past their end from PostgreSQL (Redis forgets them itself)."""
        done = await self.pool.execute("DELETE FROM login_sessions WHERE expires_at < now()")
        return int(done.split()[-1])

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
