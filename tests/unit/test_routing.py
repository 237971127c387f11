"""Routing: ordered JsonLogic rules over the answers, default department, tester, forwarding."""

import pytest

from models import RoutingRule
from services.errors import PermissionDenied, StaleObject, TransitionNotAllowed, ValidationFailed
from services.seed.workflows import POSTCODE_RANGES, postcode_condition
from services.workflow import apply_transition, forward_request, open_proposal, route_request, test_routing
from tests.factories import DepartmentFactory, ServiceFactory, clerk_of, started_request


def add_rule(db, service, position, condition, department, label=""):
    rule = RoutingRule(
        service_id=service.id,
        position=position,
        condition=condition,
        department_id=department.id,
        label=label,
    )
    db.session.add(rule)
    db.session.flush()
    return rule


@pytest.fixture
def districts(db):
    service = ServiceFactory()
    north, south = DepartmentFactory(slug="bezirksamt-nord"), DepartmentFactory(slug="bezirksamt-sued")
    add_rule(
        db,
        service,
        0,
        postcode_condition("adresse.postcode", POSTCODE_RANGES["bezirksamt-nord"]),
        north,
        "Nord",
    )
    add_rule(
        db,
        service,
        1,
        postcode_condition("adresse.postcode", POSTCODE_RANGES["bezirksamt-sued"]),
        south,
        "Süd",
    )
    return service, north, south


def answers(postcode):
    return {"adresse": {"street": "Königstraße", "number": "1", "postcode": postcode, "city": "Duisburg"}}


@pytest.mark.parametrize(
    ("postcode", "expected"),
    [
        ("47166", "north"),
        ("47179", "north"),
        ("47137", "north"),
        ("47139", "north"),
        ("47226", "south"),
        ("47259", "south"),
        ("47269", "south"),
        ("47279", "south"),
        ("47051", "owner"),
        ("47180", "owner"),
        ("47260", "owner"),
        ("47136", "owner"),
        ("", "owner"),
        ("abcde", "owner"),
    ],
)
def test_routing_postcode_ranges(districts, postcode, expected):
    service, north, south = districts
    department = route_request(service, answers(postcode))
    assert department == {"north": north, "south": south, "owner": service.department}[expected]


def test_routing_without_answer_goes_to_owner(districts):
    service, _, _ = districts
    assert route_request(service, {}) == service.department


def test_routing_first_matching_rule_wins(db):
    service = ServiceFactory()
    first, second = DepartmentFactory(), DepartmentFactory()
    add_rule(db, service, 1, {"==": [1, 1]}, second)
    add_rule(db, service, 0, {"==": [{"var": "art"}, "groß"]}, first)
    assert route_request(service, {"art": "groß"}) == first
    assert route_request(service, {"art": "klein"}) == second


def test_routing_tester_explains_which_rule_matched(districts):
    service, _, _ = districts
    result = test_routing(service, answers("47249"))
    assert result.rule.label == "Süd"
    assert [(rule.label, matched) for rule, matched, _ in result.trace] == [("Nord", False), ("Süd", True)]
    assert test_routing(service, answers("47051")).rule is None


def test_routing_skips_inactive_department(db):
    service = ServiceFactory()
    add_rule(db, service, 0, {"==": [1, 1]}, DepartmentFactory(active=False))
    assert route_request(service, {}) == service.department


def test_routing_malformed_rule_counts_as_no_match(db):
    service = ServiceFactory()
    add_rule(db, service, 0, {"explode": [1]}, DepartmentFactory())
    result = test_routing(service, {})
    assert result.department == service.department
    assert result.trace[0][1] is False and result.trace[0][2]


def test_start_request_routes_by_rules(districts, monkeypatch):
    service, north, _ = districts
    req = started_request(service=service, answers=answers("47169"))
    assert req.department == north
    assert req.events[-1].kind == "routed" and req.events[-1].data["rule_label"] == "Nord"


def test_forward_request_moves_department_with_reason(db):
    req = started_request()
    clerk, target = clerk_of(req.department), DepartmentFactory()
    req.assignee_id = clerk.id
    event = forward_request(req, target, clerk, "Zuständigkeit Bezirk", req.row_version)
    assert req.department_id == target.id and req.assignee_id is None
    assert event.kind == "forwarded" and event.data == {
        "from": event.data["from"],
        "to": target.id,
        "reason": "Zuständigkeit Bezirk",
    }
    with pytest.raises(PermissionDenied):  # no longer their department
        forward_request(req, DepartmentFactory(), clerk, "zurück", req.row_version)


