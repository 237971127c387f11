"""The citizen's journey: start, page by page, check answers, submit, confirmation, my requests."""

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import format_currency, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from extensions import db
from forms.citizen import ActionForm, SubmitForm
from forms.dynamic import (
    PageInvalid,
    accept_of,
    build_page_form,
    compute_values,
    extract_page_answers,
    form_error_pairs,
    format_answers,
    max_bytes_of,
    page_action,
    validate_answers,
    visible_pages,
)
from models import Attachment
from services import access, drafts, submissions, uploads
from services.catalog import find_active_service
from services.errors import AlreadySubmitted, EmailNotConfirmed, ValidationFailed
from services.formdefs import latest_version, load_spec
from services.tx import transaction
from views.access import load_draft_for_citizen, load_request_for_citizen

bp = Blueprint("citizen", __name__)
RETURN_TO_REVIEW = "pruefen"
PUBLIC_ID = re.compile(r"[0-9a-f]{32}")


@bp.url_value_preprocessor
def _reject_malformed_ids(endpoint, values):
    """Ids in URLs are 32 hex digits; anything else is a 404 before it reaches the database."""
    for name in ("draft_id", "request_id", "attachment_id"):
        if name in (values or {}) and not PUBLIC_ID.fullmatch(values[name]):
            abort(404)


def _locale() -> str:
    return str(get_locale())


@bp.route("/antrag/<slug>/starten", methods=["GET", "POST"])
def start(slug):
    service = find_active_service(slug)
    if service is None or latest_version(service) is None:
        abort(404)
    form = ActionForm()
    if request.method == "POST":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=url_for(".start", slug=slug)))
        if form.validate_on_submit():
            with transaction():
                draft = drafts.start_draft(service, current_user)
            return redirect(url_for(".page", draft_id=draft.public_id, page_key=_first_page(draft).key))
    existing = drafts.drafts_of(current_user) if current_user.is_authenticated else []
    existing = [d for d in existing if d.service_id == service.id]
    return render_template("citizen/start.html", service=service, form=form, drafts=existing)


@bp.route("/antrag/<draft_id>/<page_key>", methods=["GET", "POST"])
@login_required
def page(draft_id, page_key):
    draft = _load_own_draft_any_state(draft_id)
    if draft.submitted_at is not None:  # e.g. the browser's back button after submitting
        return _to_existing_request(draft)
    ctx = _PageContext(draft, page_key)
    if request.method == "GET":
        return ctx.render(ctx.form())
    form = ctx.form(CombinedMultiDict([request.form, request.files]))
    action = page_action(request.form)
    if action is not None:
        return _remove_file(ctx, action[1]) if action[0] == "remove_file" else ctx.render(form)
    try:
        answers = extract_page_answers(ctx.spec, ctx.page, form, draft.answers, ctx.store_file)
    except PageInvalid as exc:
        if exc.answers != draft.answers:
            with transaction():  # accepted uploads are kept, so the citizen need not pick them again
                drafts.save_answers(draft, exc.answers, draft.last_page)
        return ctx.render(exc.form, status=400)
    with transaction():
        drafts.save_answers(draft, answers, ctx.page.key)
    if "spaeter" in request.form:
        flash(_("Ihr Antrag wurde gespeichert. Sie können ihn später fortsetzen."), "success")
        return redirect(url_for(".my_requests"))
    return redirect(ctx.next_url(answers))


@bp.route("/antrag/<draft_id>/pruefen", methods=["GET"])
@login_required
def review(draft_id):
    draft = _load_own_draft_any_state(draft_id)
    if draft.submitted_at is not None:
        return _to_existing_request(draft)
    return _render_review(draft, SubmitForm())


