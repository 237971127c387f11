"""Read-only views of a validated form definition document: FormSpec → PageSpec → FieldSpec."""

from dataclasses import dataclass, field
from functools import cached_property


def pick(texts, locale: str) -> str:
    """The text for `locale` from a {"de", "en"} dict, falling back to German."""
    if not isinstance(texts, dict):
        return str(texts or "")
    return texts.get(locale) or texts.get("de") or ""


@dataclass(frozen=True, eq=False)
class FieldSpec:
    """One field of a page (or of a repeating group's item)."""

    doc: dict
    parent: "FieldSpec | None" = None

    @property
    def key(self) -> str:
        return self.doc["key"]

    @property
    def type(self) -> str:
        return self.doc["type"]

    @property
    def required(self) -> bool:
        return bool(self.doc.get("required", False))

    @property
    def privacy(self) -> str:
        return self.doc.get("privacy", "personal")

    @property
    def condition(self):
        return self.doc.get("condition")

    @cached_property
    def children(self) -> tuple["FieldSpec", ...]:
        return tuple(FieldSpec(child, parent=self) for child in self.doc.get("fields", ()))

    @cached_property
    def ftype(self):
        """The registered field type (looked up once: the engine asks for it many times per page)."""
        from forms.dynamic.registry import get_type

        return get_type(self.type)

    @property
    def min_items(self) -> int:
        return int(self.doc.get("min_items", 1))

    @property
    def max_items(self) -> int:
        return int(self.doc.get("max_items", 10))

    def get(self, option, default=None):
        return self.doc.get(option, default)

    def label(self, locale: str = "de") -> str:
        return pick(self.doc.get("label"), locale)

    def help(self, locale: str = "de") -> str:
        return pick(self.doc.get("help"), locale)


@dataclass(frozen=True, eq=False)
class PageSpec:
    """One page of the form: a title, an optional condition and its fields."""

    doc: dict
    fields: tuple[FieldSpec, ...] = field(default=())

    @property
    def key(self) -> str:
        return self.doc["key"]

    @property
    def condition(self):
        return self.doc.get("condition")

    def title(self, locale: str = "de") -> str:
        return pick(self.doc.get("title"), locale)

    def help(self, locale: str = "de") -> str:
        return pick(self.doc.get("help"), locale)


@dataclass(frozen=True, eq=False)
class FormSpec:
    """A whole form. `cache_key` identifies it for the form-class cache (version id or checksum)."""

    doc: dict
    cache_key: str
    pages: tuple[PageSpec, ...] = field(default=())

    @classmethod
    def from_document(cls, doc: dict, cache_key: str) -> "FormSpec":
        pages = tuple(
            PageSpec(p, tuple(FieldSpec(f) for f in p.get("fields", ()))) for p in doc.get("pages", ())
        )
        return cls(doc=doc, cache_key=cache_key, pages=pages)

    @property
    def computed(self) -> dict:
        return self.doc.get("computed", {})

    def title(self, locale: str = "de") -> str:
        return pick(self.doc.get("title"), locale)

    @cached_property
    def _fields(self) -> dict[str, FieldSpec]:
        found = {}
        for page in self.pages:
            for f in page.fields:
                found[f.key] = f
                for child in f.children:
                    found[f"{f.key}.{child.key}"] = child
        return found

    def field(self, path: str) -> FieldSpec | None:
        """A field by key, or a group child by "group.child"; None when unknown."""
        return self._fields.get(path)

    def page(self, key: str) -> PageSpec | None:
        return next((p for p in self.pages if p.key == key), None)

    @property
    def applicant_address_key(self) -> str | None:
        """The address field marked `applicant_address` (where notices are posted), if any."""
        return next((f.key for p in self.pages for f in p.fields if f.get("applicant_address")), None)

    def page_of(self, field_key: str) -> PageSpec | None:
        return next((p for p in self.pages if any(f.key == field_key for f in p.fields)), None)
