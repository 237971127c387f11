"""factory_boy factories for the core models."""

import itertools
from datetime import timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from extensions import db
from models import Department, Membership, MembershipRole, Service, ServiceRequest, User, UserKind
from models.base import utcnow
from services.passwords import hash_password

PASSWORD = "correct horse battery staple"


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class DepartmentFactory(_Base):
    class Meta:
        model = Department

    slug = factory.Sequence(lambda n: f"amt-{n}")
    name_de = factory.Sequence(lambda n: f"Amt {n}")
    name_en = factory.Sequence(lambda n: f"Office {n}")
    email = factory.LazyAttribute(lambda o: f"{o.slug}@stadt-duisburg.invalid")


class ServiceFactory(_Base):
    class Meta:
        model = Service

    slug = factory.Sequence(lambda n: f"leistung-{n}")
    title_de = factory.Sequence(lambda n: f"Leistung {n}")
    title_en = factory.Sequence(lambda n: f"Service {n}")
    summary_de = "Kurzbeschreibung"
    summary_en = "Summary"
    department = factory.SubFactory(DepartmentFactory)
    fee_cents = 3000
    processing_days = 14
    topic = "mobilitaet"


class UserFactory(_Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Erika Mustermann {n}")
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))
    kind = UserKind.CITIZEN
    email_confirmed_at = factory.LazyFunction(utcnow)


class CitizenFactory(UserFactory):
    pass


class StaffFactory(UserFactory):
    kind = UserKind.STAFF
    email = factory.Sequence(lambda n: f"staff{n}@stadt-duisburg.invalid")


class MembershipFactory(_Base):
    class Meta:
        model = Membership

    user = factory.SubFactory(StaffFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = MembershipRole.CLERK


def clerk_of(department, role=MembershipRole.CLERK) -> User:
    """A staff user with a membership in `department`."""
    return MembershipFactory(department=department, role=role).user


# --- requests (clerk queue area) -------------------------------------------------------------

MINIMAL_FORM = {
    "schema_version": 1,
    "title": {"de": "Antrag", "en": "Application"},
    "pages": [{"key": "angaben", "title": {"de": "Angaben", "en": "Details"}, "fields": [
        {"key": "name", "type": "text", "label": {"de": "Name", "en": "Name"}, "required": True,
         "privacy": "personal"},
    ]}],
}


def form_version_for(service, document=None):
    """The service's published form version (created from `document` or a minimal form when missing)."""
    from models import FormDefinition, FormVersion
    from services.formdefs import checksum

    document = document or MINIMAL_FORM
    definition = service.form_definition or FormDefinition(service=service, draft=document)
    if not definition.versions:
        version = FormVersion(definition=definition, number=1, document=document, checksum=checksum(document))
        db.session.add(version)
        db.session.flush()
    return definition.versions[-1]


class ServiceRequestFactory(_Base):
    """A submitted request, routed to its service's department (no workflow pinned)."""

    class Meta:
        model = ServiceRequest

    service = factory.SubFactory(ServiceFactory)
    form_version = factory.LazyAttribute(lambda o: form_version_for(o.service))
    applicant = factory.SubFactory(CitizenFactory)
    applicant_name = factory.LazyAttribute(lambda o: o.applicant.full_name)
    reference = factory.Sequence(lambda n: f"DU-2026-{n + 1:06d}")
    answers = factory.LazyFunction(lambda: {"name": "Erika Mustermann"})
    state = "eingegangen"
    department = factory.LazyAttribute(lambda o: o.service.department)
    submitted_at = factory.LazyFunction(utcnow)
    due_at = factory.LazyAttribute(lambda o: o.submitted_at + timedelta(days=14))


# --- workflow (workflow area) ----------------------------------------------------------------

_workflow_numbers = itertools.count(1)


def published_workflow(variant: str = "standard", key: str | None = None):
    """A published copy of the shipped default workflow ("standard" or "vier_augen")."""
    from services.workflow import create_definition, default_document, publish_workflow

    key = key or f"wf-{variant}-{next(_workflow_numbers)}"
    definition = create_definition(key, key, default_document(variant))
    return publish_workflow(definition, None)


def started_request(service=None, variant: str = "standard", answers=None, **kwargs):
    """A request as submit_request leaves it: workflow pinned, routed, due date set ('routed' event)."""
    from services.workflow import link_service, start_request

    service = service or ServiceFactory()
    if getattr(service, "workflow_link", None) is None:
        link_service(service, published_workflow(variant).definition)
    req = ServiceRequestFactory(service=service, answers=answers or {"name": "Erika Mustermann"}, **kwargs)
    start_request(req, None)
    return req
