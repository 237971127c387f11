"""Published form versions: listing and a readable diff between two documents."""

import json
from dataclasses import dataclass, field

from sqlalchemy import select

from extensions import db
from models import FormVersion

_FIELD_IGNORE = ("fields",)  # a group's children are compared as fields of their own


@dataclass
class Change:
    attr: str
    old: str
    new: str


@dataclass
class ItemDiff:
    key: str
    label: str
    page: str = ""  # page key (fields only)
    changes: list[Change] = field(default_factory=list)


@dataclass
class FormDiff:
    pages_added: list[ItemDiff] = field(default_factory=list)
    pages_removed: list[ItemDiff] = field(default_factory=list)
    pages_changed: list[ItemDiff] = field(default_factory=list)
    fields_added: list[ItemDiff] = field(default_factory=list)
    fields_removed: list[ItemDiff] = field(default_factory=list)
    fields_changed: list[ItemDiff] = field(default_factory=list)
    form_changes: list[Change] = field(default_factory=list)  # title, computed values, page order

    @property
    def empty(self) -> bool:
        return not any(
            (self.pages_added, self.pages_removed, self.pages_changed, self.fields_added,
             self.fields_removed, self.fields_changed, self.form_changes)
        )  # fmt: skip


def versions_of(definition) -> list[FormVersion]:
    """Published versions, newest first."""
    query = select(FormVersion).where(FormVersion.definition_id == definition.id)
    return list(db.session.scalars(query.order_by(FormVersion.number.desc())))


def find_version(definition, number: int) -> FormVersion | None:
    return db.session.scalar(
        select(FormVersion).where(FormVersion.definition_id == definition.id, FormVersion.number == number)
    )


def _text(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _label(obj: dict, name: str = "label") -> str:
    value = obj.get(name)
    return str(value.get("de", "")) if isinstance(value, dict) else str(obj.get("key", ""))


def _pages(doc: dict) -> dict:
    return {p["key"]: p for p in _dicts(doc.get("pages")) if isinstance(p.get("key"), str)}


def _fields(doc: dict) -> dict:
    """{key: (page key, field, position)} for all fields, group children included."""
    found = {}
    for page_key, page in _pages(doc).items():
        for position, f in enumerate(_dicts(page.get("fields"))):
            found[_key(f, position)] = (page_key, f, position)
            if f.get("type") == "group":
                for child_position, child in enumerate(_dicts(f.get("fields"))):
                    found[_key(child, child_position)] = (page_key, child, child_position)
    return found


def _key(field: dict, position: int) -> str:
    """The field's key, or its position when a malformed draft has none (or not a text)."""
    key = field.get("key")
    return key if isinstance(key, str) else f"#{position}"


def _dicts(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _attr_changes(old: dict, new: dict, ignore=()) -> list[Change]:
    changes = []
    for name in sorted(set(old) | set(new)):
        if name in ignore or name == "key":
            continue
        if old.get(name) != new.get(name):
            changes.append(Change(name, _text(old.get(name)), _text(new.get(name))))
    return changes


def diff_documents(old: dict, new: dict) -> FormDiff:
    """What changed from `old` to `new`: pages/fields added, removed, changed (with the attributes)."""
    result = FormDiff()
    old_pages, new_pages = _pages(old), _pages(new)
    for key, page in new_pages.items():
        if key not in old_pages:
            result.pages_added.append(ItemDiff(key, _label(page, "title")))
        else:
            changes = _attr_changes(old_pages[key], page, ignore=("fields",))
            if changes:
                result.pages_changed.append(ItemDiff(key, _label(page, "title"), changes=changes))
    for key, page in old_pages.items():
        if key not in new_pages:
            result.pages_removed.append(ItemDiff(key, _label(page, "title")))
    old_fields, new_fields = _fields(old), _fields(new)
    for key, (page_key, f, position) in new_fields.items():
        if key not in old_fields:
            result.fields_added.append(ItemDiff(key, _label(f), page_key))
            continue
        old_page, old_f, old_position = old_fields[key]
        changes = _attr_changes(old_f, f, ignore=_FIELD_IGNORE)
        if old_page != page_key:
            changes.append(Change("page", old_page, page_key))
        elif old_position != position:
            changes.append(Change("position", str(old_position + 1), str(position + 1)))
        if changes:
            result.fields_changed.append(ItemDiff(key, _label(f), page_key, changes))
    for key, (page_key, f, _position) in old_fields.items():
        if key not in new_fields:
            result.fields_removed.append(ItemDiff(key, _label(f), page_key))
    for name in ("title", "description", "computed"):
        if old.get(name) != new.get(name):
            result.form_changes.append(Change(name, _text(old.get(name)), _text(new.get(name))))
    if [k for k in old_pages if k in new_pages] != [k for k in new_pages if k in old_pages]:
        result.form_changes.append(Change("page_order", ", ".join(old_pages), ", ".join(new_pages)))
    return result
