"""The structured workflow editor (services.admin_config.workflow_from_form): four-eyes keeps withdrawal."""

from sqlalchemy import select

from extensions import db as _db
from models import ApprovalProposal
from services.admin_config import workflow_from_form
from services.workflow import (
    apply_transition,
    available_transitions,
    create_definition,
    default_document,
    link_service,
    open_proposal,
    publish_workflow,
    validate_workflow,
)
from services.workflow.definitions import four_eyes_variant
from tests.factories import ServiceFactory, clerk_of, started_request

FOUR_EYES_FOR_APPROVAL = {"genehmigen": {"roles": ["clerk"], "second_approver": True}}


def _from(doc, name):
    return next(t for t in doc["transitions"] if t["name"] == name)["from"]


def test_four_eyes_in_the_editor_keeps_withdrawal_from_the_approval_state(app_ctx):
    doc = workflow_from_form(default_document(), None, FOUR_EYES_FOR_APPROVAL)
    assert doc["approval_state"] == "zur_freigabe"
    shipped = four_eyes_variant(default_document())
    for name in ("zurueckziehen", "zurueckziehen_im_auftrag"):
        assert _from(doc, name) == _from(shipped, name)  # as the seeded four-eyes workflow does
    for name in ("bearbeitung_beginnen", "rueckfrage_stellen", "genehmigen", "ablehnen", "abschliessen"):
        assert "zur_freigabe" not in _from(doc, name)  # only what ends the procedure from everywhere
    assert validate_workflow(doc) == []


def test_editor_is_idempotent_and_repairs_copies_saved_without_withdrawal(app_ctx):
    broken = four_eyes_variant(default_document())
    for name in ("zurueckziehen", "zurueckziehen_im_auftrag"):
        _from(broken, name).remove("zur_freigabe")  # as the editor used to save it
    doc = workflow_from_form(broken, None, FOUR_EYES_FOR_APPROVAL)
    again = workflow_from_form(doc, None, FOUR_EYES_FOR_APPROVAL)
    assert _from(again, "zurueckziehen") == ["eingegangen", "in_bearbeitung", "rueckfrage", "zur_freigabe"]
    assert again == doc


def test_editor_leaves_the_workflow_alone_without_four_eyes(app_ctx):
    doc = workflow_from_form(default_document(), None, {"genehmigen": {"roles": ["clerk"]}})
    assert "approval_state" not in doc
    assert _from(doc, "zurueckziehen") == _from(default_document(), "zurueckziehen")


def test_validator_refuses_a_four_eyes_workflow_without_withdrawal_while_awaiting_approval(app_ctx):
    doc = four_eyes_variant(default_document())
    _from(doc, "zurueckziehen").remove("zur_freigabe")
    (path, reason), *more = validate_workflow(doc)
    assert path == "/states/2" and not more
    assert reason.startswith("Im Zustand „zur_freigabe“ können Antragstellende ihren Antrag nicht")


def test_citizen_withdraws_a_request_awaiting_approval_under_an_edited_workflow(db, monkeypatch):
    monkeypatch.setattr("services.notices.request_notice", lambda *a, **k: None, raising=False)
    document = workflow_from_form(default_document(), None, FOUR_EYES_FOR_APPROVAL)
    service = ServiceFactory()
    definition = create_definition("eigen-vier-augen", "Eigen", document, service.department)
    publish_workflow(definition, None)
    link_service(service, definition)
    req = started_request(service=service)
    first, second = clerk_of(req.department), clerk_of(req.department)
    for name, actor in (("bearbeitung_beginnen", first), ("genehmigen", first)):
        apply_transition(req, name, actor, {}, req.row_version)
    assert req.state == "zur_freigabe" and open_proposal(req) is not None
    assert [t.name for t in available_transitions(req, req.applicant)] == ["zurueckziehen"]
    apply_transition(req, "zurueckziehen", req.applicant, {}, req.row_version)
    assert req.state == "zurueckgezogen" and open_proposal(req) is None
    assert _db.session.scalar(select(ApprovalProposal.outcome)) == "superseded"
    assert available_transitions(req, second) == []
