"""Seed: the form definitions of the five demo services (JSON documents in form_definitions/)."""

import json
from pathlib import Path

from sqlalchemy import select

from extensions import db
from models import FormDefinition, Service
from services.formdefs import checksum, latest_version_of, publish_form
from services.seed import CREATED, UNCHANGED, UPDATED, SeedReport

DEFINITIONS_DIR = Path(__file__).resolve().parent / "form_definitions"
CHANGE_NOTE = "Mitgeliefertes Formular (Demo)"


def demo_documents() -> dict[str, dict]:
    """{service slug: definition document} for every JSON file of the demo."""
    paths = sorted(DEFINITIONS_DIR.glob("*.json"))
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in paths}


def seed_forms(report: SeedReport) -> None:
    """Store each demo document as the service's draft and publish it when it changed (idempotent)."""
    for slug, document in demo_documents().items():
        service = db.session.scalar(select(Service).where(Service.slug == slug))
        if service is None:
            continue  # the catalog step did not create this service (e.g. a trimmed demo)
        seed_form(service, document, report)


def seed_form(service: Service, document: dict, report: SeedReport) -> None:
    definition = db.session.scalar(select(FormDefinition).where(FormDefinition.service_id == service.id))
    if definition is None:
        definition = FormDefinition(service_id=service.id, draft=document)
        db.session.add(definition)
        db.session.flush()
        report.record("form_definitions", CREATED)
    elif checksum(definition.draft) != checksum(document):
        definition.draft = document
        report.record("form_definitions", UPDATED)
    else:
        report.record("form_definitions", UNCHANGED)
    latest = latest_version_of(definition)
    if latest is not None and latest.checksum == checksum(document):
        report.record("form_versions", UNCHANGED)
        return
    publish_form(definition, None, CHANGE_NOTE)
    report.record("form_versions", CREATED)
