"""Submitting without an account: contact address, personal status link, its e-mail.

Only for services with `login_required` off. The request keeps no applicant user but the contact
address for replies and the SHA-256 of its status token (services.tokens.request_access_token);
the token itself reaches the applicant on the confirmation page and in the e-mail built at send time.
"""

import re

from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from forms.dynamic import visible_pages
from models import ServiceRequest
from services.access import has_status_link, status_token
from services.accounts import normalise_email
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.events import append_event
from services.formdefs import load_spec
from services.mail import queue_mail
from services.submissions import submit_draft
from services.tokens import request_access_token, token_digest

# Deliberately simple: one @, a dot in the domain, no spaces (the form validates it more strictly).
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
ACCESS_MAIL = "request_access_link"
ACCESS_MAIL_AGAIN = "request_access_link_again"
ACCESS_MAIL_RENEWED = "request_access_link_renewed"
ACCESS_MAIL_IN_ACCOUNT = "request_access_link_in_account"  # no link: the request is in an account
ACCESS_MAIL_ACCOUNT_DELETED = "request_access_link_account_deleted"  # the account went, the request stays


def submit_anonymously(draft, contact_email: str, locale: str = "de", review_stamp: str | None = None):
    """Submit `draft` without an account (flushes; the caller commits).

    Raises PermissionDenied when the service requires login, ValidationFailed for a bad address;
    otherwise like submissions.submit_draft (AlreadySubmitted, ValidationFailed of the answers).
    """
    email = normalise_email(contact_email)
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise ValidationFailed(
            _("Bitte geben Sie eine gültige E-Mail-Adresse ein, z. B. name@beispiel.de."), field="email"
        )
    submitted = submit_draft(draft, None, locale=locale, contact_email=email, review_stamp=review_stamp)
    req = db.session.get(ServiceRequest, submitted.id)  # the ORM row (submit_draft may write with Core)
    req.access_token_hash = token_digest(request_access_token(req.public_id))
    queue_mail(None, ACCESS_MAIL, request=req)
    db.session.flush()
    return req


def contact_email_from_answers(draft) -> str:
    """The first e-mail answer on the draft's visible pages (to prefill the contact address)."""
    spec = load_spec(draft.form_version)
    answers = draft.answers or {}
    for page in visible_pages(spec, answers):
        for field in page.fields:
            value = answers.get(field.key)
            if field.type == "email" and isinstance(value, str) and value.strip():
                return value.strip()
    return ""


def resend_access_link(reference: str, contact_email: str) -> bool:
    """Queue the personal status link again for an anonymous request with this reference and address.

    True when a mail was queued. Callers must not tell the visitor which way it went (else the form
    would reveal which references exist and who filed them).
    """
    reference = (reference or "").strip().upper()
    email = normalise_email(contact_email or "")
    if not reference or not email:
        return False
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    if req is not None and req.applicant is not None:
        # In an account (from the start or taken in later): its link is retired, so the mail says
        # where the request is now, and goes to the account's own address.
        addresses = {normalise_email(req.contact_email or ""), normalise_email(req.applicant.email or "")}
        if email not in addresses:
            return False
        queue_mail(req.applicant, ACCESS_MAIL_IN_ACCOUNT, request=req)
        db.session.flush()
        return True
    if req is None or req.access_token_hash is None or normalise_email(req.contact_email or "") != email:
        return False
    if status_token(req) is None:  # issued under a SECRET_KEY no longer configured: the mail needs a link
        _issue_new_link(req, by="key_rotation")
    queue_mail(None, ACCESS_MAIL_AGAIN, request=req)
    db.session.flush()
    return True


def renew_access_link(req) -> str:
    """Give `req` a new personal status link and retire the old one (flushes; the caller commits).

    For a link shared by mistake: the token's generation counts up, so the old link opens nothing
    any more. The new link goes to the contact address; the returned token lets the browser that
    asked keep its access. Raises PermissionDenied for a request of an account (it has no link).
    """
    if not has_status_link(req):
        raise PermissionDenied(_("Dieser Antrag hat keinen persönlichen Link."))
    token = _issue_new_link(req, by="applicant")
    queue_mail(None, ACCESS_MAIL_RENEWED, request=req)
    db.session.flush()
    return token


def _issue_new_link(req, by: str) -> str:
    """The next generation of the request's status link under the current SECRET_KEY; the old one dies."""
    req.access_link_generation = (req.access_link_generation or 0) + 1
    token = request_access_token(req.public_id, req.access_link_generation)
    req.access_token_hash = token_digest(token)
    append_event(req, "access_link_renewed", data={"by": by}, visible_to_citizen=True)
    return token


# --- taking a request submitted without an account into an account ------------------------------


def claimable_requests(user) -> list[ServiceRequest]:
    """Requests submitted without an account to this user's confirmed e-mail address, newest first.

    Confirming the address proved the user reads that mailbox, which is where the status link of
    each of these requests went: taking them into the account gives nobody access they lacked.
    """
    if user is None or not user.email_confirmed:
        return []
    query = _claimable(user).order_by(ServiceRequest.submitted_at.desc(), ServiceRequest.id.desc())
    return list(db.session.scalars(query))


def _claimable(user):
    return select(ServiceRequest).where(  # ix_service_requests_anonymous_contact
        ServiceRequest.applicant_id.is_(None), ServiceRequest.contact_email == normalise_email(user.email)
    )


def claim_request(user, public_id: str) -> ServiceRequest:
    """Make `user` the applicant of the anonymous request `public_id` (flushes; the caller commits).

    From then on the request is in the user's "Meine Anträge", replies go to the account (inbox and
    its address), and the personal status link no longer opens it. Raises NotFound for a request
    that is not among claimable_requests(user), so nobody learns whether another one exists.
    """
    req = None
    if user.email_confirmed:
        query = _claimable(user).where(ServiceRequest.public_id == public_id).with_for_update()
        req = db.session.scalar(query)
    if req is None:
        raise NotFound(_("Diesen Antrag gibt es nicht oder er gehört nicht zu Ihrer E-Mail-Adresse."))
    req.applicant_id, req.access_token_hash = user.id, None
    append_event(req, "applicant_linked", actor=user, visible_to_citizen=True)
    db.session.flush()
    return req


def release_request(req, user) -> str:
    """Turn `user`'s request into one without an account (flushes; the caller commits).

    The inverse of claim_request, for an account being deleted while the request is still being
    handled: the account's address becomes the contact address and the account's language for
    e-mails the request's own, the request gets a personal status link of a new generation (a link
    retired by an earlier claim stays dead) and the link is mailed there, so the applicant can still
    follow the request and answer questions. An `applicant_unlinked` event enters the history.
    Returns the new token.
    """
    if req.applicant_id != user.id:
        raise NotFound()
    req.applicant_id, req.contact_email = None, normalise_email(user.email)
    req.locale = user.locale or req.locale  # mail without an account is written in the request's language
    req.access_link_generation = (req.access_link_generation or 0) + 1
    token = request_access_token(req.public_id, req.access_link_generation)
    req.access_token_hash = token_digest(token)
    append_event(req, "applicant_unlinked", actor=user, data={"reason": "account_deleted"},
                 visible_to_citizen=True)
    queue_mail(None, ACCESS_MAIL_ACCOUNT_DELETED, request=req)
    db.session.flush()
    return token
