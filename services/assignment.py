"""Who works a request: claim, release, assign to a colleague, claim the next one atomically."""

from flask_babel import gettext as _
from sqlalchemy import select, update

from extensions import db
from models import Membership, ServiceRequest, User
from services.access import check_case_worker, is_applicant
from services.errors import PermissionDenied, TransitionNotAllowed
from services.events import append_event
from services.queue import not_own
from services.tx import check_row_version, flush_or_stale

# How many candidates SQLite walks past when another session claimed them first.
_SQLITE_CANDIDATES = 20


def claim_request(req, actor, expected_row_version=None):
    """Make `actor` the assignee of an unassigned request of their department."""
    check_case_worker(actor, req)
    check_row_version(req, expected_row_version)
    if req.assignee_id == actor.id:
        return req
    if req.assignee_id is not None:
        raise TransitionNotAllowed(_("Der Antrag wird bereits von einer anderen Person bearbeitet."))
    req.assignee_id = actor.id
    flush_or_stale()
    append_event(req, "claimed", actor=actor)
    return req


def release_request(req, actor, expected_row_version=None):
    """Give a request back to the department queue (the assignee or a department admin)."""
    check_case_worker(actor, req)
    check_row_version(req, expected_row_version)
    if req.assignee_id is None:
        raise TransitionNotAllowed(_("Der Antrag ist niemandem zugewiesen."))
    if req.assignee_id != actor.id and req.department_id not in actor.department_ids("admin"):
        raise PermissionDenied(_("Nur die bearbeitende Person kann den Antrag zurückgeben."))
    previous = req.assignee_id
    req.assignee_id = None
    flush_or_stale()
    append_event(req, "released", actor=actor, data={"previous_assignee_id": previous})
    return req


def department_colleagues(department_id: int) -> list:
    """Staff members of a department (assignment candidates), ordered by name."""
    stmt = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.department_id == department_id, User.is_active_account.is_(True))
        .order_by(User.full_name, User.id)
    )
    return list(db.session.scalars(stmt))


def assign_request(req, assignee, actor, expected_row_version=None):
    """Hand a request to a colleague of the same department."""
    check_case_worker(actor, req)
    check_row_version(req, expected_row_version)
    if assignee is None or not assignee.is_staff or req.department_id not in assignee.department_ids():
        raise PermissionDenied(_("Die Person gehört nicht zur zuständigen Abteilung."))
    if is_applicant(req, assignee):
        raise PermissionDenied(_("Die Person hat diesen Antrag selbst gestellt."))
    if req.assignee_id == assignee.id:
        return req
    previous = req.assignee_id
    req.assignee_id = assignee.id
    flush_or_stale()
    data = {"assignee_id": assignee.id, "previous_assignee_id": previous}
    append_event(req, "assigned", actor=actor, data=data)
    return req


def claimable_condition():
    """Unassigned, still open (not decided or closed) and not waiting for the citizen."""
    return (
        ServiceRequest.assignee_id.is_(None),
        ServiceRequest.decided_at.is_(None),
        ServiceRequest.closed_at.is_(None),
        ServiceRequest.clock_paused_at.is_(None),
    )


def claim_next(actor, department_ids):
    """Claim the most urgent claimable request of `department_ids` for `actor`; None when there is none.

    Most urgent is the queue's default order: the earliest due date first (services differ in their
    processing days, so the oldest request is not always the one due first), then the oldest.

    Two clerks never get the same request: PostgreSQL skips rows another transaction has locked;
    SQLite (one writer at a time) uses a conditional UPDATE that only succeeds while unassigned.
    """
    department_ids = sorted(set(department_ids) & actor.department_ids()) if actor.is_staff else []
    if not department_ids:
        return None
    base = (
        select(ServiceRequest)
        .where(ServiceRequest.department_id.in_(department_ids), *claimable_condition(), not_own(actor.id))
        .order_by(ServiceRequest.due_at.asc().nulls_last(), ServiceRequest.submitted_at, ServiceRequest.id)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        req = db.session.scalars(base.limit(1).with_for_update(skip_locked=True, of=ServiceRequest)).first()
        if req is None:
            return None
        req.assignee_id = actor.id
        flush_or_stale()
    else:
        req = _claim_conditionally(base, actor)
        if req is None:
            return None
    append_event(req, "claimed", actor=actor, data={"via": "next"})
    return req


def _claim_conditionally(base, actor):
    ids = db.session.scalars(base.with_only_columns(ServiceRequest.id).limit(_SQLITE_CANDIDATES)).all()
    for ident in ids:
        result = db.session.execute(
            update(ServiceRequest)
            .where(ServiceRequest.id == ident, ServiceRequest.assignee_id.is_(None))
            .values(assignee_id=actor.id, row_version=ServiceRequest.row_version + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            req = db.session.get(ServiceRequest, ident)
            db.session.refresh(req)
            return req
    return None
