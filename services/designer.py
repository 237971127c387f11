"""Pure edit operations on a form definition document (the designer behind /verwaltung).

Every operation takes a document, never changes it in place and returns an `Edit`: the new
document plus the problems the publishing validator (`services.formdefs.validate_definition`)
finds in it. Drafts are saved even when invalid, so nothing typed is lost; publishing refuses
invalid documents. `locate_errors` maps the validator's JSON paths to page/field/attribute so
the UI can show each problem next to the input concerned.
"""

import copy
import json
import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forms.dynamic import get_type
from services.errors import ValidationFailed
from services.formdefs import validate_definition
from services.json_text import parse_json_text

FIELD_TYPES = [
    "text", "textarea", "integer", "decimal", "money", "date", "email", "phone", "postcode", "iban",
    "choice", "multichoice", "yesno", "file", "address", "info", "group",
]  # fmt: skip
PRIVACY = ["public", "personal", "sensitive"]
ACCEPT_TYPES = ["application/pdf", "image/jpeg", "image/png"]
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")

# Type-specific settings: (name, kind). Kinds: int, number, str, i18n, list (one per line),
# options (one "value | Bezeichnung | label" per line), accept (MIME types), bool, widget.
SETTINGS: dict[str, list[tuple[str, str]]] = {
    "text": [("min_length", "int"), ("max_length", "int"), ("pattern", "str"), ("pattern_message", "i18n"),
             ("autocomplete", "str"), ("uppercase", "bool"), ("prefill", "select")],
    "textarea": [("min_length", "int"), ("max_length", "int"), ("rows", "int")],
    "email": [("autocomplete", "str"), ("prefill", "select")],
    "phone": [("autocomplete", "str")],
    "postcode": [("prefixes", "list"), ("prefix_message", "i18n"), ("autocomplete", "str")],
    "iban": [("countries", "list")],
    "integer": [("min", "int"), ("max", "int"), ("unit", "str")],
    "decimal": [("min", "number"), ("max", "number"), ("decimal_places", "int"), ("unit", "str")],
    "money": [("min_cents", "int"), ("max_cents", "int")],
    "date": [("min", "str"), ("max", "str"), ("autocomplete", "str")],
    "choice": [("options", "options"), ("widget", "widget")],
    "multichoice": [("options", "options"), ("min_selected", "int"), ("max_selected", "int")],
    "yesno": [("inline", "bool")],
    "file": [("accept", "accept"), ("max_size_mb", "number"), ("max_files", "int")],
    "address": [("postcode_prefixes", "list"), ("prefix_message", "i18n"), ("city", "str"),
                ("applicant_address", "bool")],
    "info": [("text", "i18n")],
    "group": [("min_items", "int"), ("max_items", "int"), ("item_label", "i18n")],
}  # fmt: skip
ALL_SETTINGS = sorted({name for specs in SETTINGS.values() for name, _kind in specs})
COMMON = ("key", "type", "label", "help", "required", "privacy", "condition")


@dataclass
class Edit:
    """Result of one designer operation."""

    document: dict
    errors: list = field(default_factory=list)  # validator (path, reason) pairs
    problem: str | None = None  # the operation itself was refused (nothing changed)
    renamed: tuple[str, str] | None = None  # (old key, new key) when the operation renamed a field

    @property
    def ok(self) -> bool:
        return self.problem is None


def _result(doc: dict) -> Edit:
    return Edit(doc, validate_definition(doc))


def _refused(doc: dict, message: str) -> Edit:
    return Edit(doc, validate_definition(doc), message)


# --- documents ---------------------------------------------------------------------------------


def new_document(title_de: str, title_en: str = "") -> dict:
    """A starter document: one page with one name field (valid, ready to be changed)."""
    return {
        "schema_version": 1,
        "title": {"de": title_de, "en": title_en or title_de},
        "pages": [
            {
                "key": "angaben",
                "title": {"de": "Ihre Angaben", "en": "Your details"},
                "fields": [
                    {
                        "key": "name",
                        "type": "text",
                        "label": {"de": "Vor- und Nachname", "en": "Full name"},
                        "required": True,
                        "privacy": "personal",
                        "autocomplete": "name",
                    }
                ],
            }
        ],
    }


