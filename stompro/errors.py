"""Errors that carry a message a clinic's staff can read."""


class DomainError(Exception):
    """A rule of the clinic was broken; ``message`` is shown to the user.

    ``field`` names the form or API field at fault, when there is one.
    """

    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class ConflictError(DomainError):
    """Someone else changed the same record first (stale ``version``)."""


class NotAllowed(DomainError):
    """The person's role or branch does not allow this (a 403, not bad input)."""
