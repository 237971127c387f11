"""Numeric field types: integer, decimal (stored as text), money in EUR (stored as int cents)."""

import re
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, format_decimal
from flask_babel import gettext as _

from forms.dynamic.registry import FieldError, FieldType, check_text, register

_INTEGER = re.compile(r"-?(\d{1,15}|\d{1,3}(\.\d{3}){1,4})")
_DECIMAL = re.compile(r"-?\d{1,15}([.,]\d{1,10})?")
_MONEY_PLAIN = re.compile(r"\d{1,9}([.,]\d{1,2})?")
_MONEY_GROUPED_DE = re.compile(r"\d{1,3}(\.\d{3}){1,2}(,\d{1,2})?")
_MONEY_GROUPED_EN = re.compile(r"\d{1,3}(,\d{3}){1,2}\.\d{1,2}")  # "1,234" alone is German 1,234


def _min_max_errors(doc, path, low_key="min", high_key="max"):
    low, high = doc.get(low_key), doc.get(high_key)
    if low is not None and high is not None and low > high:
        return [(f"{path}.{low_key}", _("Der Mindestwert darf nicht größer als der Höchstwert sein."))]
    return []


def _samples_in_range(typical, low, high) -> list:
    """`typical`, the bounds that are set, each only once and only when within the bounds."""
    found = []
    for value in (typical, low, high):
        inside = (low is None or value >= low) and (high is None or value <= high)
        if value is not None and inside and value not in found:
            found.append(value)
    return found or [low if low is not None else high]


def _check_range(value, low, high, shown_low, shown_high):
    if low is not None and value < low:
        raise FieldError(_("Der Wert muss mindestens %(min)s sein.", min=shown_low))
    if high is not None and value > high:
        raise FieldError(_("Der Wert darf höchstens %(max)s sein.", max=shown_high))


@register
class Integer(FieldType):
    """A whole number with optional min/max; stored as int."""

    name = "integer"
    inputmode = "numeric"
    width = "10"
    options = frozenset({"min", "max", "unit"})

    def definition_errors(self, doc, path):
        return _min_max_errors(doc, path)

    def sample_answers(self, doc):
        return _samples_in_range(1, doc.get("min"), doc.get("max"))

    def parse(self, spec, raw, locale):
        value = check_text(raw).replace(" ", "")
        if not _INTEGER.fullmatch(value):
            raise FieldError(_("Geben Sie eine ganze Zahl ein, zum Beispiel 12."))
        number = int(value.replace(".", ""))
        _check_range(number, spec.get("min"), spec.get("max"), spec.get("min"), spec.get("max"))
        return number

    def format_text(self, spec, value, locale):
        if value is None:
            return ""
        unit = spec.get("unit")
        return format_decimal(value, locale=locale) + (f" {unit}" if unit else "")


@register
class DecimalNumber(FieldType):
    """A number with a decimal comma or point; stored as text with `decimal_places` digits."""

    name = "decimal"
    inputmode = "decimal"
    width = "10"
    options = frozenset({"min", "max", "decimal_places", "unit"})

    def definition_errors(self, doc, path):
        return _min_max_errors(doc, path)

    def sample_answers(self, doc):
        step = Decimal(1).scaleb(-doc.get("decimal_places", 2))
        numbers = _samples_in_range(1, doc.get("min"), doc.get("max"))
        return [str(Decimal(str(n)).quantize(step, rounding=ROUND_HALF_UP)) for n in numbers]

    def parse(self, spec, raw, locale):
        value = check_text(raw).replace(" ", "")
        places = spec.get("decimal_places", 2)
        if not _DECIMAL.fullmatch(value):
            raise FieldError(_("Geben Sie eine Zahl ein, zum Beispiel 12,5."))
        number = Decimal(value.replace(",", "."))
        if -number.as_tuple().exponent > places:
            raise FieldError(_("Geben Sie höchstens %(n)s Nachkommastellen an.", n=places))
        low, high = spec.get("min"), spec.get("max")
        _check_range(number, _dec(low), _dec(high), low, high)
        return str(number.quantize(Decimal(1).scaleb(-places)))

    def format_text(self, spec, value, locale):
        if value is None:
            return ""
        unit = spec.get("unit")
        shown = format_decimal(Decimal(value), locale=locale, decimal_quantization=False)
        return shown + (f" {unit}" if unit else "")


def _dec(value):
    return None if value is None else Decimal(str(value))


def parse_euros(text: str) -> int | None:
    """Cents for "30,70", "30.70", "1.234,56", "1,234.56", "30 €"; None when not an amount."""
    value = text.replace("€", "").replace("EUR", "").replace(" ", "").replace("\u00a0", "")
    if _MONEY_PLAIN.fullmatch(value):
        euros, _sep, cents = value.replace(",", ".").partition(".")
    elif _MONEY_GROUPED_DE.fullmatch(value):
        euros, _sep, cents = value.replace(".", "").partition(",")
    elif _MONEY_GROUPED_EN.fullmatch(value):
        euros, _sep, cents = value.replace(",", "").partition(".")
    else:
        return None
    return int(euros) * 100 + int((cents + "00")[:2])


def format_euros(cents: int, locale: str) -> str:
    """ "30,70 €" (de) or "€30.70" (en)."""
    amount = (Decimal(cents) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return format_currency(amount, "EUR", locale=locale)


@register
class Money(FieldType):
    """An amount in euros, entered as "30,70" or "30.70"; stored as int cents."""

    name = "money"
    inputmode = "decimal"
    width = "10"
    options = frozenset({"min_cents", "max_cents"})

    def definition_errors(self, doc, path):
        return _min_max_errors(doc, path, "min_cents", "max_cents")

    def sample_answers(self, doc):
        return _samples_in_range(1000, doc.get("min_cents"), doc.get("max_cents"))

    def parse(self, spec, raw, locale):
        cents = parse_euros(check_text(raw))
        if cents is None:
            raise FieldError(_("Geben Sie einen Betrag in Euro ein, zum Beispiel 30,70."))
        low, high = spec.get("min_cents"), spec.get("max_cents")
        _check_range(
            cents, low, high,
            format_euros(low, locale) if low is not None else None,
            format_euros(high, locale) if high is not None else None,
        )  # fmt: skip
        return cents

    def to_formdata(self, spec, value):
        if value is None:
            return {"": ""}
        return {"": f"{value // 100},{value % 100:02d}"}

    def format_text(self, spec, value, locale):
        return "" if value is None else format_euros(value, locale)
