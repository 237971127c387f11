"""Submitting a draft: one transaction that writes the request, its first events and its outbox work.

The hottest write path of the platform, so it writes with plain INSERT/UPDATE statements instead of
ORM objects (the unit of work cost ~10 ms of CPU per submission) and takes the workflow and routing
rules from a per-process cache (services.workflow.start_plan). It records exactly what the ORM path
(engine.start_request, events.append_event, notices.request_notice) records for a request.
"""

import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from forms.dynamic import compute_values, validate_answers
from models import (
    Attachment,
    Draft,
    FormDefinition,
    FormVersion,
    NoticeKind,
    RequestEvent,
    Service,
    ServiceRequest,
)
from models.base import new_public_id, utcnow
from services import config_generation
from services.accounts import require_confirmed
from services.drafts import needs_upgrade
from services.errors import AlreadySubmitted, PermissionDenied, ValidationFailed
from services.events import GENESIS, first_event_rows
from services.formdefs import load_spec_for
from services.notices import insert_first_notice
from services.references import next_reference
from services.uploads import drop_unreferenced
from services.workflow.deadlines import due_at_for
from services.workflow.start_plan import start_plan


@dataclass(frozen=True)
class Submitted:
    """The new request's identifiers; `.request` loads the ORM object when a caller needs more."""

    id: int
    public_id: str
    reference: str

    @property
    def request(self) -> ServiceRequest:
        return db.session.get(ServiceRequest, self.id)


def submit_draft(draft, actor, locale: str = "de", contact_email: str | None = None) -> Submitted:
    """Turn `draft` into a ServiceRequest (writes; the caller commits once).

    Idempotent together with the unique ServiceRequest.draft_id: the draft row is locked, and a
    draft that already became a request raises AlreadySubmitted carrying that request.
    `actor` None is an anonymous submission (services.anonymous.submit_anonymously): only for a
    service without login_required, and replies go to `contact_email`.
    """
    if actor is not None:
        require_confirmed(actor)
    locked = _lock_draft(draft)
    if draft.submitted_at is not None:
        raise AlreadySubmitted(request=request_for_draft(draft))
    if actor is None and (locked.login_required or not contact_email):
        raise PermissionDenied(_("Bitte melden Sie sich an, um diesen Antrag abzusenden."))
    answers, computed = _checked_answers(draft, locked)
    service_id = draft.service_id
    plan = start_plan(service_id, locked.config_token)
    department_id, rule = plan.route(answers, locked.department_id)
    now, actor_id = utcnow(), (actor.id if actor is not None else None)

    # Core statements built once (below) on the session's connection: neither the ORM layer of
    # session.execute nor building and cache-keying a statement per call is needed here.
    conn = db.session.connection()
    conn.execute(_MARK_SUBMITTED, {"draft_id": draft.id, "now": now})
    set_committed_value(draft, "submitted_at", now)
    public_id = new_public_id()
    request_id = conn.execute(
        _INSERT_REQUEST,
        {
            "public_id": public_id,
            "reference": f"pending-{secrets.token_hex(12)}",  # the real number is drawn last, see below
            "service_id": service_id,
            "form_version_id": draft.form_version_id,
            "workflow_version_id": plan.workflow_version_id,
            "applicant_id": actor_id,
            "applicant_name": applicant_name(answers, actor),
            "contact_email": contact_email,
            "draft_id": draft.id,
            "answers": answers,
            "computed": computed,
            "locale": locale,
            "state": plan.initial_state,
            "department_id": department_id,
            "submitted_at": now,
            "due_at": due_at_for(now, locked.processing_days),
            "clock_paused_at": now if plan.initial_kind == "waiting_for_citizen" else None,
            "row_version": 1,
            "last_event_seq": 0,
            "last_event_hash": GENESIS,
        },
    ).scalar_one()
    if locked.has_attachments:
        _move_attachments(draft, request_id, answers)
    submitted = {"form_version_id": draft.form_version_id, "service_id": service_id}
    events = first_event_rows(
        request_id,
        [
            ("submitted", actor_id, submitted, True),
            ("routed", actor_id, plan.routed_event_data(department_id, rule), False),
        ],
        now,
    )
    conn.execute(_INSERT_EVENTS, events)
    insert_first_notice(request_id, NoticeKind.RECEIPT)
    # Drawn last: the counter row stays locked until the commit and serialises every submission,
    # so only the number's UPDATE and the request's UPDATE happen while it is held (docs/decisions/0006).
    reference = next_reference(now)
    conn.execute(
        _SET_REFERENCE,
        {"request_id": request_id, "new_reference": reference, "head_seq": len(events),
         "head_hash": events[-1]["hash"]},
    )
    return Submitted(request_id, public_id, reference)


