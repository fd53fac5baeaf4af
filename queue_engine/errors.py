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
