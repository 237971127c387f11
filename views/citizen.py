"""The citizen's journey: start, page by page, check answers, submit, confirmation, my requests."""

import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_currency, get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from limits import parse_many
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from extensions import db, limiter
from forms.citizen import ActionForm, AnonymousSubmitForm, StatusLinkForm, SubmitForm
from forms.dynamic import (
    PageInvalid,
    accept_of,
    build_page_form,
    build_resumed_page_form,
    compute_values,
    extract_page_answers,
    extract_partial_answers,
    form_error_pairs,
    format_answers,
    max_bytes_of,
    page_action,
    validate_answers,
    visible_pages,
)
from services import access, anonymous, drafts, review_stamp, submissions, uploads
from services.catalog import find_active_service, is_offered
from services.errors import (
    AlreadySubmitted,
    EmailNotConfirmed,
    NotFound,
    PermissionDenied,
    ServiceNotOffered,
    ValidationFailed,
)
from services.formdefs import latest_version, load_spec
from services.notices import notice_title, notices_for_applicant
from services.tx import transaction
from views.access import (
    load_draft_for_citizen,
    load_request_for_citizen,
    login_or_404,
    remember_status_token,
    session_draft_token,
    status_token_for,
)
from views.downloads import send_attachment, send_notice

bp = Blueprint("citizen", __name__)
RETURN_TO_REVIEW = "pruefen"
PUBLIC_ID = re.compile(r"[0-9a-f]{32}")
STATUS_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


@bp.url_value_preprocessor
def _reject_malformed_ids(endpoint, values):
    """Ids in URLs are 32 hex digits; anything else is a 404 before it reaches the database."""
    for name in ("draft_id", "request_id", "attachment_id", "notice_id"):
        if name in (values or {}) and not PUBLIC_ID.fullmatch(values[name]):
            abort(404)
    if "token" in (values or {}) and not STATUS_TOKEN.fullmatch(values["token"]):
        abort(404)


def _limit_anonymous(name):
    """The rate limit `name` from the config, for visitors without an account (accounts are exempt).

    Checked here with Flask-Limiter's own backend and storage instead of its decorator: for the
    logged-in majority the decorator's bookkeeping cost ~0.4 ms per submit for a limit that does
    not apply to them (docs/performance.md). 429 as the decorator answers.
    """
    if not limiter.enabled or current_user.is_authenticated:
        return
    address = get_remote_address()
    for limit in parse_many(current_app.config[name]):
        if not limiter.limiter.hit(limit, "anonymous", name, address):
            abort(429)


def _current_user_or_none():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _login_url(target, register=False):
    return url_for("auth.register" if register else "auth.login", next=target)


def _locale() -> str:
    return str(get_locale())


@bp.route("/antrag/<slug>/starten", methods=["GET", "POST"])
def start(slug):
    """Anyone may start: with an account the draft is theirs, else it belongs to this browser session."""
    if request.method == "POST":
        _limit_anonymous("ANONYMOUS_START_RATE_LIMIT")
    service = find_active_service(slug)
    if service is None or latest_version(service) is None:
        abort(404)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        user = _current_user_or_none()
        token = None if user is not None else session_draft_token(create=True)
        with transaction():
            draft = drafts.start_draft(service, user, session_token=token)
        return redirect(url_for(".page", draft_id=draft.public_id, page_key=_first_page(draft).key))
    existing = drafts.drafts_of(current_user) if current_user.is_authenticated else []
    existing = [d for d in existing if d.service_id == service.id]
    return render_template("citizen/start.html", service=service, form=form, drafts=existing,
                           login_url=_login_url(url_for(".start", slug=slug)),
                           ttl_hours=_anonymous_ttl_hours())


@bp.route("/antrag/<draft_id>/<page_key>", methods=["GET", "POST"])
def page(draft_id, page_key):
    draft = load_draft_for_citizen(draft_id, submitted_too=True)
    if draft.submitted_at is not None:  # e.g. the browser's back button after submitting
        return _to_existing_request(draft)
    if not is_offered(draft.service):
        return _not_offered(draft, not_saved=request.method == "POST")
    ctx = _PageContext(draft, page_key)
    if request.method == "GET":
        return ctx.render(ctx.form())
    try:
        return _post_page(ctx)
    except AlreadySubmitted as exc:  # submitted in another tab meanwhile: this post changed nothing
        flash(exc.message, "warning")
        return _to_existing_request(draft)
    except ServiceNotOffered:  # switched off while the page was open: this post changed nothing
        return _not_offered(draft, not_saved=True)


