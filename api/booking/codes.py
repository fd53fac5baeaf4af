"""Random codes people type or scan: billing codes, booking codes, e-mail verification codes."""

from __future__ import annotations

import secrets

#: Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand survives
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def billing_code() -> str:
    """A 15-digit billing code (as SIMPONI's); leading digit non-zero (~50 bits)."""
    return str(secrets.randbelow(9 * 10**14) + 10**14)


def booking_code() -> str:
    """A 13-character booking code, 65 random bits, shown as XXXX-XXXX-XXXXX."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(13))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def verification_code() -> str:
    """A 6-digit e-mail verification code (attempts are limited)."""
    return f"{secrets.randbelow(10**6):06d}"
