"""Claim, release, assign and claim-next, each with its history event."""

from datetime import timedelta

import pytest

from models import MembershipRole, RequestEvent
from models.base import utcnow
from services.assignment import assign_request, claim_next, claim_request, release_request
from services.errors import PermissionDenied, StaleObject, TransitionNotAllowed
from tests.factories import DepartmentFactory, ServiceFactory, ServiceRequestFactory, clerk_of


@pytest.fixture
def dept(db):
    return DepartmentFactory()


@pytest.fixture
def req(dept):
    return ServiceRequestFactory(service=ServiceFactory(department=dept))


def _kinds(req):
    from extensions import db

    return [
        e.kind for e in db.session.query(RequestEvent).filter_by(request_id=req.id).order_by(RequestEvent.seq)
    ]


def test_claim_request_sets_assignee_and_event(req, dept):
    clerk = clerk_of(dept)
    version = req.row_version
    claim_request(req, clerk, expected_row_version=version)
    assert req.assignee_id == clerk.id
    assert req.row_version == version + 1
    assert _kinds(req) == ["claimed"]


def test_claim_request_refuses_taken_foreign_and_stale(req, dept):
    first, second = clerk_of(dept), clerk_of(dept)
    claim_request(req, first)
    with pytest.raises(TransitionNotAllowed):
        claim_request(req, second)
    other = clerk_of(DepartmentFactory())
    with pytest.raises(PermissionDenied):
        claim_request(req, other)
    release_request(req, first)
    with pytest.raises(StaleObject):
        claim_request(req, second, expected_row_version=req.row_version - 1)
    assert req.assignee_id is None


def test_release_only_by_assignee_or_department_admin(req, dept):
    clerk, colleague = clerk_of(dept), clerk_of(dept)
    admin = clerk_of(dept, role=MembershipRole.ADMIN)
    claim_request(req, clerk)
    with pytest.raises(PermissionDenied):
        release_request(req, colleague)
    release_request(req, admin)
    assert req.assignee_id is None
    with pytest.raises(TransitionNotAllowed):
        release_request(req, clerk)
    assert _kinds(req) == ["claimed", "released"]


def test_assign_only_to_colleague_of_same_department(req, dept):
    clerk, colleague = clerk_of(dept), clerk_of(dept)
    outsider = clerk_of(DepartmentFactory())
    with pytest.raises(PermissionDenied):
        assign_request(req, outsider, clerk)
    with pytest.raises(PermissionDenied):
        assign_request(req, colleague, outsider)
    assign_request(req, colleague, clerk)
    assert req.assignee_id == colleague.id
    assert _kinds(req) == ["assigned"]


def test_claim_next_takes_oldest_claimable(dept):
    svc = ServiceFactory(department=dept)
    now = utcnow()
    clerk = clerk_of(dept)
    ServiceRequestFactory(service=svc, submitted_at=now - timedelta(days=9), decided_at=now)
    ServiceRequestFactory(service=svc, submitted_at=now - timedelta(days=8), clock_paused_at=now)
    ServiceRequestFactory(service=svc, submitted_at=now - timedelta(days=7), assignee=clerk_of(dept))
    ServiceRequestFactory(submitted_at=now - timedelta(days=6))  # other department
    older = ServiceRequestFactory(service=svc, submitted_at=now - timedelta(days=2))
    newer = ServiceRequestFactory(service=svc, submitted_at=now - timedelta(days=1))
    assert claim_next(clerk, [dept.id]) == older
    assert older.assignee_id == clerk.id
    assert claim_next(clerk, [dept.id]) == newer
    assert claim_next(clerk, [dept.id]) is None
    assert _kinds(older) == ["claimed"]


def test_claim_next_takes_the_request_due_first(dept):
    """As the queue lists them by default: a quick service's request due sooner before an older one."""
    now, clerk = utcnow(), clerk_of(dept)
    svc = ServiceFactory(department=dept)
    days = timedelta(days=1)
    older = ServiceRequestFactory(service=svc, submitted_at=now - 5 * days, due_at=now + 9 * days)
    due_first = ServiceRequestFactory(service=svc, submitted_at=now - days, due_at=now - days / 24)
    no_due_date = ServiceRequestFactory(service=svc, submitted_at=now - 30 * days, due_at=None)
    assert [claim_next(clerk, [dept.id]) for _ in range(3)] == [due_first, older, no_due_date]


def test_claim_next_ignores_departments_the_actor_is_not_in(req):
    outsider = clerk_of(DepartmentFactory())
    assert claim_next(outsider, [req.department_id]) is None
    assert req.assignee_id is None


def test_nobody_works_on_their_own_application(dept):
    """§ 20 (1) no. 1 VwVfG: a clerk's own request is their colleagues' to work on."""
    from services.access import staff_may_view
    from services.messages import add_note
    from services.queue import QueueFilter, list_queue, state_counts
    from services.workflow.engine import actor_roles

    clerk, colleague = clerk_of(dept), clerk_of(dept, role=MembershipRole.ADMIN)
    own = ServiceRequestFactory(service=ServiceFactory(department=dept), applicant=clerk)
    assert not staff_may_view(clerk, own) and staff_may_view(colleague, own)
    assert actor_roles(own, clerk) == {"citizen"}  # still the applicant: may withdraw, answer questions
    assert actor_roles(own, colleague) == {"clerk", "dept_admin"}
    for act in (lambda: claim_request(own, clerk), lambda: add_note(own, clerk, "x"),
                lambda: assign_request(own, colleague, clerk), lambda: assign_request(own, clerk, colleague)):
        with pytest.raises(PermissionDenied):
            act()
    assert claim_next(clerk, [dept.id]) is None
    assert [r.id for r in list_queue([dept.id], QueueFilter(), clerk.id).rows] == []
    assert [r.id for r in list_queue([dept.id], QueueFilter(), colleague.id).rows] == [own.id]
    assert state_counts([dept.id], clerk.id) == {}
    assert state_counts([dept.id], colleague.id) == {"eingegangen": 1}
    assert claim_next(colleague, [dept.id]) == own


def test_working_an_unassigned_request_takes_it_on(dept):
    """Whoever begins work (or asks the applicant) is its assignee, so claim-next never hands it on."""
    from services.messages import run_clerk_transition
    from tests.factories import started_request

    clerk, colleague = clerk_of(dept), clerk_of(dept)
    req = started_request(service=ServiceFactory(department=dept))
    run_clerk_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    assert req.assignee_id == clerk.id and _kinds(req)[-2:] == ["transition", "claimed"]
    assert claim_next(colleague, [dept.id]) is None
    release_request(req, clerk)
    run_clerk_transition(req, "rueckfrage_stellen", colleague, {"message": "Grundriss?"}, req.row_version)
    assert req.assignee_id == colleague.id
    run_clerk_transition(req, "bearbeitung_fortsetzen", clerk, {"comment": "per Post"}, req.row_version)
    assert req.assignee_id == colleague.id  # an assigned request stays with its assignee


def test_deciding_or_proposing_does_not_take_a_request_on(dept):
    from services.messages import run_clerk_transition
    from tests.factories import started_request

    clerk = clerk_of(dept)
    for variant, state in (("standard", "genehmigt"), ("vier_augen", "zur_freigabe")):
        req = started_request(service=ServiceFactory(department=dept), variant=variant)
        run_clerk_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
        release_request(req, clerk)
        run_clerk_transition(req, "genehmigen", clerk, {}, req.row_version)
        assert (req.state, req.assignee_id) == (state, None)
