"""Domain errors. Views translate them into a message and an HTTP status."""


class DomainError(Exception):
    """Base class: a rule of the domain was violated; nothing was changed."""

    status = 400

    def __init__(self, message: str = "", **details):
        super().__init__(message or self.__class__.__doc__)
        self.message = message or (self.__class__.__doc__ or "").strip()
        self.details = details


class NotFound(DomainError):
    """The object does not exist or the actor may not see it."""

    status = 404


class PermissionDenied(DomainError):
    """The actor may see the object but not do this."""

    status = 403


class ValidationFailed(DomainError):
    """Input did not pass the rules."""

    status = 400


class InvalidDefinition(DomainError):
    """A form, workflow or template document is invalid; `errors` lists (path, reason)."""

    def __init__(self, errors, message: str = ""):
        self.errors = list(errors)
        super().__init__(message or "; ".join(f"{p}: {r}" for p, r in self.errors))


class TransitionNotAllowed(DomainError):
    """This transition is not possible from the current state or for this actor."""

    status = 409


class StaleObject(DomainError):
    """The object was changed by someone else since it was loaded."""

    status = 409


class AlreadySubmitted(DomainError):
    """The draft was already submitted."""

    status = 409


class EmailNotConfirmed(DomainError):
    """The email address must be confirmed first."""

    status = 403


class InvalidToken(DomainError):
    """The link is invalid, expired or was already used."""


class UploadRejected(DomainError):
    """The uploaded file was not accepted (too big, wrong type or empty)."""

    status = 400