@pytest.mark.parametrize("case", ["no_reason", "same_department", "inactive", "stale", "citizen"])
def test_forward_request_rejects_bad_input(db, case):
    req = started_request()
    clerk = clerk_of(req.department)
    target, reason, version, actor = DepartmentFactory(), "Grund", req.row_version, clerk
    expected = ValidationFailed
    if case == "no_reason":
        reason = " "
    elif case == "same_department":
        target = req.department
    elif case == "inactive":
        target = DepartmentFactory(active=False)
    elif case == "stale":
        version, expected = version - 1, StaleObject
    else:
        actor, expected = req.applicant, PermissionDenied
    with pytest.raises(expected):
        forward_request(req, target, actor, reason, version)
    assert req.department_id != target.id or case == "same_department"
    assert [e.kind for e in req.events] == ["routed"]


def test_forward_request_refused_while_a_proposal_awaits_approval(db):
    """The four-eyes decision stays with the department that proposed it; once returned, forwarding works."""
    req = started_request(variant="vier_augen")
    proposer, colleague, target = clerk_of(req.department), clerk_of(req.department), DepartmentFactory()
    apply_transition(req, "bearbeitung_beginnen", proposer, {}, req.row_version)
    apply_transition(req, "genehmigen", proposer, {}, req.row_version)
    for actor in (proposer, colleague):
        with pytest.raises(TransitionNotAllowed, match="Freigabe"):
            forward_request(req, target, actor, "Zuständigkeit", req.row_version)
    assert req.department_id != target.id and req.state == "zur_freigabe" and open_proposal(req) is not None
    assert [e.kind for e in req.events][-1] == "approval_proposed"
    apply_transition(req, "freigabe_zurueckgeben", colleague, {"comment": "erst klären"}, req.row_version)
    forward_request(req, target, proposer, "Zuständigkeit", req.row_version)
    assert req.department_id == target.id and req.state == "in_bearbeitung"


@pytest.mark.parametrize("steps", [["genehmigen"], ["ablehnen"], ["genehmigen", "abschliessen"],
                                   ["zurueckziehen_im_auftrag"]])
def test_forward_request_refused_once_decided_or_closed(db, steps):
    """The deciding department issued the notice and closes the case: nothing is handed on any more."""
    req = started_request()
    clerk, target = clerk_of(req.department), DepartmentFactory()
    apply_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    for name in steps:
        apply_transition(req, name, clerk, {"reason": "Grund", "comment": "Anruf"}, req.row_version)
    kinds = [e.kind for e in req.events]
    with pytest.raises(TransitionNotAllowed, match="nicht mehr weitergeleitet"):
        forward_request(req, target, clerk, "Zuständigkeit", req.row_version)
    assert req.department_id != target.id and [e.kind for e in req.events] == kinds


def test_seed_links_workflows_and_routes_demo_postcodes(db):
    from models import Service
    from services.seed import seed_demo
    from services.workflow import workflow_for_service

    seed_demo()
    again = seed_demo()
    mine = ("workflows", "workflow versions", "service workflows", "routing rules")
    assert all(again.counts[k]["created"] + again.counts[k]["updated"] == 0 for k in mine), again.counts
    services = {s.slug: s for s in db.session.scalars(db.select(Service))}
    sonder = services["sondernutzungserlaubnis"]
    assert workflow_for_service(sonder).document["approval_state"] == "zur_freigabe"
    assert "approval_state" not in workflow_for_service(services["meldebescheinigung"]).document
    for slug, field in (("sondernutzungserlaubnis", "ort"), ("bewohnerparkausweis", "meldeadresse")):
        service = services[slug]
        codes = ("47169", "47138", "47249", "47051")
        routed = [route_request(service, {field: {"postcode": code}}).slug for code in codes]
        assert routed == ["bezirksamt-nord", "bezirksamt-nord", "bezirksamt-sued", service.department.slug]


def test_forward_request_tells_the_citizen(db):
    from sqlalchemy import select

    from models import InboxItem, OutboxJob

    req = started_request()
    clerk, target = clerk_of(req.department), DepartmentFactory()
    forward_request(req, target, clerk, "Zuständigkeit Bezirk", req.row_version)
    item = db.session.scalar(select(InboxItem).where(InboxItem.request_id == req.id))
    assert (item.kind, item.user_id) == ("forwarded", req.applicant_id)
    mails = db.session.scalars(select(OutboxJob.payload).where(OutboxJob.kind == "send_email")).all()
    assert any(p["template"] == "request_forwarded" and p["request_id"] == req.id for p in mails)