def parse_import(text: str) -> tuple[dict | None, str | None]:
    """A document from uploaded/pasted JSON, or (None, message with line and column)."""
    try:
        message = _l(
            "Die Formulardefinition ist kein gültiges JSON (Zeile %(line)s, Spalte %(col)s: %(msg)s)."
        )
        doc = parse_json_text(text, "file", message)
    except ValidationFailed as exc:
        return None, exc.message
    if not isinstance(doc, dict):
        return None, _("Eine Formulardefinition muss ein JSON-Objekt sein.")
    return doc, None


def structure_errors(doc: dict) -> list[tuple[str, str]]:
    """[(JSON path, reason)] that make a document unusable in the designer (not merely invalid):
    pages and group fields must be lists of objects with a text key. An import with such errors is
    refused; every other problem is listed in the designer and fixed there."""
    value = doc.get("pages", [])
    if not isinstance(value, list):
        return [("$.pages", _("muss eine Liste sein"))]
    errors = []
    for p, page in enumerate(value):
        errors += _node_errors(page, f"$.pages[{p}]", levels=2)
    return errors


def _node_errors(node, path: str, levels: int) -> list[tuple[str, str]]:
    """A page (levels=2: fields, group children) or field: an object with a text key."""
    if not isinstance(node, dict):
        return [(path, _("muss ein JSON-Objekt sein"))]
    errors = [] if _has_key(node) else [(f"{path}.key", _("braucht einen Schlüssel (Text)"))]
    if levels == 0 or (levels == 1 and node.get("type") != "group"):
        return errors
    children = node.get("fields", [])
    if not isinstance(children, list):
        return [*errors, (f"{path}.fields", _("muss eine Liste sein"))]
    for i, child in enumerate(children):
        errors += _node_errors(child, f"{path}.fields[{i}]", levels - 1)
    return errors


