"""Date field: three inputs (Tag, Monat, Jahr) like GOV.UK; stored as "YYYY-MM-DD"."""

import re
from datetime import date, datetime, timedelta

from babel.dates import format_date
from flask_babel import gettext as _

from forms.dynamic.registry import CompositeField, FieldError, FieldType, check_text, register
from models.base import CITY_TZ

_BOUND = re.compile(r"today([+-]\d{1,5})?|\d{4}-\d{2}-\d{2}")


class DateInputsField(CompositeField):
    """Reads "<name>-day", "<name>-month", "<name>-year"."""

    parts = ("day", "month", "year")


def today() -> date:
    """Today in the city's time zone (a form filled at 00:30 must see the local date)."""
    return datetime.now(CITY_TZ).date()


def resolve_bound(bound) -> date | None:
    """A "min"/"max" option: "YYYY-MM-DD", "today", "today+30" or "today-6570" (days)."""
    if bound is None:
        return None
    if bound.startswith("today"):
        return today() + timedelta(days=int(bound[5:] or 0))
    return date.fromisoformat(bound)


def _bound_errors(doc, path):
    errors, bounds = [], {}
    for key in ("min", "max"):
        value = doc.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not _BOUND.fullmatch(value):
            errors.append((f"{path}.{key}", _("Erwartet wird JJJJ-MM-TT, „today“ oder „today+N“/„today-N“.")))
            continue
        try:
            bounds[key] = resolve_bound(value)
        except ValueError:
            errors.append((f"{path}.{key}", _("Dieses Datum gibt es nicht.")))
    if len(bounds) == 2 and bounds["min"] > bounds["max"]:
        errors.append((f"{path}.min", _("Das früheste Datum darf nicht nach dem spätesten liegen.")))
    return errors


def _shown(day: date, locale: str) -> str:
    return day.strftime("%d.%m.%Y") if locale == "de" else format_date(day, "d MMMM y", locale=locale)


@register
class DateType(FieldType):
    """A calendar date with optional bounds (`min`/`max`, relative to today allowed)."""

    name = "date"
    macro = "date"
    options = frozenset({"min", "max", "autocomplete"})

    def definition_errors(self, doc, path):
        return _bound_errors(doc, path)

    def anchor_suffix(self, spec):
        return "-day"

    def wtforms_field(self, spec, locale):
        return DateInputsField(spec.label(locale), description=spec.help(locale))

    def raw(self, field):
        return field.data if isinstance(field.data, dict) else {}

    def required_message(self, spec, locale):
        return _("Geben Sie das Datum für „%(label)s“ ein.", label=spec.label(locale))

    def parse(self, spec, raw, locale):
        parts = {k: check_text(raw.get(k, "")) for k in ("day", "month", "year")}
        missing = [k for k, v in parts.items() if not v]
        if missing:
            names = {"day": _("einen Tag"), "month": _("einen Monat"), "year": _("ein Jahr")}
            raise FieldError(_("Das Datum muss %(part)s enthalten.", part=names[missing[0]]))
        if (
            not all(v.isascii() and v.isdigit() and len(v) <= 4 for v in parts.values())
            or len(parts["year"]) != 4
        ):
            raise FieldError(_("Geben Sie ein Datum im Format TT.MM.JJJJ ein."))
        try:
            value = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        except ValueError:
            raise FieldError(_("Geben Sie ein Datum im Format TT.MM.JJJJ ein.")) from None
        self._check_bounds(spec, value, locale)
        return value.isoformat()

    def _check_bounds(self, spec, value, locale):
        low, high = resolve_bound(spec.get("min")), resolve_bound(spec.get("max"))
        if low is not None and value < low:
            if spec.get("min") == "today":
                raise FieldError(_("Das Datum darf nicht in der Vergangenheit liegen."))
            raise FieldError(_("Das Datum muss am oder nach dem %(date)s liegen.", date=_shown(low, locale)))
        if high is not None and value > high:
            if spec.get("max") == "today":
                raise FieldError(_("Das Datum darf nicht in der Zukunft liegen."))
            raise FieldError(_("Das Datum muss am oder vor dem %(date)s liegen.", date=_shown(high, locale)))

    def to_formdata(self, spec, value):
        parts = value.split("-") if isinstance(value, str) else []
        if len(parts) != 3:
            return {"-day": "", "-month": "", "-year": ""}
        return {"-day": parts[2].lstrip("0"), "-month": parts[1].lstrip("0"), "-year": parts[0]}

    def format_text(self, spec, value, locale):
        return _shown(date.fromisoformat(value), locale) if value else ""
