"""The state machine: who may fire which transition, applying it atomically, four-eyes proposals."""

from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import ApprovalProposal, MembershipRole, ServiceRequest
from models.base import utcnow
from services.access import RequestHolder, is_applicant
from services.errors import TransitionNotAllowed, ValidationFailed
from services.events import append_event
from services.field_renames import answers_with_latest_keys
from services.queue import not_own
from services.tx import check_row_version, stale_as_changed
from services.workflow import deadlines
from services.workflow.definitions import Transition, load_spec, workflow_for_service
from services.workflow.effects import run_effects
from services.workflow.routing import test_routing
from services.workflow.start_plan import routed_event_data

CONFIRM = "freigabe_bestaetigen"
RETURN = "freigabe_zurueckgeben"
_CONFIRM_LABEL = {"de": "Entscheidung freigeben", "en": "Confirm decision"}
_RETURN_LABEL = {"de": "Zur Überarbeitung zurückgeben", "en": "Return for revision"}


def actor_roles(req, actor) -> set[str]:
    """Workflow roles `actor` holds for `req`: citizen (applicant), clerk, dept_admin (current department).

    The applicant is the request's account or, for a request submitted without one, the
    RequestHolder of its personal status link (services.access.is_applicant).
    """
    if actor is None or not getattr(actor, "is_authenticated", False):
        return set()
    if is_applicant(req, actor):  # staff too: their own case is their colleagues' (staff_may_view)
        return {"citizen"}
    if actor.is_citizen:
        return set()
    roles = set()
    if req.department_id in actor.department_ids():
        roles.add("clerk")
    if req.department_id in actor.department_ids(MembershipRole.ADMIN):
        roles.add("dept_admin")
    return roles


def start_request(req, actor=None):
    """Pin the workflow version, set the initial state, route, set the due date; 'routed' event."""
    data = prepare_start(req)
    return _flush_or_stale(lambda: append_event(req, "routed", actor, data))


def prepare_start(req) -> dict:
    """The part of start_request that writes nothing: sets the fields, returns the 'routed' event data.

    Works on a request not yet flushed (submission sets everything before its single INSERT);
    `req.service` must be set.
    """
    version = workflow_for_service(req.service)
    spec = load_spec(version)
    routing = test_routing(req.service, answers_with_latest_keys(req.answers, req.form_version_id))
    req.workflow_version = version
    req.workflow_version_id = version.id
    req.state = spec.initial
    req.department = routing.department
    req.department_id = routing.department.id
    req.due_at = deadlines.compute_due_at(req)
    if spec.kind(spec.initial) == "waiting_for_citizen":
        deadlines.pause_clock(req)
    return routed_event_data(routing.department.id, routing.rule, version.id, spec.initial)


def open_proposal(req) -> ApprovalProposal | None:
    """The undecided four-eyes proposal of this request, if any."""
    return db.session.scalar(
        select(ApprovalProposal).where(
            ApprovalProposal.request_id == req.id, ApprovalProposal.outcome.is_(None)
        )
    )


def pending_approvals(user):
    """Select of requests in `user`'s departments with an open proposal made by someone else."""
    return (
        select(ServiceRequest)
        .join(ApprovalProposal, ApprovalProposal.request_id == ServiceRequest.id)
        .where(
            ApprovalProposal.outcome.is_(None),
            ApprovalProposal.proposed_by_id != user.id,
            ServiceRequest.department_id.in_(user.department_ids() or {-1}),
            not_own(user.id),
        )
        .order_by(ApprovalProposal.proposed_at, ServiceRequest.id)
    )


def available_transitions(req, actor) -> list[Transition]:
    """Transitions `actor` may fire on `req` now (in document order)."""
    if req.workflow_version is None:
        return []
    spec = load_spec(req.workflow_version)
    roles = actor_roles(req, actor)
    own = [t for t in spec.transitions.values() if req.state in t.from_states and roles & set(t.roles)]
    proposal = open_proposal(req)
    if proposal is not None:
        # While a decision awaits its second approver, only withdrawals declared for that state remain.
        return _approval_transitions(spec, proposal, roles, actor) + [t for t in own if not t.second_approver]
    return own


def _approval_transitions(spec, proposal, roles, actor) -> list[Transition]:
    proposed = spec.transitions.get(proposal.transition)
    if proposed is None or proposal.proposed_by_id == actor.id or not roles & set(proposed.roles):
        return []
    here = (spec.approval_state,)
    back = proposal.data.get("_from", spec.initial)
    return [
        Transition(
            CONFIRM, _CONFIRM_LABEL, here, proposed.to, proposed.roles, style="primary", synthetic=True
        ),
        Transition(RETURN, _RETURN_LABEL, here, back, proposed.roles, comment_required=True, synthetic=True),
    ]


def apply_transition(req, name: str, actor, data: dict | None, expected_row_version: int):
    """Fire transition `name` for `actor` with form `data`; one event; effects as outbox rows."""
    check_row_version(req, expected_row_version)
    transition = next((t for t in available_transitions(req, actor) if t.name == name), None)
    if transition is None:
        raise TransitionNotAllowed(_("Diese Aktion ist für diesen Antrag gerade nicht möglich."))
    fields, comment = _checked_input(transition, data or {})
    if transition.name == CONFIRM:
        return _flush_or_stale(lambda: _confirm(req, actor, comment))
    if transition.name == RETURN:
        return _flush_or_stale(lambda: _return(req, actor, comment))
    if transition.second_approver:
        return _flush_or_stale(lambda: _propose(req, transition, actor, fields, comment))
    _supersede_proposal(req, actor)
    return _flush_or_stale(lambda: _move(req, transition, actor, fields, comment))


