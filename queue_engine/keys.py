"""Every Redis key the engine uses, built in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

ROOM_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


@dataclass(frozen=True, slots=True)
class RoomKeys:
    """One room's keys; they share the `{room}` hash tag, so a room lives in one cluster slot."""

    room: str
    sessions: str
    offers: str
    claimed: str
    recent_claims: str

    @classmethod
    def for_room(cls, name: str, prefix: str = "antri") -> RoomKeys:
        """Keys for room `name` under `prefix`."""
        base = f"{prefix}:{{{name}}}"
        return cls(
            room=f"{base}:room",
            sessions=f"{base}:sessions",
            offers=f"{base}:offers",
            claimed=f"{base}:claimed",
            recent_claims=f"{base}:recent-claims",
        )

    def challenge(self, challenge_id: str) -> str:
        """The single-use mark of a proof-of-work challenge (in the room's slot)."""
        return f"{self.room[: -len(':room')]}:challenge:{challenge_id or '-'}"

    def client(self, address: str) -> str:
        """The join budget of one client address (in the room's slot)."""
        return f"{self.room[: -len(':room')]}:client:{address}"

    @property
    def _base(self) -> str:
        return self.room.removesuffix(":room")

    @property
    def turn_counts(self) -> str:
        """Admissions bound per account in the current epoch (emptied by a reset)."""
        return f"{self._base}:turn-counts"

    @property
    def turns(self) -> str:
        """The admission each account holds (a hash, so that the gate's script, which learns the
        account only from the login it reads, names every key it touches; emptied by a reset,
        an entry removed when its turn is finished)."""
        return f"{self._base}:turns"

    # Owners are one short-lived key each (they expire a minute after their session), named by
    # epoch, so nothing has to sweep them.
    def owner(self, epoch: str, token_id: str) -> str:
        """The account an admission is bound to."""
        return f"{self._base}:owner:{epoch}:{token_id}"

    def all(self) -> list[str]:
        """The keys in the order every script expects them in KEYS."""
        return [self.room, self.sessions, self.offers, self.claimed, self.recent_claims]
