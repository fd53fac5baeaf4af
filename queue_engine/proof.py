"""Proof of work on join: a signed, short-lived, single-use challenge and its solution.

The algorithm (the same in `api/static/pow-worker.js`, and documented in the README):

    find a nonce, a decimal number of at most 16 digits, such that
    SHA-256(UTF-8(challenge + ":" + nonce)) starts with `difficulty` zero bits,

and present the proof `challenge + ":" + nonce`, the very text hashed (the API takes it in a
header, so a join with a proof has no body to read: see api/joining.py).

A solution takes 2^difficulty hashes on average; checking one takes a single hash and a MAC,
so a join with a proof costs the server about what one without does. A challenge is
`base64url(payload).base64url(mac)`: the payload a JSON array (room, id, difficulty,
expires_at), the MAC a 16-byte keyed BLAKE2s (a MAC by design, RFC 7693, and a third of
HMAC-SHA256's cost on the join path) under a key derived for this purpose only, so a
ticket or an admission token never passes as a challenge. That a challenge is used only once is
enforced by the join script itself (the id is set with NX and a TTL in the same call that takes
the place), so verifying costs no extra Redis round trip.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import secrets
from typing import NamedTuple

import orjson

from .errors import EngineError
from .macs import b64, unb64

ALGORITHM = "sha256-leading-zero-bits"
#: how long a challenge may be solved and used; long enough for a slow phone's unlucky draw
CHALLENGE_SECONDS = 120
#: the highest difficulty an operator may set (2^26 hashes: minutes on a phone)
MAX_DIFFICULTY = 26
MAX_NONCE_DIGITS = 16
_MAC_BYTES = 16
_MAX_PROOF_CHARS = 256 + 1 + MAX_NONCE_DIGITS


class ProofRejected(EngineError):
    """A proof that does not hold: `reason` is missing, invalid, expired or replayed."""

    def __init__(self, reason: str, difficulty: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        #: the room's difficulty when the join script told it (else the caller's view decides)
        self.difficulty = difficulty


class Challenge(NamedTuple):
    """A puzzle to solve before joining `room`."""

    room: str
    id: str  #: random; the join script refuses a second join with the same id
    difficulty: int  #: leading zero bits the solution's hash must have
    expires_at: int  #: unix seconds


class Challenges:
    """Issues and verifies challenges under a key derived from the service's secret."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"antri/challenge", hashlib.sha256).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hashlib.blake2s(payload, key=self._key, digest_size=_MAC_BYTES).digest()

    def issue(self, room: str, difficulty: int, now: float) -> tuple[str, Challenge]:
        """A fresh challenge for `room` and its text."""
        challenge = Challenge(
            room, secrets.token_urlsafe(12), difficulty, int(now) + CHALLENGE_SECONDS
        )
        payload = orjson.dumps(tuple(challenge))
        return f"{b64(payload)}.{b64(self._mac(payload))}", challenge

    def verify(self, proof: str, room: str, now: float) -> Challenge:
        """The challenge behind `proof` (a challenge, ":" and a nonce that solves it) for
        `room`, before it expires; raises ProofRejected otherwise. Whether it was used before,
        the join script decides.

        On every join with a proof, so written flat (one call, no helpers): in a busy server
        each Python call here costs several times what it does in a loop."""
        text, colon, nonce = proof.rpartition(":")
        encoded, dot, encoded_mac = text.partition(".")
        if len(proof) > _MAX_PROOF_CHARS or not colon or not dot or "." in encoded_mac:
            raise ProofRejected("invalid")
        try:
            payload = unb64(encoded)
            if not hmac.compare_digest(unb64(encoded_mac), self._mac(payload)):
                raise ProofRejected("invalid")
            challenge = Challenge(*orjson.loads(payload))
        except (binascii.Error, ValueError, TypeError):
            raise ProofRejected("invalid") from None
        if challenge.room != room:
            raise ProofRejected("invalid")
        if challenge.expires_at <= now:
            raise ProofRejected("expired")
        if not (0 < len(nonce) <= MAX_NONCE_DIGITS and nonce.isascii() and nonce.isdigit()):
            raise ProofRejected("invalid")
        # `difficulty` leading zero bits: the digest read as a number is below 2^(256 - d).
        # The proof is the very text hashed, and all ASCII by now.
        digest = hashlib.sha256(proof.encode()).digest()
        if int.from_bytes(digest) >> (256 - challenge.difficulty):
            raise ProofRejected("invalid")
        return challenge


def solves(challenge: str, nonce: str, difficulty: int) -> bool:
    """True if `nonce` solves `challenge` at `difficulty` (see the module docstring)."""
    if not (0 < len(nonce) <= MAX_NONCE_DIGITS and nonce.isascii() and nonce.isdigit()):
        return False
    digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
    return leading_zero_bits(digest) >= difficulty


def leading_zero_bits(digest: bytes) -> int:
    """How many zero bits `digest` starts with."""
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def solve(challenge: str, difficulty: int) -> str:
    """The reference solver: the first nonce that solves `challenge` (2^difficulty hashes on
    average). The prefix is hashed once and copied, which halves the work per try."""
    prefix = hashlib.sha256(f"{challenge}:".encode())
    limit = 1 << (256 - difficulty)  # a digest below this has `difficulty` leading zeros
    nonce = 0
    while True:
        attempt = prefix.copy()
        attempt.update(str(nonce).encode())
        if int.from_bytes(attempt.digest(), "big") < limit:
            return str(nonce)
        nonce += 1


def solution(challenge: str, difficulty: int) -> str:
    """A proof for `challenge` as a join carries it (the X-Antri-Proof header): the challenge,
    ":" and a nonce that solves it, which is the very text whose hash must start with zeros."""
    return f"{challenge}:{solve(challenge, difficulty)}"
