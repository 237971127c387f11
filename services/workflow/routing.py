"""Routing: ordered rules (JsonLogic over the answers) choose the department; clerks can forward."""

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from extensions import db
from models import RoutingRule
from services import jsonlogic
from services.errors import PermissionDenied, TransitionNotAllowed, ValidationFailed
from services.events import append_event
from services.notifications import notify_citizen
from services.tx import check_row_version


@dataclass
class RoutingResult:
    """Outcome of routing: the department, the rule that matched (None = default) and every check."""

    department: object
    rule: RoutingRule | None
    trace: list = field(default_factory=list)  # [(rule, matched: bool, error: str | None)]


def routing_rules(service) -> list[RoutingRule]:
    return list(
        db.session.scalars(
            select(RoutingRule)
            .where(RoutingRule.service_id == service.id)
            .options(joinedload(RoutingRule.department))
            .order_by(RoutingRule.position, RoutingRule.id)
        )
    )


def test_routing(service, answers: dict) -> RoutingResult:
    """Which department would get a request with these answers, and why (the admins' tester)."""
    trace = []
    for rule in routing_rules(service):
        matched, error = rule_matches(rule.condition, answers)
        trace.append((rule, matched, error))
        if matched and rule.department.active:
            return RoutingResult(rule.department, rule, trace)
    return RoutingResult(service.department, None, trace)


test_routing.__test__ = False  # not a pytest test despite its name


def rule_matches(condition, answers: dict) -> tuple[bool, str | None]:
    """(matched, error): a condition that fails to evaluate does not match (the tester shows why)."""
    try:
        return jsonlogic.truthy(jsonlogic.evaluate(condition, answers or {})), None
    except jsonlogic.JsonLogicError as exc:
        return False, str(exc)


def route_request(service, answers: dict):
    """First matching routing rule's department, else the service's own department."""
    return test_routing(service, answers).department


def check_rule(condition) -> list[tuple[str, str]]:
    """Problems of a routing condition as (path, reason), for the rule editor."""
    return jsonlogic.check_rule(condition)


def is_settled(req) -> bool:
    """Decided or closed (by the kind of its state in its workflow version): nothing left to hand on."""
    from services.workflow.engine import state_kind

    return req.workflow_version is not None and state_kind(req.workflow_version, req.state) in (
        "decided", "closed")


def forward_blocked_message() -> str:
    """Why a request with an open four-eyes proposal cannot be forwarded (service and detail page)."""
    return _(
        "Eine Entscheidung wartet auf Freigabe durch eine zweite Person. Der Antrag kann erst weitergeleitet "
        "werden, wenn sie freigegeben oder zur Überarbeitung zurückgegeben wurde."
    )


def forward_request(req, department, actor, reason: str, expected_row_version: int):
    """Hand the request to another department with a reason (clerk of the current department).

    Refused while a four-eyes proposal is open (TransitionNotAllowed): it is settled first; and once
    the request is decided or closed: the deciding department issued the notice and closes the case.
    """
    from services.workflow.engine import actor_roles, open_proposal

    check_row_version(req, expected_row_version)
    if "clerk" not in actor_roles(req, actor):
        raise PermissionDenied(_("Nur die zuständige Dienststelle kann den Antrag weitergeben."))
    if is_settled(req):
        raise TransitionNotAllowed(_("Über diesen Antrag ist bereits entschieden oder er ist abgeschlossen. "
                                     "Er kann nicht mehr weitergeleitet werden."))
    if open_proposal(req) is not None:
        # The proposal is this department's decision awaiting its own second approver: it must not
        # travel to (and be confirmed and sealed by) another one. Only the state machine settles it.
        raise TransitionNotAllowed(forward_blocked_message())
    reason = (reason or "").strip()
    errors = []
    if not reason:
        errors.append(("reason", _("Bitte geben Sie einen Grund an.")))
    if department is None or not department.active or department.id == req.department_id:
        errors.append(("department", _("Bitte wählen Sie eine andere, aktive Dienststelle.")))
    if errors:
        raise ValidationFailed(errors[0][1], errors=errors)
    previous = req.department_id
    req.department_id = department.id
    req.department = department
    req.assignee_id = None
    event = append_event(req, "forwarded", actor, {"from": previous, "to": department.id, "reason": reason})
    notify_citizen(req, "forwarded")  # inbox row and mail outbox row commit with the move
    return event
