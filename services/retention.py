"""Retention periods (Aufbewahrungsfristen): closed requests are deleted once their service's period is over.

A request is due when it is closed (`closed_at` set) and `closed_at` + `Service.retention_years`
calendar years lies before now. Open requests are never due, whatever their age.

`purge_request` deletes the request and everything that hangs off it (every foreign key to
`service_requests`: events, messages and the files sent with them, attachments and their files,
notices and their PDFs, Postfach entries, outbox rows, four-eyes proposals; and the submitted
draft with its own files). Files go once the deletion is committed, as with every removed upload
(services.uploads: after a rollback they stay). What stays is a `RetentionDeletion` row without
personal data: reference, service, department, dates, counts and the chain head the history had,
so `flask audit verify` can show that the chain ended by a retention deletion.

A request whose history no longer verifies is not deleted (RetentionRefused): deleting it would
destroy the evidence of tampering; the operator sees it in the command's output and in the audit.

Flushes; the caller commits. Run daily by `flask retention purge`.
"""

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, delete, distinct, func, or_, select, update

from extensions import db
from models import (
    ApprovalProposal,
    Attachment,
    Draft,
    InboxItem,
    Message,
    Notice,
    OutboxJob,
    RequestEvent,
    RetentionDeletion,
    Service,
    ServiceRequest,
)
from models.base import utcnow
from services.access import check_case_worker
from services.drafts import discard_draft
from services.errors import DomainError, ValidationFailed
from services.events import append_event
from services.notices.files import notice_dir
from services.tx import check_row_version
from services.uploads import draft_attachments, remove_attachment
from services.workflow.audit import verify_request_chain

MIN_YEARS, MAX_YEARS = 1, 30
DEFAULT_YEARS = 10


class RetentionRefused(DomainError):
    """The request may not be deleted (not closed, period not over, or its history is broken)."""


def years_before(moment: datetime, years: int) -> datetime:
    """`moment` minus whole calendar years (29 February becomes 28 February)."""
    return _shift_years(moment, -years)


def retention_ends(req) -> datetime | None:
    """When the request's retention period ends (None while it is open)."""
    if req.closed_at is None:
        return None
    return _shift_years(req.closed_at, req.service.retention_years)


def _shift_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year without one
        return moment.replace(year=moment.year + years, day=28)


def _due_condition(now: datetime):
    periods = db.session.scalars(select(distinct(Service.retention_years))).all()
    if not periods:
        return None
    return and_(
        ServiceRequest.closed_at.is_not(None),
        ServiceRequest.retention_hold_reason.is_(None),  # kept longer on purpose (hold_request)
        or_(
            *(
                and_(Service.retention_years == years, ServiceRequest.closed_at < years_before(now, years))
                for years in sorted(periods)
            )
        ),
    )


def due_for_deletion(
    now: datetime | None = None, limit: int | None = None, lock: bool = False
) -> list[ServiceRequest]:
    """Closed requests whose retention period is over at `now`, longest closed first.

    `lock`: on PostgreSQL lock them, skipping rows another purge holds (two runs never collide)."""
    condition = _due_condition(now or utcnow())
    if condition is None:
        return []
    query = (
        select(ServiceRequest)
        .join(Service, Service.id == ServiceRequest.service_id)
        .where(condition)
        .order_by(ServiceRequest.closed_at, ServiceRequest.id)
    )
    if limit is not None:
        query = query.limit(limit)
    if lock:
        query = query.with_for_update(skip_locked=True, of=ServiceRequest)
    return list(db.session.scalars(query))


@dataclass
class PurgeReport:
    deleted: list[RetentionDeletion] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (reference, reason)
    files: int = 0  # attachment and notice files that go with the commit


def purge_due(now: datetime | None = None, limit: int | None = None) -> PurgeReport:
    """Delete every request due at `now` (at most `limit`); refused ones are reported, not raised."""
    now = now or utcnow()
    report = PurgeReport()
    for req in due_for_deletion(now, limit, lock=True):
        try:  # refused before anything is changed: the transaction goes on with the next one
            record = purge_request(req, now)
        except RetentionRefused as exc:
            report.refused.append((req.reference, str(exc)))
            continue
        report.deleted.append(record)
        report.files += record.counts.get("files", 0)
    return report