def _post_page(ctx):
    draft = ctx.draft
    form = ctx.form(CombinedMultiDict([request.form, request.files]))
    action = page_action(request.form)
    if action is not None:
        return _remove_file(ctx, action[1]) if action[0] == "remove_file" else ctx.render(form)
    if "spaeter" in request.form and draft.user_id is not None:  # anonymous drafts: kept for this visit only
        return _save_for_later(ctx, form)
    try:
        answers = extract_page_answers(ctx.spec, ctx.page, form, draft.answers, ctx.store_file)
    except PageInvalid as exc:
        if exc.answers != draft.answers:
            with transaction():  # accepted uploads are kept, so the citizen need not pick them again
                drafts.save_answers(draft, exc.answers, draft.last_page, posted_page=ctx.page.key)
        return ctx.render(exc.form, status=400)
    with transaction():
        drafts.save_answers(draft, answers, ctx.page.key)
    return redirect(ctx.next_url(answers))


def _save_for_later(ctx, form):
    """"Save and come back later" (GOV.UK): keep what is valid, show no errors now, they come on "Weiter".

    A page left incomplete is where "Fortsetzen" returns to (last_page is the page completed before it).
    """
    draft = ctx.draft
    answers, skipped = extract_partial_answers(ctx.spec, ctx.page, form, draft.answers, ctx.store_file)
    with transaction():
        drafts.save_for_later(
            draft, ctx.spec, ctx.page, answers, skipped, ctx.previous_page_key(), form.unsaved_input
        )
    flash(_("Ihr Antrag wurde gespeichert. Sie können ihn später fortsetzen."), "success")
    if skipped:
        labels = ", ".join(f.label(_locale()) for f in skipped)
        flash(_("Nicht gespeichert wurden ungültige Eingaben bei %(fields)s. Wenn Sie fortsetzen, sehen Sie, "
                "was zu ändern ist.", fields=labels), "warning")
    return redirect(url_for(".my_requests"))


@bp.route("/antrag/<draft_id>/pruefen", methods=["GET"])
def review(draft_id):
    draft = load_draft_for_citizen(draft_id, submitted_too=True)
    if draft.submitted_at is not None:
        return _to_existing_request(draft)
    if _anonymous_may_submit(draft):
        return _render_review(draft, AnonymousSubmitForm(email=anonymous.contact_email_from_answers(draft)))
    return _render_review(draft, SubmitForm())


@bp.route("/antrag/<draft_id>/absenden", methods=["POST"])
def submit(draft_id):
    # Loaded and row-locked at once, with its owner's account: submit_draft won't re-read the draft,
    # and current_user needs no query of its own. Hence the anonymous limit only after it.
    draft = submissions.lock_draft(draft_id)
    _limit_anonymous("ANONYMOUS_SUBMIT_RATE_LIMIT")
    if draft is None or not access.may_use_draft(current_user, draft, session_draft_token()):
        db.session.rollback()
        login_or_404()
    if draft.submitted_at is not None:
        return _to_existing_request(draft)
    is_anonymous = draft.user_id is None
    if is_anonymous and draft.service.login_required:
        db.session.rollback()  # nothing is lost: the review page asks them to log in or register
        return redirect(_login_url(url_for(".review", draft_id=draft_id)))
    form = AnonymousSubmitForm() if is_anonymous else SubmitForm()
    if not form.validate_on_submit():
        return _render_review(draft, form, status=400)
    token, stamp = None, request.form.get("checked")  # the check-answers page's (services.review_stamp)
    try:
        with transaction():
            if is_anonymous:
                email = form.email.data
                req = anonymous.submit_anonymously(draft, email, locale=_locale(), review_stamp=stamp)
                token = access.status_token(req)
            else:
                req = submissions.submit_draft(draft, current_user, locale=_locale(), review_stamp=stamp)
            public_id = req.public_id  # read before the commit expires it (no reload after)
    except (AlreadySubmitted, IntegrityError):
        return _to_existing_request(draft)
    except ValidationFailed as exc:
        if exc.details.get("field") == "email" and is_anonymous:
            form.email.errors = [exc.message]
            return _render_review(draft, form, status=400)
        return _submit_refused(draft, exc)
    except (EmailNotConfirmed, PermissionDenied) as exc:
        return _submit_refused(draft, exc)
    except ServiceNotOffered:  # checked by the submit's lock query: no extra statement per submit
        return _not_offered(draft, not_submitted=True)
    if token is not None:
        remember_status_token(public_id, token)  # this browser may open the request right away
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
def confirmation(request_id):
    req = load_request_for_citizen(request_id)
    return render_template("citizen/confirmation.html", req=req, state_label=_state_label(req),
                           status_url=_status_url(req))


