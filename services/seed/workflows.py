"""Seed: the default permit workflow, its four-eyes variant, service links and postcode routing."""

from sqlalchemy import select

from extensions import db
from models import Department, RoutingRule, Service, ServiceWorkflow, WorkflowDefinition
from services.seed import CREATED, UNCHANGED, upsert
from services.workflow.definitions import DEFAULT_WORKFLOW_KEY, default_document, publish_workflow

FOUR_EYES_KEY = "genehmigung-vier-augen"
# Decisions need a second approver (Vier-Augen-Prinzip); the demo Straßenverkehrsamt has two clerks.
FOUR_EYES_SERVICES = ("sondernutzungserlaubnis",)
# Service -> address field of its form whose postcode routes it to a district office.
POSTCODE_ROUTED_SERVICES = {"sondernutzungserlaubnis": "ort", "bewohnerparkausweis": "meldeadresse"}
NORTH, SOUTH = "bezirksamt-nord", "bezirksamt-sued"
POSTCODE_RANGES = {
    NORTH: [(47166, 47179), (47137, 47139)],
    SOUTH: [(47226, 47259), (47269, 47279)],
}


def seed_workflows(report) -> None:
    """Publish both workflows, link every service, add postcode rules (idempotent)."""
    standard = _ensure_definition(
        DEFAULT_WORKFLOW_KEY, "Genehmigungsverfahren (Standard)", "standard", report
    )
    four_eyes = _ensure_definition(
        FOUR_EYES_KEY, "Genehmigungsverfahren mit Vier-Augen-Prinzip", "vier_augen", report
    )
    for service in db.session.scalars(select(Service).order_by(Service.id)):
        definition = four_eyes if service.slug in FOUR_EYES_SERVICES else standard
        upsert(
            ServiceWorkflow,
            {"service_id": service.id},
            {"workflow_id": definition.id},
            report,
            "service workflows",
        )
    for slug, field in POSTCODE_ROUTED_SERVICES.items():
        service = db.session.scalar(select(Service).where(Service.slug == slug))
        if service is not None:
            seed_postcode_rules(service, field, report)


def _ensure_definition(key: str, name: str, variant: str, report) -> WorkflowDefinition:
    """Upsert the definition; publish a new version only when the shipped document changed."""
    document = default_document(variant)
    definition = upsert(
        WorkflowDefinition, {"key": key}, {"name": name, "draft": document}, report, "workflows"
    )
    latest = definition.latest
    if latest is None or latest.document != document:
        publish_workflow(definition, None, "Mitgeliefertes Standardverfahren")
        db.session.refresh(definition)
        report.record("workflow versions", CREATED)
    else:
        report.record("workflow versions", UNCHANGED)
    return definition


def address_field_exists(service, field: str) -> bool:
    """Whether the service's form has an address field `field` (its postcode is routed on)."""
    definition = getattr(service, "form_definition", None)
    if definition is None:
        return False
    document = definition.latest.document if definition.versions else definition.draft
    fields = [f for page in document.get("pages", []) for f in page.get("fields", [])]
    return any(f.get("key") == field and f.get("type") == "address" for f in fields)


def postcode_condition(var: str, ranges) -> dict:
    """JsonLogic: the postcode (5 digits, compared as numbers) lies in one of the ranges."""
    return {"or": [{"<=": [low, {"var": var}, high]} for low, high in ranges]}


def seed_postcode_rules(service, field: str, report) -> None:
    """Bezirksamt Nord/Süd by the postcode of `field`; all others stay with the owning department."""
    if not address_field_exists(service, field):
        raise ValueError(f"{service.slug}: form has no address field {field!r} to route on")
    for position, slug in enumerate((NORTH, SOUTH)):
        department = db.session.scalar(select(Department).where(Department.slug == slug))
        ranges = POSTCODE_RANGES[slug]
        values = {
            "label": "PLZ " + ", ".join(f"{low}–{high}" for low, high in ranges) + f" → {department.name_de}",
            "condition": postcode_condition(f"{field}.postcode", ranges),
            "department_id": department.id,
        }
        upsert(RoutingRule, {"service_id": service.id, "position": position}, values, report, "routing rules")
