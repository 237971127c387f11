"""Workflow documents: validation (JSON Schema + semantic rules), parsed specs, published versions."""

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jsonschema
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from extensions import db
from models import ConfigChange, ServiceWorkflow, WorkflowDefinition, WorkflowVersion
from services import config_log
from services.config_log import N_
from services.errors import InvalidDefinition

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "workflow-definition.schema.json"
DEFAULT_WORKFLOW_KEY = "genehmigung-standard"
ROLES = ("citizen", "clerk", "dept_admin")
KINDS = ("open", "waiting_for_citizen", "decided", "closed")


@cache
def _validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _pick(text: dict | None, locale: str) -> str:
    if not text:
        return ""
    return text.get("en" if locale == "en" else "de") or text.get("de", "")


@dataclass(frozen=True)
class FieldSpec:
    """One input a transition asks for (reason, message, requested documents...)."""

    key: str
    type: str
    labels: dict
    helps: dict
    required: bool
    public: bool
    max_length: int

    def label(self, locale="de"):
        return _pick(self.labels, locale)

    def help(self, locale="de"):
        return _pick(self.helps, locale)


@dataclass(frozen=True)
class StateSpec:
    key: str
    kind: str
    initial: bool
    labels: dict
    citizen_labels: dict
    citizen_hints: dict

    def label(self, locale="de", audience="staff"):
        if audience == "citizen" and self.citizen_labels:
            return _pick(self.citizen_labels, locale)
        return _pick(self.labels, locale)

    def citizen_hint(self, locale="de"):
        return _pick(self.citizen_hints, locale)


@dataclass(frozen=True)
class Transition:
    """A named move from one of `from_states` to `to`, with who may fire it and what follows."""

    name: str
    labels: dict
    from_states: tuple
    to: str
    roles: tuple
    comment_required: bool = False
    second_approver: bool = False
    form_fields: tuple = ()
    effects: tuple = ()
    style: str = "secondary"
    synthetic: bool = False  # four-eyes confirm/return, not part of the document

    def label(self, locale="de"):
        return _pick(self.labels, locale)


@dataclass
class WorkflowSpec:
    """A parsed, validated workflow document."""

    title: dict
    states: dict
    transitions: dict
    approval_state: str | None
    due_soon_days: int
    version_id: int | None = None
    initial: str = field(init=False)

    def __post_init__(self):
        self.initial = next(s.key for s in self.states.values() if s.initial)

    def state(self, key):
        return self.states.get(key)

    def kind(self, key):
        state = self.states.get(key)
        return state.kind if state else None


def validate_workflow(doc) -> list[tuple[str, str]]:
    """All problems of a workflow document as (json path, reason); [] when valid (may be published)."""
    return _document_errors(doc) or _flow_errors(doc)


