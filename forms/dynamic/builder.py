"""WTForms form classes per page, cached per (form version, page, item counts, locale).

Field names: a top-level field is named by its key ("kennzeichen"); a repeating group's child is
"<group>-<index>-<child>" ("dogs-0-name"); composite inputs add "-day"/"-street"... to the name.
A group's item count travels in a hidden input "<group>-count".
"""

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

import wtforms
from werkzeug.datastructures import MultiDict

from forms.dynamic.conditions import depends_on, is_visible
from forms.dynamic.spec import FieldSpec, FormSpec, PageSpec

_CACHE_SIZE = 512
_cache: OrderedDict = OrderedDict()
_cache_lock = Lock()


@dataclass(frozen=True)
class Entry:
    """One input unit of a page form: the field spec, its form field name, its group position."""

    spec: FieldSpec
    name: str
    group: str | None = None
    index: int | None = None


class PageForm(wtforms.Form):
    """Base class of generated page forms; instances know their spec, page and locale."""

    entries: tuple[Entry, ...] = ()
    item_counts: dict = {}
    answers: dict = {}
    page: PageSpec

    def bound(self, entry: Entry):
        """The bound WTForms field of an entry, or None (static text stores no answer)."""
        return self._fields.get(entry.name)

    def group_entries(self, group_key: str, index: int) -> list[Entry]:
        return [e for e in self.entries if e.group == group_key and e.index == index]

    def shown(self, field: FieldSpec, group_key: str | None = None, index: int | None = None) -> bool:
        """Whether to render a field: its condition holds on the saved answers, or it depends on
        an answer on this very page (then it is shown, and only validated/kept when it applies)."""
        if field.condition is None:
            return True
        data = dict(self.answers)
        if group_key is not None:
            items = self.answers.get(group_key)
            item = items[index] if isinstance(items, list) and index < len(items) else {}
            data["item"] = item if isinstance(item, dict) else {}
        page_keys = {f.key for f in self.page.fields}
        return is_visible(field.condition, data) or depends_on(field.condition, page_keys)

    def count(self, group_key: str) -> int:
        return self.item_counts.get(group_key, 0)

    def files(self, key: str) -> list[dict]:
        """Files already stored for a file field (listed with a remove button)."""
        value = self.answers.get(key)
        return [f for f in value if _is_file_entry(f)] if isinstance(value, list) else []

    @property
    def needs_multipart(self) -> bool:
        """True when the page has a file field (the form tag needs enctype=multipart/form-data)."""
        return any(e.spec.ftype.holds_files for e in self.entries)


def _is_file_entry(entry) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("name"), str)


def child_name(group_key: str, index: int, child_key: str) -> str:
    return f"{group_key}-{index}-{child_key}"


def _entries(page: PageSpec, counts: dict) -> list[Entry]:
    entries = []
    for f in page.fields:
        if f.children:
            for i in range(counts.get(f.key, 0)):
                entries.extend(Entry(c, child_name(f.key, i, c.key), f.key, i) for c in f.children)
        else:
            entries.append(Entry(f, f.key))
    return entries


def form_class(spec: FormSpec, page: PageSpec, counts: dict, locale: str) -> type[PageForm]:
    """The (cached) form class for a page with the given repeating-group item counts."""
    key = (spec.cache_key, page.key, tuple(sorted(counts.items())), locale)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    entries = tuple(_entries(page, counts))
    attrs = {"entries": entries, "item_counts": dict(counts)}
    for entry in entries:
        unbound = entry.spec.ftype.wtforms_field(entry.spec, locale)
        if unbound is not None:
            attrs[entry.name] = unbound
    cls = type(f"PageForm_{page.key}", (PageForm,), attrs)
    with _cache_lock:
        _cache[key] = cls
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return cls


# --- repeating group item counts and add/remove actions ----------------------------------------


def page_action(formdata):
    """("add_item", group) | ("remove_item", group, index) | ("remove_file", attachment_id) | None."""
    if formdata is None:
        return None
    add = formdata.get("add_item")
    if isinstance(add, str) and add:
        return ("add_item", add)
    remove = formdata.get("remove_item")
    if isinstance(remove, str) and ":" in remove:
        group, _sep, index = remove.partition(":")
        if index.isascii() and index.isdigit() and len(index) < 4:
            return ("remove_item", group, int(index))
    remove_file = formdata.get("remove_file")
    if isinstance(remove_file, str) and remove_file:
        return ("remove_file", remove_file[:64])
    return None


def _clamp(group: FieldSpec, n: int) -> int:
    return max(group.min_items, min(group.max_items, n))


def page_item_counts(page: PageSpec, answers: dict, formdata=None) -> dict[str, int]:
    """Item counts per group on `page`: from the posted "<group>-count", else from the answers."""
    counts = {}
    for f in page.fields:
        if not f.children:
            continue
        posted = formdata.get(f"{f.key}-count") if formdata is not None else None
        if isinstance(posted, str) and posted.isascii() and posted.isdigit() and len(posted) < 4:
            counts[f.key] = _clamp(f, int(posted))
        else:
            stored = answers.get(f.key)
            counts[f.key] = _clamp(f, len(stored) if isinstance(stored, list) else f.min_items)
    return counts


def apply_item_action(page: PageSpec, formdata, counts: dict, action):
    """Formdata and counts after an add/remove item button (items after a removed one move up)."""
    groups = {f.key: f for f in page.fields if f.children}
    if not action or action[0] not in ("add_item", "remove_item") or action[1] not in groups:
        return formdata, counts
    group, counts = groups[action[1]], dict(counts)
    if action[0] == "add_item":
        counts[group.key] = _clamp(group, counts[group.key] + 1)
        return formdata, counts
    index = action[2]
    if index >= counts[group.key] or counts[group.key] <= group.min_items:
        return formdata, counts
    counts[group.key] -= 1
    return _renumber(formdata, group.key, index), counts


def _renumber(formdata, group_key: str, removed: int):
    prefix = f"{group_key}-"
    result = MultiDict()
    for name, values in formdata.lists():
        head, _sep, rest = name[len(prefix) :].partition("-") if name.startswith(prefix) else ("", "", "")
        if head.isdigit() and rest:
            index = int(head)
            if index == removed:
                continue
            if index > removed:
                name = f"{prefix}{index - 1}-{rest}"
        result.setlist(name, values)
    return result


# --- prefill -----------------------------------------------------------------------------------


def answers_to_formdata(page: PageSpec, answers: dict, counts: dict) -> MultiDict:
    """What a browser would post to show `answers` on `page` (the registry's `to_formdata`)."""
    data = MultiDict()
    for f in page.fields:
        if f.children:
            items = answers.get(f.key) if isinstance(answers.get(f.key), list) else []
            data[f"{f.key}-count"] = str(counts.get(f.key, 0))
            for i in range(counts.get(f.key, 0)):
                item = items[i] if i < len(items) and isinstance(items[i], dict) else {}
                for c in f.children:
                    _put(data, child_name(f.key, i, c.key), c, item.get(c.key))
        elif f.ftype.stores_answer:
            _put(data, f.key, f, answers.get(f.key))
    return data


def _put(data: MultiDict, name: str, spec: FieldSpec, value):
    try:
        prefill = spec.ftype.to_formdata(spec, value)
    except (TypeError, ValueError, KeyError, AttributeError):
        prefill = {}  # a stored value of an unexpected shape (e.g. older version): start empty
    for suffix, text in prefill.items():
        data.setlist(name + suffix, text if isinstance(text, list) else [text])
