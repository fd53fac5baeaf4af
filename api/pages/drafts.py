"""The booking wizard's draft: the choices made so far, kept between steps.

Kept in Redis (sealed with AES-GCM, since it holds a NIK) under the login session, for as long
as an admitted turn can last and a little more; nothing in it is final until the booking is made
in PostgreSQL. Keyed by the session's random token, not by the account's id: an id can be given
again (a database restored from a backup, a test's fresh database on a shared Redis), and a
draft must never reach another person. The account's id is still bound into the seal.
Uploaded documents are staged on disk under the draft's id and moved to the booking when it is
made.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from queue_engine.scripts import RedisClient

DRAFT_SECONDS = 2 * 3600
#: set (and only ever seen) in a fresh draft that replaced one that could not be read
UNREADABLE = "unreadable"
_NONCE_BYTES = 12


def _key(session_token: str) -> str:
    return "antri:draft:" + hashlib.sha256(session_token.encode()).hexdigest()


class Drafts:
    """One draft per login session: a second application starts when the first is booked."""

    def __init__(self, redis: RedisClient, data_key: bytes) -> None:
        self.redis = redis
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"antri draft v1")
        self._aead = AESGCM(derived.derive(data_key))

    async def load(self, session_token: str, account_id: int) -> dict[str, Any]:
        """The session's draft; a new empty one (with a fresh id) if there is none.

        A draft that cannot be opened (sealed under an earlier ANTRI_DATA_KEY) is forgotten,
        and the new one says so with UNREADABLE: the applicant starts over, told why."""
        sealed = await self.redis.get(_key(session_token))
        if sealed is None:
            return {"id": secrets.token_hex(12)}
        assert isinstance(sealed, bytes)  # the client does not decode responses
        nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            opened = self._aead.decrypt(nonce, body, str(account_id).encode())
        except InvalidTag:
            await self.clear(session_token)
            return {"id": secrets.token_hex(12), UNREADABLE: True}
        draft: dict[str, Any] = orjson.loads(opened)
        return draft

    async def save(self, session_token: str, account_id: int, draft: dict[str, Any]) -> None:
        """Keep `draft` for another DRAFT_SECONDS."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, orjson.dumps(draft), str(account_id).encode())
        await self.redis.set(_key(session_token), sealed, ex=DRAFT_SECONDS)

    async def clear(self, session_token: str) -> None:
        """Forget the draft (the booking was made, the applicant started over or logged out)."""
        await self.redis.delete(_key(session_token))
