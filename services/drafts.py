"""Drafts: a citizen's unfinished answers for one service, pinned to a form version (account or anonymous)."""

import re
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from extensions import db
from forms.dynamic import FieldError, validate_answers
from models import Attachment, Department, Draft, Service, ServiceRequest
from models.base import utcnow
from services.access import anonymous_draft_expired
from services.catalog import OFFERED, is_offered
from services.errors import AlreadySubmitted, NotFound, ServiceNotOffered
from services.formdefs import latest_version, latest_version_of, load_spec
from services.tokens import token_digest
from services.uploads import draft_attachments, drop_unreferenced, remove_attachment

PUBLIC_ID = re.compile(r"[0-9a-f]{32}")  # models.base.new_public_id


def start_draft(service, user, session_token: str | None = None) -> Draft:
    """Create a draft for `service`, pinned to its newest published form version.

    Without a user it is an anonymous draft bound to the browser session holding `session_token`
    (only the token's hash is stored); it is listed nowhere and expires (see services.sweeper).
    """
    version = latest_version(service)
    if version is None or not is_offered(service):
        raise NotFound()
    if user is None and not session_token:
        raise ValueError("an anonymous draft needs the session's token")
    draft = Draft(
        user_id=user.id if user is not None else None,
        anon_token_hash=token_digest(session_token) if user is None else None,
        service_id=service.id,
        form_version_id=version.id,
        answers=account_answers(load_spec(version), user) if user is not None else {},
    )
    db.session.add(draft)
    db.session.flush()
    return draft


# Lower-case name particles that belong to the family name ("Anna von der Heide").
_NAME_PARTICLES = {"von", "vom", "zu", "zum", "zur", "van", "der", "den", "de", "del", "della", "la", "le",
                   "da", "di", "dos", "du", "ten", "ter", "y"}  # fmt: skip


def _split_name(full_name: str) -> tuple[str, str]:
    """("Erika Maria", "Mustermann"), ("Anna", "von der Heide"): the last word and the particles before
    it are the family name; a bracketed addition ("(geb. Müller)", "(Demo)") is left out. A suggestion only:
    the citizen sees it and can correct it."""
    words = re.sub(r"\s*\(.*\)\s*$", "", full_name or "").split()
    cut = len(words) - 1
    while cut > 1 and words[cut - 1] in _NAME_PARTICLES:
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])


# Definition option "prefill" (text and e-mail fields): which account detail fills the field.
ACCOUNT_PREFILL = {
    "account.full_name": lambda user: " ".join((user.full_name or "").split()),
    "account.given_name": lambda user: _split_name(user.full_name)[0],
    "account.family_name": lambda user: _split_name(user.full_name)[1],
    "account.email": lambda user: user.email or "",
}


def account_answers(spec, user) -> dict:
    """Answers of the fields marked "prefill" taken from `user`'s account, normalised like typed input;
    a detail the field would refuse (too long, wrong format) is left for the citizen to type."""
    answers = {}
    for page in spec.pages:
        for field in page.fields:
            source = ACCOUNT_PREFILL.get(field.get("prefill"))
            raw = source(user) if source is not None else ""
            if not raw:
                continue
            try:
                answers[field.key] = field.ftype.parse(field, raw, "de")
            except FieldError:
                continue
    return answers


def adopt_drafts(session_token: str | None, user) -> list[Draft]:
    """The browser session's unsubmitted anonymous drafts become `user`'s (logged in during the visit).

    Expired ones are left to the sweeper. Returns the adopted drafts.
    """
    if not session_token or user is None:
        return []
    query = select(Draft).where(
        Draft.user_id.is_(None),
        Draft.submitted_at.is_(None),
        Draft.anon_token_hash == token_digest(session_token),
    )
    adopted = [draft for draft in db.session.scalars(query) if not anonymous_draft_expired(draft)]
    for draft in adopted:
        draft.user_id, draft.anon_token_hash = user.id, None
        for attachment in draft_attachments(draft):
            attachment.uploaded_by_id = attachment.uploaded_by_id or user.id
    db.session.flush()
    return adopted


