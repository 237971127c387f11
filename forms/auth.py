"""Static forms for accounts: shape and field-level checks only (rules live in services.accounts)."""

from babel import Locale
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length

from services.accounts import MAX_PASSWORD_LENGTH
from services.passwords import MIN_PASSWORD_LENGTH


class BaseForm(FlaskForm):
    """FlaskForm whose error messages are plain strings in the request's language.

    Validator messages are lazy strings (declared at import time); the form macros render only
    `str` errors, so they are resolved here once validation has run.
    """

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for field in self:
            field.errors = [str(e) if not isinstance(e, (dict, list)) else e for e in field.errors]
        return valid


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def email_field(label=None, strict=True, required_message=None):
    """Email input; `strict` checks the syntax (new addresses), else only presence (log in)."""
    validators = [
        DataRequired(message=required_message or _l("Bitte geben Sie Ihre E-Mail-Adresse ein.")),
        Length(max=254, message=_l("Die E-Mail-Adresse ist zu lang.")),
    ]
    if strict:
        validators.append(
            Email(message=_l("Bitte geben Sie eine gültige E-Mail-Adresse ein, z. B. name@beispiel.de."))
        )
    return EmailField(label or _l("E-Mail-Adresse"), validators=validators, filters=[_strip])


def _new_password_fields(label):
    password = PasswordField(
        label,
        validators=[
            InputRequired(message=_l("Bitte geben Sie ein Passwort ein.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("Das Passwort muss zwischen %(min)d und %(max)d Zeichen lang sein."),
            ),
        ],
    )
    confirm = PasswordField(
        _l("Passwort wiederholen"),
        validators=[
            InputRequired(message=_l("Bitte wiederholen Sie das Passwort.")),
            EqualTo("password", message=_l("Die beiden Passwörter stimmen nicht überein.")),
        ],
    )
    return password, confirm


class LoginForm(BaseForm):
    email = email_field(strict=False)
    password = PasswordField(
        _l("Passwort"), validators=[InputRequired(message=_l("Bitte geben Sie Ihr Passwort ein."))]
    )


class RegisterForm(BaseForm):
    full_name = StringField(
        _l("Vor- und Nachname"),
        validators=[
            DataRequired(message=_l("Bitte geben Sie Ihren Namen ein.")),
            Length(max=200, message=_l("Der Name darf höchstens 200 Zeichen lang sein.")),
        ],
        filters=[_strip],
    )
    email = email_field()
    password, password_confirm = _new_password_fields(_l("Passwort"))


class ForgotPasswordForm(BaseForm):
    email = email_field(strict=False)


class ResetPasswordForm(BaseForm):
    password, password_confirm = _new_password_fields(_l("Neues Passwort"))


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(
        _l("Aktuelles Passwort"),
        validators=[InputRequired(message=_l("Bitte geben Sie Ihr aktuelles Passwort ein."))],
    )
    password, password_confirm = _new_password_fields(_l("Neues Passwort"))


def language_name(code: str) -> str:
    """A language named in itself (Deutsch, English), as language menus do."""
    return Locale.parse(code).get_display_name(code)


class MailLanguageForm(BaseForm):
    """The language of the account's e-mails: one of the configured LANGUAGES."""

    language = RadioField(
        _l("In welcher Sprache möchten Sie unsere E-Mails erhalten?"),
        validators=[InputRequired(message=_l("Bitte wählen Sie eine Sprache."))],
        invalid_choice_message=_l("Bitte wählen Sie eine der angebotenen Sprachen."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = [SelectChoice(c, language_name(c)) for c in current_app.config["LANGUAGES"]]


class DeleteAccountForm(BaseForm):
    password = PasswordField(
        _l("Ihr Passwort"), validators=[InputRequired(message=_l("Bitte geben Sie Ihr Passwort ein."))]
    )
    confirm = BooleanField(
        _l("Ja, ich möchte mein Benutzerkonto endgültig löschen."),
        validators=[DataRequired(message=_l("Bestätigen Sie, dass Sie Ihr Benutzerkonto löschen möchten."))],
    )


class ActionForm(BaseForm):
    """A form with only the CSRF token, for buttons that change state (resend, logout...)."""
