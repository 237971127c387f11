"""Department self-service for routing rules, workflows and notice templates.

Thin rules on top of the engines (services.workflow, services.notices.templates); every change
records a ConfigChange. Flushes, never commits; the actor is a parameter.
"""

import copy
import re

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from extensions import db
from models import Department, FormDefinition, NoticeTemplate, RoutingRule, WorkflowDefinition
from services import designer, jsonlogic, option_values
from services.config_log import N_, record_change
from services.errors import InvalidDefinition, ValidationFailed
from services.json_text import parse_json_text
from services.notices import NOTICE_KINDS
from services.notices import templates as notice_templates
from services.notices.context import bundled_source
from services.notices.preview import preview_context
from services.workflow import link_service, publish_workflow, validate_workflow
from services.workflow.routing import routing_rules

ROLES = ("clerk", "dept_admin", "citizen")

# --- routing -----------------------------------------------------------------------------------


def routing_targets() -> list[Department]:
    """Departments a request can be routed to (active ones)."""
    return list(
        db.session.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.name_de))
    )


def parse_rule(text: str):
    """A JsonLogic rule from JSON text; raises ValidationFailed(field="rule") with line/column."""
    return parse_json_text(text, "rule")


def save_rule(service, rule: RoutingRule | None, label: str, condition, department, actor) -> RoutingRule:
    """Create (rule None) or change a routing rule; the condition must be usable JsonLogic."""
    if condition is None:
        raise ValidationFailed(_("Bitte legen Sie eine Bedingung fest."), field="rule")
    problems = jsonlogic.check_rule(condition)
    if problems:
        raise ValidationFailed(
            _(
                "Die Bedingung ist ungültig: %(problems)s",
                problems=" ".join(dict.fromkeys(reason for _path, reason in problems)),
            ),
            field="rule",
        )
    missing = missing_fields(condition, *form_documents(service))
    if missing:
        raise ValidationFailed(
            _(
                "Die Bedingung bezieht sich auf %(fields)s, aber das Formular der Leistung hat kein solches "
                "Feld (weder in der veröffentlichten Version noch im Entwurf). Die Regel träfe nie zu.",
                fields=", ".join(f"„{name}“" for name in missing),
            ),
            field="rule",
        )
    unknown = unknown_option_values(condition, *form_documents(service))
    if unknown:
        raise ValidationFailed(" ".join(dict.fromkeys(unknown)), field="rule")
    if department is None or not department.active:
        raise ValidationFailed(_("Bitte wählen Sie ein aktives Amt."), field="department")
    action = "update"
    if rule is None:
        action = "create"
        position = db.session.scalar(
            select(func.coalesce(func.max(RoutingRule.position), -1)).where(
                RoutingRule.service_id == service.id
            )
        )
        rule = RoutingRule(service_id=service.id, position=position + 1)
        db.session.add(rule)
    rule.label, rule.condition, rule.department_id = label.strip(), condition, department.id
    rule.department = department
    db.session.flush()
    record_change(
        service.department,
        actor,
        "routing",
        service.slug,
        action,
        N_(
            "Zuständigkeitsregel „%(label)s“ → %(dept)s",
            label=rule.label or rule.id,
            dept={"de": department.name_de, "en": department.name_en or department.name_de},
        ),
        {"rule_id": rule.id, "condition": condition, "department": department.slug},
    )
    return rule


def delete_rule(service, rule: RoutingRule, actor) -> None:
    label = rule.label or str(rule.id)
    db.session.delete(rule)
    db.session.flush()
    _renumber(service)
    record_change(
        service.department,
        actor,
        "routing",
        service.slug,
        "delete",
        N_("Zuständigkeitsregel „%(label)s“ gelöscht", label=label),
    )


def move_rule(service, rule: RoutingRule, step: int, actor) -> None:
    rules = routing_rules(service)
    index = rules.index(rule)
    target = index + step
    if 0 <= target < len(rules):
        rules[index], rules[target] = rules[target], rules[index]
        for position, item in enumerate(rules):
            item.position = position
        db.session.flush()
        record_change(
            service.department,
            actor,
            "routing",
            service.slug,
            "move",
            N_("Reihenfolge der Zuständigkeitsregeln geändert"),
        )


def _renumber(service) -> None:
    for position, item in enumerate(routing_rules(service)):
        item.position = position
    db.session.flush()


def form_documents(service) -> list[dict]:
    """The service's published form document (if any) and its draft."""
    definition = db.session.scalar(select(FormDefinition).where(FormDefinition.service_id == service.id))
    if definition is None:
        return []
    latest = definition.latest
    return [latest.document, definition.draft] if latest else [definition.draft]