@bp.route("/antrag/<draft_id>/absenden", methods=["POST"])
@login_required
def submit(draft_id):
    draft = submissions.lock_draft(draft_id)  # loaded and row-locked at once: submit_draft won't re-read it
    if draft is None or draft.user_id != current_user.id:
        abort(404)
    if draft.submitted_at is not None:
        return _to_existing_request(draft)
    form = SubmitForm()
    if not form.validate_on_submit():
        return _render_review(draft, form, status=400)
    try:
        with transaction():
            req = submissions.submit_draft(draft, current_user, locale=_locale())
            public_id = req.public_id  # read before the commit expires it (no reload after)
    except (AlreadySubmitted, IntegrityError):
        return _to_existing_request(draft)
    except (ValidationFailed, EmailNotConfirmed) as exc:
        return _submit_refused(draft, exc)
    return redirect(url_for(".confirmation", request_id=public_id))


@bp.route("/antrag/<draft_id>/loeschen", methods=["POST"])
@login_required
def draft_delete(draft_id):
    draft = load_draft_for_citizen(draft_id)
    if ActionForm().validate_on_submit():
        with transaction():
            drafts.discard_draft(draft)
        flash(_("Der Entwurf wurde gelöscht."), "success")
    return redirect(url_for(".my_requests"))


@bp.route("/antraege/<request_id>/bestaetigung")
@login_required
def confirmation(request_id):
    req = load_request_for_citizen(request_id)
    return render_template("citizen/confirmation.html", req=req, state_label=_state_label(req))


@bp.route("/meine-antraege")
@login_required
def my_requests():
    open_drafts = drafts.drafts_of(current_user)
    requests = drafts.requests_of(current_user)
    return render_template(
        "citizen/my_requests.html", drafts=open_drafts, requests=requests, form=ActionForm(),
        resume_url=_resume_url, state_label=_state_label,
    )


@bp.route("/antraege/<request_id>")
@login_required
def request_detail(request_id):
    req = load_request_for_citizen(request_id)
    def file_url(file):
        return url_for(".attachment_download", request_id=req.public_id, attachment_id=file.get("id", ""))

    sections = format_answers(load_spec(req.form_version), req.answers, _locale(), "html", file_url=file_url)
    return render_template("citizen/request_detail.html", req=req, sections=sections,
                           state_label=_state_label(req))


