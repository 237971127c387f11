"""Engine: every transition of the default workflow, permissions, illegal moves, four-eyes, locking."""

import pytest
from sqlalchemy import func, select

from extensions import db as _db
from models import ApprovalProposal, InboxItem, MembershipRole, OutboxJob, RequestEvent
from services.errors import InvalidDefinition, StaleObject, TransitionNotAllowed, ValidationFailed
from services.workflow import (
    CONFIRM,
    RETURN,
    apply_transition,
    available_transitions,
    default_document,
    open_proposal,
    pending_approvals,
    state_kind,
    state_label,
    validate_workflow,
)
from tests.factories import CitizenFactory, DepartmentFactory, ServiceFactory, clerk_of, started_request


@pytest.fixture
def notices(monkeypatch):
    """Records the notices the effects ask for (the notices area tests rendering and signing)."""
    calls = []

    def request_notice(req, kind, data=None, actor=None):
        calls.append((kind, data))

    monkeypatch.setattr("services.notices.request_notice", request_notice, raising=False)
    return calls


@pytest.fixture
def req(db, notices):
    return started_request()


def names(req, actor):
    return [t.name for t in available_transitions(req, actor)]


def fire(req, name, actor, data=None):
    return apply_transition(req, name, actor, data or {}, req.row_version)


def history(req):
    return list(
        _db.session.scalars(
            select(RequestEvent).where(RequestEvent.request_id == req.id).order_by(RequestEvent.seq)
        )
    )


def mails(req):
    jobs = _db.session.scalars(
        select(OutboxJob).where(OutboxJob.request_id == req.id, OutboxJob.kind == "send_email")
    )
    return [j.payload["template"] for j in jobs]


def test_start_request_pins_workflow_routes_and_sets_due_date(req):
    assert req.state == "eingegangen"
    assert req.workflow_version is not None
    assert req.department_id == req.service.department_id
    assert (req.due_at - req.submitted_at).days == req.service.processing_days
    assert [e.kind for e in history(req)] == ["routed"]


def test_engine_clerk_and_citizen_see_their_transitions(req):
    clerk = clerk_of(req.department)
    assert names(req, clerk) == ["bearbeitung_beginnen", "zurueckziehen_im_auftrag"]
    assert names(req, req.applicant) == ["zurueckziehen"]
    assert names(req, CitizenFactory()) == []
    assert names(req, clerk_of(DepartmentFactory())) == []


def test_engine_happy_path_approve_and_close(req, notices):
    clerk = clerk_of(req.department)
    fire(req, "bearbeitung_beginnen", clerk)
    assert req.state == "in_bearbeitung"
    fire(req, "genehmigen", clerk, {"comment": "alles vollständig"})
    assert req.state == "genehmigt" and req.decided_at is not None
    assert notices == [("approval", {"fee_cents": 3000})]
    assert available_transitions(req, req.applicant) == []
    fire(req, "abschliessen", clerk)
    assert req.state == "abgeschlossen" and req.closed_at is not None
    kinds = [(e.kind, e.data.get("transition")) for e in history(req)]
    assert kinds == [
        ("routed", None),
        ("transition", "bearbeitung_beginnen"),
        ("transition", "genehmigen"),
        ("transition", "abschliessen"),
    ]
    assert mails(req) == ["request_in_progress", "request_approved", "request_closed"]
    inbox = _db.session.scalars(select(InboxItem.kind).where(InboxItem.user_id == req.applicant_id)).all()
    assert inbox == ["in_progress", "approved", "closed"]


def test_engine_reject_needs_reason_and_issues_rejection(req, notices):
    clerk = clerk_of(req.department)
    fire(req, "bearbeitung_beginnen", clerk)
    with pytest.raises(ValidationFailed) as err:
        fire(req, "ablehnen", clerk, {"reason": "  "})
    assert err.value.details["errors"][0][0] == "reason"
    assert req.state == "in_bearbeitung" and notices == []
    event = fire(req, "ablehnen", clerk, {"reason": "Fläche ist Feuerwehrzufahrt"})
    assert req.state == "abgelehnt"
    assert event.data["fields"] == {"reason": "Fläche ist Feuerwehrzufahrt"}
    assert notices == [("rejection", {"reason": "Fläche ist Feuerwehrzufahrt"})]
    fire(req, "abschliessen", clerk)
    assert req.state == "abgeschlossen"


