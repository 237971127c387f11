"""Telling the applicant about their request: an entry in the in-app inbox plus an email."""

from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from extensions import db
from models import InboxItem
from services.mail import mail_context, mail_locale

# kind -> inbox text (German msgid; %(reference)s is the request's reference number).
# Each kind has an email template templates/email/request_<kind>.txt (first line = subject).
NOTIFICATION_KINDS = {
    "submitted": _l("Ihr Antrag %(reference)s ist eingegangen."),
    "in_progress": _l("Ihr Antrag %(reference)s wird bearbeitet."),
    "information_requested": _l("Zu Ihrem Antrag %(reference)s haben wir eine Rückfrage."),
    "resumed": _l("Die Bearbeitung Ihres Antrags %(reference)s geht weiter."),
    "approved": _l("Ihr Antrag %(reference)s wurde genehmigt."),
    "rejected": _l("Ihr Antrag %(reference)s wurde abgelehnt."),
    "closed": _l("Ihr Antrag %(reference)s ist abgeschlossen."),
    "withdrawn": _l("Ihr Antrag %(reference)s wurde zurückgezogen."),
    "forwarded": _l("Ihr Antrag %(reference)s wurde an eine andere Dienststelle weitergegeben."),
    "notice_issued": _l("Zu Ihrem Antrag %(reference)s gibt es ein neues Dokument zum Herunterladen."),
}


def notify_citizen(req, kind: str, notice=None, **params) -> InboxItem | None:
    """Inbox entry for the applicant and an email (request_<kind>) queued in the outbox.

    A request submitted without an account has no inbox: the email goes to its contact address.
    """
    from services.mail import queue_mail

    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if req.applicant_id is None:
        if req.contact_email:
            queue_mail(None, f"request_{kind}", request=req, notice=notice, **params)
            db.session.flush()
        return None
    if req.applicant.deleted_at is not None:
        return None  # a closed request of a deleted account (e.g. its last notice came late): nobody to tell
    item = InboxItem(
        user_id=req.applicant_id,
        request_id=req.id,
        kind=kind,
        data={"reference": req.reference, "params": params},
    )
    db.session.add(item)
    queue_mail(req.applicant, f"request_{kind}", request=req, notice=notice, **params)
    db.session.flush()
    return item


def inbox_text(item: InboxItem, locale: str | None = None) -> str:
    """The inbox entry as a sentence in the current (or the given) language."""
    message = NOTIFICATION_KINDS.get(item.kind)
    if message is None:
        return item.kind
    if locale is None:
        return str(message) % {"reference": item.data.get("reference", "")}
    with force_locale(locale):
        return str(message) % {"reference": item.data.get("reference", "")}


@mail_context(*(f"request_{kind}" for kind in NOTIFICATION_KINDS))
def _request_mail_context(user, request, notice, params) -> dict:
    """Adds the plain-language state label and hint and the link to the request page."""
    from services.mail import external_url
    from services.workflow.definitions import load_spec

    context = {"state_label": "", "state_hint": "", "request_url": "", "anonymous": False}
    if request is None:
        return context
    locale = mail_locale(user)
    context["anonymous"] = request.applicant_id is None  # no account: the status link is the way in
    if request.workflow_version is not None:
        state = load_spec(request.workflow_version).state(request.state)
        if state is not None:
            context["state_label"] = state.label(locale, "citizen")
            context["state_hint"] = state.citizen_hint(locale)
    if _has_endpoint("citizen.request_detail") and not context["anonymous"]:
        context["request_url"] = external_url("citizen.request_detail", request_id=request.public_id)
    context["greeting"] = _greeting(user)
    context.update(_office_context(request.department, locale))
    if notice is not None:
        context.update(_notice_context(notice))
    return context


def _office_context(department, locale: str) -> dict:
    """Who handles the request and how to reach them: the mail footer's way for anything but answers."""
    if department is None:
        return {"office": "", "office_contact": ""}
    contact = ", ".join(part for part in (department.email, department.phone) if part)
    return {"office": department.name(locale), "office_contact": contact}


def _notice_context(notice) -> dict:
    """The notice's title, and the PDF itself only where the city configured mail attachments."""
    from flask import current_app

    from services.mail import external_url
    from services.notices import notice_title
    from services.notices.files import download_name, notice_file_path

    context = {
        "notice_title": notice_title(notice.kind),
        "verify_url": external_url("verify.code", code=notice.verification_code),
        "attachments": (),
    }
    path = notice_file_path(notice)
    if current_app.config["MAIL_ATTACH_NOTICES"] and path is not None:
        context["attachments"] = [(download_name(notice), path.read_bytes(), "application/pdf")]
    return context


def _has_endpoint(name: str) -> bool:
    from flask import current_app

    return name in current_app.view_functions


@mail_context("staff_citizen_replied")
def _staff_reply_context(user, request, notice, params) -> dict:
    """For the clerk a request is assigned to: which request got an answer, and the link to it."""
    from services.mail import external_url

    context = {"greeting": _greeting(user), "request_url": "", "service_title": ""}
    if request is not None:
        context["service_title"] = request.service.title(mail_locale(user))
        if _has_endpoint("clerk.request_detail"):
            context["request_url"] = external_url("clerk.request_detail", public_id=request.public_id)
    return context


@mail_context("request_access_link_in_account")
def _in_account_context(user, request, notice, params) -> dict:
    """Where a request taken into an account is now: "Meine Anträge", after signing in."""
    from services.mail import external_url

    my_requests = url_for("citizen.my_requests")
    return {"greeting": _greeting(user), "login_link": external_url("auth.login", next=my_requests)}


def _greeting(user) -> str:
    return _("Guten Tag %(name)s,", name=user.full_name) if user.full_name else _("Guten Tag,")


@mail_context("request_access_link", "request_access_link_again", "request_access_link_renewed",
              "request_access_link_account_deleted")
def _access_link_context(user, request, notice, params) -> dict:
    """The personal status link of a request submitted without an account, rebuilt at send time."""
    from services.access import status_token
    from services.mail import external_url

    token = status_token(request) if request is not None else None
    link = external_url("citizen.request_access", request_id=request.public_id, token=token) if token else ""
    return {"status_url": link, "greeting": _greeting(user)}
