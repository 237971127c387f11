"""Email: queue after commit (outbox), render in the recipient's language, deliver via a backend.

Templates live in `templates/email/<name>.txt` (and optionally `<name>.html`). The first line of the
text template is the subject, followed by one blank line, then the body.
"""

import importlib
import smtplib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from jinja2 import TemplateNotFound

from extensions import db
from models import Notice, ServiceRequest, User
from models.base import utcnow
from services.outbox import record_job

# template name -> builder(user, request, notice, params) -> extra template context
CONTEXT_BUILDERS: dict[str, Callable[..., dict]] = {}
# Modules that register builders with @mail_context; imported before rendering (worker processes
# do not necessarily import them otherwise). Each area adds its module with one line.
BUILDER_MODULES = ["services.accounts", "services.notifications"]


def mail_context(*templates: str):
    """Register a builder that adds context (e.g. a freshly signed link) for these templates."""

    def register(func):
        for name in templates:
            CONTEXT_BUILDERS[name] = func
        return func

    return register


@dataclass(frozen=True)
class Contact:
    """The recipient of mail about a request submitted without an account (its contact address)."""

    email: str
    full_name: str
    locale: str | None  # the language the request was submitted in
    is_contact = True


def supported_locale(locale: str | None) -> str:
    """`locale` if it is one of the configured LANGUAGES, else the default language."""
    config = current_app.config
    return locale if locale in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]


def mail_locale(recipient) -> str:
    """The language mail to `recipient` (a User or a Contact) is written in, read at send time.

    An account's mail follows its current setting (services.accounts.set_mail_locale); a request
    without an account keeps the language it was submitted in (`ServiceRequest.locale`).
    """
    return supported_locale(recipient.locale)


def request_contact(request) -> Contact | None:
    """The contact of an anonymous request, or None (a request of an account, or no address)."""
    if request is None or request.applicant_id is not None or not request.contact_email:
        return None
    return Contact(request.contact_email, request.applicant_name or "", request.locale)


def queue_mail(user: User | None, template: str, request=None, notice=None, **params) -> None:
    """Record a `send_email` outbox row; it is sent after commit by a worker.

    `params` must be non-personal values (they end up in Redis); links with tokens are made
    at send time by the template's context builder. `user` None: the mail goes to the contact
    address of `request` (submitted without an account), read at send time.
    """
    if user is None and request is None:
        raise ValueError("a mail without a user needs the request whose contact address it goes to")
    payload = {"template": template, "user_id": user.id if user is not None else None, "params": params}
    if request is not None:
        payload["request_id"] = request.id
    if notice is not None:
        payload["notice_id"] = notice.id
    record_job("send_email", payload, request=request)


def deliver_outbox_mail(payload: dict) -> None:
    """Job: render the email for the payload's ids in the recipient's language and send it."""
    request = db.session.get(ServiceRequest, payload["request_id"]) if payload.get("request_id") else None
    if payload.get("user_id") is None:
        user = request_contact(request)  # a request submitted without an account: its contact address
    else:
        user = db.session.get(User, payload["user_id"])
    if user is None or getattr(user, "deleted_at", None) is not None:
        return  # account deleted since (its address is a placeholder), or no address: nothing to send
    notice = db.session.get(Notice, payload["notice_id"]) if payload.get("notice_id") else None
    subject, text, html, attachments = render_mail(
        payload["template"], user, request=request, notice=notice, params=payload.get("params") or {}
    )
    send_mail(user.email, subject, text, html=html, attachments=attachments)


def render_mail(template: str, user, request=None, notice=None, params=None):
    """Render (subject, text, html or None, attachments) for `user` (a User or a Contact) in their
    language (`mail_locale`); templates get it as `locale`."""
    base_url = current_app.config["BASE_URL"]
    locale = mail_locale(user)
    # A request context so url_for builds absolute links to BASE_URL, also inside a worker.
    with current_app.test_request_context("/", base_url=base_url), force_locale(locale):
        context = {"user": user, "request": request, "notice": notice, "params": params or {}}
        context["locale"] = locale
        for module in BUILDER_MODULES:
            importlib.import_module(module)
        builder = CONTEXT_BUILDERS.get(template)
        if builder is not None:
            context.update(builder(user=user, request=request, notice=notice, params=params or {}))
        attachments = context.pop("attachments", ())
        subject, _, body = render_template(f"email/{template}.txt", **context).partition("\n")
        try:
            html = render_template(f"email/{template}.html", **context)
        except TemplateNotFound:
            html = None
    return subject.strip(), body.lstrip("\n"), html, attachments


def external_url(endpoint: str, **values) -> str:
    """Absolute URL for links in emails (call inside render_mail's context)."""
    return url_for(endpoint, _external=True, **values)


def build_message(to: str, subject: str, text: str, html=None, attachments: Iterable = ()) -> EmailMessage:
    """An RFC 5322 message; attachments are (filename, bytes, "type/subtype") tuples."""
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=_sender_domain())
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, content, mimetype in attachments:
        maintype, _, subtype = mimetype.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def _sender_domain() -> str:
    sender = current_app.config["MAIL_FROM"]
    return sender.rpartition("@")[2].strip(" >") or "amtsweg.invalid"


def send_mail(to: str, subject: str, text: str, html=None, attachments: Iterable = ()) -> EmailMessage:
    """Deliver one email now through the configured backend (MAIL_BACKEND: file or smtp)."""
    msg = build_message(to, subject, text, html=html, attachments=attachments)
    BACKENDS[current_app.config["MAIL_BACKEND"]](msg)
    return msg


def _deliver_file(msg: EmailMessage) -> None:
    """Development/embedded: write the message as an .eml file into MAIL_DIR."""
    directory = Path(current_app.config["MAIL_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    tmp = directory / f".{name}.tmp"
    tmp.write_bytes(msg.as_bytes())
    tmp.rename(directory / name)  # readers never see a half-written file


def _deliver_smtp(msg: EmailMessage) -> None:
    """Production: hand the message to the configured SMTP relay (STARTTLS and login if set)."""
    cfg = current_app.config
    with smtplib.SMTP(cfg["MAIL_HOST"], cfg["MAIL_PORT"], timeout=cfg.get("MAIL_TIMEOUT", 30)) as smtp:
        if cfg["MAIL_STARTTLS"]:
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(msg)


BACKENDS: dict[str, Callable[[EmailMessage], None]] = {"file": _deliver_file, "smtp": _deliver_smtp}