def export_json(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def pages(doc: dict) -> list[dict]:
    value = doc.get("pages") if isinstance(doc, dict) else None
    return [p for p in value if isinstance(p, dict)] if isinstance(value, list) else []


def outline(doc: dict) -> list[tuple[dict, list[tuple[dict, dict | None]]]]:
    """[(page, [(field, parent_group_or_None)])] as the designer lists them. Entries without a
    text key cannot be linked and are left out (the problem list names them): any draft can be shown."""
    result = []
    for page in pages(doc):
        if not _has_key(page):
            continue
        rows = []
        for f in filter(_has_key, _field_list(page)):
            rows.append((f, None))
            if f.get("type") == "group":
                rows += [(child, f) for child in filter(_has_key, _field_list(f))]
        result.append((page, rows))
    return result


def _has_key(node: dict) -> bool:
    return isinstance(node.get("key"), str) and node["key"] != ""


def find_page(doc: dict, page_key: str) -> dict | None:
    return next((p for p in pages(doc) if p.get("key") == page_key), None)


def iter_fields(doc: dict):
    """(page, field, parent_group_or_None) for every field, document order, group children included."""
    for page in pages(doc):
        for f in _field_list(page):
            yield page, f, None
            if f.get("type") == "group":
                for child in _field_list(f):
                    yield page, child, f


def _raw_fields(container: dict, create: bool = False) -> list:
    """The container's "fields" list as stored (created when asked and missing/malformed)."""
    value = container.get("fields")
    if isinstance(value, list):
        return value
    if create:
        container["fields"] = []
        return container["fields"]
    return []


def _field_list(container: dict) -> list[dict]:
    return [f for f in _raw_fields(container) if isinstance(f, dict)]


def find_field(doc: dict, field_key: str):
    """(page, field, parent_group) of the field with `field_key`, or None."""
    return next(((p, f, g) for p, f, g in iter_fields(doc) if f.get("key") == field_key), None)


def field_keys(doc: dict) -> set[str]:
    return {f.get("key") for _p, f, _g in iter_fields(doc)}


# --- pages -------------------------------------------------------------------------------------


def add_page(doc: dict, key: str, title_de: str, title_en: str = "") -> Edit:
    doc = copy.deepcopy(doc)
    if find_page(doc, key) is not None:
        return _refused(doc, _("Es gibt schon eine Seite mit dem Schlüssel „%(key)s“.", key=key))
    if not isinstance(doc.get("pages"), list):
        doc["pages"] = []
    doc["pages"].append({"key": key, "title": {"de": title_de, "en": title_en}, "fields": []})
    return _result(doc)


def update_page(
    doc: dict,
    page_key: str,
    key: str,
    title_de: str,
    title_en: str = "",
    help_de: str = "",
    help_en: str = "",
) -> Edit:
    doc = copy.deepcopy(doc)
    page = find_page(doc, page_key)
    if page is None:
        return _refused(doc, _("Diese Seite gibt es nicht mehr."))
    if key != page_key and find_page(doc, key) is not None:
        return _refused(doc, _("Es gibt schon eine Seite mit dem Schlüssel „%(key)s“.", key=key))
    page["key"] = key
    page["title"] = {"de": title_de, "en": title_en}
    _set_i18n_optional(page, "help", help_de, help_en)
    return _result(doc)


def delete_page(doc: dict, page_key: str) -> Edit:
    doc = copy.deepcopy(doc)
    doc["pages"] = [p for p in pages(doc) if p.get("key") != page_key]
    return _result(doc)


def move_page(doc: dict, page_key: str, step: int) -> Edit:
    doc = copy.deepcopy(doc)
    items = pages(doc)
    index = next((i for i, p in enumerate(items) if p.get("key") == page_key), None)
    if index is None:
        return _refused(doc, _("Diese Seite gibt es nicht mehr."))
    target = index + step
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
    doc["pages"] = items
    return _result(doc)


# --- fields ------------------------------------------------------------------------------------


def add_field(doc: dict, page_key: str, data: dict, group_key: str | None = None) -> Edit:
    """Append a field built from form `data` to a page (or to a repeating group on it)."""
    doc = copy.deepcopy(doc)
    page = find_page(doc, page_key)
    if page is None:
        return _refused(doc, _("Diese Seite gibt es nicht mehr."))
    container = page
    if group_key:
        found = find_field(doc, group_key)
        if found is None or found[1].get("type") != "group":
            return _refused(doc, _("Diese Gruppe gibt es nicht mehr."))
        container = found[1]
    new = field_from_data(data)
    if new["key"] in field_keys(doc):
        return _refused(doc, _("Es gibt schon ein Feld mit dem Schlüssel „%(key)s“.", key=new["key"]))
    _raw_fields(container, create=True).append(new)
    return _result(doc)


def update_field(doc: dict, field_key: str, data: dict) -> Edit:
    """Replace a field's settings with form `data` (condition and group children are kept)."""
    doc = copy.deepcopy(doc)
    found = find_field(doc, field_key)
    if found is None:
        return _refused(doc, _("Dieses Feld gibt es nicht mehr."))
    _page, old, _group = found
    new = field_from_data(data, old)
    if new["key"] != field_key and new["key"] in field_keys(doc):
        return _refused(doc, _("Es gibt schon ein Feld mit dem Schlüssel „%(key)s“.", key=new["key"]))
    old.clear()
    old.update(new)
    if new["key"] != field_key and new["key"]:
        _rename_vars(doc, field_key, new["key"])
        _rename_references(doc, field_key, new["key"])
        edit = _result(doc)
        edit.renamed = (field_key, new["key"])
        return edit
    return _result(doc)


def renamed_vars(rule, old: str, new: str):
    """A copy of JsonLogic `rule` reading `new` wherever it read the field `old` (same rules as the
    form's own conditions follow a rename; used for the service's routing rules)."""
    rule = copy.deepcopy(rule)
    holder = {"rule": rule}
    _rename_vars(holder, old, new)
    return holder["rule"]


def _rename_vars(node, old: str, new: str) -> None:
    """Make conditions and computed values follow a renamed field (`old`, `old.part`, `item.old`)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "var" and isinstance(value, str):
                head, sep, rest = value.partition(".")
                if head == old:
                    node[key] = new + sep + rest
                elif head == "item" and rest.partition(".")[0] == old:
                    node[key] = "item." + new + rest[len(old) :]
            else:
                _rename_vars(value, old, new)
    elif isinstance(node, list):
        for item in node:
            _rename_vars(item, old, new)


def _rename_references(doc: dict, old: str, new: str) -> None:
    """Make options naming a renamed field follow it (a date's "min": "von+1")."""
    for _page, f, _group in iter_fields(doc):
        if f.get("type") in FIELD_TYPES:  # drafts may be invalid: unknown types name nothing
            get_type(f["type"]).rename_reference(f, old, new)


def delete_field(doc: dict, field_key: str) -> Edit:
    doc = copy.deepcopy(doc)
    container = _container_of(doc, field_key)
    if container is not None:
        container["fields"] = [
            f for f in _raw_fields(container) if not (isinstance(f, dict) and f.get("key") == field_key)
        ]
    return _result(doc)


def move_field(doc: dict, field_key: str, step: int) -> Edit:
    """Move a field up/down within its page or group; past the edge it moves to the neighbour page."""
    doc = copy.deepcopy(doc)
    container = _container_of(doc, field_key)
    if container is None:
        return _refused(doc, _("Dieses Feld gibt es nicht mehr."))
    items = _raw_fields(container)
    index = next(i for i, f in enumerate(items) if isinstance(f, dict) and f.get("key") == field_key)
    target = index + step
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
    elif "title" in container and "type" not in container:  # a page: move across the page border
        all_pages = pages(doc)
        p = all_pages.index(container)
        q = p + (1 if step > 0 else -1)
        if 0 <= q < len(all_pages):
            moved = items.pop(index)
            neighbour = _raw_fields(all_pages[q], create=True)
            if step > 0:
                neighbour.insert(0, moved)
            else:
                neighbour.append(moved)
    return _result(doc)


def _container_of(doc: dict, field_key: str):
    for page in pages(doc):
        for f in _field_list(page):
            if f.get("key") == field_key:
                return page
            if f.get("type") == "group" and any(c.get("key") == field_key for c in _field_list(f)):
                return f
    return None


def field_from_data(data: dict, old: dict | None = None) -> dict:
    """A field dict from flat form data (strings). Unparseable numbers are kept as typed so the
    validator reports them at that attribute instead of losing the input."""
    ftype = data.get("type") or (old or {}).get("type") or "text"
    ftype = ftype if isinstance(ftype, str) else "text"
    new: dict = {"key": (data.get("key") or "").strip(), "type": ftype}
    new["label"] = {"de": (data.get("label_de") or "").strip(), "en": (data.get("label_en") or "").strip()}
    _set_i18n_optional(new, "help", data.get("help_de") or "", data.get("help_en") or "")
    new["required"] = bool(data.get("required"))
    new["privacy"] = data.get("privacy") or "personal"
    if old and "condition" in old:
        new["condition"] = old["condition"]
    for name, kind in SETTINGS.get(ftype, []):
        value = _parse_setting(kind, name, data)
        if value is not None:
            new[name] = value
    if ftype == "group":
        new["fields"] = copy.deepcopy((old or {}).get("fields") or [])
    return new


def _parse_setting(kind: str, name: str, data: dict):
    if kind == "i18n":
        de, en = (data.get(f"{name}_de") or "").strip(), (data.get(f"{name}_en") or "").strip()
        return {"de": de or en, "en": en} if de or en else None
    if kind == "bool":
        return True if data.get(name) else None
    if kind == "accept":
        value = data.get(name) or []
        return list(value) if value else None
    raw = data.get(name)
    raw = raw.strip() if isinstance(raw, str) else raw
    if raw in (None, ""):
        return None
    if kind == "int":
        return int(raw) if re.fullmatch(r"-?\d{1,12}", raw) else raw
    if kind == "number":
        try:
            number = float(raw.replace(",", "."))
        except ValueError:
            return raw
        return int(number) if number.is_integer() else number
    if kind == "list":
        return [item.strip() for item in re.split(r"[\n,;]", raw) if item.strip()]
    if kind == "options":
        return [_parse_option(line) for line in raw.splitlines() if line.strip()]
    return raw


def _parse_option(line: str) -> dict:
    parts = [p.strip() for p in line.split("|")]
    value = parts[0]
    label_de = parts[1] if len(parts) > 1 and parts[1] else value
    label_en = parts[2] if len(parts) > 2 else ""  # never the German copied: publishing asks for it
    return {"value": value, "label": {"de": label_de, "en": label_en}}


def field_to_data(f: dict) -> dict:
    """The inverse of field_from_data: flat strings for prefilling the field form."""
    ftype = f.get("type") if isinstance(f.get("type"), str) and f.get("type") in SETTINGS else "text"
    data = {
        "key": str(f.get("key", "")), "type": ftype,
        "label_de": _i18n(f.get("label"), "de"), "label_en": _i18n(f.get("label"), "en"),
        "help_de": _i18n(f.get("help"), "de"), "help_en": _i18n(f.get("help"), "en"),
        "required": bool(f.get("required")), "privacy": f.get("privacy", "personal"),
    }  # fmt: skip
    for name, kind in SETTINGS[ftype]:
        value = f.get(name)
        if value is None:
            continue
        if kind == "i18n":
            data[f"{name}_de"], data[f"{name}_en"] = _i18n(value, "de"), _i18n(value, "en")
        elif kind == "list" and isinstance(value, list):
            data[name] = "\n".join(str(v) for v in value)
        elif kind == "options" and isinstance(value, list):
            data[name] = "\n".join(_option_line(o) for o in value)
        elif kind in ("bool", "accept"):
            data[name] = value
        else:
            data[name] = str(value)
    return data


def _option_line(option) -> str:
    if not isinstance(option, dict):
        return str(option)
    label = option.get("label") or {}
    return f"{option.get('value', '')} | {_i18n(label, 'de')} | {_i18n(label, 'en')}"


def _i18n(value, lang: str) -> str:
    return str(value.get(lang, "")) if isinstance(value, dict) else ""


text_of = _i18n  # public name for views: the de/en text of an i18n dict, "" when malformed


def _set_i18n_optional(target: dict, name: str, de: str, en: str) -> None:
    de, en = (de or "").strip(), (en or "").strip()
    if de or en:
        target[name] = {"de": de or en, "en": en}
    else:
        target.pop(name, None)


# --- computed values and form-level settings -------------------------------------------------


def update_settings(doc: dict, title_de: str, title_en: str, fee_rule_json: str) -> Edit:
    """Form title and the computed fee (JsonLogic as JSON text; empty removes it)."""
    doc = copy.deepcopy(doc)
    doc["title"] = {"de": title_de, "en": title_en or title_de}
    computed = dict(doc["computed"]) if isinstance(doc.get("computed"), dict) else {}
    if fee_rule_json.strip():
        message = _l("Die Gebührenregel ist kein gültiges JSON (Zeile %(line)s, Spalte %(col)s).")
        try:
            computed["fee_cents"] = parse_json_text(fee_rule_json, "fee_rule", message)
        except ValidationFailed as exc:
            return _refused(doc, exc.message)
    else:
        computed.pop("fee_cents", None)
    if computed:
        doc["computed"] = computed
    else:
        doc.pop("computed", None)
    return _result(doc)


# --- conditions --------------------------------------------------------------------------------

OPERATORS = ("is", "is_not", "contains", "between")
_RANGE = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*(?:-|–|bis)\s*(-?\d+(?:[.,]\d+)?)\s*$")


class BuilderError(ValueError):
    """A builder row cannot become JsonLogic; `index` is the row, the message says why."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index
        self.message = message


NUMERIC = {"integer", "decimal", "money"}


def set_condition(doc: dict, target: tuple[str, str], rule) -> Edit:
    """Set (rule not None) or remove the condition of ("page"|"field", key)."""
    doc = copy.deepcopy(doc)
    kind, key = target
    if kind == "page":
        obj = find_page(doc, key)
    else:
        found = find_field(doc, key)
        obj = found[1] if found else None
    if obj is None:
        return _refused(doc, _("Dieses Element gibt es nicht mehr."))
    if rule is None:
        obj.pop("condition", None)
    else:
        obj["condition"] = rule
    return _result(doc)


def condition_from_rows(doc: dict, rows: list[dict], combinator: str = "and"):
    """Builder rows [{field, op, value}] → JsonLogic (None when no row names a field)."""
    fields = {f.get("key"): f for _p, f, _g in iter_fields(doc)}
    parts = []
    for index, row in enumerate(rows):
        name = (row.get("field") or "").strip()
        if not name:
            continue
        field_def = fields.get(name.split(".")[0]) or {}
        value = _typed_value(field_def.get("type"), row.get("value") or "")
        var = {"var": name}
        op = row.get("op") or "is"
        if op == "between":
            match = _RANGE.match(row.get("value") or "")
            if match is None:
                raise BuilderError(index, _("Bitte geben Sie einen Bereich an, z. B. 47051-47139."))
            low, high = (_number(g) for g in match.groups())
            if low > high:
                raise BuilderError(
                    index,
                    _(
                        "Der Bereich „%(value)s“ ist verkehrt herum: der erste Wert muss der kleinere sein, "
                        "z. B. %(low)s-%(high)s.",
                        value=row.get("value", "").strip(),
                        low=match.group(2),
                        high=match.group(1),
                    ),
                )
            parts.append({"<=": [low, var, high]})
            continue
        if field_def.get("type") in ("choice", "multichoice") and "." not in name:
            value = _option_value(field_def, value, index)
        if op == "contains":
            parts.append({"in": [value, var]})
        elif op == "is_not":
            parts.append({"!=": [var, value]})
        else:
            parts.append({"==": [var, value]})
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return {"or" if combinator == "or" else "and": parts}


def _option_value(field_def: dict, raw: str, index: int) -> str:
    """The option value `raw` names: the value itself or (any case) its German or English label."""
    listed = field_def.get("options") if isinstance(field_def.get("options"), list) else []
    options = [o for o in listed if isinstance(o, dict) and isinstance(o.get("value"), str | int)]
    if not options:  # a draft without options yet: nothing to compare with
        return raw
    for option in options:
        if raw == str(option["value"]):
            return option["value"]
    wanted = raw.casefold()
    for option in options:
        labels = option.get("label") if isinstance(option.get("label"), dict) else {}
        if wanted in {str(option["value"]).casefold(), *(str(t).casefold() for t in labels.values() if t)}:
            return option["value"]
    allowed = ", ".join(f"„{o['value']}“ ({_i18n(o.get('label'), 'de')})" for o in options)
    raise BuilderError(
        index,
        _(
            "„%(value)s“ ist keine Auswahlmöglichkeit dieses Feldes. Möglich sind: %(options)s.",
            value=raw,
            options=allowed,
        ),
    )


def _number(raw: str):
    number = float(raw.replace(",", "."))
    return int(number) if number.is_integer() else number


def _typed_value(ftype, raw: str):
    raw = raw.strip()
    if ftype == "yesno":
        lowered = raw.lower()
        if lowered in ("ja", "yes", "true", "1", "wahr"):
            return True
        if lowered in ("nein", "no", "false", "0", "falsch"):
            return False
    if ftype in NUMERIC and re.fullmatch(r"-?\d+([.,]\d+)?", raw):
        number = float(raw.replace(",", "."))
        return int(number) if number.is_integer() else number
    return raw


def rows_from_condition(rule):
    """(combinator, rows) when `rule` has the builder's shape, else None (shown as JSON)."""
    if rule is None:
        return "and", []
    combinator, parts = "and", [rule]
    if isinstance(rule, dict) and len(rule) == 1 and next(iter(rule)) in ("and", "or"):
        combinator = next(iter(rule))
        parts = rule[combinator]
        if not isinstance(parts, list) or not parts:
            return None
    rows = []
    for part in parts:
        row = _row_of(part)
        if row is None:
            return None
        rows.append(row)
    return combinator, rows


def _row_of(part):
    if not isinstance(part, dict) or len(part) != 1:
        return None
    op, args = next(iter(part.items()))
    if op == "<=" and isinstance(args, list) and len(args) == 3:
        low, var, high = args
        name = _var_name(var)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        if name is None or not numbers:
            return None
        return {"field": name, "op": "between", "value": f"{low}-{high}"}
    if not isinstance(args, list) or len(args) != 2:
        return None
    if op in ("==", "!="):
        var, value = args
        name = _var_name(var)
        if name is None or not _is_literal(value):
            return None
        return {"field": name, "op": "is" if op == "==" else "is_not", "value": _display(value)}
    if op == "in":
        value, var = args
        name = _var_name(var)
        if name is None or not _is_literal(value):
            return None
        return {"field": name, "op": "contains", "value": _display(value)}
    return None


def _var_name(var):
    if isinstance(var, dict) and set(var) == {"var"}:
        name = var["var"]
        if isinstance(name, list) and len(name) == 1:
            name = name[0]
        if isinstance(name, str) and name:
            return name
    return None


def _is_literal(value) -> bool:
    return isinstance(value, (str, int, float, bool)) and not isinstance(value, dict)


def _display(value) -> str:
    if value is True:
        return "ja"
    if value is False:
        return "nein"
    return str(value)


def condition_fields(doc: dict, target: tuple[str, str]) -> list[dict]:
    """Top-level fields a condition of `target` may refer to (declared before it, not info/file)."""
    result = []
    kind, key = target
    for page in pages(doc):
        if kind == "page" and page.get("key") == key:
            break
        stop = False
        for f in _field_list(page):
            if kind == "field" and (f.get("key") == key or any(c.get("key") == key for c in _field_list(f))):
                stop = True
                break
            if f.get("type") not in ("info", "file", "group"):
                result.append(f)
        if stop:
            break
    return result


# --- error locations ---------------------------------------------------------------------------

I18N_ATTRS = {"label", "help", "title", "pattern_message", "prefix_message", "text", "item_label"}
_REQUIRED = re.compile(r"^'([a-z_]+)' is a required property$")
_TOKEN = re.compile(r"\[(\d+)\]|\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class ErrorLocation:
    path: str
    reason: str
    page: str | None = None  # page key
    field: str | None = None  # field key (innermost)
    attr: str = ""  # attribute path below the page/field, e.g. "label.de", "options[1].value"
    node: object = None  # the page or field the path ends in (for the designer's own checks)

    @property
    def input_id(self) -> str:
        """Id of the designer input showing `attr` (label.de → label_de, options[2].value → options)."""
        parts = [p for p in re.split(r"[.\[\]]", self.attr) if p]
        if not parts:
            return "key"
        if len(parts) > 1 and parts[1] in ("de", "en"):
            return f"{parts[0]}_{parts[1]}"
        if parts[0] in I18N_ATTRS:
            return f"{parts[0]}_de"
        return parts[0]


_UNKNOWN = re.compile(r"^unknown property: (.*) (?:was|were) unexpected$")


def locate_errors(doc: dict, errors) -> list[ErrorLocation]:
    """Validator problems with page/field/attribute. The schema also reports a property whose value
    is wrong as "unknown"; that duplicate is dropped, real unknown properties point at themselves."""
    paths = {path for path, _reason in errors}
    found = []
    for path, reason in errors:
        match = _UNKNOWN.match(reason)
        if match:
            allowed = _allowed_properties(locate(doc, path, "").node)
            names = re.findall(r"'([^']+)'", match.group(1))
            names = [n for n in names if n not in allowed and f"{path}.{n}" not in paths]
            found += [
                locate(doc, f"{path}.{n}", str(_l("Unbekannte Einstellung: %(a)s")) % {"a": n}) for n in names
            ]
            continue
        required = _REQUIRED.match(reason)
        if required:  # point at the missing property itself
            path = f"{path}.{required.group(1)}"
        found.append(locate(doc, path, explain(reason)))
    return found


def _allowed_properties(node) -> set[str]:
    """Properties a field of this type may have (the schema calls them "unexpected" whenever any
    other rule of the field fails, which would blame correct settings)."""
    if isinstance(node, dict) and "pages" in node:
        return {"schema_version", "title", "description", "pages", "computed"}
    if not isinstance(node, dict) or "type" not in node:
        return {"key", "title", "help", "condition", "fields"}
    ftype = node.get("type") if isinstance(node.get("type"), str) else ""
    names = set(COMMON) | {name for name, _kind in SETTINGS.get(ftype, [])}
    return names | ({"fields"} if ftype == "group" else set())


def locate(doc: dict, path: str, reason: str) -> ErrorLocation:
    tokens = [int(i) if i else name for i, name in _TOKEN.findall(path[1:] if path.startswith("$") else path)]
    loc = ErrorLocation(path, reason)
    node, rest = doc, list(tokens)
    try:
        if rest[:1] == ["pages"] and len(rest) >= 2:
            node = doc["pages"][rest[1]]
            loc.page = node.get("key") if isinstance(node, dict) else None
            rest = rest[2:]
            while rest[:1] == ["fields"] and len(rest) >= 2 and isinstance(rest[1], int):
                node = node["fields"][rest[1]]
                loc.field = node.get("key") if isinstance(node, dict) else None
                rest = rest[2:]
    except (KeyError, IndexError, TypeError):
        pass
    loc.attr = "".join(f"[{t}]" if isinstance(t, int) else f".{t}" for t in rest).lstrip(".")
    loc.node = node
    return loc


_EXPLAIN = [
    (re.compile(r"^'(.*)' is not of type '(?:integer|number)'$"), _l("„%(a)s“ ist keine gültige Zahl.")),
    (re.compile(r"^'(.*)' does not match .*"), _l("„%(a)s“ hat nicht das erlaubte Format (Kleinbuchstaben, "
                                                  "Ziffern und _, am Anfang ein Buchstabe).")),
    (re.compile(r"^'(.+)' is a required property$"), _l("Die Angabe „%(a)s“ fehlt.")),
    (re.compile(r"^\[\] should be non-empty$|^\[\] is too short$"),
     _l("Hier muss mindestens ein Eintrag stehen.")),
    (re.compile(r"^'' should be non-empty$|^'' is too short$"), _l("Dieses Feld darf nicht leer sein.")),
    (re.compile(r"^unknown property: (.+)$"), _l("Unbekannte Einstellung: %(a)s")),
    (re.compile(r"^'.*' is too long$"), _l("Der Text ist zu lang.")),
    (re.compile(r"^.* is less than the minimum of (.+)$"), _l("Der Wert muss mindestens %(a)s sein.")),
    (re.compile(r"^.* is greater than the maximum of (.+)$"), _l("Der Wert darf höchstens %(a)s sein.")),
    (re.compile(r"^.* is not one of (.+)$"), _l("Erlaubt sind nur: %(a)s")),
]  # fmt: skip


def explain(reason: str) -> str:
    """German wording for the JSON Schema library's most common reasons (the engine's own are already
    translated; others are shown as they are)."""
    for pattern, template in _EXPLAIN:
        match = pattern.match(reason)
        if match:
            groups = [g for g in match.groups() if g]
            text = str(template)
            return text % {"a": groups[0]} if groups else text
    return reason
