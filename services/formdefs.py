"""Form definitions: validation (schema + semantics), publishing immutable versions, loading specs."""

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from threading import Lock

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jsonschema import Draft202012Validator
from sqlalchemy import select

from extensions import db
from forms.dynamic import FormSpec, get_type, max_bytes_of, type_names
from models import FormDefinition, FormVersion
from services import option_values
from services.computed_checks import computed_problem, sample_answer_sets
from services.errors import InvalidDefinition
from services.formatting import format_size
from services.jsonlogic import check_rule, referenced_vars

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "schemas" / "form-definition.schema.json"
_SPEC_CACHE_SIZE = 256
_spec_cache: dict = {}
_spec_lock = Lock()
# A page's post carries its other inputs and the multipart framing besides the files.
UPLOAD_FORM_RESERVE_BYTES = 1024 * 1024


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def json_path(parts) -> str:
    """["pages", 0, "fields", 2, "key"] → "$.pages[0].fields[2].key"."""
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def checksum(document: dict) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no whitespace, UTF-8)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- validation --------------------------------------------------------------------------------


def validate_definition(doc) -> list[tuple[str, str]]:
    """Problems of a definition document as (JSON path, reason); [] when it can be published.

    All at once: with structural (JSON Schema) problems, the semantic checks still run on every
    part they can read; only a field whose own settings are malformed skips its type's checks.
    """
    raw = list(_validator().iter_errors(doc))
    if not raw:
        return _semantic_errors(doc)
    errors = _schema_errors(raw)
    if not isinstance(doc, dict):
        return sorted(set(errors + _untranslated_texts(doc)))
    return sorted(set(errors + _semantic_errors(doc, _broken_fields(raw))))


def _schema_errors(raw) -> list[tuple[str, str]]:
    errors = []
    for error in raw:
        path = json_path(error.absolute_path)
        if _english_missing(error):
            path = path if path.endswith(".en") else f"{path}.en"
            errors.append((path, str(ENGLISH_MISSING)))
        else:
            errors.append((path, _reason(error)))
    return sorted(set(errors))


# Without it the English pages would show the German text (pick() falls back to German).
ENGLISH_MISSING = _l("Der englische Text fehlt (die englische Seite zeigte sonst den deutschen).")


def _english_missing(error) -> bool:
    """A label/title whose "en" is absent or empty."""
    if error.validator == "required" and isinstance(error.instance, dict) and "de" in error.instance:
        return "en" not in error.instance
    last = list(error.absolute_path)[-1:]
    return error.validator == "minLength" and error.instance == "" and last == ["en"]


def _untranslated_texts(node, path: str = "$") -> list[tuple[str, str]]:
    """Optional texts (help, hints) given in German only: the English page would show the German."""
    if isinstance(node, dict):
        if set(node) <= {"de", "en"} and isinstance(node.get("de"), str):
            missing = node["de"].strip() and not str(node.get("en") or "").strip()
            return [(f"{path}.en", str(ENGLISH_MISSING))] if missing else []
        return [
            error
            for key, value in node.items()
            if key not in ("condition", "computed")  # JsonLogic rules, not texts
            for error in _untranslated_texts(value, f"{path}.{key}")
        ]
    if isinstance(node, list):
        return [error for i, value in enumerate(node) for error in _untranslated_texts(value, f"{path}[{i}]")]
    return []


def _reason(error) -> str:
    if error.validator == "unevaluatedProperties" or error.validator == "additionalProperties":
        return f"unknown property: {error.message.split('(')[-1].rstrip(')')}"
    if error.validator == "enum" and error.absolute_path and error.absolute_path[-1] == "type":
        return _("Unbekannter Feldtyp „%(type)s“.", type=error.instance)
    return error.message[:300]


# Field properties holding texts or flags that no semantic check reads: a schema problem there
# (say, the English label is missing) does not keep the field's other settings from being checked.
_UNREAD_PROPERTIES = frozenset(
    {"key", "label", "help", "required", "privacy", "condition", "text", "pattern_message",
     "prefix_message", "item_label"}
)  # fmt: skip


