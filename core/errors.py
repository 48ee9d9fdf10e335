"""Domain errors: each carries a Chinese message the page shows as-is."""


class DomainError(Exception):
    """Base of every rule violation a user can cause. `str(e)` is the message to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PermissionDenied(DomainError):
    pass


class NotFound(DomainError):
    pass


class ValidationError(DomainError):
    """A form/field error. `field` names the field (Chinese label) when known."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class WindowClosed(DomainError):
    pass


class ReadOnlyTerm(DomainError):
    pass


class AuthError(DomainError):
    pass
