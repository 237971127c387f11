"""Clerk work queue (Arbeitskorb): list, request detail, claim/assign, workflow actions, dashboard."""

from functools import wraps

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from forms.clerk import ClaimForm, NoteForm, NoticeRetryForm, RetentionHoldForm, transition_data
from models import Department, MembershipRole, User
from services import approvals as approval_service
from services import assignment, dashboard, export, messages, queue, retention
from services.errors import DomainError, StaleObject, ValidationFailed
from services.notices import retry_notice
from services.tx import transaction
from services.workflow import forward_request
from views import clerk_detail
from views.access import load_request_for_staff
from views.downloads import send_attachment, send_notice

bp = Blueprint("clerk", __name__, url_prefix="/sachbearbeitung")


def staff_required(view):
    """Logged-in staff with at least one department membership; others get 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not (current_user.is_staff and current_user.memberships):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _queue_filter():
    """Allow-listed filter; an unknown value raises ValidationFailed (unknown parameter names are ignored)."""
    return queue.parse_queue_args(request.args, known_states=clerk_detail.known_states(),
                                  known_service_ids=clerk_detail.known_service_ids())


@bp.get("/", endpoint="queue")
@staff_required
def queue_view():
    try:
        flt, error = _queue_filter(), None
    except ValidationFailed as exc:  # the normal page, unfiltered, with the problem in its error summary
        flt, error = queue.QueueFilter(), exc.message
    depts = current_user.department_ids()
    page = queue.list_queue(depts, flt, current_user.id)
    counts = queue.state_counts(depts, current_user.id)
    return render_template("clerk/queue.html", page=page, flt=flt, counts=counts, filter_error=error,
                           has_errors=error is not None,
                           **clerk_detail.queue_context(flt)), 400 if error else 200


@bp.get("/export.csv")
@staff_required
def queue_export():
    flt = _queue_filter()
    rows = queue.iter_queue(current_user.department_ids(), flt, current_user.id)
    body = export.queue_csv(rows, clerk_detail.locale(), current_user.department_ids(MembershipRole.ADMIN),
                            clerk_detail.staff_state_label, clerk_detail.assignee_name)
    headers = {"Content-Disposition": 'attachment; filename="arbeitskorb.csv"',
               "Cache-Control": "private, no-store"}
    return Response(body, mimetype="text/csv", headers=headers)


@bp.post("/naechster")
@staff_required
def queue_claim_next():
    with transaction():
        req = assignment.claim_next(current_user, current_user.department_ids())
        target = req.public_id if req is not None else None
    if target is None:
        flash(_("Es gibt keinen offenen, unbearbeiteten Antrag."), "info")
        return redirect(url_for(".queue"))
    flash(_("Sie bearbeiten jetzt diesen Antrag."), "success")
    return redirect(url_for(".request_detail", public_id=target))


@bp.get("/uebersicht", endpoint="dashboard")
@staff_required
def dashboard_view():
    figures = dashboard.department_figures(current_user.department_ids())
    return render_template("clerk/dashboard.html", figures=figures, periods=dashboard.PERIODS,
                           overdue=dashboard.overdue_count(current_user.department_ids()),
                           replied=dashboard.replied_count(current_user.department_ids()),
                           services=clerk_detail.services_by_id(f.service_id for f in figures),
                           state_name=clerk_detail.state_name)



@bp.get("/freigaben")
@staff_required
def approvals():
    rows = approval_service.pending_approval_summaries(current_user, clerk_detail.locale())
    return render_template("clerk/approvals.html", rows=rows)


@bp.get("/antraege/<public_id>")
@staff_required
def request_detail(public_id):
    return clerk_detail.render_detail(load_request_for_staff(public_id))


@bp.get("/antraege/<public_id>/dateien/<attachment_id>")
@staff_required
def attachment_download(public_id, attachment_id):
    return send_attachment(load_request_for_staff(public_id), attachment_id)


@bp.get("/antraege/<public_id>/bescheide/<notice_id>")
@staff_required
def notice_download(public_id, notice_id):
    return send_notice(load_request_for_staff(public_id), notice_id)


def _act(req, form, action, success, target=None):
    """Validate `form`, run `action()` in one transaction, flash, redirect; errors re-render the page."""
    if not form.validate_on_submit():
        return clerk_detail.render_detail(req, status=400, forms={form._prefix.rstrip("-"): form})
    try:
        with transaction():
            action()
    except StaleObject:
        return clerk_detail.conflict(req, form)
    except ValidationFailed as exc:
        clerk_detail.attach_errors(form, exc)
        return clerk_detail.render_detail(req, status=400, forms={form._prefix.rstrip("-"): form})
    except DomainError as exc:
        flash(exc.message, "error")
        return clerk_detail.render_detail(req, status=exc.status)
    flash(success, "success")
    return redirect(target or url_for(".request_detail", public_id=req.public_id), 303)


@bp.post("/antraege/<public_id>/bescheide/<notice_id>/erneut-erzeugen")
@staff_required
def notice_retry(public_id, notice_id):
    req, form = load_request_for_staff(public_id), NoticeRetryForm(prefix="retry")
    return _act(req, form, lambda: retry_notice(req, notice_id, current_user),
                _("Der Bescheid wird erneut erzeugt, mit der aktuell veröffentlichten Vorlage."),
                target=url_for(".request_detail", public_id=req.public_id, _anchor="bescheide"))


@bp.post("/antraege/<public_id>/uebernehmen")
@staff_required
def request_claim(public_id):
    req, form = load_request_for_staff(public_id), ClaimForm(prefix="claim")
    return _act(req, form, lambda: assignment.claim_request(req, current_user, form.expected_row_version),
                _("Sie bearbeiten jetzt diesen Antrag."))


@bp.post("/antraege/<public_id>/zurueckgeben")
@staff_required
def request_release(public_id):
    req, form = load_request_for_staff(public_id), ClaimForm(prefix="release")
    return _act(req, form, lambda: assignment.release_request(req, current_user, form.expected_row_version),
                _("Der Antrag ist wieder im Arbeitskorb der Abteilung."))


@bp.post("/antraege/<public_id>/zuweisen")
@staff_required
def request_assign(public_id):
    req = load_request_for_staff(public_id)
    form = clerk_detail.assign_form(req)
    return _act(req, form, lambda: assignment.assign_request(
        req, db.session.get(User, form.assignee.data), current_user, form.expected_row_version),
        _("Der Antrag wurde zugewiesen."))


@bp.post("/antraege/<public_id>/notiz")
@staff_required
def request_note(public_id):
    req, form = load_request_for_staff(public_id), NoteForm(prefix="note")
    return _act(req, form, lambda: messages.add_note(req, current_user, form.text.data),
                _("Die interne Notiz wurde gespeichert."))


@bp.post("/antraege/<public_id>/aufbewahrung")
@staff_required
def request_retention_hold(public_id):
    req, form = load_request_for_staff(public_id), RetentionHoldForm(prefix="hold")
    return _act(req, form, lambda: retention.hold_request(req, current_user, form.reason.data,
                                                          form.expected_row_version),
                _("Der Antrag wird über die Aufbewahrungsfrist hinaus aufbewahrt, bis Sie das wieder "
                  "aufheben."),
                target=url_for(".request_detail", public_id=req.public_id, _anchor="aufbewahrung"))


@bp.post("/antraege/<public_id>/aufbewahrung/aufheben")
@staff_required
def request_retention_lift(public_id):
    req, form = load_request_for_staff(public_id), ClaimForm(prefix="lift_hold")
    return _act(req, form, lambda: retention.lift_hold(req, current_user, form.expected_row_version),
                _("Die längere Aufbewahrung ist aufgehoben; es gilt wieder die Aufbewahrungsfrist der "
                  "Leistung."),
                target=url_for(".request_detail", public_id=req.public_id, _anchor="aufbewahrung"))


@bp.post("/antraege/<public_id>/weiterleiten")
@staff_required
def request_forward(public_id):
    req = load_request_for_staff(public_id)
    form = clerk_detail.forward_form(req)
    return _act(req, form, lambda: forward_request(
        req, db.session.get(Department, form.department.data), current_user, form.reason.data.strip(),
        form.expected_row_version), _("Der Antrag wurde weitergeleitet."), target=url_for(".queue"))


@bp.post("/antraege/<public_id>/aktion/<name>")
@staff_required
def request_transition(public_id, name):
    req = load_request_for_staff(public_id)
    transition = clerk_detail.find_transition(req, name)
    if transition is None:
        return clerk_detail.unavailable(req)
    form = clerk_detail.transition_form(req, transition)
    return _act(req, form, lambda: messages.run_clerk_transition(
        req, name, current_user, transition_data(form, transition), form.expected_row_version),
        clerk_detail.transition_done(transition))

