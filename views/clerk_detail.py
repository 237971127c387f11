"""Page assembly for the clerk views: the request detail page, its forms, queue choices.

Kept apart from views/clerk.py so that the route functions stay a few lines each. Read-only: the
state changes all happen in services.
"""

from flask import flash, g, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from extensions import db
from forms.clerk import (
    AssignForm,
    ClaimForm,
    ForwardForm,
    NoteForm,
    NoticeRetryForm,
    RetentionHoldForm,
    transition_form_class,
)
from models import Department, NoticeState, RoutingRule, Service, User, WorkflowVersion
from services import approvals, assignment, messages, retention
from services.notices import notice_state_label, notice_title
from services.notices.failures import failure_reason
from services.workflow import (
    approval_fee_cents,
    available_transitions,
    deadline_status,
    forward_blocked_message,
    is_settled,
    load_spec,
    open_proposal,
    state_label,
    version_deadline_status,
)


def locale() -> str:
    return str(get_locale() or "de")


def workflow_versions() -> dict[int, WorkflowVersion]:
    """Every published workflow version by id, loaded once per request (queue rows carry the id only)."""
    if "clerk_versions" not in g:
        stmt = select(WorkflowVersion).order_by(WorkflowVersion.id)
        g.clerk_versions = {version.id: version for version in db.session.scalars(stmt)}
    return g.clerk_versions


def workflow_states() -> dict[str, str]:
    """Staff label of every state of every published workflow version (newest wins), once per request."""
    if "clerk_states" not in g:
        names = {}
        for version in workflow_versions().values():
            states = load_spec(version).states
            names.update({key: state.label(locale(), "staff") for key, state in states.items()})
        g.clerk_states = names
    return g.clerk_states


def known_states() -> set[str]:
    """The allow-list of the state filter."""
    return set(workflow_states())


def known_service_ids() -> set[int]:
    return set(db.session.scalars(select(Service.id)))


def queue_services() -> list[Service]:
    """Services whose requests reach the clerk's departments (owned or routed there)."""
    depts = current_user.department_ids()
    routed = select(RoutingRule.service_id).where(RoutingRule.department_id.in_(depts))
    stmt = select(Service).where(or_(Service.department_id.in_(depts), Service.id.in_(routed)))
    return list(db.session.scalars(stmt.order_by(Service.title_de)))


def queue_context(flt) -> dict:
    """Choices and labels for the queue page's filter form."""
    return {
        "services": queue_services(),
        "states": list(workflow_states()),  # the workflows' own order (received … closed), not by key
        "state_name": state_name,
        "queue_state_label": queue_state_label,
        "queue_deadline_status": queue_deadline_status,
    }


def state_name(state: str) -> str:
    """A staff label for a bare state key."""
    return workflow_states().get(state, state)


def staff_state_label(req) -> str:
    if req.workflow_version is None:
        return req.state
    return state_label(req.workflow_version, req.state, locale(), audience="staff")


def queue_state_label(row) -> str:
    """staff_state_label of a queue row (services.queue.QueueRow: the workflow version's id only)."""
    version = workflow_versions().get(row.workflow_version_id)
    return state_label(version, row.state, locale(), audience="staff") if version is not None else row.state


def queue_deadline_status(row):
    """deadline_status of a queue row."""
    return version_deadline_status(workflow_versions().get(row.workflow_version_id), row)


def assignee_name(req) -> str:
    return req.assignee.full_name or req.assignee.email if req.assignee is not None else ""


def services_by_id(ids) -> dict[int, Service]:
    ids = list(ids)
    return {s.id: s for s in db.session.scalars(select(Service).where(Service.id.in_(ids or [-1])))}


def _posted(submitted: bool) -> dict:
    """Form arguments: read this request's posted data (the form that was sent), or start blank.

    Flask-WTF fills every form from a POST by default; the page's other forms must not take the
    sent form's data (their own fields, their row_version) as theirs.
    """
    return {} if submitted else {"formdata": None}


def assign_form(req, submitted=True):
    form = AssignForm(prefix="assign", **_posted(submitted))
    colleagues = assignment.department_colleagues(req.department_id)
    form.assignee.choices = [(u.id, u.full_name or u.email) for u in colleagues]
    if not submitted and req.assignee_id is not None:
        form.assignee.data = req.assignee_id  # the current assignee comes preselected
    return form


def forward_form(req, submitted=True):
    form = ForwardForm(prefix="forward", **_posted(submitted))
    depts = db.session.scalars(
        select(Department).where(Department.active.is_(True), Department.id != req.department_id)
        .order_by(Department.name_de)
    )
    form.department.choices = [(d.id, d.name(locale())) for d in depts]
    return form


def find_transition(req, name):
    return next((t for t in available_transitions(req, current_user) if t.name == name), None)


def transition_form(req, transition, submitted=True):
    return transition_form_class(transition, locale())(prefix=f"t-{transition.name}", **_posted(submitted))


def transition_done(transition) -> str:
    """What the clerk is told after firing `transition`: a four-eyes decision is only proposed."""
    label = transition.label(locale())
    if transition.second_approver:
        return _("Ihr Vorschlag „%(label)s“ ist noch nicht wirksam: Eine zweite Person muss die Entscheidung "
                 "unter „Freigaben“ bestätigen.", label=label)
    return _("Die Aktion „%(label)s“ wurde ausgeführt.", label=label)


