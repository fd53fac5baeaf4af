"""The fair start: a keyed permutation of the pre-queue cohort, auditable from its seed.

Anyone holding the published seed and the cohort size can recompute every visitor's place:
`shuffled_index(seed, size, i)` is a bijection of range(size) (a 4-round Feistel network over the
next even power of two, restricted to the range by cycle walking), so no table is stored.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

ROUNDS = 4


@lru_cache(maxsize=65536)
def shuffled_index(seed: str, size: int, index: int) -> int:
    """Where arrival `index` (0-based) of a cohort of `size` stands after the shuffle (0-based)."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} outside a cohort of {size}")
    half_bits = max(1, ((size - 1).bit_length() + 1) // 2)
    key = bytes.fromhex(seed)
    value = _feistel(key, half_bits, index)
    while value >= size:  # cycle walking: stays a bijection on range(size)
        value = _feistel(key, half_bits, value)
    return value


def _feistel(key: bytes, half_bits: int, value: int) -> int:
    mask = (1 << half_bits) - 1
    left, right = value >> half_bits, value & mask
    for round_no in range(ROUNDS):
        digest = hashlib.blake2b(
            bytes([round_no]) + right.to_bytes(8, "big"), key=key, digest_size=8
        ).digest()
        left, right = right, left ^ (int.from_bytes(digest, "big") & mask)
    return (left << half_bits) | right


def commitment(seed: str) -> str:
    """The hash published before the release, so the seed revealed after it can be checked."""
    return hashlib.sha256(bytes.fromhex(seed)).hexdigest()