@bp.get("/antraege/<request_id>/zugang/<token>")
@limiter.limit(lambda: current_app.config["STATUS_LINK_RATE_LIMIT"])
def request_access(request_id, token):
    """The personal status link of a request submitted without an account: this browser may open it."""
    req = access.find_request_by_public_id(request_id)
    if access.holder_for(req, token) is None:
        # The same page for every unknown or retired link: it tells nothing about the request.
        return render_template("citizen/status_link_invalid.html"), 404
    remember_status_token(req.public_id, token)
    return redirect(url_for(".request_detail", request_id=req.public_id), 303)  # the token leaves the URL


@bp.post("/antraege/<request_id>/zugang/erneuern")
@limiter.limit(lambda: current_app.config["STATUS_LINK_RESEND_RATE_LIMIT"])
def request_access_renew(request_id):
    """Retire the personal status link (shared by mistake?) and mail a new one; this browser keeps access."""
    req = load_request_for_citizen(request_id)
    if ActionForm().validate_on_submit():
        try:
            with transaction():
                token = anonymous.renew_access_link(req)
                public_id, email = req.public_id, req.contact_email
        except PermissionDenied:  # a request of an account has no link
            abort(404)
        remember_status_token(public_id, token)
        flash(_("Ihr bisheriger persönlicher Link gilt nicht mehr. Den neuen Link haben wir an %(email)s "
                "geschickt; Sie finden ihn auch hier.", email=email), "success")
    return redirect(url_for(".request_detail", request_id=request_id), 303)


@bp.route("/antraege/statuslink", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["STATUS_LINK_RESEND_RATE_LIMIT"], methods=["POST"])
def status_link_resend():
    """Lost the e-mail with the personal status link? Reference + contact address send it again."""
    form = StatusLinkForm()
    if form.validate_on_submit():
        with transaction():
            anonymous.resend_access_link(form.reference.data, form.email.data)
        # the same answer whether or not they matched: the form must not reveal requests or addresses
        return redirect(url_for(".status_link_sent"), 303)
    return render_template("citizen/status_link_resend.html", form=form), (400 if form.errors else 200)


@bp.get("/antraege/statuslink/gesendet")
def status_link_sent():
    return render_template("citizen/status_link_sent.html")


@bp.route("/meine-antraege")
@login_required
def my_requests():
    open_drafts = drafts.drafts_of(current_user)
    requests = drafts.requests_of(current_user)
    return render_template(
        "citizen/my_requests.html", drafts=open_drafts, requests=requests, form=ActionForm(),
        resume_url=_resume_url, state_label=_state_label, is_offered=is_offered,
        claimable=anonymous.claimable_requests(current_user),  # submitted without an account to their address
    )


@bp.route("/meine-antraege/zuordnen/<request_id>", methods=["POST"])
@login_required
def claim_request(request_id):
    """Take a request submitted without an account to the user's confirmed address into the account."""
    if ActionForm().validate_on_submit():
        try:
            with transaction():
                req = anonymous.claim_request(current_user, request_id)
                reference = req.reference
        except NotFound:
            abort(404)
        flash(_("Der Antrag %(reference)s ist jetzt Ihrem Benutzerkonto zugeordnet.", reference=reference),
              "success")
    return redirect(url_for(".my_requests"))


@bp.route("/antraege/<request_id>")
def request_detail(request_id):
    req = load_request_for_citizen(request_id)
    def file_url(file):
        return url_for(".attachment_download", request_id=req.public_id, attachment_id=file.get("id", ""))

    sections = format_answers(load_spec(req.form_version), req.answers, _locale(), "html", file_url=file_url)
    notices = notices_for_applicant(req)
    return render_template("citizen/request_detail.html", req=req, sections=sections,
                           state_label=_state_label(req), notices=notices["issued"],
                           pending_notices=notices["pending"], failed_notices=notices["failed"],
                           notice_title=notice_title, status_url=_status_url(req))


@bp.route("/antraege/<request_id>/dokumente/<notice_id>")
def notice_download(request_id, notice_id):
    """An issued notice (Bescheid) of the applicant's request, as the sealed PDF."""
    return send_notice(load_request_for_citizen(request_id), notice_id)