def unavailable(req):
    text = _("Diese Aktion ist für diesen Antrag gerade nicht möglich. Bitte laden Sie die Seite neu.")
    flash(text, "error")
    return render_detail(req, status=409)


def attach_errors(form, exc) -> None:
    """Put the engine's (field key, message) errors onto the form's fields."""
    for key, message in exc.details.get("errors") or [("", exc.message)]:
        field = getattr(form, f"f_{key}", None) or getattr(form, key, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


def conflict(req, form):
    """A form whose action lost a race (StaleObject): the page anew, the typed input kept, its cause shown.

    The form now carries the row_version of what the page shows, so that the clerk, having seen the
    current state, can send it again (or change it) instead of reloading and typing it anew.
    """
    message = _("Der Antrag wurde zwischenzeitlich geändert. Ihre Aktion wurde nicht ausgeführt. Prüfen Sie "
                "den aktuellen Stand (Einzelheiten im Verlauf); Ihre Eingaben stehen noch im Formular und "
                "Sie können es erneut absenden.")
    db.session.refresh(req)
    key = form._prefix.rstrip("-")
    if key.startswith("t-") and find_transition(req, key[2:]) is None:
        return unavailable(req)  # e.g. a colleague decided meanwhile
    _with_version(form, req)
    form.form_errors.append(message)
    return render_detail(req, status=409, forms={key: form})


def _simple_forms(req):
    blank = _posted(False)
    return {
        "claim": ClaimForm(prefix="claim", **blank),
        "release": ClaimForm(prefix="release", **blank),
        "assign": assign_form(req, submitted=False),
        "note": NoteForm(prefix="note", **blank),
        "hold": RetentionHoldForm(prefix="hold", **blank),
        "lift_hold": ClaimForm(prefix="lift_hold", **blank),
        "retry": NoticeRetryForm(prefix="retry", **blank),
        "forward": forward_form(req, submitted=False),
    }


def _with_version(form, req):
    if hasattr(form, "row_version"):
        form.row_version.data = str(req.row_version)
    return form


def _answer_sections(req):
    from forms.dynamic import format_answers  # the form engine (imported late: built in parallel)
    from services.formdefs import load_spec as load_form_spec

    return format_answers(load_form_spec(req.form_version), req.answers, locale(), fmt="html")


def render_detail(req, status=200, forms=None):
    """The request detail page; `forms` (by prefix) replaces fresh forms with submitted ones."""
    forms = dict(forms or {})  # the form that was sent keeps its data and its row_version
    simple = {name: forms.get(name) or _with_version(form, req) for name, form in _simple_forms(req).items()}
    transitions = [
        (t, forms.get(f"t-{t.name}") or _with_version(transition_form(req, t, submitted=False), req))
        for t in available_transitions(req, current_user)
    ]
    proposal = open_proposal(req)
    notices = sorted(req.notices, key=lambda n: n.id)
    context = {
        "req": req,
        "forms": simple,
        "transitions": transitions,
        "sections": _answer_sections(req),
        "state": staff_state_label(req),
        "fee_cents": approval_fee_cents(req),
        "retention_ends": retention.retention_ends(req),
        "deadline": deadline_status(req),
        "proposal": approvals.describe_proposal(req, proposal, locale()) if proposal is not None else None,
        "forward_blocked": forward_blocked_message() if proposal is not None else "",
        "may_forward": not is_settled(req),
        "failed_notices": [(n, failure_reason(n)) for n in notices if n.state == NoticeState.FAILED],
        "notices": notices,
        "notice_title": notice_title,
        "notice_state_label": notice_state_label,
        "people": _people(req),
        "departments": {d.id: d for d in db.session.scalars(select(Department))},
        "event_state": lambda key: state_label(req.workflow_version, key, locale(), "staff")
        if req.workflow_version is not None else key,
        "event_details": _event_details(req),
        "event_decision": _event_decision(req),
        "is_assignee": req.assignee_id == current_user.id,
        "has_errors": status == 400 or any(form.errors for form in forms.values()),
        "open_questions": messages.open_questions(req),
    }
    return render_template("clerk/request_detail.html", **context), status


def _event_details(req):
    """event → its decision fields as (label, text), labelled by the request's workflow version."""
    spec = load_spec(req.workflow_version) if req.workflow_version is not None else None
    return lambda event: messages.decision_details(event, spec, locale())


def _event_decision(req):
    """event → label of the decision it proposed, confirmed or returned ("" if none is recorded)."""
    spec = load_spec(req.workflow_version) if req.workflow_version is not None else None

    def label(event):
        transition = spec.transitions.get(event.data.get("transition")) if spec is not None else None
        return transition.label(locale()) if transition is not None else ""

    return label


def _people(req) -> dict[int, User]:
    ids = {e.actor_id for e in req.events if e.actor_id} | {m.author_id for m in req.messages if m.author_id}
    ids |= {e.data.get("assignee_id") for e in req.events if isinstance(e.data.get("assignee_id"), int)}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids or {-1})))}