def _broken_fields(raw) -> set[str]:
    """JSON paths of the fields whose own settings break the schema: their type's checks
    (min ≤ max, patterns, date bounds, options …) would read malformed values and are skipped."""
    broken = set()
    for error in raw:
        if error.validator in ("unevaluatedProperties", "additionalProperties"):
            continue  # unknown properties are read by no check (the wrong values are reported at them)
        parts = list(error.absolute_path)
        starts = [k for k in range(2, len(parts) - 1) if parts[k] == "fields" and type(parts[k + 1]) is int]
        owner = max(starts, default=None)  # the innermost field ("pages", p, "fields", i[, "fields", c])
        if owner is None:
            continue  # the document or a page: their checks guard themselves
        rest = parts[owner + 2 :]
        if rest and (rest[0] in _UNREAD_PROPERTIES or (rest[:1] == ["options"] and rest[2:3] == ["label"])):
            continue
        if not rest and error.validator == "required":
            missing = set(error.validator_value) - set(error.instance)
            if missing <= _UNREAD_PROPERTIES:
                continue
        broken.add(json_path(parts[: owner + 2]))
    return broken


def _pages(doc: dict):
    """(index, page) of the pages that are objects."""
    pages = doc.get("pages")
    if not isinstance(pages, list):
        return []
    return [(p, page) for p, page in enumerate(pages) if isinstance(page, dict)]


def _registered_type(field):
    """The field's registered type, or None (not a field object, or the type is unknown)."""
    name = field.get("type") if isinstance(field, dict) else None
    return get_type(name) if isinstance(name, str) and name in type_names() else None


def _checkable(field, path: str, broken) -> bool:
    return _registered_type(field) is not None and isinstance(field.get("key"), str) and path not in broken


def _fields_of(page: dict, page_path: str, broken=frozenset()):
    """(path, field, group) of the page's checkable fields and group children (group None at the top);
    a malformed group's children are left out with it (its max_items etc. are unknown)."""
    fields = page.get("fields")
    for i, field in enumerate(fields if isinstance(fields, list) else ()):
        path = f"{page_path}.fields[{i}]"
        if not _checkable(field, path, broken):
            continue
        yield path, field, None
        children = field.get("fields") if "fields" in _registered_type(field).options else None
        for c, child in enumerate(children if isinstance(children, list) else ()):
            if _checkable(child, f"{path}.fields[{c}]", broken):
                yield f"{path}.fields[{c}]", child, field


def _checkable_document(doc: dict, broken) -> dict:
    """The pages with only their checkable fields (for the sample answers of computed values)."""
    pages = []
    for p, page in _pages(doc):
        fields: list = []
        for _path, field, group in _fields_of(page, f"$.pages[{p}]", broken):
            if group is not None:
                fields[-1]["fields"].append(dict(field))
                continue
            fields.append(dict(field, fields=[]) if "fields" in field else dict(field))
        pages.append({"key": page.get("key"), "condition": page.get("condition"), "fields": fields})
    return {"pages": pages}


def _semantic_errors(doc: dict, broken=frozenset()) -> list[tuple[str, str]]:
    """The checks beyond the schema; `broken`: fields whose own settings are malformed (skipped)."""
    errors: list[tuple[str, str]] = []
    seen_pages: set[str] = set()
    known: dict[str, str] = {}  # top-level field key → type, declared so far (document order)
    taken: set[str] = set()  # every field key, group children included (keys are form-wide unique)
    for p, page in _pages(doc):
        page_path = f"$.pages[{p}]"
        key = page.get("key")
        if isinstance(key, str) and key in seen_pages:
            message = _("Der Seitenschlüssel „%(a)s“ kommt mehrfach vor.", a=key)
            errors.append((f"{page_path}.key", message))
        seen_pages.add(key if isinstance(key, str) else None)
        errors += _rule_errors(page.get("condition"), f"{page_path}.condition", known, None)
        fields = page.get("fields")
        for i, field in enumerate(fields if isinstance(fields, list) else ()):
            if not isinstance(field, dict):
                continue
            errors += _field_errors(field, f"{page_path}.fields[{i}]", known, taken, None, broken)
            if isinstance(field.get("key"), str) and isinstance(field.get("type"), str):
                known[field["key"]] = field["type"]
    errors += _computed_errors(doc, known, broken)
    errors += _untranslated_texts(doc) + _upload_errors(doc, broken) + _option_value_errors(doc, broken)
    return errors + _applicant_address_errors(doc, broken)


