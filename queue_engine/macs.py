"""Truncated HMAC-SHA256 and unpadded base64url, the two halves of every signed text here
(tickets, admission tokens, challenges), made cheap for the request path.

`hmac.new(key, msg, sha256)` hashes the key's inner and outer pads again on every call; here
one keyed HMAC is made at start and copied per message (the same MAC, about 3 µs against 6),
and `binascii` with a byte translation decodes base64url faster than
`base64.urlsafe_b64decode`. A join signs a ticket and checks a challenge, so both count.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


class Mac:
    """HMAC-SHA256 under one key, truncated to `size` bytes."""

    __slots__ = ("_keyed", "size")

    def __init__(self, key: bytes, size: int) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)
        self.size = size

    def __call__(self, message: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(message)
        return mac.digest()[: self.size]


def b64(data: bytes) -> str:
    """`data` in base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """The bytes of unpadded base64url `text`; raises binascii.Error or ValueError (non-ASCII)
    when it is not base64url."""
    data = text.encode("ascii").translate(_FROM_URLSAFE)
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
