"""Static forms of the citizen journey (the form pages themselves come from forms.dynamic)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired


class ActionForm(FlaskForm):
    """A form with nothing but the CSRF token (start, delete, remove-file buttons)."""


class SubmitForm(FlaskForm):
    """The declaration on the check-answers page."""

    declaration = BooleanField(
        _l("Ich versichere, dass meine Angaben vollständig und richtig sind."),
        validators=[DataRequired(_l("Bestätigen Sie, dass Ihre Angaben vollständig und richtig sind."))],
    )
