"""The booking wizard's draft: the choices made so far, kept between steps.

Kept in Redis (sealed with AES-GCM, since it holds a NIK) under the account, for as long as an
admitted turn can last and a little more; nothing in it is final until the booking is made in
PostgreSQL. Uploaded documents are staged on disk under the draft's id and moved to the booking
when it is made.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from queue_engine.scripts import RedisClient

DRAFT_SECONDS = 2 * 3600
_NONCE_BYTES = 12


def _key(account_id: int) -> str:
    return f"antri:draft:{account_id}"


class Drafts:
    """One draft per account: a second application starts when the first is booked."""

    def __init__(self, redis: RedisClient, data_key: bytes) -> None:
        self.redis = redis
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"antri draft v1")
        self._aead = AESGCM(derived.derive(data_key))

    async def load(self, account_id: int) -> dict[str, Any]:
        """The account's draft; a new empty one (with a fresh id) if there is none."""
        sealed = await self.redis.get(_key(account_id))
        if sealed is None:
            return {"id": secrets.token_hex(12)}
        assert isinstance(sealed, bytes)  # the client does not decode responses
        nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        draft: dict[str, Any] = orjson.loads(
            self._aead.decrypt(nonce, body, str(account_id).encode())
        )
        return draft

    async def save(self, account_id: int, draft: dict[str, Any]) -> None:
        """Keep `draft` for another DRAFT_SECONDS."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, orjson.dumps(draft), str(account_id).encode())
        await self.redis.set(_key(account_id), sealed, ex=DRAFT_SECONDS)

    async def clear(self, account_id: int) -> None:
        """Forget the draft (the booking was made, or the applicant started over)."""
        await self.redis.delete(_key(account_id))