def _option_value_errors(doc: dict, broken=frozenset()) -> list[tuple[str, str]]:
    """Conditions and computed values comparing a choice field with a value it never stores (an
    option's label instead of its value, a removed option): services.option_values."""
    choices = option_values.choice_fields(doc)
    if not choices:
        return []
    rules = []
    for p, page in _pages(doc):
        rules.append((f"$.pages[{p}].condition", page.get("condition")))
        rules += [(f"{path}.condition", field.get("condition"))
                  for path, field, _group in _fields_of(page, f"$.pages[{p}]", broken)]
    computed = doc.get("computed")
    if isinstance(computed, dict):
        rules += [(f"$.computed.{name}", rule) for name, rule in computed.items()]
    return [
        (path, option_values.describe(key, value, options))
        for path, rule in rules
        if isinstance(rule, (dict, list))
        for key, value, options in option_values.unknown_values(rule, choices)
    ]


def _computed_errors(doc: dict, known: dict, broken) -> list[tuple[str, str]]:
    """JsonLogic problems of the computed values, else what they give on sample answers (a fee rule
    that gives no usable number would make the service free: services.computed_checks)."""
    computed = doc.get("computed", {})
    if not isinstance(computed, dict):
        return []
    samples: list = []

    def sample_sets():
        if not samples:
            samples.extend(sample_answer_sets(_checkable_document(doc, broken), computed.values()))
        return samples

    errors = []
    for name, rule in computed.items():
        path = f"$.computed.{name}"
        problems = _rule_errors(rule, path, known, None)
        problem = None if problems else computed_problem(name, rule, sample_sets)
        errors += problems + ([(path, problem)] if problem else [])
    return errors


def _applicant_address_errors(doc: dict, broken=frozenset()) -> list[tuple[str, str]]:
    """Notices are posted to the one address marked as the applicant's: never two, never a group item's."""
    errors, marked = [], 0
    for p, page in _pages(doc):
        for path, field, group in _fields_of(page, f"$.pages[{p}]", broken):
            if not field.get("applicant_address"):
                continue
            if group is not None:
                reason = _("Die Postanschrift der antragstellenden Person kann nicht in einer "
                           "wiederholbaren Gruppe stehen.")
                errors.append((f"{path}.applicant_address", reason))
                continue
            marked += 1
            if marked > 1:
                reason = _("Nur eine Anschrift kann die Postanschrift der antragstellenden Person sein.")
                errors.append((f"{path}.applicant_address", reason))
    return errors


