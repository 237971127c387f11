"""The sandboxed Jinja environment for notice templates (edited by department admins).

Templates see plain data only (dicts, strings, numbers) — never models or app globals — and a
short list of filters. They may extend the bundled layouts in templates/notices/ and nothing else.
"""

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache, partial
from pathlib import Path

from flask_babel import gettext as _
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, UndefinedError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import missing
from markupsafe import Markup, escape

from models.base import city_time

LAYOUT_DIR = Path(__file__).resolve().parents[2] / "templates" / "notices"
MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 1_000_000
_SAFE_BUILTIN_FILTERS = (
    "abs",
    "capitalize",
    "default",
    "d",
    "e",
    "escape",
    "first",
    "float",
    "int",
    "join",
    "last",
    "length",
    "count",
    "list",
    "lower",
    "upper",
    "replace",
    "round",
    "sort",
    "title",
    "trim",
    "truncate",
    "wordcount",
    "batch",
    "slice",
    "selectattr",
    "rejectattr",
    "sum",
    "unique",
)  # no `safe`, `attr`, `map`, `format`, `xmlattr`, `tojson`, `pprint`, `indent`, `urlize`
TemplateRenderError = (TemplateError, SecurityError)


class RefusedAttribute(SecurityError, AttributeError):
    """Underscore attribute on undefined data (`lipsum.__globals__`): refused; hasattr() stays False."""


class MissingValue(UndefinedError):
    """A name (`attribute` False) or an attribute/key of a value (True) that the data does not have.

    Carries the name itself, so the worker records which one without reading Jinja's English text.
    """

    def __init__(self, message: str, name: str | None = None, attribute: bool = False):
        super().__init__(message)
        self.name, self.attribute = name, attribute


class NoticeUndefined(StrictUndefined):
    """A name or attribute the data does not have.

    Printing, iterating, comparing or calculating with it fails the render with the name
    ("„nmae“ gibt es bei diesem Wert nicht"), so a misspelling cannot publish as a blank. Only
    asking about it works: `{% if decision.valid_until %}` (false), `is defined`, `| default(…)`.
    An attribute the sandbox refused raises SecurityError even there.
    """

    __slots__ = ()

    def __init__(self, hint=None, obj=missing, name=None, exc=UndefinedError):
        if exc is UndefinedError:  # not a sandbox refusal (SecurityError): say which name is missing
            exc = partial(MissingValue, name=name, attribute=obj is not missing)
        super().__init__(hint, obj, name, exc)

    def __getattr__(self, name: str):
        if isinstance(name, str) and name.startswith("_"):
            raise RefusedAttribute(
                _("Zugriff auf %(name)s ist in Bescheidvorlagen nicht erlaubt.", name=repr(name))
            )
        return self._fail_with_undefined_error()

    __getitem__ = __getattr__

    def _refused(self) -> bool:
        return self._undefined_exception is SecurityError

    def __html__(self) -> str:
        return str(self)

    def __bool__(self) -> bool:
        if self._refused():
            self._fail_with_undefined_error()
        return False


class NoticeSandbox(ImmutableSandboxedEnvironment):
    """Immutable sandbox that also refuses every underscore attribute and `safe`-style escapes."""

    def is_safe_attribute(self, obj, attr, value):
        return not attr.startswith("_") and super().is_safe_attribute(obj, attr, value)

    def is_safe_callable(self, obj):
        return super().is_safe_callable(obj) and not isinstance(obj, type)


def format_date(value, fmt: str = "long") -> str:
    """28.11.2026 (short/long) for dates and datetimes (shown in Europe/Berlin)."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = city_time(value) if value.tzinfo else value
        if fmt == "datetime":
            return value.strftime("%d.%m.%Y, %H:%M Uhr")
        value = value.date()
    return value.strftime("%d.%m.%Y")


def format_money(cents) -> str:
    """Integer cents → "1.234,50 €"."""
    if cents in (None, ""):
        return ""
    amount = Decimal(int(cents)) / 100
    text = f"{amount:,.2f}".replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{text} €"


def format_bytes(size) -> str:
    """File size in German notation (KB/MB, decimal)."""
    size = int(size or 0)
    if size < 1000:
        return f"{size} Byte"
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB".replace(".", ",")
    return f"{size / 1_000_000:.1f} MB".replace(".", ",")


def format_lines(value) -> Markup:
    """Multi-line text with line breaks kept (each line escaped)."""
    return Markup("<br>").join(escape(line) for line in str(value or "").splitlines())


def _build_env() -> NoticeSandbox:
    env = NoticeSandbox(
        loader=FileSystemLoader(str(LAYOUT_DIR)),
        autoescape=True,
        undefined=NoticeUndefined,
        auto_reload=False,
    )
    env.filters = {name: env.filters[name] for name in _SAFE_BUILTIN_FILTERS}
    env.filters.update(date=format_date, money=format_money, bytes=format_bytes, lines=format_lines)
    env.globals = {}
    env.tests = {
        name: env.tests[name]
        for name in (
            "defined",
            "undefined",
            "none",
            "number",
            "string",
            "sequence",
            "mapping",
            "even",
            "odd",
            "eq",
            "ne",
            "in",
        )
    }
    return env


ENV = _build_env()


@lru_cache(maxsize=64)
def compile_template(source: str):
    """Compile a department template (cached by source); raises TemplateError/ValueError if unusable."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise ValueError(_("Vorlage zu groß (höchstens %(limit)s Zeichen).", limit=MAX_TEMPLATE_CHARS))
    _refuse_includes(source)
    return ENV.from_string(source)


def _refuse_includes(source: str) -> None:
    """Only `extends` of a bundled layout is allowed: no include/import of other templates."""
    for node in ENV.parse(source).find_all((nodes.Include, nodes.Import, nodes.FromImport)):
        raise SecurityError(
            _("Zeile %(line)s: include/import ist in Bescheidvorlagen nicht erlaubt.", line=node.lineno)
        )


def render_template(source: str, context: dict) -> str:
    """Render a department template with plain-data context; bounded output size."""
    html = compile_template(source).render(context)
    if len(html) > MAX_OUTPUT_CHARS:
        raise ValueError(_("Der erzeugte Bescheid ist zu groß."))
    return html