def _document_errors(doc) -> list[tuple[str, str]]:
    """What parsing needs: the schema, then names and references."""
    errors = [
        ("/" + "/".join(str(p) for p in err.absolute_path), _schema_message(err))
        for err in sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if errors:
        return errors
    return _semantic_errors(doc)


def _schema_message(err) -> str:
    """The JSON Schema violation in words an administrator understands."""
    messages = {
        "required": lambda: _("Pflichtangabe fehlt: %(what)s", what=_part(err.message.split("'")[1])),
        "additionalProperties": lambda: _("Unbekannte Angabe: %(what)s", what=_unexpected(err)),
        "enum": lambda: _("Erlaubt sind: %(what)s", what=", ".join(map(str, err.validator_value))),
        "const": lambda: _("Erlaubt ist nur: %(what)s", what=err.validator_value),
        "pattern": lambda: _("Nur Kleinbuchstaben, Ziffern und _; beginnt mit einem Buchstaben."),
        "type": lambda: _("Falscher Typ, erwartet: %(what)s", what=_type_name(err.validator_value)),
        "minItems": lambda: ngettext(
            "Mindestens ein Eintrag ist nötig.",
            "Mindestens %(num)d Einträge sind nötig.",
            err.validator_value,
        ),
        "minLength": lambda: _("Darf nicht leer sein."),
        "minimum": lambda: _("Der Wert muss mindestens %(min)s sein.", min=err.validator_value),
        "maximum": lambda: _("Der Wert darf höchstens %(max)s sein.", max=err.validator_value),
    }
    build = messages.get(err.validator)
    return build() if build else _("Ungültige Angabe.")


def _unexpected(err) -> str:
    """The property names of an additionalProperties error (the library's message is English)."""
    allowed = err.schema.get("properties", {})
    extra = [name for name in err.instance if name not in allowed] if isinstance(err.instance, dict) else []
    return ", ".join(map(str, extra)) or err.message


def _type_name(expected) -> str:
    names = {
        "string": _("Text"), "integer": _("ganze Zahl"), "number": _("Zahl"), "boolean": _("Ja/Nein-Wert"),
        "array": _("Liste"), "object": _("Objekt"),
    }  # fmt: skip
    expected = expected if isinstance(expected, list) else [expected]
    return " / ".join(str(names.get(t, t)) for t in expected)


_PARTS = {  # JSON names in a problem's path, in words
    "states": _l("Zustände"),
    "transitions": _l("Übergänge"),
    "title": _l("Titel"),
    "label": _l("Bezeichnung"),
    "citizen_label": _l("Bezeichnung für Antragsteller:innen"),
    "citizen_hint": _l("Hinweis für Antragsteller:innen"),
    "from": _l("Ausgangszustände"),
    "to": _l("Zielzustand"),
    "roles": _l("Rollen"),
    "fields": _l("Felder"),
    "effects": _l("Wirkungen"),
    "key": _l("Schlüssel"),
    "kind": _l("Art"),
    "name": _l("Name"),
    "help": _l("Hilfetext"),
    "type": _l("Typ"),
    "approval_state": _l("Freigabezustand"),
    "second_approver": _l("Vier-Augen-Prinzip"),
    "due_soon_days": _l("Warnung vor Fristablauf"),
    "de": _l("deutsch"),
    "en": _l("englisch"),
}


def _part(name: str) -> str:
    return str(_PARTS.get(name, name))


def describe_path(doc, pointer: str) -> str:
    """A problem's JSON pointer in words.

    "/transitions/2/from/0" → "Übergang „ablehnen“ › Ausgangszustände 1" (the item's name read from `doc`).
    """
    tokens = [t for t in (pointer or "").split("/") if t]
    parts, node = [], doc
    for i, token in enumerate(tokens):
        parent = tokens[i - 1] if i else None
        child = _child(node, token)
        if token.isdigit() and parent in ("states", "transitions", "fields", "effects"):
            parts[-1] = _item_name(parent, child, int(token))
        elif token.isdigit():
            parts[-1] = f"{parts[-1]} {int(token) + 1}"
        else:
            parts.append(_part(token))
        node = child
    return " › ".join(parts) or _("Ablauf")


def _child(node, token):
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    return node.get(token) if isinstance(node, dict) else None


def _item_name(collection: str, item, index: int) -> str:
    name = (item.get("name") or item.get("key") or item.get("type")) if isinstance(item, dict) else None
    if collection == "states":
        return _("Zustand „%(name)s“", name=name) if name else _("Zustand %(n)d", n=index + 1)
    if collection == "transitions":
        return _("Übergang „%(name)s“", name=name) if name else _("Übergang %(n)d", n=index + 1)
    if collection == "fields":
        return _("Feld „%(name)s“", name=name) if name else _("Feld %(n)d", n=index + 1)
    return _("Wirkung „%(name)s“", name=name) if name else _("Wirkung %(n)d", n=index + 1)


def _duplicates(path: str, names: list[str], message) -> list[tuple[str, str]]:
    return [(f"{path}/{i}/key", message(name=n)) for i, n in enumerate(names) if n in names[:i]]


def _semantic_errors(doc) -> list[tuple[str, str]]:
    states = [s["key"] for s in doc["states"]]
    errors = _duplicates("/states", states, lambda name: _("Zustand „%(name)s“ ist doppelt.", name=name))
    initials = [s for s in doc["states"] if s.get("initial")]
    if len(initials) != 1:
        errors.append(
            ("/states", _("Genau ein Anfangszustand ist nötig (gefunden: %(n)d).", n=len(initials)))
        )
    approval = doc.get("approval_state")
    if approval is not None and approval not in states:
        errors.append(("/approval_state", _unknown_state(approval)))
    names = [t["name"] for t in doc["transitions"]]
    for i, tr in enumerate(doc["transitions"]):
        path = f"/transitions/{i}"
        if tr["name"] in names[:i]:
            errors.append((f"{path}/name", _("Übergang „%(name)s“ ist doppelt.", name=tr["name"])))
        errors += _transition_errors(path, tr, states, approval)
    return errors


def _unknown_state(name: str) -> str:
    return _("Unbekannter Zustand „%(name)s“.", name=name)


def _transition_errors(path: str, tr: dict, states: list[str], approval) -> list[tuple[str, str]]:
    from services.workflow.effects import effect_param_errors

    errors = [(f"{path}/from/{j}", _unknown_state(s)) for j, s in enumerate(tr["from"]) if s not in states]
    if tr["to"] not in states:
        errors.append((f"{path}/to", _unknown_state(tr["to"])))
    errors += [
        (f"{path}/roles/{j}", _("Unbekannte Rolle „%(name)s“.", name=r))
        for j, r in enumerate(tr["roles"])
        if r not in ROLES
    ]
    if tr.get("second_approver") and approval is None:
        message = _("Das Vier-Augen-Prinzip braucht einen Freigabezustand (approval_state).")
        errors.append((f"{path}/second_approver", message))
    if tr.get("second_approver") and "citizen" in tr["roles"]:
        errors.append(
            (f"{path}/second_approver", _("Übergänge der Antragsteller:in brauchen keine Freigabe."))
        )
    keys = [f["key"] for f in tr.get("fields", [])]
    errors += _duplicates(f"{path}/fields", keys, lambda name: _("Feld „%(name)s“ ist doppelt.", name=name))
    for j, effect in enumerate(tr.get("effects", [])):
        errors += [(f"{path}/effects/{j}{p}", r) for p, r in effect_param_errors(effect, keys)]
    return errors


def _flow_errors(doc) -> list[tuple[str, str]]:
    """Rules that keep every request movable (checked once the document itself is sound)."""
    kinds = {s["key"]: s["kind"] for s in doc["states"]}
    return (
        _citizen_role_errors(doc, kinds) + _stranded_state_errors(doc, kinds) + _withdrawal_errors(doc, kinds)
    )


def _citizen_role_errors(doc, kinds: dict) -> list[tuple[str, str]]:
    """The applicant can only answer a question (back to an open state) and withdraw (into a closed
    state) while the request runs: deciding, and everything after a decision, is the department's."""
    errors = []
    for i, tr in enumerate(doc["transitions"]):
        if "citizen" not in tr["roles"]:
            continue
        path = f"/transitions/{i}/roles/{tr['roles'].index('citizen')}"
        if kinds[tr["to"]] == "decided":
            errors.append((path, _decision_message(tr["to"])))
        after = [s for s in tr["from"] if kinds[s] in ("decided", "closed")]
        if after:
            errors.append((path, _after_decision_message(after)))
    return errors


def _decision_message(state: str) -> str:
    return _(
        "Über einen Antrag entscheidet das Amt: Übergänge in den Entscheidungszustand „%(state)s“ "
        "sind für Antragstellende nicht möglich.",
        state=state,
    )


def _after_decision_message(states: list[str]) -> str:
    return _(
        "Nach der Entscheidung handelt nur das Amt: Übergänge aus %(states)s "
        "sind für Antragstellende nicht möglich.",
        states=", ".join(f"„{s}“" for s in states),
    )


def _stranded_state_errors(doc, kinds: dict) -> list[tuple[str, str]]:
    """From every state a request is still running in (open, waiting_for_citizen), staff alone must
    be able to bring it to a decided or closed state; a way out only through the applicant (or none,
    or a loop) would strand requests. The approval state is left by the second approver's confirm/return."""
    edges = [(set(tr["from"]), tr["to"]) for tr in doc["transitions"] if set(tr["roles"]) - {"citizen"}]
    finishable = {key for key, kind in kinds.items() if kind in ("decided", "closed")}
    grown = True
    while grown:  # a state with a staff transition into a finishable state is finishable too
        before = len(finishable)
        finishable |= {s for sources, to in edges if to in finishable for s in sources}
        grown = len(finishable) > before
    return [
        (f"/states/{i}", _stranded_message(state["key"]))
        for i, state in enumerate(doc["states"])
        if state["key"] not in finishable and state["key"] != doc.get("approval_state")
    ]


def _withdrawal_errors(doc, kinds: dict) -> list[tuple[str, str]]:
    """An applicant who may withdraw (a citizen transition into a closed state) may do so from every
    state the request is still running in, the approval state included: an application can be
    withdrawn until it is decided, and a decision awaiting its second approver is not one yet."""
    withdrawals = [t for t in doc["transitions"] if "citizen" in t["roles"] and kinds[t["to"]] == "closed"]
    sources = {s for tr in withdrawals for s in tr["from"]}
    if not sources:
        return []
    return [
        (f"/states/{i}", _no_withdrawal_message(state["key"]))
        for i, state in enumerate(doc["states"])
        if state["kind"] in ("open", "waiting_for_citizen") and state["key"] not in sources
    ]


def _no_withdrawal_message(state: str) -> str:
    return _(
        "Im Zustand „%(state)s“ können Antragstellende ihren Antrag nicht zurückziehen, in anderen "
        "laufenden Zuständen schon: Nehmen Sie „%(state)s“ in die Ausgangszustände des Zurückziehens auf.",
        state=state,
    )


def _stranded_message(state: str) -> str:
    return _(
        "Vom Zustand „%(state)s“ aus kann das Amt den Antrag weder entscheiden noch abschließen: "
        "Anträge blieben dort hängen.",
        state=state,
    )


def parse_workflow(doc, version_id=None) -> WorkflowSpec:
    """Validate and parse a document; raises InvalidDefinition with (path, reason) pairs.

    A published version (`version_id`) is only checked for what parsing needs, so the requests
    pinned to it keep working even if a rule added later (_flow_errors) would refuse it now."""
    errors = validate_workflow(doc) if version_id is None else _document_errors(doc)
    if errors:
        raise InvalidDefinition(errors)
    states = {
        s["key"]: StateSpec(
            s["key"],
            s["kind"],
            bool(s.get("initial")),
            s["label"],
            s.get("citizen_label") or {},
            s.get("citizen_hint") or {},
        )
        for s in doc["states"]
    }
    transitions = {t["name"]: _parse_transition(t) for t in doc["transitions"]}
    return WorkflowSpec(
        doc["title"], states, transitions, doc.get("approval_state"), doc.get("due_soon_days", 2), version_id
    )


def _parse_transition(t) -> Transition:
    fields = tuple(
        FieldSpec(
            f["key"],
            f["type"],
            f["label"],
            f.get("help") or {},
            bool(f.get("required")),
            bool(f.get("public")),
            f.get("max_length", 5000),
        )
        for f in t.get("fields", [])
    )
    return Transition(
        name=t["name"],
        labels=t["label"],
        from_states=tuple(t["from"]),
        to=t["to"],
        roles=tuple(t["roles"]),
        comment_required=bool(t.get("comment_required")),
        second_approver=bool(t.get("second_approver")),
        form_fields=fields,
        effects=tuple(t.get("effects", [])),
        style=t.get("style", "secondary"),
    )


_spec_cache: dict[tuple, WorkflowSpec] = {}


def load_spec(version_or_doc) -> WorkflowSpec:
    """Parsed spec of a WorkflowVersion (cached per id: versions are immutable) or of a raw document."""
    if not isinstance(version_or_doc, WorkflowVersion):
        return parse_workflow(version_or_doc)
    # published_at in the key: ids restart when a database is recreated in the same process (tests)
    key = (version_or_doc.id, version_or_doc.published_at)
    spec = _spec_cache.get(key)
    if spec is None:
        spec = _spec_cache[key] = parse_workflow(version_or_doc.document, version_or_doc.id)
    return spec


def publish_workflow(definition: WorkflowDefinition, actor=None, change_note: str = "") -> WorkflowVersion:
    """Freeze the definition's draft as the next immutable version; raises InvalidDefinition."""
    parse_workflow(definition.draft)
    number = (
        db.session.scalar(
            select(func.max(WorkflowVersion.number)).where(WorkflowVersion.definition_id == definition.id)
        )
        or 0
    ) + 1
    version = WorkflowVersion(
        definition=definition,
        number=number,
        document=json.loads(json.dumps(definition.draft)),
        change_note=change_note,
        published_by_id=actor.id if actor is not None else None,
    )
    db.session.add(version)
    text = N_("Ablauf „%(name)s“ Version %(n)s veröffentlicht", name=definition.name, n=number).stored()
    db.session.add(
        ConfigChange(
            department_id=definition.department_id,
            actor_id=version.published_by_id,
            object_type="workflow",
            object_id=definition.key,
            action="publish",
            summary=config_log.render(text, "de"),
            details={"note": change_note, "text": text},
        )
    )
    db.session.flush()
    return version


def create_definition(key: str, name: str, document: dict, department=None) -> WorkflowDefinition:
    """A new workflow definition with `document` as its draft (not yet published)."""
    definition = WorkflowDefinition(
        key=key, name=name, draft=document, department_id=department.id if department is not None else None
    )
    db.session.add(definition)
    db.session.flush()
    return definition


def workflow_for_service(service) -> WorkflowVersion:
    """Latest published version of the service's workflow (the default workflow when none is linked).

    One query; the document stays unloaded (load_spec caches parsed versions by id).
    """
    linked = ServiceWorkflow.service_id.is_not(None)
    query = (
        select(WorkflowVersion)
        .select_from(WorkflowDefinition)
        .outerjoin(
            ServiceWorkflow,
            (ServiceWorkflow.workflow_id == WorkflowDefinition.id)
            & (ServiceWorkflow.service_id == service.id),
        )
        .outerjoin(WorkflowVersion, WorkflowVersion.definition_id == WorkflowDefinition.id)
        .where(linked | (WorkflowDefinition.key == DEFAULT_WORKFLOW_KEY))
        # the linked definition first (even without versions: then there is none), then the newest
        .order_by(linked.desc(), WorkflowVersion.number.desc().nulls_last())
        .limit(1)
        .options(defer(WorkflowVersion.document))
    )
    row = db.session.execute(query).first()
    version = row[0] if row is not None else None
    if version is None:
        raise InvalidDefinition([("/", _("Für diese Leistung ist kein veröffentlichter Ablauf hinterlegt."))])
    return version


def link_service(service, definition: WorkflowDefinition) -> None:
    """Make `service` use `definition` for new requests."""
    link = db.session.get(ServiceWorkflow, service.id)
    if link is None:
        db.session.add(ServiceWorkflow(service_id=service.id, workflow_id=definition.id))
    else:
        link.workflow_id = definition.id
    db.session.flush()


def default_document(variant: str = "standard") -> dict:
    """The shipped default permit workflow ("standard") or its four-eyes variant ("vier_augen")."""
    doc = json.loads((Path(__file__).parent / "default_workflow.json").read_text(encoding="utf-8"))
    if variant == "vier_augen":
        return four_eyes_variant(doc)
    return doc


def four_eyes_variant(doc: dict) -> dict:
    """Copy of `doc` where approve and reject need a second approver (adds the zur_freigabe state)."""
    doc = json.loads(json.dumps(doc))
    doc["title"] = {
        "de": doc["title"]["de"] + " (Vier-Augen-Prinzip)",
        "en": doc["title"]["en"] + " (four-eyes)",
    }
    doc["approval_state"] = "zur_freigabe"
    doc["states"].insert(
        2,
        {
            "key": "zur_freigabe",
            "kind": "open",
            "label": {"de": "Zur Freigabe (Vier-Augen-Prinzip)", "en": "Awaiting second approval"},
            "citizen_label": {"de": "In Bearbeitung", "en": "Being processed"},
            "citizen_hint": {
                "de": "Ihr Antrag wird gerade geprüft.",
                "en": "Your application is being reviewed.",
            },
        },
    )
    for tr in doc["transitions"]:
        if tr["name"] in ("genehmigen", "ablehnen"):
            tr["second_approver"] = True
        if tr["name"] in ("zurueckziehen", "zurueckziehen_im_auftrag"):
            tr["from"].append("zur_freigabe")
    return doc
