"""The submit's direct writes and its cached start plan: same records as the ORM path, never stale."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import ConfigGeneration, Department, FormDefinition, RequestEvent, RoutingRule, ServiceRequest
from services import drafts
from services.config_generation import token_column
from services.formdefs import publish_form
from services.submissions import submit_draft
from services.workflow import create_definition, default_document, link_service, publish_workflow
from services.workflow.audit import verify_chains
from services.workflow.start_plan import start_plan
from tests.factories import CitizenFactory, DepartmentFactory, ServiceFactory, started_request
from tests.unit.test_submissions import FORM, VALID


@pytest.fixture
def service(db):
    service = ServiceFactory(slug="plan-test", processing_days=10)
    definition = FormDefinition(service_id=service.id, draft=FORM)
    db.session.add(definition)
    db.session.flush()
    publish_form(definition, None)
    link_service(
        service, publish_workflow(create_definition("plan-wf", "Plan", default_document())).definition
    )
    return service


def _submit(service, answers=VALID):
    user = CitizenFactory()
    draft = drafts.start_draft(service, user)
    drafts.save_answers(draft, answers, "nachweis")
    return submit_draft(draft, user).request


def _token(db):
    return db.session.execute(select(token_column())).scalar()


def _rule_to(db, service, department, condition=None):
    rule = RoutingRule(
        service_id=service.id,
        position=1,
        label="Motorrad",
        department_id=department.id,
        condition=condition or {"==": [{"var": "motorrad"}, True]},
    )
    db.session.add(rule)
    db.session.flush()
    return rule


def test_config_token_changes_with_configuration_only(db, service):
    before = _token(db)
    assert before is not None  # creating the service and its workflow set it
    _submit(service)
    assert _token(db) == before  # drafts, requests, events, notices are not configuration
    _rule_to(db, service, DepartmentFactory())
    after_rule = _token(db)
    assert after_rule != before
    service.department.active = False
    db.session.flush()
    assert _token(db) != after_rule
    assert db.session.scalar(select(ConfigGeneration.id)) == 1  # one row, updated in place


def test_new_routing_rule_applies_to_the_next_submission(db, service):
    first = _submit(service)
    assert first.department_id == service.department_id
    north = DepartmentFactory(slug="bezirksamt-nord")
    rule = _rule_to(db, service, north)
    second = _submit(service)
    assert second.department_id == north.id
    routed = db.session.scalar(
        select(RequestEvent).where(RequestEvent.request_id == second.id, RequestEvent.kind == "routed")
    )
    assert routed.data["rule"] == rule.id and routed.data["rule_label"] == "Motorrad"
    north.active = False  # an inactive department's rule is skipped: the service's own department
    db.session.flush()
    assert _submit(service).department_id == service.department_id


def test_newly_published_workflow_version_is_pinned_by_the_next_submission(db, service):
    first = _submit(service)
    definition = service.workflow_link.workflow
    definition.draft = dict(definition.draft, title={"de": "Neu", "en": "New"})
    newer = publish_workflow(definition, None)
    second = _submit(service)
    assert first.workflow_version_id != newer.id and second.workflow_version_id == newer.id


def test_cached_plan_is_reused_while_the_token_holds(db, service):
    token = _token(db)
    plan = start_plan(service.id, token)
    assert start_plan(service.id, token) is plan
    assert start_plan(service.id, "another-token") is not plan
    assert start_plan(service.id, None) is not start_plan(service.id, None)  # no token: never cached


def test_direct_writes_record_what_the_orm_path_records(db, service):
    north = DepartmentFactory(slug="nord")
    _rule_to(db, service, north)
    submitted = _submit(service)
    orm = started_request(service=service, answers=dict(VALID), reference="ORM-PATH-1")
    for name in ("workflow_version_id", "state", "department_id", "clock_paused_at"):
        assert getattr(submitted, name) == getattr(orm, name), name
    assert submitted.due_at - submitted.submitted_at == timedelta(days=10)
    assert orm.due_at - orm.submitted_at == timedelta(days=10)
    routed = {
        r.request_id: r.data
        for r in db.session.scalars(select(RequestEvent).where(RequestEvent.kind == "routed"))
    }
    assert routed[submitted.id] == routed[orm.id]
    kinds = db.session.scalars(
        select(RequestEvent.kind).where(RequestEvent.request_id == submitted.id).order_by(RequestEvent.seq)
    ).all()
    assert kinds == ["submitted", "routed"]
    assert submitted.last_event_seq == 2
    assert verify_chains() == []  # both chains intact, heads included


def test_submitted_request_reads_back_as_orm_object(db, service):
    req = _submit(service)
    db.session.expire_all()
    again = db.session.get(ServiceRequest, req.id)
    assert again.answers == VALID and again.reference.startswith("DU-")
    assert again.department == db.session.get(Department, service.department_id)


def test_submit_writes_every_row_of_the_request(db, service):
    """Both write paths (one statement on PostgreSQL, one per row elsewhere) leave the same rows."""
    from models import Draft, Notice, NoticeState, OutboxJob, OutboxState
    from services.outbox_dispatch import INFO_KEY

    user = CitizenFactory()
    draft = drafts.start_draft(service, user)
    drafts.save_answers(draft, VALID, "nachweis")
    submitted = submit_draft(draft, user)
    noted = list(db.session.info.get(INFO_KEY, []))
    db.session.expire_all()
    req = db.session.get(ServiceRequest, submitted.id)
    assert (req.public_id, req.reference) == (submitted.public_id, submitted.reference)
    assert req.reference.startswith("DU-") and req.draft_id == draft.id and req.row_version == 1
    assert db.session.get(Draft, draft.id).submitted_at == req.submitted_at
    events = db.session.scalars(
        select(RequestEvent).where(RequestEvent.request_id == req.id).order_by(RequestEvent.seq)
    ).all()
    assert [(e.seq, e.kind, e.actor_id, e.created_at) for e in events] == [
        (1, "submitted", user.id, req.submitted_at),
        (2, "routed", user.id, req.submitted_at),
    ]
    assert (req.last_event_seq, req.last_event_hash) == (2, events[-1].hash)
    assert verify_chains() == []
    notice = db.session.scalars(select(Notice).where(Notice.request_id == req.id)).one()
    assert (notice.kind, notice.revision, notice.state, notice.data, notice.error) == (
        "receipt", 1, NoticeState.PENDING, {}, ""
    )
    assert len(notice.verification_code) == 14 and len(notice.public_id) == 32
    job = db.session.scalars(select(OutboxJob).where(OutboxJob.request_id == req.id)).one()
    assert (job.kind, job.payload, job.state, job.attempts, job.last_error) == (
        "render_notice", {"notice_id": notice.id}, OutboxState.PENDING, 0, ""
    )
    assert job.available_at <= job.created_at + timedelta(seconds=1)
    assert noted == [job.id]  # handed to RQ after the commit


def test_submit_statements_on_postgres(postgres, db, service):
    """PostgreSQL: the lock draws the ids, then one statement writes all rows and draws the reference."""
    from sqlalchemy import event

    from extensions import db as _db

    _submit(service)
    user = CitizenFactory()
    draft = drafts.start_draft(service, user)
    drafts.save_answers(draft, VALID, "nachweis")
    db.session.flush()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(_db.engine, "before_cursor_execute", listener)
    try:
        submitted = submit_draft(draft, user)
    finally:
        event.remove(_db.engine, "before_cursor_execute", listener)
    assert "FOR UPDATE" in statements[0] and "nextval" in statements[0]  # the draft's lock draws the ids
    writes = [s for s in statements if s.startswith(("SELECT nextval", "WITH", "INSERT", "UPDATE"))]
    assert len(writes) == 1, [w[:60] for w in writes]
    assert "INSERT INTO outbox_jobs" in writes[0] and "INSERT INTO reference_counters" in writes[0]
    assert statements[-1] is writes[0]  # the counter stays locked until the commit: nothing after it
    assert submitted.request.reference == submitted.reference


def test_postgres_write_statement_stays_within_psycopgs_cached_conversion():
    """psycopg re-parses a statement with more than 50 parameters on every call (~0.13 ms a submit)."""
    from psycopg._queries import MAX_CACHED_STATEMENT_PARAMS
    from sqlalchemy.dialects.postgresql import psycopg

    from services.submissions import _WRITE_ALL

    assert len(_WRITE_ALL.compile(dialect=psycopg.dialect()).params) <= MAX_CACHED_STATEMENT_PARAMS


def test_postgres_write_statement_sets_only_the_columns_it_means_to():
    """A parameter named like a column of an UPDATEd table would silently be SET as well."""
    import re

    from sqlalchemy.dialects.postgresql import psycopg

    from services.submissions import _WRITE_ALL

    sql = " ".join(str(_WRITE_ALL.compile(dialect=psycopg.dialect())).split())
    sets = dict(re.findall(r"UPDATE (\w+) SET (.*?) WHERE", sql))
    stamp = "%(now)s::TIMESTAMP WITH TIME ZONE"
    assert sets == {
        "drafts": f"updated_at={stamp}, submitted_at={stamp}",
        "attachments": "request_id=%(request_id)s::INTEGER",
    }