@bp.route("/antraege/<request_id>/dateien/<attachment_id>")
@login_required
def attachment_download(request_id, attachment_id):
    req = load_request_for_citizen(request_id)
    attachment = db.session.scalar(
        db.select(Attachment).where(Attachment.public_id == attachment_id, Attachment.request_id == req.id)
    )
    if attachment is None:
        abort(404)
    response = send_file(uploads.attachment_path(attachment), mimetype=attachment.mime_type,
                         as_attachment=True, download_name=attachment.original_name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    """An oversized upload re-shows the page with a message; the saved answers stay untouched."""
    args = request.view_args or {}
    if request.endpoint != "citizen.page" or not current_user.is_authenticated:
        return render_template("errors/error.html", status=413, title=_("Datei zu groß"),
                               text=_("Die gesendeten Daten sind zu groß.")), 413
    ctx = _PageContext(load_draft_for_citizen(args["draft_id"]), args["page_key"])
    message = _("Die ausgewählten Dateien sind zusammen zu groß. Es wurde nichts gespeichert. "
                "Wählen Sie kleinere Dateien aus.")
    return ctx.render(ctx.form(), status=413, extra_errors=[("main", message)])


class _PageContext:
    """What one form page needs: the draft, its spec, the visible pages and this page."""

    def __init__(self, draft, page_key):
        self.draft = draft
        self.spec = load_spec(draft.form_version)
        self.pages = visible_pages(self.spec, draft.answers)
        self.page = next((p for p in self.pages if p.key == page_key), None)
        if self.page is None:
            abort(404)
        self.back_to_review = request.args.get("zurueck") == RETURN_TO_REVIEW

    def form(self, formdata=None):
        return build_page_form(self.spec, self.page, self.draft.answers, _locale(), formdata=formdata)

    def store_file(self, path, file):
        field = self.spec.field(path)
        attachment = uploads.store_upload(self.draft, path, file, current_user,
                                          max_bytes=max_bytes_of(field), allowed=accept_of(field))
        return uploads.attachment_answer(attachment)

    def next_url(self, answers):
        pages = visible_pages(self.spec, answers)
        keys = [p.key for p in pages]
        index = keys.index(self.page.key) if self.page.key in keys else -1
        if self.back_to_review or index + 1 >= len(keys):
            return url_for(".review", draft_id=self.draft.public_id)
        return url_for(".page", draft_id=self.draft.public_id, page_key=keys[index + 1])

    def back_url(self):
        if self.back_to_review:
            return url_for(".review", draft_id=self.draft.public_id)
        index = self.pages.index(self.page)
        if index == 0:
            return url_for(".start", slug=self.draft.service.slug)
        return url_for(".page", draft_id=self.draft.public_id, page_key=self.pages[index - 1].key)

    def render(self, form, status=200, extra_errors=()):
        errors = list(extra_errors) + list(form_error_pairs(form))
        return render_template(
            "citizen/page.html", draft=self.draft, service=self.draft.service, page=self.page, form=form,
            errors=errors, step=self.pages.index(self.page) + 1, steps=len(self.pages),
            back_url=self.back_url(), back_to_review=self.back_to_review, locale=_locale(),
        ), status


def _remove_file(ctx, attachment_public_id):
    with transaction():
        removed = drafts.remove_draft_file(ctx.draft, attachment_public_id)
    if removed:
        flash(_("Die Datei wurde entfernt."), "success")
    args = {"zurueck": RETURN_TO_REVIEW} if ctx.back_to_review else {}
    return redirect(url_for(".page", draft_id=ctx.draft.public_id, page_key=ctx.page.key, **args))


def _first_page(draft):
    pages = visible_pages(load_spec(draft.form_version), draft.answers)
    if not pages:
        abort(404)
    return pages[0]


def _resume_url(draft):
    pages = visible_pages(load_spec(draft.form_version), draft.answers)
    keys = [p.key for p in pages]
    if draft.last_page in keys:
        index = keys.index(draft.last_page) + 1
        if index >= len(keys):
            return url_for(".review", draft_id=draft.public_id)
        return url_for(".page", draft_id=draft.public_id, page_key=keys[index])
    return url_for(".page", draft_id=draft.public_id, page_key=keys[0]) if keys else url_for(".my_requests")


def _render_review(draft, form, status=200):
    spec = load_spec(draft.form_version)
    locale = _locale()
    problems = validate_answers(spec, draft.answers)
    computed = compute_values(spec, draft.answers)
    fee = computed.get("fee_cents", draft.service.fee_cents) or 0
    return render_template(
        "citizen/review.html", draft=draft, service=draft.service, form=form,
        fee_text=format_currency(fee / 100, "EUR") if fee else None,
        sections=format_answers(spec, draft.answers, locale, "html"), problems=problems,
        pages={p.key: p for p in visible_pages(spec, draft.answers)}, locale=locale,
        has_errors=bool(form.errors),
    ), status


def _submit_refused(draft, exc):
    if exc.details.get("outdated"):
        with transaction():
            drafts.upgrade_draft(draft)
        flash(exc.message, "warning")
        return redirect(url_for(".page", draft_id=draft.public_id, page_key=_first_page(draft).key))
    flash(exc.message, "error")
    return redirect(url_for(".review", draft_id=draft.public_id))


def _load_own_draft_any_state(public_id):
    """The current user's draft, submitted or not (a repeated submit must find its request)."""
    draft = access.find_draft_by_public_id(public_id)
    if draft is None or draft.user_id != current_user.id:
        abort(404)
    return draft


def _to_existing_request(draft):
    db.session.rollback()
    req = submissions.request_for_draft(draft)
    if req is None:
        abort(404)
    return redirect(url_for(".confirmation", request_id=req.public_id))


def _state_label(req):
    from services.workflow import state_label

    if req.workflow_version is None:
        return req.state
    return state_label(req.workflow_version, req.state, _locale(), audience="citizen")