def _flush_or_stale(step):
    with stale_as_changed():  # another transaction bumped row_version between load and flush
        return step()


def _checked_input(transition, data: dict) -> tuple[dict, str]:
    errors, fields = [], {}
    for f in transition.form_fields:
        value = _clean(f, data.get(f.key))
        if f.required and not value:
            errors.append((f.key, _("Bitte füllen Sie „%(label)s“ aus.", label=f.label(_locale()))))
        elif isinstance(value, str) and len(value) > f.max_length:
            errors.append((f.key, _("Höchstens %(n)d Zeichen.", n=f.max_length)))
        fields[f.key] = value
    comment = str(data.get("comment") or "").strip()
    if transition.comment_required and not comment:
        errors.append(("comment", _("Bitte geben Sie einen Kommentar an.")))
    if len(comment) > 5000:
        errors.append(("comment", _("Höchstens %(n)d Zeichen.", n=5000)))
    if errors:
        raise ValidationFailed(errors[0][1], errors=errors)
    return fields, comment


def _clean(field, value):
    if field.type == "checkbox":
        return value in (True, "y", "on", "1", "true", 1)
    if field.type == "lines":
        lines = value if isinstance(value, list) else str(value or "").splitlines()
        return [str(line).strip() for line in lines if str(line).strip()]
    return str(value or "").strip()


def _locale():
    from flask_babel import get_locale

    return str(get_locale() or "de")


def _move(req, transition, actor, fields, comment, event_kind="transition", extra=None):
    spec = load_spec(req.workflow_version)
    before = req.state
    _enter_state(req, spec, before, transition.to)
    data = {
        "transition": transition.name,
        "from": before,
        "to": transition.to,
        "fields": fields,
        "comment": comment,
        **(extra or {}),
    }
    if isinstance(actor, RequestHolder):
        data["by"] = "applicant"  # no user id to record: the status link's holder (request without account)
    data["effects"] = run_effects(req, transition, actor, fields)
    db.session.flush()
    return append_event(req, event_kind, actor, data, visible_to_citizen=True)


def _enter_state(req, spec, before, after):
    """Change the state; the clock pauses in and resumes after any waiting_for_citizen state."""
    was_waiting = spec.kind(before) == "waiting_for_citizen"
    waiting = spec.kind(after) == "waiting_for_citizen"
    if waiting and not was_waiting:
        deadlines.pause_clock(req)
    elif was_waiting and not waiting:
        deadlines.resume_clock(req)
    req.state = after


def _propose(req, transition, actor, fields, comment):
    spec = load_spec(req.workflow_version)
    proposal = ApprovalProposal(
        request_id=req.id,
        transition=transition.name,
        proposed_by_id=actor.id,
        data={"fields": fields, "comment": comment, "_from": req.state},
    )
    db.session.add(proposal)
    before = req.state
    _enter_state(req, spec, before, spec.approval_state)
    db.session.flush()
    return append_event(
        req,
        "approval_proposed",
        actor,
        {
            "transition": transition.name,
            "from": before,
            "to": spec.approval_state,
            "proposal": proposal.id,
            "fields": fields,
            "comment": comment,
        },
    )


def _supersede_proposal(req, actor):
    """An open proposal is void once another transition (e.g. a withdrawal) moves the request."""
    proposal = open_proposal(req)
    if proposal is not None:
        proposal.decided_by_id, proposal.decided_at, proposal.outcome = actor.id, utcnow(), "superseded"


def _confirm(req, actor, comment):
    proposal = open_proposal(req)
    spec = load_spec(req.workflow_version)
    transition = spec.transitions[proposal.transition]
    proposal.decided_by_id, proposal.decided_at, proposal.outcome = actor.id, utcnow(), "confirmed"
    extra = {"proposal": proposal.id, "proposed_by": proposal.proposed_by_id, "confirm_comment": comment}
    return _move(
        req,
        transition,
        actor,
        proposal.data.get("fields", {}),
        proposal.data.get("comment", ""),
        event_kind="approval_confirmed",
        extra=extra,
    )


def _return(req, actor, comment):
    proposal = open_proposal(req)
    spec = load_spec(req.workflow_version)
    proposal.decided_by_id, proposal.decided_at, proposal.outcome = actor.id, utcnow(), "returned"
    before, back = req.state, proposal.data.get("_from", spec.initial)
    _enter_state(req, spec, before, back)
    db.session.flush()
    return append_event(
        req,
        "approval_returned",
        actor,
        {
            "transition": proposal.transition,
            "from": before,
            "to": back,
            "proposal": proposal.id,
            "comment": comment,
        },
    )


def state_label(version, state: str, locale: str = "de", audience: str = "citizen") -> str:
    """Label of a state: plain language for the applicant, the working term for staff."""
    spec = load_spec(version)
    found = spec.state(state)
    return found.label(locale, audience) if found else state


def state_kind(version, state: str):
    """Kind of a state: open, waiting_for_citizen, decided or closed."""
    return load_spec(version).kind(state)