def test_engine_information_request_round_trip_pauses_clock(req, notices):
    clerk = clerk_of(req.department)
    fire(req, "bearbeitung_beginnen", clerk)
    due = req.due_at
    fire(
        req,
        "rueckfrage_stellen",
        clerk,
        {"message": "Bitte Lageplan nachreichen", "documents": "Lageplan\n\n"},
    )
    assert req.state == "rueckfrage" and req.clock_paused_at is not None
    assert state_kind(req.workflow_version, req.state) == "waiting_for_citizen"
    assert history(req)[-1].data["fields"]["documents"] == ["Lageplan"]
    assert notices == []  # formal notice only when asked for
    assert names(req, req.applicant) == ["antwort_eingegangen", "zurueckziehen"]
    fire(req, "antwort_eingegangen", req.applicant)
    assert req.state == "in_bearbeitung" and req.clock_paused_at is None and req.due_at >= due
    assert mails(req)[-1] == "request_information_requested"


def test_engine_formal_information_request_issues_notice(req, notices):
    clerk = clerk_of(req.department)
    fire(req, "bearbeitung_beginnen", clerk)
    fire(req, "rueckfrage_stellen", clerk, {"message": "Bitte Nachweis", "formal_notice": "y"})
    assert notices[0][0] == "information_request"
    assert notices[0][1]["message"] == "Bitte Nachweis"


def test_engine_clerk_resumes_without_answer_needs_comment(req):
    clerk = clerk_of(req.department)
    fire(req, "bearbeitung_beginnen", clerk)
    fire(req, "rueckfrage_stellen", clerk, {"message": "?"})
    with pytest.raises(ValidationFailed):
        fire(req, "bearbeitung_fortsetzen", clerk)
    fire(req, "bearbeitung_fortsetzen", clerk, {"comment": "Antwort kam per Post"})
    assert req.state == "in_bearbeitung"


@pytest.mark.parametrize("start", ["eingegangen", "in_bearbeitung", "rueckfrage"])
def test_engine_citizen_withdraws_from_every_open_state(req, start):
    clerk = clerk_of(req.department)
    if start != "eingegangen":
        fire(req, "bearbeitung_beginnen", clerk)
    if start == "rueckfrage":
        fire(req, "rueckfrage_stellen", clerk, {"message": "?"})
    fire(req, "zurueckziehen", req.applicant)
    assert req.state == "zurueckgezogen" and req.closed_at is not None and req.clock_paused_at is None
    assert names(req, req.applicant) == [] and names(req, clerk) == []
    assert mails(req)[-1] == "request_withdrawn"


def test_engine_clerk_withdraws_on_behalf_with_comment(req):
    clerk = clerk_of(req.department)
    with pytest.raises(ValidationFailed):
        fire(req, "zurueckziehen_im_auftrag", clerk)
    fire(req, "zurueckziehen_im_auftrag", clerk, {"comment": "Anruf der Antragstellerin am 3.11."})
    assert req.state == "zurueckgezogen"


@pytest.mark.parametrize(
    ("name", "who"),
    [
        ("genehmigen", "clerk"),  # not from eingegangen
        ("abschliessen", "clerk"),
        ("antwort_eingegangen", "citizen"),
        ("bearbeitung_beginnen", "citizen"),  # wrong role
        ("bearbeitung_beginnen", "other_clerk"),  # other department
        ("bearbeitung_beginnen", "other_citizen"),
        ("gibt_es_nicht", "clerk"),
    ],
)
def test_engine_illegal_transition_changes_nothing(req, notices, name, who):
    actors = {
        "clerk": clerk_of(req.department),
        "citizen": req.applicant,
        "other_clerk": clerk_of(DepartmentFactory()),
        "other_citizen": CitizenFactory(),
    }
    version, state = req.row_version, req.state
    with pytest.raises(TransitionNotAllowed):
        fire(req, name, actors[who])
    assert (req.state, req.row_version, len(history(req)), notices, mails(req)) == (state, version, 1, [], [])


