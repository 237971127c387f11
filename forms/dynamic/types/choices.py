"""Choice field types: single choice (radios or select), multiple choice (checkboxes), yes/no."""

from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape
from wtforms import RadioField, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from forms.dynamic.registry import FieldError, FieldType, first_text, register
from forms.dynamic.spec import pick


class _TolerantRadio(RadioField):
    def process_formdata(self, valuelist):
        self.data = first_text(valuelist)


class _TolerantSelect(SelectField):
    def process_formdata(self, valuelist):
        self.data = first_text(valuelist)


class _TolerantCheckboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def process_formdata(self, valuelist):
        self.data = [v for v in valuelist if isinstance(v, str)]


def _options(spec, locale):
    return [(o["value"], pick(o["label"], locale)) for o in spec.get("options", ())]


def _option_errors(doc, path):
    errors, seen = [], set()
    for i, option in enumerate(doc.get("options", ())):
        value = option.get("value") if isinstance(option, dict) else None
        if value in seen:
            message = _("Der Wert „%(value)s“ kommt mehrfach vor.", value=value)
            errors.append((f"{path}.options[{i}].value", message))
        seen.add(value)
    return errors


def _choices(pairs):
    return [SelectChoice(value, label) for value, label in pairs]


def _label_of(spec, value, locale):
    for option_value, label in _options(spec, locale):
        if option_value == value:
            return label
    return str(value)


@register
class SingleChoice(FieldType):
    """One of a list of options; `widget` "radios" (default) or "select" for long lists."""

    name = "choice"
    macro = "radios"
    options = frozenset({"options", "widget"})

    def definition_errors(self, doc, path):
        return _option_errors(doc, path)

    def sample_answers(self, doc):
        return [o["value"] for o in doc.get("options", ())]

    def macro_for(self, spec):
        return "select" if spec.get("widget") == "select" else "radios"

    def anchor_suffix(self, spec):
        return "" if spec.get("widget") == "select" else "-0"

    def wtforms_field(self, spec, locale):
        choices = _options(spec, locale)
        if spec.get("widget") == "select":
            choices = _choices([("", _("Bitte auswählen")), *choices])
            return _TolerantSelect(spec.label(locale), choices=choices, validate_choice=False)
        return _TolerantRadio(spec.label(locale), choices=_choices(choices), validate_choice=False)

    def required_message(self, spec, locale):
        return _("Wählen Sie eine Antwort für „%(label)s“ aus.", label=spec.label(locale))

    def parse(self, spec, raw, locale):
        if raw not in {value for value, _label in _options(spec, locale)}:
            raise FieldError(_("Wählen Sie eine der angebotenen Antworten aus."))
        return raw

    def format_text(self, spec, value, locale):
        return "" if value is None else _label_of(spec, value, locale)


@register
class MultipleChoice(FieldType):
    """Any number of options (checkboxes), optionally `min_selected`/`max_selected`."""

    name = "multichoice"
    macro = "checkboxes"
    options = frozenset({"options", "min_selected", "max_selected"})

    def definition_errors(self, doc, path):
        errors = _option_errors(doc, path)
        low, high = doc.get("min_selected", 0), doc.get("max_selected")
        if high is not None and low > high:
            message = _("Die Mindestauswahl darf nicht größer als die Höchstauswahl sein.")
            errors.append((f"{path}.min_selected", message))
        if high is not None and high > len(doc.get("options", ())):
            message = _("Die Höchstauswahl ist größer als die Zahl der Optionen.")
            errors.append((f"{path}.max_selected", message))
        return errors

    def sample_answers(self, doc):
        values = [o["value"] for o in doc.get("options", ())]
        most = values[: doc.get("max_selected", len(values))]
        return [values[: max(1, doc.get("min_selected", 0))], most] if values else []

    def anchor_suffix(self, spec):
        return "-0"

    def wtforms_field(self, spec, locale):
        return _TolerantCheckboxes(
            spec.label(locale), choices=_choices(_options(spec, locale)), validate_choice=False
        )

    def raw(self, field):
        return [v for v in (field.data or ()) if isinstance(v, str)]

    def required_message(self, spec, locale):
        return _("Wählen Sie mindestens eine Antwort für „%(label)s“ aus.", label=spec.label(locale))

    def parse(self, spec, raw, locale):
        allowed = [value for value, _label in _options(spec, locale)]
        if any(v not in allowed for v in raw):
            raise FieldError(_("Wählen Sie nur Antworten aus der Liste aus."))
        chosen = [v for v in allowed if v in raw]  # definition order, no duplicates
        if len(chosen) < spec.get("min_selected", 0):
            raise FieldError(_("Wählen Sie mindestens %(n)s Antworten aus.", n=spec.get("min_selected")))
        if spec.get("max_selected") is not None and len(chosen) > spec.get("max_selected"):
            raise FieldError(_("Wählen Sie höchstens %(n)s Antworten aus.", n=spec.get("max_selected")))
        return chosen

    def to_formdata(self, spec, value):
        return {"": list(value or [])}

    def format_text(self, spec, value, locale):
        return ", ".join(_label_of(spec, v, locale) for v in value or ())

    def format_html(self, spec, value, locale, file_url=None):
        items = Markup("").join(Markup("<li>%s</li>") % _label_of(spec, v, locale) for v in value or ())
        return Markup('<ul class="kern-list">%s</ul>') % items if value else escape("")


@register
class YesNo(FieldType):
    """Ja/Nein as two radios; stored as bool."""

    name = "yesno"
    macro = "radios"
    options = frozenset({"inline"})

    def sample_answers(self, doc):
        return [True, False]

    def anchor_suffix(self, spec):
        return "-0"

    def wtforms_field(self, spec, locale):
        return _TolerantRadio(
            spec.label(locale), choices=_choices([("yes", _("Ja")), ("no", _("Nein"))]), validate_choice=False
        )

    def required_message(self, spec, locale):
        return _("Wählen Sie „Ja“ oder „Nein“ für „%(label)s“ aus.", label=spec.label(locale))

    def parse(self, spec, raw, locale):
        if raw not in ("yes", "no"):
            raise FieldError(_("Wählen Sie „Ja“ oder „Nein“ aus."))
        return raw == "yes"

    def to_formdata(self, spec, value):
        return {"": "" if value is None else ("yes" if value else "no")}

    def format_text(self, spec, value, locale):
        if value is None:
            return ""
        with force_locale(locale):  # summaries/PDFs may be in another language than the request
            return _("Ja") if value else _("Nein")
