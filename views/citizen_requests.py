"""Citizen actions on a submitted request: answer a question (Rückfrage), withdraw the request.

The applicant is the request's account or, for a request submitted without one, whoever opened its
personal status link in this browser session (views.access.applicant_actor).

The request page itself belongs to views/citizen.py; it includes the partials
citizen/_status_timeline.html, _messages.html and _withdraw.html, fed by the template globals below.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from extensions import db
from forms.clerk import AnswerForm, WithdrawForm
from services import messages
from services.errors import DomainError, StaleObject, UploadRejected
from services.tx import transaction
from views.access import applicant_actor, load_request_for_citizen

bp = Blueprint("citizen_requests", __name__, url_prefix="/antraege")


@bp.app_context_processor
def _partials_context():
    return {
        "citizen_timeline": messages.citizen_timeline,
        "citizen_conversation": messages.citizen_conversation,
        "citizen_may_withdraw": lambda req: (
            messages.withdraw_transition(req, applicant_actor(req)) is not None
        ),
        "answer_form_for": _answer_form,
    }


def _answer_form(req, question):
    form = AnswerForm(prefix=f"q{question.id}")
    if not form.is_submitted():
        form.row_version.data = str(req.row_version)
    return form


def _citizen_page(req):
    return redirect(url_for("citizen.request_detail", request_id=req.public_id), 303)


@bp.route("/<request_id>/rueckfrage/<int:message_id>", methods=["GET", "POST"])
def question_answer(request_id, message_id):
    req = load_request_for_citizen(request_id)
    question = next((m for m in messages.open_questions(req) if m.id == message_id), None)
    if question is None:
        abort(404)
    form = _answer_form(req, question)
    if form.validate_on_submit():
        try:
            with transaction():
                files = [f for f in form.files.data or [] if f and f.filename]
                messages.answer_question(req, question, applicant_actor(req), form.body.data, files,
                                         int(form.row_version.data))
        except UploadRejected as exc:
            form.files.errors = [exc.message]
        except StaleObject as exc:
            flash(exc.message, "error")
            return _citizen_page(req)
        else:
            flash(_("Vielen Dank. Ihre Antwort wurde übermittelt."), "success")
            return _citizen_page(req)
    status = 400 if form.is_submitted() else 200
    return render_template("citizen/answer_question.html", req=req, question=question, form=form,
                           has_errors=bool(form.errors)), status


@bp.route("/<request_id>/zurueckziehen", methods=["GET", "POST"])
def request_withdraw(request_id):
    req = load_request_for_citizen(request_id)
    if messages.withdraw_transition(req, applicant_actor(req)) is None:
        abort(404)
    form = WithdrawForm()
    if request.method == "GET":
        form.row_version.data = str(req.row_version)
    elif form.validate_on_submit():
        try:
            with transaction():
                messages.withdraw_request(req, applicant_actor(req), form.expected_row_version)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return _citizen_page(req)
        flash(_("Ihr Antrag wurde zurückgezogen."), "success")
        return _citizen_page(req)
    status = 400 if form.is_submitted() else 200
    return render_template("citizen/withdraw.html", req=req, form=form, has_errors=bool(form.errors)), status