def answer_keys(document: dict) -> set[str]:
    """Top-level keys a request's answers can have under this form (info texts give no answer)."""
    return {
        f.get("key")
        for _page, f, group in designer.iter_fields(document)
        if group is None and isinstance(f.get("key"), str) and f.get("type") != "info"
    }


def missing_fields(condition, *documents: dict) -> list[str]:
    """Field names `condition` reads that none of `documents` has (`anschrift.postcode` needs
    `anschrift`), sorted. No documents: nothing can be checked, nothing is missing."""
    if not documents:
        return []
    known = set().union(*(answer_keys(doc) for doc in documents))
    return sorted(name for name in jsonlogic.referenced_vars(condition) if name.split(".")[0] not in known)


def unknown_option_values(condition, *documents: dict) -> list[str]:
    """Why `condition` never matches where it compares a choice field with a value no option of it
    has in any of `documents` (an option only the draft has is fine: a rule may be prepared)."""
    choices: dict = {}
    for document in documents:
        for key, options in option_values.choice_fields(document).items():
            known = choices.setdefault(key, [])
            known.extend(o for o in options if o not in known)
    found = option_values.unknown_values(condition, choices)
    return list(dict.fromkeys(option_values.describe(key, value, options) for key, value, options in found))


def rules_with_unknown_option_values(service, document: dict) -> dict[int, list[str]]:
    """{rule id: reasons} for the service's routing rules comparing a choice of `document` with a
    value it never stores (saved before the editor refused them, or an option removed since)."""
    found = {}
    for rule in routing_rules(service):
        reasons = unknown_option_values(rule.condition, document)
        if reasons:
            found[rule.id] = reasons
    return found


def follow_renames(condition, renames: dict) -> tuple:
    """(condition reading the new keys, {old: new} that applied) for renames {old: new}; all at once,
    so swapped keys (a → b, b → a) stay swapped."""
    read = {name.split(".")[0] for name in jsonlogic.referenced_vars(condition)}
    applied = {old: new for old, new in (renames or {}).items() if old in read and old != new}
    for i, old in enumerate(applied):
        condition = designer.renamed_vars(condition, old, f"\0{i}")
    for i, new in enumerate(applied.values()):
        condition = designer.renamed_vars(condition, f"\0{i}", new)
    return condition, applied


def rules_missing_fields(service, document: dict, renames: dict | None = None) -> list[tuple]:
    """[(rule, missing field names)] for the service's routing rules that read a field `document`
    lacks, after the pending `renames` {old: new} are applied (they are, at publication)."""
    found = []
    for rule in routing_rules(service):
        missing = missing_fields(follow_renames(rule.condition, renames)[0], document)
        if missing:
            found.append((rule, missing))
    return found


def rules_to_rename(service, renames: dict) -> list[tuple]:
    """[(rule, new condition, {old: new} applied)] for the rules that `renames` change."""
    changed = []
    for rule in routing_rules(service):
        condition, applied = follow_renames(rule.condition, renames)
        if applied:
            changed.append((rule, condition, applied))
    return changed


def apply_field_renames(service, renames: dict, actor) -> list[RoutingRule]:
    """Make the routing rules read the renamed fields (called when the renaming form is published)."""
    changed = rules_to_rename(service, renames)
    for rule, condition, applied in changed:
        rule.condition = condition  # a new object: the JSON column sees the change
        db.session.flush()
        record_change(
            service.department,
            actor,
            "routing",
            service.slug,
            "rename_field",
            N_(
                "Zuständigkeitsregel „%(label)s“ folgt umbenannten Feldern: %(renames)s",
                label=rule.label or rule.id,
                renames=", ".join(f"{old} → {new}" for old, new in applied.items()),
            ),
            {"rule_id": rule.id, "condition": condition, "renames": applied},
        )
    return [rule for rule, _condition, _applied in changed]


def routing_fields(document: dict) -> list[tuple[str, str]]:
    """(var name, label) a routing condition can use: top-level fields, address parts."""
    found = []
    for page in document.get("pages", []) if isinstance(document, dict) else []:
        for f in page.get("fields", []) if isinstance(page, dict) else []:
            if not isinstance(f, dict) or f.get("type") in ("info", "file", "group"):
                continue
            label = (
                (f.get("label") or {}).get("de", f.get("key", "")) if isinstance(f.get("label"), dict) else ""
            )
            if f.get("type") == "address":
                for part, text in (("postcode", _("Postleitzahl")), ("city", _("Ort"))):
                    found.append((f"{f['key']}.{part}", f"{label} – {text} ({f['key']}.{part})"))
            else:
                found.append((f.get("key", ""), f"{label} ({f.get('key', '')})"))
    return found