_drafts, _requests = Draft.__table__, ServiceRequest.__table__
_MARK_SUBMITTED = (
    update(_drafts)
    .where(_drafts.c.id == bindparam("draft_id"))
    .values(submitted_at=bindparam("now"), updated_at=bindparam("now"))
)
_INSERT_REQUEST = insert(_requests).returning(_requests.c.id)
_INSERT_EVENTS = insert(RequestEvent.__table__)
_SET_REFERENCE = (
    update(_requests)
    .where(_requests.c.id == bindparam("request_id"))
    .values(
        reference=bindparam("new_reference"),
        last_event_seq=bindparam("head_seq"),
        last_event_hash=bindparam("head_hash"),
    )
)


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


@dataclass(frozen=True)
class _Locked:
    """What the submit needs besides the draft row, read by the same locking query."""

    config_token: str | None  # services.config_generation
    has_attachments: bool
    login_required: bool  # the service's
    department_id: int  # the service's own department (routing's default)
    processing_days: int
    form_checksum: str  # with draft.form_version_id the key of the cached form spec
    require_latest: bool  # the form definition's


def lock_draft(public_id: str) -> Draft | None:
    """The draft with this public id, row-locked for submitting it (None if there is none).

    For the submit view: loading and locking in one query means submit_draft need not re-read it.
    The caller checks ownership; the lock ends with the transaction.
    """
    row = db.session.execute(_LOCK_BY_PUBLIC_ID, {"public_id": public_id}).one_or_none()
    if row is None:
        return None
    draft = row[0]
    db.session.info[_LOCKED_KEY] = (db.session().get_transaction(), draft.id, _Locked(*row[1:]))
    return draft


_LOCKED_KEY = "submissions_locked_draft"


def _lock_draft(draft) -> _Locked:
    """Serialise concurrent submits of one draft (row lock on PostgreSQL; SQLite serialises writers).

    Re-reads the row (a submit that waited sees the winner's submitted_at) and, in the same query,
    the form version, its definition, the service, the configuration token and whether files are
    attached. Skipped when lock_draft already did exactly that in the current transaction.
    """
    locked = db.session.info.get(_LOCKED_KEY)
    current = (db.session().get_transaction(), draft.id)
    if locked is not None and draft.id is not None and locked[:2] == current:
        return locked[2]
    if draft.id is None:
        db.session.flush()  # a draft added but not yet written
    row = db.session.execute(_LOCK_BY_ID, {"draft_id": draft.id}).one()  # fetched: then the re-read applies
    return _Locked(*row[1:])


def _lock_query(where):
    # One ORM entity and plain columns: loading the service, form version and definition as
    # objects cost more than the rest of the query (they load lazily where a rare path needs them).
    # Built once per key (below): building and cache-keying the statement per call cost ~0.2 ms.
    return (
        select(
            Draft,
            config_generation.token_column(),
            exists().where(Attachment.draft_id == Draft.id).label("has_attachments"),
            Service.login_required,
            Service.department_id,
            Service.processing_days,
            FormVersion.checksum,
            FormDefinition.require_latest,
        )
        .join(Service, Service.id == Draft.service_id)
        .join(FormVersion, FormVersion.id == Draft.form_version_id)
        .join(FormDefinition, FormDefinition.id == FormVersion.definition_id)
        .where(where)
        .with_for_update(of=Draft)
        .execution_options(populate_existing=True)
    )


_LOCK_BY_PUBLIC_ID = _lock_query(Draft.public_id == bindparam("public_id"))
_LOCK_BY_ID = _lock_query(Draft.id == bindparam("draft_id"))


def _checked_answers(draft, locked: _Locked) -> tuple[dict, dict]:
    if locked.require_latest and needs_upgrade(draft):
        message = _("Das Formular wurde inzwischen geändert. Bitte prüfen Sie Ihre Angaben erneut.")
        raise ValidationFailed(message, outdated=True)
    spec = load_spec_for(draft.form_version_id, locked.form_checksum)
    answers = dict(draft.answers or {})
    errors = validate_answers(spec, answers)
    if errors:
        message = _("Einige Angaben fehlen oder sind ungültig. Bitte vervollständigen Sie sie.")
        raise ValidationFailed(message, errors=errors)
    return answers, compute_values(spec, answers)


def _move_attachments(draft, request_id: int, answers: dict) -> None:
    """Files named in the answers move to the request; files of fields that ended up hidden are dropped."""
    for attachment in drop_unreferenced(draft, answers):
        attachment.request_id = request_id
    db.session.flush()
