"""Forms for staff management (platform admins in /betrieb)."""

from flask_babel import lazy_gettext as _l
from wtforms import Form, RadioField, SearchField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from forms.auth import BaseForm, email_field

ROLE_LABELS = {
    "clerk": _l("Sachbearbeitung"),
    "admin": _l("Amtsadministration"),
    "platform-admin": _l("Plattform-Administration"),
}
ROLE_HINTS = {
    "clerk": _l("bearbeitet Anträge im Arbeitskorb des Amts"),
    "admin": _l("richtet die Leistungen, Formulare und Abläufe des Amts ein"),
    "platform-admin": _l("verwaltet Ämter, Mitarbeitende und den Betrieb"),
}


def _optional_int(value):
    return int(value) if value not in (None, "") else None


def _department_field(label):
    return SelectField(
        label,
        coerce=_optional_int,
        invalid_choice_message=_l("Bitte wählen Sie ein Amt aus der Liste."),
    )


def set_department_choices(field, departments, locale: str, blank=True) -> None:
    """Fill a department select with the departments (names in the UI language)."""
    choices = [SelectChoice(d.id, d.name(locale)) for d in departments]
    field.choices = ([SelectChoice("", _l("– bitte wählen –"))] if blank else []) + choices


class StaffCreateForm(BaseForm):
    full_name = StringField(
        _l("Vor- und Nachname"),
        validators=[
            DataRequired(message=_l("Bitte geben Sie den Namen ein.")),
            Length(max=200, message=_l("Der Name darf höchstens 200 Zeichen lang sein.")),
        ],
    )
    email = email_field(
        _l("Dienstliche E-Mail-Adresse"), required_message=_l("Bitte geben Sie die E-Mail-Adresse ein.")
    )
    role = RadioField(
        _l("Rolle"),
        choices=[SelectChoice(k, label) for k, label in ROLE_LABELS.items()],
        validators=[InputRequired(message=_l("Bitte wählen Sie eine Rolle."))],
        invalid_choice_message=_l("Bitte wählen Sie eine Rolle."),
    )
    department = _department_field(_l("Amt"))

    def validate_department(self, field):
        if field.data is None and self.role.data in ("clerk", "admin"):
            raise ValidationError(_l("Bitte wählen Sie ein Amt."))


class MembershipForm(BaseForm):
    department = _department_field(_l("Amt"))
    role = RadioField(
        _l("Rolle im Amt"),
        choices=[SelectChoice(k, ROLE_LABELS[k]) for k in ("clerk", "admin")],
        default="clerk",
        validators=[InputRequired(message=_l("Bitte wählen Sie eine Rolle."))],
        invalid_choice_message=_l("Bitte wählen Sie eine Rolle."),
    )

    def validate_department(self, field):
        if field.data is None:
            raise ValidationError(_l("Bitte wählen Sie ein Amt."))


class StaffSearchForm(Form):
    """GET search over staff accounts (no CSRF: it changes nothing)."""

    q = SearchField(_l("Suche nach Name oder E-Mail-Adresse"), validators=[Length(max=100)])
