"""Refusals the web layer raises itself; the middleware turns them into responses."""

from __future__ import annotations

import time

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


class TurnUsed(AdmissionRequired):
    """The admission's turn ended because its booking was made (pages go to the applicant's
    bookings, not back into the line)."""

    def __init__(self, room: str) -> None:
        super().__init__(room, "the turn ended when its booking was made")


class AdmissionNotYours(ApiError):
    """An admission presented by someone other than its holder: without the ticket it was
    claimed with, or by an account other than the one it is bound to."""

    def __init__(self, room: str) -> None:
        super().__init__(
            403,
            "admission_not_yours",
            "This admission belongs to another visitor: it works only with the ticket it was"
            " claimed with and, once used with a login, only for that account. Join the line"
            " yourself.",
            extra={"join_url": f"/api/v1/rooms/{room}/join", "waiting_room": f"/antre/{room}"},
        )
        self.room = room


class TurnNotGiven(ApiError):
    """The logged-in account may not take this admission: it holds another live turn
    (`turn_already_held`) or has used the turns the room allows per account
    (`turn_limit_reached`)."""

    def __init__(self, room: str, reason: str, until: float | None) -> None:
        if reason == "turn_held":
            code = "turn_already_held"
            message = "This account already holds a live turn; finish it or give it back first."
        else:
            code = "turn_limit_reached"
            message = "This account has used the turns the waiting room allows per account."
        extra: dict[str, object] = {"waiting_room": f"/antre/{room}"}
        if until is not None:
            extra["held_until"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until))
        super().__init__(409, code, message, extra=extra)


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
