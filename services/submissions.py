"""Submitting a draft: one transaction that writes the request, its first event and its outbox work."""

import secrets

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from extensions import db
from forms.dynamic import compute_values, validate_answers
from models import Draft, FormDefinition, FormVersion, Service, ServiceRequest
from models.base import utcnow
from services.accounts import require_confirmed
from services.drafts import needs_upgrade
from services.errors import AlreadySubmitted, PermissionDenied, ValidationFailed
from services.events import GENESIS, append_event
from services.formdefs import load_spec
from services.notices import request_notice
from services.references import next_reference
from services.uploads import drop_unreferenced
from services.workflow.engine import prepare_start

INITIAL_STATE = "submitted"  # replaced by the workflow's initial state (prepare_start)


def submit_draft(draft, actor, locale: str = "de", contact_email: str | None = None) -> ServiceRequest:
    """Turn `draft` into a ServiceRequest (flushes; the caller commits once).

    Idempotent together with the unique ServiceRequest.draft_id: the draft row is locked, and a
    draft that already became a request raises AlreadySubmitted carrying that request.
    `actor` None is an anonymous submission (services.anonymous.submit_anonymously): only for a
    service without login_required, and replies go to `contact_email`.
    """
    if actor is not None:
        require_confirmed(actor)
    _lock_draft(draft)
    if draft.submitted_at is not None:
        raise AlreadySubmitted(request=request_for_draft(draft))
    if actor is None and (draft.service.login_required or not contact_email):
        raise PermissionDenied(_("Bitte melden Sie sich an, um diesen Antrag abzusenden."))
    answers, computed = _checked_answers(draft)
    req = ServiceRequest(
        reference=f"pending-{secrets.token_hex(12)}",  # the real number is drawn last, see below
        service=draft.service,
        service_id=draft.service_id,
        form_version_id=draft.form_version_id,
        applicant_id=actor.id if actor is not None else None,
        applicant_name=applicant_name(answers, actor),
        contact_email=contact_email,
        draft_id=draft.id,
        answers=answers,
        computed=computed,
        locale=locale,
        state=INITIAL_STATE,
        submitted_at=utcnow(),
        department_id=draft.service.department_id,
        last_event_seq=0,
        last_event_hash=GENESIS,
    )
    routed = prepare_start(req)  # workflow, state, department, due date: all in the one INSERT
    db.session.add(req)
    with db.session.no_autoflush:  # the request is inserted by its first event (append_event)
        _move_attachments(draft, req, answers)
    draft.submitted_at = req.submitted_at
    append_event(req, "submitted", actor, data=_event_data(req), visible_to_citizen=True)
    append_event(req, "routed", actor, routed)
    request_notice(req, "receipt")  # flushes the request's UPDATE, its events and the notice
    # Drawn last: the counter row stays locked until the commit and serialises every submission,
    # so only the number's UPDATE and one flush (the reference, the outbox row) happen while it is held.
    req.reference = next_reference()
    db.session.flush()
    return req


def request_for_draft(draft) -> ServiceRequest | None:
    """The request a draft became, if any."""
    return db.session.scalar(select(ServiceRequest).where(ServiceRequest.draft_id == draft.id))


def applicant_name(answers: dict, user) -> str:
    """The applicant's name from the usual name fields of the answers, else the account name (if any)."""
    for first, last in (("vorname", "nachname"), ("vorname", "familienname"), ("first_name", "last_name")):
        parts = [str(answers.get(first) or "").strip(), str(answers.get(last) or "").strip()]
        if all(parts):
            return " ".join(parts)[:200]
    name = answers.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:200]
    return (user.full_name if user is not None else "")[:200]


def lock_draft(public_id: str) -> Draft | None:
    """The draft with this public id, row-locked for submitting it (None if there is none).

    For the submit view: loading and locking in one query means submit_draft need not re-read it.
    The caller checks ownership; the lock ends with the transaction.
    """
    draft = db.session.execute(_lock_query(Draft.public_id == public_id)).scalar_one_or_none()
    if draft is not None:
        db.session.info[_LOCKED_KEY] = (db.session().get_transaction(), draft.id)
    return draft


_LOCKED_KEY = "submissions_locked_draft"


def _lock_draft(draft) -> None:
    """Serialise concurrent submits of one draft (row lock on PostgreSQL; SQLite serialises writers).

    Re-reads the row (a submit that waited sees the winner's submitted_at) and, in the same query,
    the form version, its definition and the service the submission needs. Skipped when lock_draft
    already did exactly that in the current transaction.
    """
    locked = db.session.info.get(_LOCKED_KEY)
    if locked is not None and draft.id is not None and locked == (db.session().get_transaction(), draft.id):
        return
    if draft.id is None:
        db.session.flush()  # a draft added but not yet written
    db.session.execute(_lock_query(Draft.id == draft.id)).one()  # fetched: only then the re-read applies


def _lock_query(where):
    return (
        select(Draft)
        .where(where)
        .options(
            # The documents stay unloaded: load_spec caches parsed versions by (id, checksum).
            joinedload(Draft.form_version, innerjoin=True)
            .defer(FormVersion.document)
            .joinedload(FormVersion.definition, innerjoin=True)
            .defer(FormDefinition.draft),
            joinedload(Draft.service, innerjoin=True).joinedload(Service.department, innerjoin=True),
        )
        .with_for_update(of=Draft)
        .execution_options(populate_existing=True)
    )


def _checked_answers(draft) -> tuple[dict, dict]:
    if needs_upgrade(draft):
        message = _("Das Formular wurde inzwischen geändert. Bitte prüfen Sie Ihre Angaben erneut.")
        raise ValidationFailed(message, outdated=True)
    spec = load_spec(draft.form_version)
    answers = dict(draft.answers or {})
    errors = validate_answers(spec, answers)
    if errors:
        message = _("Einige Angaben fehlen oder sind ungültig. Bitte vervollständigen Sie sie.")
        raise ValidationFailed(message, errors=errors)
    return answers, compute_values(spec, answers)


def _move_attachments(draft, req, answers: dict) -> None:
    """Files named in the answers move to the request; files of fields that ended up hidden are dropped."""
    for attachment in drop_unreferenced(draft, answers):
        attachment.request = req


def _event_data(req) -> dict:
    return {"form_version_id": req.form_version_id, "service_id": req.service_id}
