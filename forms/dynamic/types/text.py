"""Text-like field types: short text, long text, email, phone, German postcode, IBAN."""

import re

from flask_babel import gettext as _
from markupsafe import Markup, escape
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError
from wtforms import TextAreaField

from forms.dynamic.patterns import compiled
from forms.dynamic.registry import FieldError, FieldType, check_text, first_text, register
from forms.dynamic.spec import pick


class TextAreaInput(TextAreaField):
    """A textarea that tolerates any submitted value type."""

    def process_formdata(self, valuelist):
        self.data = first_text(valuelist)


def _length_errors(doc, path, hard_max):
    errors = []
    low, high = doc.get("min_length", 0), doc.get("max_length", hard_max)
    if high > hard_max:
        errors.append((f"{path}.max_length", _("Höchstens %(n)d Zeichen sind möglich.", n=hard_max)))
    if low > high:
        message = _("Die Mindestlänge darf nicht größer als die Höchstlänge sein.")
        errors.append((f"{path}.min_length", message))
    return errors


@register
class ShortText(FieldType):
    """One line of text; optional length limits and a regular expression."""

    name = "text"
    hard_max = 1000
    default_max = 200
    autocomplete = None
    options = frozenset(
        {"min_length", "max_length", "pattern", "pattern_message", "autocomplete", "uppercase", "prefill"}
    )
    prefill_sources = ("account.full_name", "account.given_name", "account.family_name")

    def definition_errors(self, doc, path):
        from forms.dynamic.patterns import pattern_problem

        errors = _length_errors(doc, path, self.hard_max)
        if "pattern" in doc:
            problem = pattern_problem(doc["pattern"])
            if problem:
                errors.append((f"{path}.pattern", problem))
        return errors

    def sample_answers(self, doc):
        length = max(8, doc.get("min_length", 0))
        return [("Beispiel " * length)[:length].strip().ljust(length, "x")]

    def parse(self, spec, raw, locale):
        value = check_text(raw)
        value = value if self.multiline else " ".join(value.split())
        if spec.get("uppercase"):  # e.g. number plates: "du-ab 123" is what the citizen means by "DU-AB 123"
            value = value.upper()
        high = spec.get("max_length", self.default_max)
        if len(value) > high:
            raise FieldError(_("Geben Sie höchstens %(n)s Zeichen ein.", n=high))
        if len(value) < spec.get("min_length", 0):
            raise FieldError(_("Geben Sie mindestens %(n)s Zeichen ein.", n=spec.get("min_length")))
        pattern = spec.get("pattern")
        if pattern and not compiled(pattern).fullmatch(value):
            message = pick(spec.get("pattern_message"), locale)
            raise FieldError(message or _("Die Eingabe hat nicht das erwartete Format."))
        return value

    multiline = False


@register
class LongText(ShortText):
    """Several lines of text (textarea)."""

    name = "textarea"
    macro = "textarea"
    hard_max = 10000
    default_max = 2000
    multiline = True
    options = frozenset({"min_length", "max_length", "rows"})

    def wtforms_field(self, spec, locale):
        return TextAreaInput(spec.label(locale), description=spec.help(locale))

    def format_html(self, spec, value, locale, file_url=None):
        lines = (value or "").splitlines()
        return Markup("<br>").join(escape(line) for line in lines)


_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")


@register
class Email(FieldType):
    """An email address (syntax check only; confirmation is the account's business)."""

    name = "email"
    input_type = "email"
    autocomplete = "email"
    spellcheck = "false"
    options = frozenset({"autocomplete", "prefill"})
    prefill_sources = ("account.email",)

    def sample_answers(self, doc):
        return ["name@beispiel.de"]

    def parse(self, spec, raw, locale):
        value = check_text(raw)
        if len(value) > 254 or not _EMAIL.fullmatch(value):
            raise FieldError(_("Geben Sie eine gültige E-Mail-Adresse ein, zum Beispiel name@beispiel.de."))
        local, _sep, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"


_PHONE = re.compile(r"\+?[0-9 ()/\-]{5,30}")


@register
class Phone(FieldType):
    """A telephone number: digits with the usual separators, 6 to 20 digits."""

    name = "phone"
    input_type = "tel"
    autocomplete = "tel"
    options = frozenset({"autocomplete"})

    def sample_answers(self, doc):
        return ["0203 123456"]

    def parse(self, spec, raw, locale):
        value = " ".join(check_text(raw).split())
        digits = sum(ch.isdigit() for ch in value)
        if not _PHONE.fullmatch(value) or not 6 <= digits <= 20:
            raise FieldError(_("Geben Sie eine gültige Telefonnummer ein, zum Beispiel 0203 123456."))
        return value


_POSTCODE = re.compile(r"[0-9]{5}")


def parse_postcode(raw: str, prefixes, prefix_message, locale) -> str:
    """A German postcode (5 digits), optionally restricted to some leading digits."""
    value = check_text(raw).replace(" ", "")
    if not _POSTCODE.fullmatch(value):
        raise FieldError(_("Geben Sie eine gültige Postleitzahl mit 5 Ziffern ein."))
    if prefixes and not value.startswith(tuple(prefixes)):
        raise FieldError(
            pick(prefix_message, locale) or _("Diese Postleitzahl liegt nicht im Zuständigkeitsbereich.")
        )
    return value


@register
class Postcode(FieldType):
    """A German postcode; `prefixes` limits it to an area (e.g. ["470", "471"] for Duisburg)."""

    name = "postcode"
    inputmode = "numeric"
    autocomplete = "postal-code"
    width = "5"
    options = frozenset({"prefixes", "prefix_message", "autocomplete"})

    def sample_answers(self, doc):
        return [(doc.get("prefixes") or ["47051"])[0].ljust(5, "0")[:5]]

    def parse(self, spec, raw, locale):
        return parse_postcode(raw, spec.get("prefixes"), spec.get("prefix_message"), locale)


@register
class Iban(FieldType):
    """An IBAN with checksum; stored compact ("DE89370400440532013000"), shown in groups of four."""

    name = "iban"
    autocomplete = "off"
    spellcheck = "false"
    options = frozenset({"countries"})

    def sample_answers(self, doc):
        return ["DE89370400440532013000"]

    def parse(self, spec, raw, locale):
        value = stdnum_iban.compact(check_text(raw))
        try:
            value = stdnum_iban.validate(value)
        except StdnumError:
            raise FieldError(_("Geben Sie eine gültige IBAN ein.")) from None
        countries = spec.get("countries")
        if countries and value[:2] not in countries:
            raise FieldError(_("IBANs aus diesem Land werden nicht angenommen."))
        return value

    def format_text(self, spec, value, locale):
        return stdnum_iban.format(value) if value else ""
