"""Domain errors. Views translate them into a message and an HTTP status."""

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """Base class: a rule of the domain was violated; nothing was changed."""

    status = 400
    # Shown when the raiser gives no message of its own (users read it: translated, not the docstring).
    default_message = _l("Das ist nicht möglich.")

    def __init__(self, message: str = "", **details):
        self.message = message or str(self.default_message)
        super().__init__(self.message)
        self.details = details


class NotFound(DomainError):
    """The object does not exist or the actor may not see it."""

    status = 404
    default_message = _l("Nicht gefunden.")


class PermissionDenied(DomainError):
    """The actor may see the object but not do this."""

    status = 403
    default_message = _l("Dazu fehlt Ihnen die Berechtigung.")


class ValidationFailed(DomainError):
    """Input did not pass the rules."""

    status = 400
    default_message = _l("Bitte prüfen Sie Ihre Angaben.")


class InvalidDefinition(DomainError):
    """A form, workflow or template document is invalid; `errors` lists (path, reason)."""

    def __init__(self, errors, message: str = ""):
        self.errors = list(errors)
        super().__init__(message or "; ".join(f"{p}: {r}" for p, r in self.errors))


class TransitionNotAllowed(DomainError):
    """This transition is not possible from the current state or for this actor."""

    status = 409
    default_message = _l("Dieser Schritt ist jetzt nicht möglich.")


class StaleObject(DomainError):
    """The object was changed by someone else since it was loaded."""

    status = 409
    default_message = _l("Der Vorgang wurde zwischenzeitlich geändert. Bitte laden Sie die Seite neu.")


class AlreadySubmitted(DomainError):
    """The draft was already submitted."""

    status = 409
    default_message = _l("Dieser Antrag wurde bereits abgeschickt.")


class ServiceNotOffered(DomainError):
    """The draft's service is not offered online at the moment (it or its department is inactive)."""

    status = 409
    default_message = _l(
        "Diese Leistung wird derzeit nicht online angeboten. Ihr angefangener Antrag bleibt gespeichert."
    )


class EmailNotConfirmed(DomainError):
    """The email address must be confirmed first."""

    status = 403
    default_message = _l("Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse.")


class InvalidToken(DomainError):
    """The link is invalid, expired or was already used."""

    default_message = _l("Der Link ist ungültig, abgelaufen oder wurde schon verwendet.")


class UploadRejected(DomainError):
    """The uploaded file was not accepted (too big, wrong type or empty)."""

    status = 400
    default_message = _l("Die Datei wurde nicht angenommen.")
