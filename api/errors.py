"""Refusals the web layer raises itself; the middleware turns them into responses."""

from __future__ import annotations

from .booking.errors import Conflict, Forbidden, NotFound, Refused, TooManyAttempts, Unauthenticated


class ApiError(Exception):
    """An HTTP refusal with a machine-readable code and a message for people."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        extra: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


class AdmissionRequired(ApiError):
    """A gated route was called without a live admission of `room`."""

    def __init__(self, room: str, reason: str) -> None:
        super().__init__(
            401,
            "admission_required",
            f"Enter through the waiting room first ({reason}).",
            extra={"join_url": f"/api/v1/rooms/{room}/join", "waiting_room": f"/antre/{room}"},
        )
        self.room = room


_REFUSAL_STATUS: dict[type[Refused], int] = {
    Conflict: 409,
    NotFound: 404,
    Unauthenticated: 401,
    Forbidden: 403,
    TooManyAttempts: 429,
}


def refusal_status(refusal: Refused) -> int:
    """The HTTP status of a refusal of the booking domain."""
    return _REFUSAL_STATUS.get(type(refusal), 409)
