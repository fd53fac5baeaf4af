"""Signed tickets (a place in line) and admission tokens (a session past the gate).

A token is `base64url(payload).base64url(mac)`: the payload a compact JSON array of the token's
fields (tokens are NamedTuples: cheap to build, compare and serialise), the MAC a
truncated HMAC-SHA256 under a key derived per purpose, so a ticket can never pass as an admission
token. Verified tokens are cached by their text: a poll costs one dict lookup, not an HMAC.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from typing import Any, NamedTuple, TypeVar

import orjson

from .errors import InvalidToken, MalformedToken
from .macs import Mac, b64, unb64

MAC_BYTES = 16
MAX_TOKEN_CHARS = 512
CACHE_LIMIT = 200_000


class Ticket(NamedTuple):
    """A visitor's place in a room's line: arrival `number` within the room's `epoch`."""

    room: str
    epoch: str
    number: int
    visitor: str
    issued_at: int  #: unix seconds
    seen_at: int  #: unix seconds when the holder last polled (refreshed now and then)


class Admission(NamedTuple):
    """Proof that the holder's turn came: a session in `room`, live until `expires_at`."""

    room: str
    epoch: str
    visitor: str
    ticket_number: int
    position: int  #: the place in line; also the session's id in Redis
    issued_at: int  #: unix seconds
    expires_at: int  #: unix seconds

    @property
    def token_id(self) -> str:
        """The id under which the session is recorded, released and revoked."""
        return str(self.position)

    @property
    def turn(self) -> str:
        """The turn's name across rooms and their resets (the booking it makes records it)."""
        return f"{self.room}:{self.epoch}:{self.position}"


T = TypeVar("T", Ticket, Admission)


class Signer:
    """Signs and verifies both kinds of token with keys derived from one secret."""

    def __init__(self, secret: bytes) -> None:
        self._macs = {
            kind: Mac(
                hmac.new(secret, b"antri/" + kind.encode(), hashlib.sha256).digest(), MAC_BYTES
            )
            for kind in ("ticket", "admission")
        }
        self._cache: dict[str, Any] = {}

    def sign_ticket(self, ticket: Ticket) -> str:
        """The text of `ticket`."""
        return self._sign("ticket", ticket)

    def sign_admission(self, admission: Admission) -> str:
        """The text of `admission`."""
        return self._sign("admission", admission)

    def read_ticket(self, text: str) -> Ticket:
        """The ticket behind `text`; raises MalformedToken or InvalidToken('forged')."""
        return self._read("ticket", Ticket, text)

    def read_admission(self, text: str) -> Admission:
        """The admission behind `text`; raises MalformedToken or InvalidToken('forged')."""
        return self._read("admission", Admission, text)

    def _sign(self, kind: str, token: Ticket | Admission) -> str:
        payload = orjson.dumps(tuple(token))
        return f"{b64(payload)}.{b64(self._macs[kind](payload))}"

    def _read(self, kind: str, cls: type[T], text: str) -> T:
        cached = self._cache.get(text)
        if cached is not None and type(cached) is cls:
            return cached
        if len(text) > MAX_TOKEN_CHARS or text.count(".") != 1:
            raise MalformedToken(f"not a {kind}")
        encoded, encoded_mac = text.split(".")
        try:
            payload, mac = unb64(encoded), unb64(encoded_mac)
        except (binascii.Error, ValueError) as exc:
            raise MalformedToken(f"not a {kind}") from exc
        if not hmac.compare_digest(mac, self._macs[kind](payload)):
            raise InvalidToken("forged")
        try:
            token = cls(*orjson.loads(payload))
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise MalformedToken(f"not a {kind}") from exc
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()  # cheaper than LRU bookkeeping on every poll
        self._cache[text] = token
        return token
