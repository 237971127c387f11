"""Structured field types: address, static information text, repeating group."""

from flask_babel import gettext as _
from markupsafe import Markup, escape

from forms.dynamic.registry import CompositeField, FieldError, FieldType, check_text, register
from forms.dynamic.spec import pick
from forms.dynamic.types.text import parse_postcode

ADDRESS_PARTS = ("street", "number", "postcode", "city")
# autocomplete tokens per part (WCAG 1.3.5). The house number has no token of its own.
ADDRESS_AUTOCOMPLETE = {
    "street": "address-line1",
    "number": "off",
    "postcode": "postal-code",
    "city": "address-level2",
}


class AddressInputsField(CompositeField):
    """Reads "<name>-street", "-number", "-postcode", "-city"."""

    parts = ADDRESS_PARTS


def address_part_labels() -> dict[str, str]:
    return {
        "street": _("Straße"),
        "number": _("Hausnummer"),
        "postcode": _("Postleitzahl"),
        "city": _("Ort"),
    }


@register
class Address(FieldType):
    """A German postal address; `postcode_prefixes` limits it to an area, `city` prefills the town."""

    name = "address"
    macro = "address"
    options = frozenset({"postcode_prefixes", "prefix_message", "city"})

    def anchor_suffix(self, spec):
        return "-street"

    def sample_answers(self, doc):
        postcode = ((doc.get("postcode_prefixes") or ["47051"])[0] + "051")[:5]
        city = doc.get("city", "Duisburg")
        return [{"street": "Musterstraße", "number": "1", "postcode": postcode, "city": city}]

    def wtforms_field(self, spec, locale):
        return AddressInputsField(spec.label(locale), description=spec.help(locale))

    def raw(self, field):
        return field.data if isinstance(field.data, dict) else {}

    def required_message(self, spec, locale):
        return _("Geben Sie die Adresse für „%(label)s“ ein.", label=spec.label(locale))

    def parse(self, spec, raw, locale):
        value = {part: " ".join(check_text(raw.get(part, "")).split()) for part in ADDRESS_PARTS}
        labels = address_part_labels()
        for part in ADDRESS_PARTS:
            if not value[part]:
                raise FieldError(_("Geben Sie „%(part)s“ der Adresse ein.", part=labels[part]))
            if len(value[part]) > (10 if part == "number" else 100):
                raise FieldError(_("„%(part)s“ ist zu lang.", part=labels[part]))
        value["postcode"] = parse_postcode(
            value["postcode"], spec.get("postcode_prefixes"), spec.get("prefix_message"), locale
        )
        return value

    def to_formdata(self, spec, value):
        value = value or {}
        return {f"-{part}": str(value.get(part, "")) for part in ADDRESS_PARTS}

    def format_text(self, spec, value, locale):
        if not value:
            return ""
        return f"{value['street']} {value['number']}, {value['postcode']} {value['city']}"

    def format_html(self, spec, value, locale, file_url=None):
        if not value:
            return escape("")
        return Markup("%s %s<br>%s %s") % (value["street"], value["number"], value["postcode"], value["city"])


@register
class InfoText(FieldType):
    """Static information shown on the page (`text` in de/en); stores no answer."""

    name = "info"
    macro = "info"
    stores_answer = False
    options = frozenset({"text"})

    def wtforms_field(self, spec, locale):
        return None

    def sample_answers(self, doc):
        return []

    def text(self, spec, locale):
        return pick(spec.get("text"), locale)


@register
class RepeatingGroup(FieldType):
    """A set of child fields entered `min_items`..`max_items` times; stored as a list of dicts."""

    name = "group"
    macro = "group"
    allowed_in_group = False
    options = frozenset({"fields", "min_items", "max_items", "item_label"})

    def definition_errors(self, doc, path):
        errors = []
        low, high = doc.get("min_items", 1), doc.get("max_items", 10)
        if low > high:
            message = _("Die Mindestanzahl darf nicht größer als die Höchstanzahl sein.")
            errors.append((f"{path}.min_items", message))
        return errors

    def sample_answers(self, doc):
        return []  # items are built from the children (services.computed_checks)

    def wtforms_field(self, spec, locale):
        return None  # the builder adds one field per child and item

    def item_label(self, spec, locale, index: int) -> str:
        label = pick(spec.get("item_label"), locale) or spec.label(locale)
        return f"{label} {index + 1}"

    def format_text(self, spec, value, locale):
        lines = []
        for i, item in enumerate(value or ()):
            parts = [
                f"{child.label(locale)}: {child.ftype.format_text(child, item[child.key], locale)}"
                for child in spec.children
                if item.get(child.key) is not None
            ]
            lines.append(f"{self.item_label(spec, locale, i)}: " + "; ".join(parts))
        return "\n".join(lines)

    def format_html(self, spec, value, locale, file_url=None):
        blocks = []
        for i, item in enumerate(value or ()):
            rows = Markup("").join(
                Markup("<dt>%s</dt><dd>%s</dd>")
                % (child.label(locale), child.ftype.format_html(child, item[child.key], locale))
                for child in spec.children
                if item.get(child.key) is not None
            )
            blocks.append(
                Markup(
                    '<li><p class="kern-body"><strong>%s</strong></p><dl class="aw-group-item">%s</dl></li>'
                )
                % (self.item_label(spec, locale, i), rows)
            )
        return Markup('<ol class="kern-list aw-group-list">%s</ol>') % Markup("").join(blocks)
