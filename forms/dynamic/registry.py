"""The one registry of field types: WTForms field, parsing/normalisation, prefill and formatting.

Nothing else in the code base switches on a field's type: the builder, the engine, the
templates (via `FieldType.macro`) and the notices all go through `get_type(name)`.
"""

from flask_babel import gettext as _
from markupsafe import Markup, escape
from wtforms import Field, StringField
from wtforms.utils import unset_value

_REGISTRY: dict[str, "FieldType"] = {}

# Control characters other than tab/newline/CR never belong in an answer (NUL breaks PostgreSQL).
_FORBIDDEN = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {"\x7f"}


class FieldError(ValueError):
    """An answer is invalid; `message` is shown to the citizen (already translated)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def register(cls):
    """Class decorator: add one field type (an instance of `cls`) to the registry."""
    _REGISTRY[cls.name] = cls()
    return cls


def get_type(name: str) -> "FieldType":
    """The registered field type; KeyError for unknown names (definitions are validated first)."""
    return _REGISTRY[name]


def type_names() -> list[str]:
    return sorted(_REGISTRY)


def first_text(valuelist) -> str:
    """The first submitted value as text; files, lists and other odd values count as empty."""
    for value in valuelist or ():
        return value if isinstance(value, str) else ""
    return ""


def check_text(value: str) -> str:
    """Strip surrounding whitespace and reject control characters."""
    if any(ch in _FORBIDDEN for ch in value):
        raise FieldError(_("Die Eingabe enthält unzulässige Steuerzeichen."))
    return value.strip()


class TextInputField(StringField):
    """A single text input that tolerates any submitted value type."""

    def process_formdata(self, valuelist):
        self.data = first_text(valuelist)


class CompositeField(Field):
    """Several inputs named "<name>-<part>" (date parts, address parts); rendered by the macros."""

    parts: tuple[str, ...] = ()

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        self.object_data = None
        self.raw_data = []
        self.data = dict.fromkeys(self.parts, "")
        if formdata is not None:
            for part in self.parts:
                self.data[part] = first_text(formdata.getlist(f"{self.name}-{part}"))

    def _value(self):
        return ""


class FieldType:
    """Base of every registry entry. Subclasses set `name` and override what differs."""

    name = ""
    stores_answer = True  # False for static information text
    allowed_in_group = True
    macro = "text"  # which macro of templates/macros/dynamic_fields.html renders it
    input_type = "text"
    inputmode = None
    autocomplete = None
    spellcheck = None
    width = None  # KERN input width class suffix, e.g. "5" for a postcode
    holds_files = False  # answers are attachment entries (kept even when the page fails)
    options = frozenset()  # type-specific keys allowed in the definition (schema mirrors them)
    prefill_sources: tuple = ()  # account details a "prefill" option may name (schema mirrors them)

    def macro_for(self, spec) -> str:
        """Name of the macro in templates/macros/dynamic_fields.html that renders this field."""
        return self.macro

    def anchor_suffix(self, spec) -> str:
        """Suffix of the id of the first input (error summary links point there)."""
        return ""

    # --- definition time ---
    def definition_errors(self, doc: dict, path: str) -> list[tuple[str, str]]:
        """Semantic problems of this field's definition beyond the JSON Schema."""
        return []

    def field_references(self, doc: dict) -> list[tuple[str, str]]:
        """(option, field key) for options naming another field of the same type (a date's "min": "von").

        The validator checks that the field exists, has this type and is declared earlier (the
        same group item for a group child, or any earlier top-level field).
        """
        return []

    def rename_reference(self, doc: dict, old: str, new: str) -> None:
        """Make the options naming field `old` (field_references) name `new` (the designer renames)."""

    def sample_answers(self, doc: dict) -> list:
        """A few stored answers this field accepts, the first a typical one: validate_definition tries
        the form's computed values on them (a group's items are built from its children)."""
        return ["Beispiel"]

    # --- form building ---
    def wtforms_field(self, spec, locale: str):
        return TextInputField(spec.label(locale), description=spec.help(locale))

    def render_attrs(self, spec) -> dict:
        """Extra HTML attributes for the input element (type, inputmode, autocomplete...)."""
        attrs = {"type": self.input_type}
        if self.inputmode:
            attrs["inputmode"] = self.inputmode
        autocomplete = spec.get("autocomplete") or self.autocomplete
        if autocomplete:
            attrs["autocomplete"] = autocomplete
        if self.spellcheck is not None:
            attrs["spellcheck"] = self.spellcheck
        return attrs

    # --- answers ---
    def raw(self, field):
        """What the citizen entered, for blank detection and parsing."""
        return field.data if isinstance(field.data, str) else ""

    def is_blank(self, raw) -> bool:
        if isinstance(raw, dict):
            return not any(str(v).strip() for v in raw.values())
        if isinstance(raw, list):
            return not raw
        return not str(raw).strip()

    def required_message(self, spec, locale: str) -> str:
        return _("Füllen Sie das Feld „%(label)s“ aus.", label=spec.label(locale))

    def parse(self, spec, raw, locale: str):
        """Turn non-blank input into the stored JSON value or raise FieldError."""
        raise NotImplementedError

    def clean(self, spec, field, locale: str, context: dict):
        """Stored value for a bound field, None when blank and optional; FieldError otherwise."""
        raw = self.raw(field)
        if self.is_blank(raw):
            if spec.required:
                raise FieldError(self.required_message(spec, locale))
            return None
        return self.parse(spec, raw, locale)

    def to_formdata(self, spec, value) -> dict:
        """Prefill: {name suffix ("" for the field itself or "-day"...): text or list of texts}."""
        return {"": "" if value is None else str(value)}

    # --- output ---
    def format_text(self, spec, value, locale: str) -> str:
        return "" if value is None else str(value)

    def format_html(self, spec, value, locale: str, file_url=None) -> Markup:
        return escape(self.format_text(spec, value, locale))

    def format(self, spec, value, locale: str, fmt: str = "html", file_url=None):
        """Readable answer: Markup for "html"/"pdf", plain text for "text"."""
        if fmt == "text":
            return self.format_text(spec, value, locale)
        return self.format_html(spec, value, locale, file_url=file_url)


def load_types() -> None:
    """Import every module of forms/dynamic/types so their @register decorators run."""
    from forms.dynamic.types import choices, composite, dates, files, numbers, text  # noqa: F401