@bp.route("/antraege/<request_id>/dateien/<attachment_id>")
def attachment_download(request_id, attachment_id):
    return send_attachment(load_request_for_citizen(request_id), attachment_id)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    """An oversized upload re-shows the page with a message; the saved answers stay untouched."""
    args = request.view_args or {}
    draft = None
    if request.endpoint == "citizen.page":
        draft = access.find_draft_by_public_id(args.get("draft_id", ""))
    if draft is None or not access.citizen_may_view_draft(current_user, draft, session_draft_token()):
        return render_template("errors/error.html", status=413, title=_("Datei zu groß"),
                               text=_("Die gesendeten Daten sind zu groß.")), 413
    if not is_offered(draft.service):
        return _not_offered(draft, not_saved=True)
    ctx = _PageContext(draft, args["page_key"])
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
        """The page bound to `formdata`; unposted, the saved answers, with any input "Später
        fortsetzen" could not save shown again with its error."""
        unsaved = drafts.unsaved_input_of(self.draft, self.page.key) if formdata is None else {}
        if unsaved:
            return build_resumed_page_form(self.spec, self.page, self.draft.answers, unsaved, _locale())
        return build_page_form(self.spec, self.page, self.draft.answers, _locale(), formdata=formdata)

    def store_file(self, path, file):
        field = self.spec.field(path)
        attachment = uploads.store_upload(self.draft, path, file, _current_user_or_none(),
                                          max_bytes=max_bytes_of(field), allowed=accept_of(field))
        return uploads.attachment_answer(attachment)

    def next_url(self, answers):
        pages = visible_pages(self.spec, answers)
        keys = [p.key for p in pages]
        index = keys.index(self.page.key) if self.page.key in keys else -1
        if self.back_to_review or index + 1 >= len(keys):
            return url_for(".review", draft_id=self.draft.public_id)
        return url_for(".page", draft_id=self.draft.public_id, page_key=keys[index + 1])

    def previous_page_key(self):
        """The page before this one ("" on the first): resuming a draft starts after it."""
        index = self.pages.index(self.page)
        return self.pages[index - 1].key if index else ""

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
            login_url=_login_url(request.full_path.rstrip("?")), ttl_hours=_anonymous_ttl_hours(),
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
    if not is_offered(draft.service):
        return _not_offered(draft)
    spec = load_spec(draft.form_version)
    locale = _locale()
    problems = validate_answers(spec, draft.answers)
    stamp = None if problems else review_stamp.stamp_for(draft, draft.form_version.checksum)
    computed = compute_values(spec, draft.answers, draft.service_id)
    fee = computed.get("fee_cents", draft.service.fee_cents) or 0
    review_url = url_for(".review", draft_id=draft.public_id)
    return render_template(
        "citizen/review.html", draft=draft, service=draft.service, form=form,
        fee_text=format_currency(fee / 100, "EUR") if fee else None,
        sections=format_answers(spec, draft.answers, locale, "html"), problems=problems,
        pages={p.key: p for p in visible_pages(spec, draft.answers)}, locale=locale,
        has_errors=bool(form.errors), is_anonymous=draft.user_id is None,
        login_url=_login_url(review_url), register_url=_login_url(review_url, register=True),
        ttl_hours=_anonymous_ttl_hours(), checked_stamp=stamp,
    ), status


def _submit_refused(draft, exc):
    if exc.details.get("outdated"):
        with transaction():
            drafts.upgrade_draft(draft)
        flash(exc.message, "warning")
        return redirect(url_for(".page", draft_id=draft.public_id, page_key=_first_page(draft).key))
    flash(exc.message, "error")
    return redirect(url_for(".review", draft_id=draft.public_id))


def _not_offered(draft, not_saved=False, not_submitted=False):
    """The draft's service is not offered online now: the page says so, shows what stays saved and
    whom to ask; continuing and submitting wait until the department offers it again."""
    db.session.rollback()  # nothing of a refused post is kept; the draft stays as it was saved
    review_url = url_for(".review", draft_id=draft.public_id)
    sections = format_answers(load_spec(draft.form_version), draft.answers, _locale(), "html")
    return render_template(
        "citizen/service_not_offered.html", draft=draft, service=draft.service, sections=sections,
        not_saved=not_saved, not_submitted=not_submitted, is_anonymous=draft.user_id is None,
        login_url=_login_url(review_url), ttl_hours=_anonymous_ttl_hours(),
    ), 409


def _anonymous_may_submit(draft) -> bool:
    return draft.user_id is None and not draft.service.login_required


def _anonymous_ttl_hours() -> int:
    return max(1, round(current_app.config["ANONYMOUS_DRAFT_TTL_MINUTES"] / 60))


def _status_url(req):
    """The personal status link of an anonymous request this browser holds (None otherwise)."""
    token = status_token_for(req.public_id) if req.applicant_id is None else None
    if token is None:
        return None
    return url_for(".request_access", request_id=req.public_id, token=token, _external=True)


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
