"""Forms of the department self-service (/verwaltung). Shape only; the rules live in services."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from forms.auth import BaseForm, email_field
from services.designer import ACCEPT_TYPES, FIELD_TYPES, PRIVACY

TYPE_LABELS = {
    "text": _l("Text (einzeilig)"), "textarea": _l("Text (mehrzeilig)"), "integer": _l("Ganze Zahl"),
    "decimal": _l("Dezimalzahl"), "money": _l("Geldbetrag"), "date": _l("Datum"),
    "email": _l("E-Mail-Adresse"),
    "phone": _l("Telefonnummer"), "postcode": _l("Postleitzahl"), "iban": _l("IBAN"),
    "choice": _l("Auswahl (eine Antwort)"), "multichoice": _l("Auswahl (mehrere Antworten)"),
    "yesno": _l("Ja/Nein"), "file": _l("Datei-Upload"), "address": _l("Anschrift"), "info": _l("Hinweistext"),
    "group": _l("Wiederholbare Gruppe"),
}  # fmt: skip
PRIVACY_LABELS = {
    "public": _l("öffentlich"), "personal": _l("personenbezogen"), "sensitive": _l("besonders schützenswert"),
}  # fmt: skip
ROLE_PAIRS = [("clerk", _l("Sachbearbeitung")), ("admin", _l("Amtsadministration"))]
OPERATOR_LABELS = {
    "is": _l("ist"), "is_not": _l("ist nicht"), "contains": _l("enthält"), "between": _l("liegt im Bereich"),
}  # fmt: skip
CONDITION_ROWS = 4


def choice_list(pairs) -> list[SelectChoice]:
    """(value, label) pairs → SelectChoice objects (tuples are deprecated in WTForms)."""
    return [SelectChoice(value, label) for value, label in pairs]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class EuroField(DecimalField):
    """Amount in euros; accepts a decimal comma ("30,70") and says so in German when unreadable."""

    widget = TextInput()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:.2f}".replace(".", ",") if self.data is not None else ""

    def process_formdata(self, valuelist):
        if valuelist:
            raw = valuelist[0].strip().replace(" ", "").replace("€", "")
            if "," in raw:
                raw = raw.replace(".", "").replace(",", ".")
            try:
                self.data = Decimal(raw) if raw else None
            except ArithmeticError as exc:
                self.data = None
                raise ValueError(_l("Bitte geben Sie einen Betrag in Euro ein, z. B. 30,70.")) from exc


class ActionForm(FlaskForm):
    """Only the CSRF token (buttons: move, delete, reset)."""


class ServiceForm(BaseForm):
    title_de = StringField(
        _l("Titel (deutsch)"),
        filters=[_strip],
        validators=[DataRequired(_l("Bitte geben Sie einen Titel ein.")), Length(max=200)],
    )
    title_en = StringField(_l("Titel (englisch)"), filters=[_strip], validators=[Length(max=200)])
    summary_de = TextAreaField(_l("Kurzbeschreibung (deutsch)"), filters=[_strip])
    summary_en = TextAreaField(_l("Kurzbeschreibung (englisch)"), filters=[_strip])
    description_de = TextAreaField(_l("Beschreibung (deutsch)"), filters=[_strip])
    description_en = TextAreaField(_l("Beschreibung (englisch)"), filters=[_strip])
    leika_key = StringField(_l("LeiKa-Schlüssel"), filters=[_strip])
    topic = SelectField(_l("Thema im Katalog"), validate_choice=True)
    fee = EuroField(
        _l("Gebühr in Euro"),
        places=2,
        default=Decimal("0"),
        validators=[
            InputRequired(_l("Bitte geben Sie die Gebühr ein (0 für gebührenfrei).")),
            NumberRange(min=0, max=100000, message=_l("Die Gebühr muss zwischen 0 und 100.000 Euro liegen.")),
        ],
        render_kw={"inputmode": "decimal"},
    )
    processing_days = IntegerField(
        _l("Bearbeitungszeit in Tagen"),
        default=14,
        widget=TextInput(),
        validators=[
            InputRequired(_l("Bitte geben Sie die Bearbeitungszeit in Tagen ein.")),
            NumberRange(
                min=1, max=365, message=_l("Die Bearbeitungszeit muss zwischen 1 und 365 Tagen liegen.")
            ),
        ],
        render_kw={"inputmode": "numeric"},
    )
    retention_years = IntegerField(
        _l("Aufbewahrungsfrist in Jahren"),
        default=10,
        widget=TextInput(),
        validators=[
            InputRequired(_l("Bitte geben Sie die Aufbewahrungsfrist in Jahren ein.")),
            NumberRange(
                min=1, max=30, message=_l("Die Aufbewahrungsfrist muss zwischen 1 und 30 Jahren liegen.")
            ),
        ],
        render_kw={"inputmode": "numeric"},
    )
    login_required = BooleanField(_l("Antrag nur mit Anmeldung (Konto erforderlich)"), default=True)
    # A new service starts inactive: the city switches it on once its form is published (until then
    # the catalogue would offer a service that cannot be applied for).
    active = BooleanField(_l("Leistung ist aktiv (im Katalog sichtbar)"), default=False)

    def service_data(self) -> dict:
        names = (
            "title_de",
            "title_en",
            "summary_de",
            "summary_en",
            "description_de",
            "description_en",
            "leika_key",
            "processing_days",
            "retention_years",
            "login_required",
            "active",
            "topic",
        )
        data = {k: self[k].data for k in names}
        data["fee_cents"] = int((self.fee.data or Decimal("0")) * 100)
        return data


class PageForm(BaseForm):
    key = StringField(_l("Schlüssel der Seite"), filters=[_strip])
    title_de = StringField(_l("Überschrift (deutsch)"), filters=[_strip])
    title_en = StringField(_l("Überschrift (englisch)"), filters=[_strip])
    help_de = TextAreaField(_l("Hinweis (deutsch)"), filters=[_strip])
    help_en = TextAreaField(_l("Hinweis (englisch)"), filters=[_strip])


class FieldTypeForm(FlaskForm):
    class Meta:
        csrf = False

    typ = SelectField(_l("Feldtyp"), choices=choice_list((t, TYPE_LABELS[t]) for t in FIELD_TYPES))


class FieldForm(BaseForm):
    """Common settings plus every type-specific one; the template shows those of the chosen type."""

    key = StringField(_l("Schlüssel"), filters=[_strip])
    type = SelectField(_l("Feldtyp"), choices=choice_list((t, TYPE_LABELS[t]) for t in FIELD_TYPES))
    label_de = StringField(_l("Beschriftung (deutsch)"), filters=[_strip])
    label_en = StringField(_l("Beschriftung (englisch)"), filters=[_strip])
    help_de = TextAreaField(_l("Hilfetext (deutsch)"), filters=[_strip])
    help_en = TextAreaField(_l("Hilfetext (englisch)"), filters=[_strip])
    required = BooleanField(_l("Pflichtfeld"))
    privacy = SelectField(_l("Schutzbedarf"), choices=choice_list((p, PRIVACY_LABELS[p]) for p in PRIVACY))
    # type-specific
    min_length = StringField(_l("Mindestlänge (Zeichen)"))
    max_length = StringField(_l("Höchstlänge (Zeichen)"))
    pattern = StringField(_l("Muster (regulärer Ausdruck)"))
    pattern_message_de = StringField(_l("Meldung, wenn das Muster nicht passt (deutsch)"))
    pattern_message_en = StringField(_l("Meldung, wenn das Muster nicht passt (englisch)"))
    autocomplete = StringField(_l("Autovervollständigung (autocomplete-Wert)"))
    uppercase = BooleanField(_l("In Großbuchstaben speichern (z. B. Kennzeichen)"))
    prefill = SelectField(
        _l("Für angemeldete Personen vorausfüllen mit"),
        choices=choice_list(
            [
                ("", _l("nichts (nicht vorausfüllen)")),
                ("account.full_name", _l("Name aus dem Benutzerkonto")),
                ("account.given_name", _l("Vorname aus dem Benutzerkonto")),
                ("account.family_name", _l("Nachname aus dem Benutzerkonto")),
                ("account.email", _l("E-Mail-Adresse aus dem Benutzerkonto")),
            ]
        ),
        validate_choice=False,  # the definition's validator names a value the type does not allow
    )
    rows = StringField(_l("Zeilen"))
    prefixes = TextAreaField(_l("Erlaubte Anfänge der Postleitzahl (eine pro Zeile)"))
    prefix_message_de = StringField(_l("Meldung bei anderer Postleitzahl (deutsch)"))
    prefix_message_en = StringField(_l("Meldung bei anderer Postleitzahl (englisch)"))
    countries = StringField(_l("Erlaubte Länder (Ländercodes, mit Komma getrennt)"))
    min = StringField(_l("Kleinster Wert"))
    max = StringField(_l("Größter Wert"))
    unit = StringField(_l("Einheit"))
    decimal_places = StringField(_l("Nachkommastellen"))
    min_cents = StringField(_l("Kleinster Betrag in Cent"))
    max_cents = StringField(_l("Größter Betrag in Cent"))
    options = TextAreaField(_l("Antwortmöglichkeiten"))
    widget = SelectField(
        _l("Darstellung"),
        choices=choice_list([("radios", _l("Optionsfelder")), ("select", _l("Auswahlliste"))]),
        validate_choice=False,
    )
    min_selected = StringField(_l("Mindestens auszuwählen"))
    max_selected = StringField(_l("Höchstens auszuwählen"))
    inline = BooleanField(_l("Ja und Nein nebeneinander anzeigen"))
    accept = SelectMultipleField(
        _l("Erlaubte Dateitypen"),
        choices=choice_list((t, t) for t in ACCEPT_TYPES),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    max_size_mb = StringField(_l("Höchstgröße je Datei in MB"))
    max_files = StringField(_l("Höchstzahl der Dateien"))
    postcode_prefixes = TextAreaField(_l("Erlaubte Anfänge der Postleitzahl (eine pro Zeile)"))
    city = StringField(_l("Vorgegebener Ort"))
    applicant_address = BooleanField(
        _l("Postanschrift der antragstellenden Person (Bescheide gehen hierhin)")
    )
    text_de = TextAreaField(_l("Hinweistext (deutsch)"))
    text_en = TextAreaField(_l("Hinweistext (englisch)"))
    min_items = StringField(_l("Mindestzahl der Einträge"))
    max_items = StringField(_l("Höchstzahl der Einträge"))
    item_label_de = StringField(_l("Bezeichnung eines Eintrags (deutsch)"))
    item_label_en = StringField(_l("Bezeichnung eines Eintrags (englisch)"))


class FormSettingsForm(BaseForm):
    title_de = StringField(_l("Titel des Formulars (deutsch)"), filters=[_strip])
    title_en = StringField(_l("Titel des Formulars (englisch)"), filters=[_strip])
    fee_rule = TextAreaField(_l("Gebührenberechnung (JsonLogic, Ergebnis in Cent)"))
    require_latest = BooleanField(
        _l("Entwürfe müssen nach einer Veröffentlichung auf die neue Version wechseln")
    )


def condition_form_class(field_choices):
    """A builder form with CONDITION_ROWS rows (field, operator, value) and and/or."""

    class ConditionForm(BaseForm):
        combinator = RadioField(
            _l("Verknüpfung"),
            default="and",
            choices=choice_list(
                [
                    ("and", _l("Alle Bedingungen müssen zutreffen (und)")),
                    ("or", _l("Eine Bedingung genügt (oder)")),
                ]
            ),
        )

    choices = choice_list([("", _l("– kein Feld –")), *field_choices])
    for i in range(CONDITION_ROWS):
        setattr(ConditionForm, f"field_{i}", SelectField(_l("Feld"), choices=choices, validate_choice=False))
        setattr(
            ConditionForm,
            f"op_{i}",
            SelectField(_l("Vergleich"), choices=choice_list(OPERATOR_LABELS.items()), validate_choice=False),
        )
        setattr(ConditionForm, f"value_{i}", StringField(_l("Wert"), filters=[_strip]))
    return ConditionForm


class ConditionJsonForm(BaseForm):
    rule = TextAreaField(_l("Bedingung als JsonLogic"))


class ImportForm(BaseForm):
    file = FileField(_l("JSON-Datei"))
    text = TextAreaField(_l("oder JSON hier einfügen"))


class PublishForm(BaseForm):
    change_note = TextAreaField(
        _l("Was hat sich geändert?"),
        filters=[_strip],
        validators=[DataRequired(_l("Bitte beschreiben Sie kurz, was sich geändert hat.")), Length(max=2000)],
    )


class ScenarioForm(BaseForm):
    name = StringField(
        _l("Name des Szenarios"),
        filters=[_strip],
        validators=[DataRequired(_l("Bitte geben Sie dem Szenario einen Namen.")), Length(max=200)],
    )
    answers = TextAreaField(_l("Antworten (JSON-Objekt: Feldschlüssel → Wert)"), default="{}")
    pages = TextAreaField(_l("Erwartete sichtbare Seiten (Schlüssel, eine pro Zeile, in Reihenfolge)"))
    fee_cents = StringField(_l("Erwartete Gebühr in Cent"))
    department = SelectField(_l("Erwartetes zuständiges Amt"), validate_choice=False)


class RoutingRuleForm(BaseForm):
    label = StringField(_l("Bezeichnung der Regel"), filters=[_strip], validators=[Length(max=200)])
    department = SelectField(_l("Zuständiges Amt, wenn die Regel zutrifft"), validate_choice=False)
    rule = TextAreaField(_l("Bedingung als JsonLogic (für Fortgeschrittene; ersetzt die Zeilen oben)"))


class RoutingTestForm(BaseForm):
    answers = TextAreaField(_l("Antworten (JSON-Objekt: Feldschlüssel → Wert)"), default="{}")


class WorkflowChooseForm(BaseForm):
    workflow = SelectField(_l("Ablauf"), coerce=int, validate_choice=False)


class WorkflowCopyForm(BaseForm):
    name = StringField(
        _l("Name der Kopie"),
        filters=[_strip],
        validators=[DataRequired(_l("Bitte geben Sie einen Namen ein.")), Length(max=200)],
    )


class WorkflowEditForm(BaseForm):
    name = StringField(
        _l("Name"),
        filters=[_strip],
        validators=[DataRequired(_l("Bitte geben Sie einen Namen ein.")), Length(max=200)],
    )
    document = TextAreaField(_l("Ablauf als JSON (Zustände, Übergänge, Rollen, Vier-Augen-Prinzip)"))


class NoticeTemplateForm(BaseForm):
    html = TextAreaField(_l("HTML-Vorlage"))
    css = TextAreaField(_l("CSS"))


class StaffAddForm(BaseForm):
    email = email_field(
        _l("Dienstliche E-Mail-Adresse der Person"),
        strict=False,
        required_message=_l("Bitte geben Sie die E-Mail-Adresse der Person ein."),
    )
    role = RadioField(
        _l("Rolle"),
        choices=choice_list(ROLE_PAIRS),
        default="clerk",
        validators=[InputRequired(_l("Bitte wählen Sie eine Rolle."))],
    )


class StaffRoleForm(BaseForm):
    role = SelectField(_l("Rolle"), choices=choice_list(ROLE_PAIRS))