def test_engine_stale_row_version_is_rejected(req):
    clerk = clerk_of(req.department)
    old = req.row_version
    fire(req, "bearbeitung_beginnen", clerk)
    with pytest.raises(StaleObject):
        apply_transition(req, "genehmigen", clerk, {}, old)
    assert req.state == "in_bearbeitung"


def test_engine_dept_admin_is_a_clerk_of_the_department(req):
    admin = clerk_of(req.department, role=MembershipRole.ADMIN)
    assert "bearbeitung_beginnen" in names(req, admin)


def test_state_label_plain_language_for_citizens(req):
    fire(req, "bearbeitung_beginnen", clerk_of(req.department))
    fire(req, "rueckfrage_stellen", clerk_of(req.department), {"message": "?"})
    assert state_label(req.workflow_version, req.state, "de") == "Wir brauchen Angaben von Ihnen"
    assert state_label(req.workflow_version, req.state, "en", audience="staff") == "Waiting for the applicant"


# --- four-eyes ---------------------------------------------------------------------------------


@pytest.fixture
def four_eyes(db, notices):
    req = started_request(variant="vier_augen")
    first, second = clerk_of(req.department), clerk_of(req.department)
    fire(req, "bearbeitung_beginnen", first)
    return req, first, second


def test_four_eyes_proposal_on_a_colleagues_own_application_is_not_theirs_to_confirm(four_eyes):
    req, first, second = four_eyes
    req.applicant_id = second.id  # the colleague applied themselves (§ 20 VwVfG)
    _db.session.flush()
    fire(req, "genehmigen", first, {"comment": "ok"})
    assert _db.session.scalars(pending_approvals(second)).all() == []
    assert names(req, second) == ["zurueckziehen"]  # as the applicant: withdraw, not confirm
    third = clerk_of(req.department)
    assert _db.session.scalars(pending_approvals(third)).all() == [req]


def test_four_eyes_proposal_waits_for_a_second_clerk(four_eyes, notices):
    req, first, second = four_eyes
    event = fire(req, "genehmigen", first, {"comment": "ok"})
    assert event.kind == "approval_proposed"
    assert req.state == "zur_freigabe" and req.decided_at is None and notices == []
    assert names(req, first) == ["zurueckziehen_im_auftrag"]  # the proposer cannot confirm
    assert names(req, second) == [CONFIRM, RETURN, "zurueckziehen_im_auftrag"]
    assert names(req, req.applicant) == ["zurueckziehen"]
    with pytest.raises(TransitionNotAllowed):
        fire(req, CONFIRM, first)
    assert _db.session.scalars(pending_approvals(second)).all() == [req]
    assert _db.session.scalars(pending_approvals(first)).all() == []
    confirmed = fire(req, CONFIRM, second)
    assert confirmed.kind == "approval_confirmed" and confirmed.data["proposed_by"] == first.id
    assert req.state == "genehmigt" and req.decided_at is not None
    assert notices == [("approval", {"fee_cents": 3000})]
    proposal = _db.session.scalar(select(ApprovalProposal))
    assert (proposal.outcome, proposal.decided_by_id) == ("confirmed", second.id)
    assert open_proposal(req) is None


def test_four_eyes_return_goes_back_with_comment(four_eyes, notices):
    req, first, second = four_eyes
    fire(req, "ablehnen", first, {"reason": "zu groß"})
    with pytest.raises(ValidationFailed):
        fire(req, RETURN, second)
    event = fire(req, RETURN, second, {"comment": "Begründung ergänzen"})
    assert event.kind == "approval_returned"
    assert req.state == "in_bearbeitung" and notices == []
    assert "ablehnen" in names(req, first)
    fire(req, "ablehnen", first, {"reason": "zu groß, § 18 StrWG NRW"})
    fire(req, CONFIRM, second)
    assert req.state == "abgelehnt" and notices == [("rejection", {"reason": "zu groß, § 18 StrWG NRW"})]
    count = _db.session.scalar(select(func.count(ApprovalProposal.id)))
    assert count == 2


