"""Citizen actions on a submitted request: answer a question (Rückfrage), withdraw the request.

The applicant is the request's account or, for a request submitted without one, whoever opened its
personal status link in this browser session (views.access.applicant_actor).

The request page itself belongs to views/citizen.py; it includes the partials
citizen/_status_timeline.html, _messages.html and _withdraw.html, fed by the template globals below.
"""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from extensions import db
from forms.clerk import AnswerForm, WithdrawForm
from services import access, messages
from services.errors import DomainError, NotFound, StaleObject, UploadRejected
from services.tx import transaction
from services.uploads import human_size
from views.access import applicant_actor, load_request_for_citizen, status_token_for

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
        "answer_file_limit": lambda: human_size(current_app.config["MAX_UPLOAD_BYTES"]),
    }


def _answer_form(req, question):
    return AnswerForm(prefix=f"q{question.id}")


def _citizen_page(req):
    return redirect(url_for("citizen.request_detail", request_id=req.public_id), 303)


@bp.route("/<request_id>/rueckfrage/<int:message_id>", methods=["GET", "POST"])
def question_answer(request_id, message_id):
    req = load_request_for_citizen(request_id)
    asked = _question_status(req, message_id)
    if not asked.is_open:
        return _question_closed(req, asked)
    question = asked.question
    form = _answer_form(req, question)
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        files = [f for f in form.files.data or [] if f and f.filename]
        try:
            with transaction():
                messages.answer_question(req, question, applicant_actor(req), form.body.data, files)
        except UploadRejected as exc:
            form.files.errors = [exc.message]
        except StaleObject:  # a write raced this one: the typed answer stays on the page
            asked = _question_status(req, message_id)
            if not asked.is_open:  # e.g. answered in another tab just now
                return _question_closed(req, asked)
            status = 409
            form.form_errors.append(_not_sent_message(files))
        else:
            flash(_("Vielen Dank. Ihre Antwort wurde übermittelt."), "success")
            return _citizen_page(req)
    return _render_answer_page(req, question, form, status)


def _question_status(req, message_id):
    try:
        return messages.question_status(req, message_id)
    except NotFound:  # not a question of this request: nothing to tell
        abort(404)


def _question_closed(req, asked):
    """The question is no longer open: a visit goes to the request page; an answer comes back unsent."""
    reason = messages.question_closed_text(asked.closed_because)
    if request.method != "POST":
        flash(reason, "info")
        return _citizen_page(req)
    form = _answer_form(req, asked.question)
    file_names = [f.filename for f in form.files.data or [] if f and f.filename]
    return render_template("citizen/question_closed.html", req=req, asked=asked, reason=reason,
                           typed=(form.body.data or "").strip(), file_names=file_names,
                           has_errors=True), 409


def _render_answer_page(req, question, form, status):
    return render_template("citizen/answer_question.html", req=req, question=question, form=form,
                           has_errors=bool(form.errors)), status


def _not_sent_message(files) -> str:
    if files:
        return _("Der Antrag wurde gerade geändert, Ihre Antwort ist noch nicht gesendet. Prüfen Sie sie, "
                 "wählen Sie die Dateien erneut aus und senden Sie die Antwort noch einmal.")
    return _("Der Antrag wurde gerade geändert, Ihre Antwort ist noch nicht gesendet. Prüfen Sie sie und "
             "senden Sie sie noch einmal.")


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    """An oversized answer re-shows its question with the limits (the body was not read, so nor its text)."""
    args = request.view_args or {}
    req = access.find_request_by_public_id(args.get("request_id", ""))
    if req is not None and not access.citizen_may_view(current_user, req, status_token_for(req.public_id)):
        req = None
    on_answer_page = req is not None and request.endpoint == "citizen_requests.question_answer"
    questions = messages.open_questions(req) if on_answer_page else []
    question = next((m for m in questions if m.id == args.get("message_id")), None)
    if question is None:
        return render_template("errors/error.html", status=413, title=_("Datei zu groß"),
                               text=_("Die gesendeten Daten sind zu groß.")), 413
    form = AnswerForm(formdata=None, prefix=f"q{question.id}")
    form.files.errors = [_(
        "Ihre Antwort wurde nicht gesendet: Antwort und Dateien zusammen dürfen höchstens %(total)s groß "
        "sein, jede Datei höchstens %(size)s. Geben Sie Ihre Antwort erneut ein und wählen Sie kleinere "
        "Dateien aus.",
        total=human_size(current_app.config["MAX_CONTENT_LENGTH"]),
        size=human_size(current_app.config["MAX_UPLOAD_BYTES"]),
    )]
    return _render_answer_page(req, question, form, 413)


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
