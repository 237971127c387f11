"""Date field: three inputs (Tag, Monat, Jahr) like GOV.UK; stored as "YYYY-MM-DD"."""

import re
from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from forms.dynamic.registry import CompositeField, FieldError, FieldType, check_text, register
from models.base import CITY_TZ
from services.formatting import format_day

# "today", "today+30", another date field's key ("von", "von+1") or a fixed "YYYY-MM-DD".
_BOUND = re.compile(r"(?P<base>today|[a-z][a-z0-9_]*)(?P<days>[+-]\d{1,5})?|\d{4}-\d{2}-\d{2}")


class DateInputsField(CompositeField):
    """Reads "<name>-day", "<name>-month", "<name>-year"."""

    parts = ("day", "month", "year")


def today() -> date:
    """Today in the city's time zone (a form filled at 00:30 must see the local date)."""
    return datetime.now(CITY_TZ).date()


def field_bound(bound) -> tuple[str, int] | None:
    """(key, days) when a "min"/"max" option names another date field ("von", "von+1"), else None."""
    match = _BOUND.fullmatch(bound) if isinstance(bound, str) else None
    if match is None or match["base"] in (None, "today"):
        return None
    return match["base"], int(match["days"] or 0)


def resolve_bound(bound) -> date | None:
    """A fixed "min"/"max" option: "YYYY-MM-DD", "today", "today+30" or "today-6570" (days).

    None for no bound and for a bound naming another field (that needs the answers, see clean).
    """
    if bound is None or field_bound(bound) is not None:
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
            message = _(
                "Erwartet wird JJJJ-MM-TT, „today“, „today+N“/„today-N“ "
                "oder der Schlüssel eines früheren Datumsfelds („von“, „von+1“)."
            )
            errors.append((f"{path}.{key}", message))
            continue
        if field_bound(value) is not None:
            continue  # checked with the other fields (formdefs: declared earlier, a date field)
        try:
            bounds[key] = resolve_bound(value)
        except ValueError:
            errors.append((f"{path}.{key}", _("Dieses Datum gibt es nicht.")))
    if len(bounds) == 2 and bounds["min"] > bounds["max"]:
        errors.append((f"{path}.min", _("Das früheste Datum darf nicht nach dem spätesten liegen.")))
    return errors


def _shown(day: date, locale: str) -> str:
    return format_day(day, locale)


@register
class DateType(FieldType):
    """A calendar date with optional bounds (`min`/`max`, relative to today allowed)."""

    name = "date"
    macro = "date"
    options = frozenset({"min", "max", "autocomplete"})

    def definition_errors(self, doc, path):
        return _bound_errors(doc, path)

    def sample_answers(self, doc):
        return [example_date(doc).isoformat()]

    def field_references(self, doc):
        return [(key, field_bound(doc.get(key))[0]) for key in ("min", "max") if field_bound(doc.get(key))]

    def rename_reference(self, doc, old, new):
        for option, key in self.field_references(doc):
            if key == old:
                doc[option] = new + doc[option][len(old) :]  # "von+1" → "beginn+1": the offset stays

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
            not all(v.isascii() and v.isdigit() for v in parts.values())
            or len(parts["day"]) > 2
            or len(parts["month"]) > 2
            or len(parts["year"]) != 4
        ):
            raise FieldError(_("Geben Sie ein Datum im Format TT.MM.JJJJ ein."))
        try:
            value = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        except ValueError:
            # The format is right (digits, four-digit year), so the day does not exist: 31.02., month 13.
            raise FieldError(_("Dieses Datum gibt es nicht. Prüfen Sie Tag und Monat.")) from None
        self._check_bounds(spec, value, locale)
        return value.isoformat()

    def clean(self, spec, field, locale, context):
        value = super().clean(spec, field, locale, context)
        if value is not None:
            self._check_field_bounds(spec, date.fromisoformat(value), locale, context)
        return value

    def _check_field_bounds(self, spec, value, locale, context):
        """Bounds naming another date field of the same item or an earlier field, e.g. bis ≥ von."""
        for option in ("min", "max"):
            ref = field_bound(spec.get(option))
            other = _answer_date(ref[0], context) if ref else None
            if other is None:  # not answered (optional, hidden or itself invalid): nothing to compare
                continue
            limit = other + timedelta(days=ref[1])
            if value < limit if option == "min" else value > limit:
                label = _label_of(spec, ref[0], context, locale)
                raise FieldError(_field_bound_message(option, ref, limit, label, locale))

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

    def example_hint(self, spec, locale):
        """The hint shown without a help text, in the order of the inputs (day, month, year)."""
        day = example_date(spec)
        shown = day.strftime("%d.%m.%Y") if locale == "de" else f"{day.day} {day.month} {day.year}"
        return _("Zum Beispiel: %(date)s", date=shown)

    def to_formdata(self, spec, value):
        parts = value.split("-") if isinstance(value, str) else []
        if len(parts) != 3:
            return {"-day": "", "-month": "", "-year": ""}
        return {"-day": parts[2].lstrip("0"), "-month": parts[1].lstrip("0"), "-year": parts[0]}

    def format_text(self, spec, value, locale):
        return _shown(date.fromisoformat(value), locale) if value else ""


def example_date(spec) -> date:
    """Today, moved inside the field's fixed bounds: an example the field accepts (a fixed date
    would lie in the past for "today or later" fields). Bounds naming another field are unknown here."""
    day = today()
    low, high = resolve_bound(spec.get("min")), resolve_bound(spec.get("max"))
    if low is not None and day < low:
        day = low
    if high is not None and day > high:
        day = high
    return day


def _answer_date(key: str, context: dict) -> date | None:
    """The other field's answer: a sibling in the current group item first, else the page/earlier answers."""
    item, answers = context.get("item") or {}, context.get("answers") or {}
    value = item.get(key) if key in item else answers.get(key)
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _label_of(spec, key: str, context: dict, locale: str) -> str:
    form_spec = context.get("form_spec")
    other = None
    if form_spec is not None:
        sibling = form_spec.field(f"{spec.parent.key}.{key}") if spec.parent is not None else None
        other = sibling or form_spec.field(key)
    return other.label(locale) if other else key


def _field_bound_message(option: str, ref: tuple[str, int], limit: date, other: str, locale: str) -> str:
    values = {"other": other, "date": _shown(limit, locale)}
    if ref[1] == 0 and option == "min":
        return _("Das Datum darf nicht vor dem Datum bei „%(other)s“ (%(date)s) liegen.", **values)
    if ref[1] == 0:
        return _("Das Datum darf nicht nach dem Datum bei „%(other)s“ (%(date)s) liegen.", **values)
    if option == "min":
        return _(
            "Das Datum muss am oder nach dem %(date)s liegen (abhängig vom Datum bei „%(other)s“).", **values
        )
    return _("Das Datum muss am oder vor dem %(date)s liegen (abhängig vom Datum bei „%(other)s“).", **values)
