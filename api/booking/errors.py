"""The booking domain's exceptions."""

from __future__ import annotations

from queue_engine.validation import Problems


class BookingError(Exception):
    """Base of the booking domain's exceptions."""


class Invalid(Problems, BookingError):
    """Input refused; `fields` maps a dotted field path to a message, `codes` to a machine code."""

    def __init__(self, fields: dict[str, str], codes: dict[str, str] | None = None) -> None:
        super().__init__(fields, codes if codes is not None else {})


class Refused(BookingError):
    """A well-formed request the rules refuse; `code` is machine-readable, `message` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Conflict(Refused):
    """The request clashes with the current state (place gone, step out of order)."""


class NotFound(Refused):
    """No such thing, or not the caller's: both look the same from outside."""


class Unauthenticated(Refused):
    """No valid login session, or wrong credentials."""


class Forbidden(Refused):
    """Known caller, but not allowed yet (e.g. e-mail not verified)."""


class TooManyAttempts(Refused):
    """Attempts are limited; try again after `retry_after` seconds."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after