def test_four_eyes_citizen_withdrawal_voids_the_proposal(four_eyes, notices):
    req, first, second = four_eyes
    fire(req, "genehmigen", first)
    fire(req, "zurueckziehen", req.applicant)
    assert req.state == "zurueckgezogen" and notices == []
    assert _db.session.scalar(select(ApprovalProposal.outcome)) == "superseded"
    assert open_proposal(req) is None and names(req, second) == []


def test_four_eyes_only_one_event_per_step(four_eyes):
    req, first, second = four_eyes
    before = len(history(req))
    fire(req, "genehmigen", first)
    fire(req, CONFIRM, second)
    assert len(history(req)) == before + 2


# --- definitions -------------------------------------------------------------------------------


def test_default_documents_are_valid():
    assert validate_workflow(default_document()) == []
    assert validate_workflow(default_document("vier_augen")) == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["states"].append(dict(d["states"][0])), "/states/7/key"),
        (lambda d: d["states"][1].update(initial=True), "/states"),
        (lambda d: d["transitions"][0].update(to="nirgendwo"), "/transitions/0/to"),
        (lambda d: d["transitions"][0]["from"].append("weg"), "/transitions/0/from/1"),
        (lambda d: d["transitions"][0]["roles"].append("hausmeister"), "/transitions/0/roles/1"),
        (
            lambda d: d["transitions"][0]["effects"].append({"type": "explode"}),
            "/transitions/0/effects/1/type",
        ),
        (
            lambda d: d["transitions"][4]["effects"][1].update(kind="strafzettel"),
            "/transitions/4/effects/1/kind",
        ),
        (lambda d: d["transitions"][4].update(second_approver=True), "/transitions/4/second_approver"),
        (lambda d: d["states"][0].update(kind="schwebend"), "/states/0/kind"),
        (lambda d: d.pop("states"), "/"),
    ],
)
def test_definition_errors_name_path_and_reason(app_ctx, change, path):
    doc = default_document()
    change(doc)
    errors = validate_workflow(doc)
    assert path in [p for p, _ in errors], errors
    assert all(reason for _, reason in errors)


def _transition(doc, name):
    return next(t for t in doc["transitions"] if t["name"] == name)


def _only_citizen_leaves_eingegangen(doc):
    _transition(doc, "bearbeitung_beginnen")["roles"] = ["citizen"]
    _transition(doc, "zurueckziehen_im_auftrag")["from"].remove("eingegangen")


def _no_decision_loop(doc):
    """Staff can only move between eingegangen, in_bearbeitung and rueckfrage."""
    for name in ("genehmigen", "ablehnen", "zurueckziehen_im_auftrag"):
        doc["transitions"].remove(_transition(doc, name))


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [  # transitions of the default: 4 genehmigen, 5 ablehnen, 6 abschliessen
        (lambda d: _transition(d, "genehmigen").update(roles=["citizen"]), "/transitions/4/roles/0",
         "entscheidet das Amt"),
        (lambda d: _transition(d, "ablehnen").update(roles=["clerk", "citizen"]), "/transitions/5/roles/1",
         "entscheidet das Amt"),
        (lambda d: _transition(d, "abschliessen").update(roles=["citizen"]), "/transitions/6/roles/0",
         "Übergänge aus „genehmigt“, „abgelehnt“ sind"),
        (lambda d: d["transitions"].remove(_transition(d, "genehmigen")), None, ""),  # ablehnen remains
        (_only_citizen_leaves_eingegangen, "/states/0", "„eingegangen“ aus kann das Amt den Antrag weder"),
        (_no_decision_loop, "/states/0 /states/1 /states/2", "blieben dort hängen"),
        (lambda d: _transition(d, "zurueckziehen")["from"].remove("rueckfrage"), "/states/2",
         "Im Zustand „rueckfrage“ können Antragstellende ihren Antrag nicht zurückziehen"),
        (lambda d: d["transitions"].remove(_transition(d, "zurueckziehen")), None, ""),  # none at all: fine
    ],
)  # fmt: skip
def test_definition_refuses_workflows_that_strand_requests(app_ctx, change, path, reason):
    doc = default_document()
    change(doc)
    errors = validate_workflow(doc)
    assert " ".join(p for p, _r in errors) == (path or "") and all(reason in r for _p, r in errors), errors


