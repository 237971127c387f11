"""Seed: the default permit workflow, its four-eyes variant, service links and postcode routing."""

from sqlalchemy import select

from extensions import db
from models import Department, RoutingRule, Service, WorkflowDefinition
from services.workflow.definitions import (
    DEFAULT_WORKFLOW_KEY,
    create_definition,
    default_document,
    link_service,
    publish_workflow,
)

FOUR_EYES_KEY = "genehmigung-vier-augen"
# Services whose decisions need a second approver (Vier-Augen-Prinzip).
FOUR_EYES_SERVICES = ("sondernutzungserlaubnis", "gewerbeanmeldung")
# Services routed to the district offices by the applicant's postcode.
POSTCODE_ROUTED_SERVICES = ("sondernutzungserlaubnis", "bewohnerparkausweis")
NORTH, SOUTH = "bezirksamt-nord", "bezirksamt-sued"
POSTCODE_RANGES = {
    NORTH: [(47166, 47179), (47137, 47139)],
    SOUTH: [(47226, 47259), (47269, 47279)],
}


def seed_workflows() -> None:
    """Create/publish both workflows, link every service, add postcode rules (idempotent)."""
    standard = _ensure_definition(DEFAULT_WORKFLOW_KEY, "Genehmigungsverfahren (Standard)", "standard")
    four_eyes = _ensure_definition(
        FOUR_EYES_KEY, "Genehmigungsverfahren mit Vier-Augen-Prinzip", "vier_augen"
    )
    for service in db.session.scalars(select(Service).order_by(Service.id)):
        link_service(service, four_eyes if service.slug in FOUR_EYES_SERVICES else standard)
    for slug in POSTCODE_ROUTED_SERVICES:
        service = db.session.scalar(select(Service).where(Service.slug == slug))
        if service is not None:
            seed_postcode_rules(service)
    db.session.flush()


def _ensure_definition(key: str, name: str, variant: str) -> WorkflowDefinition:
    definition = db.session.scalar(select(WorkflowDefinition).where(WorkflowDefinition.key == key))
    if definition is None:
        definition = create_definition(key, name, default_document(variant))
    if definition.latest is None:
        publish_workflow(definition, None, "Mitgeliefertes Standardverfahren")
        db.session.refresh(definition)
    return definition


def postcode_field(service) -> str | None:
    """Key of the service form's address field (its `postcode` part is routed on), if any."""
    definition = getattr(service, "form_definition", None)
    if definition is None:
        return None
    document = definition.latest.document if definition.versions else definition.draft
    for page in document.get("pages", []):
        for field in page.get("fields", []):
            if field.get("type") == "address":
                return field["key"]
    return None


def postcode_condition(var: str, ranges) -> dict:
    """JsonLogic: the postcode (5 digits, compared as numbers) lies in one of the ranges."""
    return {"or": [{"<=": [low, {"var": var}, high]} for low, high in ranges]}


def seed_postcode_rules(service) -> list[RoutingRule]:
    """Bezirksamt Nord/Süd by postcode; others stay with the owning department (idempotent)."""
    field = postcode_field(service)
    if field is None or db.session.scalar(select(RoutingRule.id).where(RoutingRule.service_id == service.id)):
        return []
    rules = []
    for position, slug in enumerate((NORTH, SOUTH)):
        department = db.session.scalar(select(Department).where(Department.slug == slug))
        if department is None:
            continue
        ranges = POSTCODE_RANGES[slug]
        label = "PLZ " + ", ".join(f"{low}–{high}" for low, high in ranges) + f" → {department.name_de}"
        rule = RoutingRule(
            service_id=service.id,
            position=position,
            label=label,
            condition=postcode_condition(f"{field}.postcode", ranges),
            department_id=department.id,
        )
        db.session.add(rule)
        rules.append(rule)
    db.session.flush()
    return rules