def _upload_errors(doc: dict, broken=frozenset()) -> list[tuple[str, str]]:
    """File fields must keep their promise under this installation's limits: each file within
    MAX_UPLOAD_BYTES, one page's files within one post (MAX_CONTENT_LENGTH, less a reserve for the
    other inputs) and all files of the form together within MAX_REQUEST_UPLOAD_BYTES (otherwise a
    citizen who follows "3 files, 10 MB each" is refused at the third, or the page with a 413)."""
    if not has_app_context():
        return []
    per_file = current_app.config["MAX_UPLOAD_BYTES"]
    per_post = current_app.config["MAX_CONTENT_LENGTH"] - UPLOAD_FORM_RESERVE_BYTES
    per_request = current_app.config["MAX_REQUEST_UPLOAD_BYTES"]
    errors, total, over_at = [], 0, None
    for p, page in _pages(doc):
        page_total, page_over_at = 0, None
        for path, field, items in _file_fields(page, f"$.pages[{p}]", broken):
            size = max_bytes_of(field)
            if size > per_file:
                limit = format_size(per_file)
                reason = _("Höchstens %(size)s je Datei sind möglich (MAX_UPLOAD_BYTES).", size=limit)
                errors.append((f"{path}.max_size_mb", reason))
            files = min(size, per_file) * field.get("max_files", 1) * items
            page_total, total = page_total + files, total + files
            if page_total > per_post and page_over_at is None:
                page_over_at = f"{path}.max_files"  # the field that crosses the limit
            if total > per_request and over_at is None:
                over_at = f"{path}.max_files"
        if page_over_at is not None:
            errors.append((page_over_at, _page_upload_reason(page.get("key"), page_total, per_post)))
    if over_at is not None:
        reason = _(
            "Die Dateien des Formulars können zusammen %(total)s groß werden, je Antrag sind höchstens "
            "%(limit)s möglich (MAX_REQUEST_UPLOAD_BYTES).",
            total=format_size(total), limit=format_size(per_request),
        )
        errors.append((over_at, reason))
    return errors


def _page_upload_reason(page_key: str, page_total: int, per_post: int) -> str:
    return _(
        "Die Dateien der Seite „%(page)s“ können zusammen %(total)s groß werden, mit einem Absenden sind "
        "höchstens %(limit)s möglich (MAX_CONTENT_LENGTH abzüglich %(reserve)s für die übrigen Angaben).",
        page=page_key, total=format_size(page_total), limit=format_size(per_post),
        reserve=format_size(UPLOAD_FORM_RESERVE_BYTES),
    )


def _file_fields(page: dict, page_path: str, broken=frozenset()):
    """(path, field, items) for the file fields of a page: items is a group's max_items for a child
    (one post carries every item), 1 for a top-level field."""
    for path, field, group in _fields_of(page, page_path, broken):
        if get_type(field["type"]).holds_files:
            yield path, field, 1 if group is None else group.get("max_items", 10)


def _field_errors(field: dict, path: str, known: dict, taken: set, item: dict | None, broken) -> list:
    """A field's problems; its type's checks only when its type is known and its settings well-formed."""
    errors = _rule_errors(field.get("condition"), f"{path}.condition", known, item)
    ftype = _registered_type(field)
    if ftype is not None and path not in broken:
        errors += _reference_errors(ftype, field, path, known, item)
    if ftype is not None and item is not None and not ftype.allowed_in_group:
        message = _("Felder vom Typ „%(t)s“ sind in wiederholbaren Gruppen nicht möglich.", t=field["type"])
        errors.append((f"{path}.type", message))
    if item is not None and "prefill" in field:  # the account has one name, a group many entries
        errors.append((f"{path}.prefill", _("Felder in wiederholbaren Gruppen werden nicht vorausgefüllt.")))
    if ftype is not None and path not in broken:
        errors += ftype.definition_errors(field, path)
    key = field.get("key") if isinstance(field.get("key"), str) else None
    if key is not None and key in taken:
        errors.append((f"{path}.key", _("Der Feldschlüssel „%(a)s“ kommt mehrfach vor.", a=key)))
    taken.add(key)
    if item is not None:
        if key is not None:
            item[key] = field.get("type")
    elif ftype is not None and "fields" in ftype.options and isinstance(field.get("fields"), list):
        children: dict[str, str] = {}  # a repeating group: children see earlier children as item.<key>
        for c, child in enumerate(field["fields"]):
            if isinstance(child, dict):
                errors += _field_errors(child, f"{path}.fields[{c}]", known, taken, children, broken)
    return errors