def test_published_version_stays_loadable_under_later_flow_rules(db):
    from services.workflow import create_definition, load_spec, publish_workflow

    version = publish_workflow(create_definition("alt", "alt", default_document()), None)
    _transition(version.document, "genehmigen")["roles"] = ["citizen"]  # as published before the rule
    assert load_spec(version).transitions["genehmigen"].roles == ("citizen",)


def test_publish_rejects_invalid_draft(db):
    from services.workflow import create_definition, publish_workflow

    doc = default_document()
    doc["transitions"][0]["to"] = "nirgendwo"
    definition = create_definition("kaputt", "kaputt", doc)
    with pytest.raises(InvalidDefinition) as err:
        publish_workflow(definition, None)
    assert err.value.errors == [("/transitions/0/to", "Unbekannter Zustand „nirgendwo“.")]


def test_publish_numbers_versions_and_keeps_old_ones(db):
    from services.workflow import create_definition, publish_workflow

    definition = create_definition("v", "v", default_document())
    first = publish_workflow(definition, None)
    definition.draft = default_document("vier_augen")
    second = publish_workflow(definition, None, "Vier Augen")
    assert (first.number, second.number) == (1, 2)
    assert "approval_state" not in first.document and second.document["approval_state"] == "zur_freigabe"


def test_service_without_workflow_cannot_start(db):
    from services.workflow import workflow_for_service

    with pytest.raises(InvalidDefinition):
        workflow_for_service(ServiceFactory())


def test_definition_schema_errors_are_worded_for_admins(app_ctx):
    doc = default_document()
    del doc["states"][0]["kind"]
    doc["transitions"][0]["name"] = "Großes B"
    errors = dict(validate_workflow(doc))
    assert errors["/states/0"] == "Pflichtangabe fehlt: Art"
    assert errors["/transitions/0/name"].startswith("Nur Kleinbuchstaben")


def test_definition_errors_name_the_place_in_words_and_count_in_german(app_ctx):
    from services.workflow import describe_path

    doc = default_document()
    doc["states"], doc["transitions"][1]["from"] = [], []
    doc["transitions"][1]["extra"] = 1
    errors = dict(validate_workflow(doc))
    assert errors["/states"] == "Mindestens ein Eintrag ist nötig."
    assert errors["/transitions/1"] == "Unbekannte Angabe: extra"
    assert describe_path(doc, "/states") == "Zustände"
    name = doc["transitions"][1]["name"]
    assert describe_path(doc, "/transitions/1/from") == f"Übergang „{name}“ › Ausgangszustände"
    assert describe_path(doc, "/transitions/1/label/de") == f"Übergang „{name}“ › Bezeichnung › deutsch"
    assert describe_path(doc, "") == "Ablauf"
    doc = default_document()
    doc["due_soon_days"] = "zwei"
    assert dict(validate_workflow(doc))["/due_soon_days"] == "Falscher Typ, erwartet: ganze Zahl"


def test_engine_concurrent_commit_detected_at_flush(db, notices):
    """Another transaction committed after we loaded the row: the UPDATE matches nothing → StaleObject."""
    from sqlalchemy import text

    req = started_request()
    db.session.commit()
    clerk = clerk_of(req.department)
    db.session.commit()
    loaded = req.row_version
    with db.engine.begin() as conn:  # the other clerk's transaction
        conn.execute(
            text("UPDATE service_requests SET row_version = row_version + 1, state = 'in_bearbeitung'")
        )
    with pytest.raises(StaleObject):
        apply_transition(req, "bearbeitung_beginnen", clerk, {}, loaded)
    db.session.rollback()
    assert (req.state, [e.kind for e in history(req)]) == ("in_bearbeitung", ["routed"])