def expired_anonymous_drafts(now=None, limit: int = 500) -> list[Draft]:
    """Unsubmitted anonymous drafts idle for longer than ANONYMOUS_DRAFT_TTL_MINUTES (oldest first).

    Row-locked, skipping rows another sweeper holds (PostgreSQL; SQLite serialises writers anyway).
    """
    ttl = timedelta(minutes=current_app.config["ANONYMOUS_DRAFT_TTL_MINUTES"])
    query = (
        select(Draft)
        .where(
            Draft.user_id.is_(None),
            Draft.submitted_at.is_(None),
            Draft.updated_at < (now or utcnow()) - ttl,
        )
        .order_by(Draft.updated_at, Draft.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(db.session.scalars(query))


def save_answers(draft, answers: dict, page_key: str, posted_page: str | None = None) -> Draft:
    """Store the answers after a page was completed (a new dict, so the JSON column sees the change).

    `posted_page` (default `page_key`) is the page the citizen just sent: input of it remembered by
    save_for_later is forgotten, what they sent now replaces it.
    Raises AlreadySubmitted when the draft became a request meanwhile (e.g. in another tab).
    """
    _lock_unsubmitted(draft)
    draft.answers = dict(answers)
    draft.last_page = page_key
    _remember_unsaved_input(draft, posted_page or page_key, None)
    db.session.flush()
    drop_unreferenced(draft, draft.answers)
    return draft


def save_for_later(
    draft, spec, page, answers: dict, skipped: list, previous_page_key, unsaved_input: dict | None = None
) -> Draft:
    """Store a page left for later ("Speichern und später fortsetzen"): "Fortsetzen" returns to it
    unless it is complete (no input skipped as invalid, no problem left on it).

    The answers stay normalised: a skipped input keeps its saved answer. What the citizen typed there
    (`unsaved_input`, forms.dynamic.extract_partial_answers' `form.unsaved_input`) is remembered
    beside them, in `draft.unsaved_input` by page, until that page is sent again; resuming shows it
    with its error (unsaved_input_of, forms.dynamic.build_resumed_page_form)."""
    complete = not skipped and page.key not in validate_answers(spec, answers)
    save_answers(draft, answers, page.key if complete else previous_page_key, posted_page=page.key)
    _remember_unsaved_input(draft, page.key, unsaved_input if skipped else None)
    db.session.flush()
    return draft


def unsaved_input_of(draft, page_key: str) -> dict:
    """The input of page `page_key` that "Später fortsetzen" could not save ({} when none)."""
    remembered = draft.unsaved_input if isinstance(draft.unsaved_input, dict) else {}
    value = remembered.get(page_key)
    return value if isinstance(value, dict) else {}


def _remember_unsaved_input(draft, page_key: str, inputs: dict | None) -> None:
    remembered = dict(draft.unsaved_input) if isinstance(draft.unsaved_input, dict) else {}
    if inputs:
        remembered[page_key] = inputs
    else:
        remembered.pop(page_key, None)
    draft.unsaved_input = remembered or None  # a new dict (or None), so the JSON column sees the change


def upgrade_draft(draft) -> Draft:
    """Move a draft to its service's newest form version (answers of unknown fields are dropped later)."""
    version = latest_version(draft.service)
    if version is not None:
        if version.id != draft.form_version_id:
            draft.unsaved_input = None  # named after the old version's inputs
        draft.form_version_id = version.id
        draft.form_version = version
        db.session.flush()
    return draft


def needs_upgrade(draft) -> bool:
    """True when the form requires its newest version and the draft is pinned to an older one."""
    definition = draft.form_version.definition
    if not definition.require_latest:
        return False
    latest = latest_version_of(definition)
    return latest is not None and latest.id != draft.form_version_id


def remove_draft_file(draft, attachment_public_id: str) -> bool:
    """Remove one uploaded file from the draft (row, file, answer entry); False if it is already gone.

    Raises AlreadySubmitted when the draft became a request meanwhile: its files are the request's.
    """
    _lock_unsubmitted(draft)
    attachment = None
    if isinstance(attachment_public_id, str) and PUBLIC_ID.fullmatch(attachment_public_id):
        query = select(Attachment).where(Attachment.public_id == attachment_public_id)
        query = query.where(Attachment.draft_id == draft.id, Attachment.request_id.is_(None))
        attachment = db.session.scalar(query)
    if attachment is None:
        return False  # a repeated click on "Entfernen": nothing left to do
    draft.answers = _without_file(draft.answers, attachment_public_id)
    remove_attachment(attachment)
    return True


def _lock_unsubmitted(draft) -> None:
    """Row-lock the draft and re-read submitted_at, as the submit does (services.submissions).

    A submit holding the lock finishes first; one that won meanwhile raises AlreadySubmitted, so
    a change from a second tab never touches what already belongs to the request. A draft whose
    service is no longer offered online raises ServiceNotOffered: it stays as it was saved.
    """
    stmt = (
        select(Draft.submitted_at, OFFERED)
        .join(Service, Service.id == Draft.service_id)
        .join(Department, Department.id == Service.department_id)
        .where(Draft.id == draft.id)
        .with_for_update(of=Draft)
    )
    row = db.session.execute(stmt).one_or_none()
    if row is None:
        return  # a draft not yet written: nothing to lock or re-read
    submitted_at, offered = row
    if submitted_at is not None:
        message = _("Dieser Antrag wurde bereits abgesendet. Ihre Änderung wurde nicht gespeichert.")
        raise AlreadySubmitted(message)
    if not offered:
        message = _("Diese Leistung wird derzeit nicht online angeboten. Ihre Änderung wurde nicht "
                    "gespeichert; was Sie vorher gespeichert hatten, bleibt erhalten.")
        raise ServiceNotOffered(message)


def count_open_drafts(service) -> int:
    """How many unsubmitted drafts (with or without an account) there are for `service`."""
    query = select(func.count(Draft.id)).where(Draft.service_id == service.id, Draft.submitted_at.is_(None))
    return db.session.scalar(query)


def discard_draft(draft) -> None:
    """Delete a draft together with its uploaded files (files that moved to a request stay)."""
    for attachment in draft_attachments(draft):
        remove_attachment(attachment)
    db.session.delete(draft)
    db.session.flush()


def drafts_of(user) -> list[Draft]:
    """The user's unsubmitted drafts, most recently changed first, with service and department loaded."""
    query = select(Draft).where(Draft.user_id == user.id, Draft.submitted_at.is_(None))
    query = query.options(joinedload(Draft.service).joinedload(Service.department))
    return list(db.session.scalars(query.order_by(Draft.updated_at.desc(), Draft.id.desc())))


def requests_of(user) -> list[ServiceRequest]:
    """The user's submitted requests, newest first."""
    query = select(ServiceRequest).where(ServiceRequest.applicant_id == user.id)
    query = query.order_by(ServiceRequest.submitted_at.desc(), ServiceRequest.id.desc())
    return list(db.session.scalars(query))


def _without_file(value, public_id: str):
    """A copy of an answers tree without the file entry `public_id` (wherever it is nested)."""
    if isinstance(value, dict):
        return {key: _without_file(item, public_id) for key, item in value.items()}
    if isinstance(value, list):
        return [
            _without_file(item, public_id)
            for item in value
            if not (isinstance(item, dict) and item.get("id") == public_id and "sha256" in item)
        ]
    return value
