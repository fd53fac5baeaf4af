"""The request path's own HMAC and base64url (queue_engine/macs.py) agree with the standard
library's, for every key and message length that matters."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

import pytest

from queue_engine.macs import Mac, b64, unb64


@pytest.mark.parametrize("key_length", [0, 1, 16, 32, 63, 64, 65, 200])
def test_the_mac_is_hmac_sha256_truncated(key_length: int) -> None:
    key = os.urandom(key_length)
    mac = Mac(key, 16)
    for length in (0, 1, 55, 56, 63, 64, 65, 300):
        message = os.urandom(length)
        assert mac(message) == hmac.new(key, message, hashlib.sha256).digest()[:16]
    assert Mac(key, 32)(b"x") == hmac.new(key, b"x", hashlib.sha256).digest()


def test_base64url_round_trips_and_matches_the_standard_library() -> None:
    for length in range(70):
        data = os.urandom(length)
        text = b64(data)
        assert "=" not in text
        assert text == base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        assert unb64(text) == data


@pytest.mark.parametrize("text", ["a", "abcde", "é", "ab\x00"])
def test_what_is_not_base64url_is_refused(text: str) -> None:
    with pytest.raises((binascii.Error, ValueError)):
        unb64(text)