# --- workflows ---------------------------------------------------------------------------------


def workflows_for(department) -> list[WorkflowDefinition]:
    """Shared (seeded) workflows plus the department's own copies."""
    query = select(WorkflowDefinition).where(
        or_(WorkflowDefinition.department_id.is_(None), WorkflowDefinition.department_id == department.id)
    )
    return list(
        db.session.scalars(
            query.order_by(WorkflowDefinition.department_id.is_(None).desc(), WorkflowDefinition.name)
        )
    )


def may_use_workflow(definition, department) -> bool:
    return definition.department_id in (None, department.id)


def choose_workflow(service, definition, actor) -> None:
    if not may_use_workflow(definition, service.department):
        raise ValidationFailed(_("Diesen Ablauf kann das Amt nicht verwenden."), field="workflow")
    if definition.latest is None:
        raise ValidationFailed(_("Dieser Ablauf ist noch nicht veröffentlicht."), field="workflow")
    link_service(service, definition)
    record_change(
        service.department,
        actor,
        "workflow",
        service.slug,
        "choose",
        N_("Leistung verwendet den Ablauf „%(name)s“", name=definition.name),
        {"workflow": definition.key},
    )


def copy_workflow(source, department, name: str, actor) -> WorkflowDefinition:
    """A department-owned copy of `source` (its latest version, else its draft) to adjust."""
    base = re.sub(r"[^a-z0-9]+", "-", f"{department.slug}-{source.key}".lower()).strip("-")[:70]
    key, n = base, 2
    while db.session.scalar(select(WorkflowDefinition.id).where(WorkflowDefinition.key == key)) is not None:
        key, n = f"{base}-{n}", n + 1
    document = copy.deepcopy(source.latest.document if source.latest else source.draft)
    definition = WorkflowDefinition(key=key, name=name.strip(), draft=document, department_id=department.id)
    db.session.add(definition)
    db.session.flush()
    record_change(
        department,
        actor,
        "workflow",
        key,
        "copy",
        N_("Ablauf „%(source)s“ kopiert als „%(name)s“", source=source.name, name=definition.name),
    )
    return definition


def transitions_of(doc) -> list[dict]:
    """The well-formed transitions of a (possibly malformed) workflow document."""
    value = doc.get("transitions") if isinstance(doc, dict) else None
    return (
        [t for t in value if isinstance(t, dict) and isinstance(t.get("name"), str)]
        if isinstance(value, list)
        else []
    )


def workflow_from_form(doc: dict, due_soon_days, transitions: dict, state_labels: dict | None = None) -> dict:
    """Apply the structured editor to a document copy.

    transitions: {name: {"roles": [...], "second_approver": bool, "label_de": str}}. Turning on
    four-eyes for any transition adds the `zur_freigabe` approval state when missing, and every
    transition into a closed state that leaves each running state (the withdrawals of the standard
    workflow) leaves the approval state too, as in the shipped four-eyes variant: while a decision
    awaits its second approver the applicant can still withdraw (which voids the proposal).
    """
    doc = copy.deepcopy(doc)
    for state in doc.get("states", []) if isinstance(doc.get("states"), list) else []:
        label = (state_labels or {}).get(state.get("key")) if isinstance(state, dict) else None
        if label:
            state["label"] = {
                **(state.get("label") if isinstance(state.get("label"), dict) else {}),
                "de": label,
            }
    if due_soon_days is not None:
        doc["due_soon_days"] = due_soon_days
    for tr in transitions_of(doc):
        change = transitions.get(tr.get("name"))
        if not change:
            continue
        tr["roles"] = [r for r in ROLES if r in change.get("roles", [])]
        if change.get("second_approver"):
            tr["second_approver"] = True
        else:
            tr.pop("second_approver", None)
        if change.get("label_de"):
            tr.setdefault("label", {})["de"] = change["label_de"]
    if any(t.get("second_approver") for t in transitions_of(doc)) and not doc.get("approval_state"):
        doc["approval_state"] = "zur_freigabe"
        states = doc.get("states") if isinstance(doc.get("states"), list) else []
        if not any(isinstance(s, dict) and s.get("key") == "zur_freigabe" for s in states):
            doc["states"] = [*states, {
                "key": "zur_freigabe", "kind": "open",
                "label": {"de": "Zur Freigabe (Vier-Augen-Prinzip)", "en": "Awaiting second approval"},
                "citizen_label": {"de": "In Bearbeitung", "en": "Being processed"},
            }]  # fmt: skip
    if any(t.get("second_approver") for t in transitions_of(doc)):
        _leave_approval_state_like_every_running_state(doc)
    return doc


