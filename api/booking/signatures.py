"""The payment gateway's callback signature: HMAC-SHA256 over a timestamp and the body.

Header format `t=<unix seconds>,v1=<hex>` (as Stripe's): the timestamp is signed too, so an old
callback replayed later is refused by its age, not only by its transaction id.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Antri-Signature"
#: a callback older (or newer) than this is refused
TOLERANCE_SECONDS = 300


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: bytes, body: bytes, header: str, now: float) -> bool:
    """Whether `header` is a valid, fresh signature of `body`."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header.strip())
