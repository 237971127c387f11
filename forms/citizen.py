"""Static forms of the citizen journey (the form pages themselves come from forms.dynamic)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from forms.auth import email_field


class ActionForm(FlaskForm):
    """A form with nothing but the CSRF token (start, delete, remove-file buttons)."""


class MarkAllReadForm(FlaskForm):
    """'Alle als gelesen markieren' in the Postfach: the id of its newest entry when the page was shown."""

    newest_id = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,18}$")])


def _declaration():
    return BooleanField(
        _l("Ich versichere, dass meine Angaben vollständig und richtig sind."),
        validators=[DataRequired(_l("Bestätigen Sie, dass Ihre Angaben vollständig und richtig sind."))],
    )


class _CheckedByCSRFProtect(FlaskForm):
    class Meta:
        # extensions.csrf (CSRFProtect) checks the token of every POST before the view runs, and
        # review.html renders csrf_token() itself: a second check by the form costs the submit
        # ~0.3 ms and protects nothing more (tests/web/test_csrf.py covers the submit).
        csrf = False


class SubmitForm(_CheckedByCSRFProtect):
    """The declaration on the check-answers page."""

    declaration = _declaration()


class AnonymousSubmitForm(_CheckedByCSRFProtect):
    """Check-answers page without an account: where replies about the request go, and the declaration."""

    email = email_field(
        label=_l("E-Mail-Adresse für Rückmeldungen"),
        required_message=_l("Geben Sie eine E-Mail-Adresse an, an die wir Rückmeldungen schicken können."),
    )
    declaration = _declaration()


class StatusLinkForm(FlaskForm):
    """Ask for the personal status link of a request submitted without an account, again."""

    reference = StringField(
        _l("Aktenzeichen"),
        description=_l("Steht in der Eingangsbestätigung, z. B. DU-2026-000123."),
        validators=[
            DataRequired(message=_l("Geben Sie das Aktenzeichen Ihres Antrags an.")),
            Length(max=32, message=_l("Das Aktenzeichen ist zu lang.")),
        ],
        filters=[lambda value: value.strip().upper() if isinstance(value, str) else value],
    )
    email = email_field(
        label=_l("E-Mail-Adresse, die Sie beim Absenden angegeben haben"), strict=False
    )
