"""The NIK at rest: AES-GCM ciphertext for reading back, a keyed hash for uniqueness."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class Sealer:
    """AES-GCM with a key derived from `master` for one `purpose` (also its associated data, so
    that text sealed for one purpose does not open as another's)."""

    def __init__(self, master: bytes, purpose: bytes) -> None:
        self._aead = AESGCM(_derive(master, purpose))
        self._purpose = purpose

    def seal(self, text: str) -> bytes:
        """A fresh nonce followed by the ciphertext and tag."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, text.encode(), self._purpose)

    def unseal(self, sealed: bytes) -> str:
        """The text back from `seal`'s output (raises InvalidTag if it was altered)."""
        nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, self._purpose).decode()


class NikSealer:
    """Seals NIKs with a key derived from the data key in the settings.

    Two keys from one: the cipher key and the hash key, so that the uniqueness index cannot be
    turned into a way to decrypt, and a stolen dump without the key shows neither.
    """

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(_derive(data_key, b"antri nik cipher v1"))
        self._hash_key = _derive(data_key, b"antri nik index v1")

    def seal(self, nik: str) -> bytes:
        """A fresh nonce followed by the ciphertext and tag."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, nik.encode(), b"nik")

    def unseal(self, sealed: bytes) -> str:
        """The NIK back from `seal`'s output (raises InvalidTag if it was altered)."""
        nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, b"nik").decode()

    def digest(self, nik: str) -> bytes:
        """The keyed hash the one-active-booking-per-NIK index is built on."""
        return hmac.new(self._hash_key, nik.encode(), hashlib.sha256).digest()
