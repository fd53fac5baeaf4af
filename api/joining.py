"""What a join must show before it takes a place: a solved challenge, and an address with
budget left. The checks themselves are cheap (a MAC and one hash here; the single use and the
budget inside the join script), so a join with them costs about what one without does."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from queue_engine.errors import JoinBudgetSpent
from queue_engine.proof import ALGORITHM, Challenges, ProofRejected
from queue_engine.room import Room
from queue_engine.scripts import JoinEntry

from .client_address import Network, client_address
from .errors import ApiError

#: where a join carries its proof of work: the challenge, ":" and the nonce that solves it
PROOF_HEADER = "X-Antri-Proof"


class JoinChecks:
    """Issues challenges and turns a join request into the engine's JoinEntry."""

    def __init__(self, secret: bytes, trusted_proxies: tuple[Network, ...]) -> None:
        self.challenges = Challenges(secret)
        self.trusted_proxies = trusted_proxies

    def challenge(self, room: Room, difficulty: int | None = None) -> dict[str, Any]:
        """A fresh challenge for `room` at its difficulty (or `difficulty`), as JSON."""
        level = room.view().pow_difficulty if difficulty is None else difficulty
        text, challenge = self.challenges.issue(room.name, level, room.now())
        return {
            "challenge": text,
            "algorithm": ALGORITHM,
            "difficulty": level,
            "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(challenge.expires_at)),
        }

    def client(self, request: web.Request) -> str:
        """The key of the caller's address (IPv4, or the IPv6 /64)."""
        return client_address(request, self.trusted_proxies)

    def entry(self, request: web.Request, room: Room) -> tuple[JoinEntry, str | None]:
        """The entry of an API join, with the proof in its X-Antri-Proof header if any, and
        why that proof does not hold (None if it holds or there was none). In a header, not
        the body: a join then has no body to read, which costs aiohttp more than the check."""
        client = self.client(request)
        proof = request.headers.get(PROOF_HEADER)
        if proof is None:
            return JoinEntry(client=client), None
        now = room.now()
        try:
            challenge = self.challenges.verify(proof, room.name, now)
        except ProofRejected as exc:
            return JoinEntry(client=client), exc.reason
        # The single-use mark lives as long as the challenge could still be presented.
        ttl_ms = max(1, challenge.expires_at - int(now) + 1) * 1000
        return JoinEntry(challenge.id, challenge.difficulty, ttl_ms, client), None

    def refusal(
        self, room: Room, exc: ProofRejected | JoinBudgetSpent, why: str | None
    ) -> ApiError:
        """The API's answer to a join refused for its proof (428) or its address's budget (429)."""
        if isinstance(exc, JoinBudgetSpent):
            return ApiError(
                429,
                "too_many_joins",
                "This address has joined too often; try again shortly.",
                extra={"retry_after_seconds": exc.retry_after},
                headers={"Retry-After": str(exc.retry_after)},
            )
        reason = why if why is not None and exc.reason == "missing" else exc.reason
        return ApiError(
            428,
            "proof_required",
            f"Solve the challenge and send it with the join in {PROOF_HEADER} ({reason}).",
            extra={"reason": reason} | self.challenge(room, exc.difficulty),
        )
