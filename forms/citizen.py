"""Static forms of the citizen journey (the form pages themselves come from forms.dynamic)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired

from forms.auth import email_field


class ActionForm(FlaskForm):
    """A form with nothing but the CSRF token (start, delete, remove-file buttons)."""


def _declaration():
    return BooleanField(
        _l("Ich versichere, dass meine Angaben vollständig und richtig sind."),
        validators=[DataRequired(_l("Bestätigen Sie, dass Ihre Angaben vollständig und richtig sind."))],
    )


class SubmitForm(FlaskForm):
    """The declaration on the check-answers page."""

    declaration = _declaration()


class AnonymousSubmitForm(FlaskForm):
    """Check-answers page without an account: where replies about the request go, and the declaration."""

    email = email_field(
        label=_l("E-Mail-Adresse für Rückmeldungen"),
        required_message=_l("Geben Sie eine E-Mail-Adresse an, an die wir Rückmeldungen schicken können."),
    )
    declaration = _declaration()