def _leave_approval_state_like_every_running_state(doc: dict) -> None:
    """Add the approval state to the `from` of each transition into a `closed` state (a withdrawal)
    that leaves every other running (open, waiting_for_citizen) state: ending the procedure that is
    possible throughout stays possible while a decision awaits approval."""
    approval = doc.get("approval_state")
    value = doc.get("states")
    states = [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []
    if not isinstance(approval, str) or not any(s.get("key") == approval for s in states):
        return
    running = {
        s["key"]
        for s in states
        if s.get("kind") in ("open", "waiting_for_citizen") and isinstance(s.get("key"), str)
    } - {approval}
    closed = [s.get("key") for s in states if s.get("kind") == "closed"]
    for tr in transitions_of(doc):
        sources = tr.get("from")
        if not running or tr.get("to") not in closed or not isinstance(sources, list) or approval in sources:
            continue
        if running <= {s for s in sources if isinstance(s, str)}:
            sources.append(approval)


def save_workflow_draft(definition, name: str, document: dict, actor) -> list[tuple[str, str]]:
    """Store the edited draft (even if invalid) and return validate_workflow's problems."""
    definition.name = name.strip() or definition.name
    definition.draft = document
    db.session.flush()
    department = db.session.get(Department, definition.department_id)
    record_change(
        department,
        actor,
        "workflow",
        definition.key,
        "edit",
        N_("Entwurf des Ablaufs „%(name)s“ geändert", name=definition.name),
    )
    return validate_workflow(document)


def publish_workflow_draft(definition, actor, change_note: str):
    problems = validate_workflow(definition.draft)
    if problems:
        raise InvalidDefinition(
            problems, _("Der Ablauf enthält Fehler und kann nicht veröffentlicht werden.")
        )
    return publish_workflow(definition, actor, change_note.strip())  # records its own ConfigChange


# --- notice templates --------------------------------------------------------------------------


def notice_template_for_edit(service, kind: str, actor) -> NoticeTemplate:
    """The service's own template of `kind`, created as a copy of the city-wide one when missing."""
    if kind not in NOTICE_KINDS:
        raise ValidationFailed(_("Unbekannte Bescheidart."))
    template = notice_templates.get_template(service, kind)
    if template is None:
        default = notice_templates.get_template(None, kind)
        source = default.latest if default is not None and default.latest else None
        html = source.html if source else (default.draft_html if default else bundled_source(kind))
        css = source.css if source else (default.draft_css if default else "")
        template = NoticeTemplate(service_id=service.id, kind=kind, draft_html=html, draft_css=css or "")
        db.session.add(template)
        db.session.flush()
        record_change(
            service.department,
            actor,
            "notice_template",
            f"{service.slug}:{kind}",
            "create",
            N_("Eigene Bescheidvorlage „%(kind)s“ angelegt", kind=NOTICE_KINDS[kind]),
        )
    return template


def save_notice_draft(service, template: NoticeTemplate, html: str, css: str, actor) -> None:
    notice_templates.update_template_draft(template, html, css)
    record_change(
        service.department,
        actor,
        "notice_template",
        f"{service.slug}:{template.kind}",
        "edit",
        N_("Entwurf der Bescheidvorlage „%(kind)s“ geändert", kind=NOTICE_KINDS[template.kind]),
    )


def publish_notice_template(service, template: NoticeTemplate, actor, change_note: str):
    """Publish (only if it renders with sample data; raises InvalidDefinition otherwise)."""
    version = notice_templates.publish_template(template, actor, change_note.strip())
    record_change(
        service.department,
        actor,
        "notice_template",
        f"{service.slug}:{template.kind}",
        "publish",
        N_(
            "Bescheidvorlage „%(kind)s“ Version %(n)s veröffentlicht",
            kind=NOTICE_KINDS[template.kind],
            n=version.number,
        ),
        {"note": change_note},
    )
    return version


def preview_notice_pdf(kind: str, html: str, css: str, service=None) -> bytes:
    """Render `html`/`css` in the notices sandbox with sample data: `service`'s department, title and
    form answers where given (services.notices.preview); raises InvalidDefinition."""
    context = preview_context(kind, service) if kind in NOTICE_KINDS else None
    return notice_templates.render_sample_pdf(kind, html, css, title=_("Vorschau"), context=context)