def purge_request(req, now: datetime | None = None) -> RetentionDeletion:
    """Delete a closed request whose retention period is over, with everything hanging off it.

    Returns the RetentionDeletion left in its place. Raises RetentionRefused when the request is
    not closed, its period is not over at `now`, or its event chain does not verify."""
    now = now or utcnow()
    ends = retention_ends(req)
    if ends is None:
        raise RetentionRefused("Antrag ist nicht abgeschlossen")
    if ends > now:
        raise RetentionRefused(f"Aufbewahrungsfrist läuft bis {ends:%Y-%m-%d}")
    if req.retention_hold_reason is not None:
        raise RetentionRefused("Aufbewahrung verlängert: " + req.retention_hold_reason)
    broken = verify_request_chain(req.id)
    if broken is not None:
        raise RetentionRefused(f"Verlauf nicht intakt (Eintrag {broken.seq}: {broken.reason})")

    request_id = req.id
    head = db.session.execute(
        select(RequestEvent.seq, RequestEvent.hash)
        .where(RequestEvent.request_id == request_id)
        .order_by(RequestEvent.seq.desc())
        .limit(1)
    ).one()
    counts = {"files": 0}
    record = RetentionDeletion(
        request_id=request_id,
        reference=req.reference,
        service_id=req.service_id,
        department_id=req.department_id,
        retention_years=req.service.retention_years,
        submitted_at=req.submitted_at,
        closed_at=req.closed_at,
        deleted_at=now,
        event_count=_count(RequestEvent, RequestEvent.request_id == request_id),
        final_seq=head.seq,
        final_hash=head.hash,
    )

    # Uploaded files: those of the request and those sent with its messages.
    message_ids = select(Message.id).where(Message.request_id == request_id)
    attachments = db.session.scalars(
        select(Attachment).where(
            or_(Attachment.request_id == request_id, Attachment.message_id.in_(message_ids))
        )
    ).all()
    for attachment in attachments:
        remove_attachment(attachment)  # its file goes with the commit
    counts["attachments"] = len(attachments)
    counts["files"] += len(attachments)

    # Issued notices: the PDFs go with the commit, like uploads (services.uploads' after-commit hook).
    files = db.session.scalars(
        select(Notice.file_name).where(Notice.request_id == request_id, Notice.file_name.is_not(None))
    ).all()
    if files:
        folder = notice_dir()
        db.session.info.setdefault("uploads_to_delete", []).extend(str(folder / name) for name in files)
    counts["notice_files"] = len(files)
    counts["files"] += len(files)

    draft_id = req.draft_id
    db.session.execute(update(Message).where(Message.request_id == request_id).values(in_reply_to_id=None))
    for model in (RequestEvent, Message, Notice, InboxItem, OutboxJob, ApprovalProposal):
        result = db.session.execute(delete(model).where(model.request_id == request_id))
        counts[model.__tablename__] = result.rowcount
    db.session.expunge(req)
    db.session.execute(delete(ServiceRequest).where(ServiceRequest.id == request_id))
    if draft_id is not None:
        draft = db.session.get(Draft, draft_id)
        if draft is not None:  # the submitted answers, and files left only on the draft (replaced ones)
            counts["files"] += len(draft_attachments(draft))
            discard_draft(draft)
            counts["drafts"] = 1
    db.session.add(record)
    record.counts = counts
    db.session.flush()
    return record


def _count(model, condition) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(condition))


def deletions_count() -> int:
    return _count(RetentionDeletion, RetentionDeletion.id.is_not(None))


# --- keeping a request longer (an objection, a lawsuit) ----------------------------------------


def hold_request(req, actor, reason: str, expected_row_version: int) -> None:
    """Keep `req` beyond its retention period until the hold is lifted (staff of its department).

    Recorded in its history (staff only); the purge neither lists nor deletes a held request."""
    check_case_worker(actor, req)
    check_row_version(req, expected_row_version)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Bitte geben Sie an, warum der Antrag länger aufbewahrt werden muss."),
                               field="reason")
    req.retention_hold_reason = reason[:2000]
    append_event(req, "retention_hold", actor=actor, data={"reason": req.retention_hold_reason})


def lift_hold(req, actor, expected_row_version: int) -> None:
    """End a hold: the request is deleted once its retention period is over (maybe at the next purge)."""
    check_case_worker(actor, req)
    check_row_version(req, expected_row_version)
    if req.retention_hold_reason is None:
        raise ValidationFailed(_("Für diesen Antrag ist keine längere Aufbewahrung eingetragen."))
    req.retention_hold_reason = None
    append_event(req, "retention_hold_lifted", actor=actor, data={})