def _reference_errors(ftype, field: dict, path: str, known: dict, item: dict | None) -> list[tuple[str, str]]:
    """Options naming another field (a date's "min": "von"): declared before it, of the same type."""
    errors = []
    for option, key in ftype.field_references(field):
        other = (item or {}).get(key) or known.get(key)
        if other is None and item is not None:
            reason = _("„%(key)s“ ist kein Feld, das vor diesem steht (im selben Eintrag oder davor).",
                       key=key)
            errors.append((f"{path}.{option}", reason))
        elif other is None:
            errors.append((f"{path}.{option}", _("„%(key)s“ ist kein Feld, das vor diesem steht.", key=key)))
        elif other != field["type"]:
            reason = _("„%(key)s“ ist kein Feld vom Typ „%(type)s“.", key=key, type=field["type"])
            errors.append((f"{path}.{option}", reason))
    return errors


def _rule_errors(rule, path: str, known: dict, item: dict | None) -> list[tuple[str, str]]:
    if rule is None or isinstance(rule, bool):
        return []
    errors = [(path + sub, reason) for sub, reason in check_rule(rule)]
    if errors:
        return errors
    for name in sorted(referenced_vars(rule)):
        head, _sep, rest = name.partition(".")
        if head == "item" and item is not None:
            ok = rest.split(".")[0] in item
        elif head == "_count":
            ok = rest in known
        else:
            ok = head in known
        if not ok:
            message = _("Die Bedingung bezieht sich auf „%(a)s“, aber dieses Feld steht nicht davor.", a=name)
            errors.append((path, message))
    return errors


# --- publishing and loading --------------------------------------------------------------------


def publish_form(definition: FormDefinition, actor, change_note: str = "") -> FormVersion:
    """Validate the draft and freeze it as the next FormVersion (unchanged draft: latest version)."""
    document = definition.draft
    problems = validate_definition(document)
    if problems:
        raise InvalidDefinition(problems)
    digest = checksum(document)
    latest = latest_version_of(definition)
    if latest is not None and latest.checksum == digest:
        return latest
    version = FormVersion(
        definition=definition,
        number=(latest.number + 1) if latest else 1,
        document=json.loads(json.dumps(document)),
        checksum=digest,
        change_note=change_note,
        published_by_id=actor.id if actor is not None else None,
    )
    db.session.add(version)
    db.session.flush()
    return version


def latest_version_of(definition: FormDefinition) -> FormVersion | None:
    query = select(FormVersion).where(FormVersion.definition_id == definition.id)
    return db.session.scalars(query.order_by(FormVersion.number.desc()).limit(1)).first()


def latest_version(service) -> FormVersion | None:
    """The newest published form version of a service, or None."""
    query = (
        select(FormVersion)
        .join(FormDefinition, FormVersion.definition_id == FormDefinition.id)
        .where(FormDefinition.service_id == service.id)
        .order_by(FormVersion.number.desc())
        .limit(1)
    )
    return db.session.scalars(query).first()


def load_spec_for(version_id: int, version_checksum: str) -> FormSpec:
    """load_spec by a version's id and checksum (read with other data): no ORM object unless uncached."""
    with _spec_lock:
        spec = _spec_cache.get((version_id, version_checksum))
    return spec if spec is not None else load_spec(db.session.get(FormVersion, version_id))


def load_spec(version_or_doc) -> FormSpec:
    """The FormSpec of a FormVersion (cached per version) or of a raw document (not cached)."""
    if isinstance(version_or_doc, dict):
        return FormSpec.from_document(version_or_doc, cache_key=f"doc-{checksum(version_or_doc)}")
    version = version_or_doc
    key = (version.id, version.checksum)
    with _spec_lock:
        spec = _spec_cache.get(key)
    if spec is None:
        spec = FormSpec.from_document(version.document, cache_key=f"v{version.id}-{version.checksum[:16]}")
        with _spec_lock:
            if len(_spec_cache) >= _SPEC_CACHE_SIZE:
                _spec_cache.pop(next(iter(_spec_cache)))
            _spec_cache[key] = spec
    return spec
