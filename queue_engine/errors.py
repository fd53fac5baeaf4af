"""The engine's exceptions: one base, driver errors wrapped at the boundary."""


class EngineError(Exception):
    """Base of every error the engine raises."""


class StorageUnavailable(EngineError):
    """Redis cannot be reached, or the room's view of it is too old to trust: fail closed."""


class UnknownRoom(EngineError):
    """No room of that name exists."""


class MalformedToken(EngineError):
    """A ticket or admission token that is not even shaped like one."""


class InvalidToken(EngineError):
    """A well-formed token that is forged, expired, spent, revoked or for another room."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JoinBudgetSpent(EngineError):
    """The client's address has joined as often as the room allows for now."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"try again in {retry_after} s")
        self.retry_after = max(1, retry_after)


class NotYours(EngineError):
    """An admission presented without its ticket, or by an account other than the one it is
    bound to."""


class TurnRefused(EngineError):
    """An account may not take this admission: it holds another live one (`code`
    'turn_held', until `until` unix seconds) or used its turns this epoch ('turn_limit')."""

    def __init__(self, code: str, until: float | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.until = until
