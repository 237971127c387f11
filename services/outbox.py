"""Record work to do after commit (render a notice, send an email) in the same transaction."""

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from extensions import db
from models import OutboxJob, OutboxState
from models.base import utcnow
from services import outbox_dispatch
from services.errors import ValidationFailed


def record_job(kind: str, payload: dict | None = None, request=None) -> OutboxJob:
    """Add an outbox row; it is handed to RQ after commit (and by the relay if that fails).

    `payload` holds ids only: never personal data (it ends up in Redis).
    """
    job = OutboxJob(kind=kind, payload=payload or {}, request_id=request.id if request is not None else None)
    db.session.add(job)  # written by the caller's next flush (at the latest the commit's)
    outbox_dispatch.note_for_dispatch(db.session, job)
    return job


_INSERT_JOB = OutboxJob.__table__.insert().returning(OutboxJob.__table__.c.id)


def insert_job(kind: str, payload: dict, request_id: int | None = None) -> int:
    """record_job for write paths without ORM objects (the submit): one INSERT now, the id noted alike."""
    job_id = db.session.connection().execute(_INSERT_JOB, new_job_row(kind, payload, request_id)).scalar_one()
    outbox_dispatch.note_for_dispatch(db.session, job_id)
    return job_id


def new_job_row(kind: str, payload: dict, request_id: int | None = None, now=None) -> dict:
    """Every column of a new pending row but its id (a statement that writes it directly, e.g. the
    submit's single PostgreSQL statement; the writer then calls outbox_dispatch.note_for_dispatch)."""
    now = now or utcnow()
    return {
        "kind": kind, "payload": payload, "request_id": request_id, "state": OutboxState.PENDING,
        "attempts": 0, "last_error": "", "created_at": now, "available_at": now,
    }


def retry_job(job: OutboxJob) -> OutboxJob:
    """Give a failed (or stuck) row a fresh set of attempts; it is re-sent after commit."""
    if job.state == OutboxState.DONE:
        raise ValidationFailed(_("Der Auftrag ist bereits erledigt."))
    job.state, job.attempts, job.available_at, job.finished_at = OutboxState.PENDING, 0, utcnow(), None
    db.session.flush()
    outbox_dispatch.note_for_dispatch(db.session, job.id)
    return job


STUCK_AFTER = timedelta(minutes=10)  # a healthy row is done within seconds; this is generous


def outbox_state_counts() -> dict[str, int]:
    """Number of outbox rows per state (every state present, zero included)."""
    rows = db.session.execute(select(OutboxJob.state, func.count()).group_by(OutboxJob.state)).all()
    counts = {state.value: 0 for state in OutboxState}
    counts.update(dict(rows))
    return counts


# The relay hands a new row over within ~0.1 s (decision 0011) and a worker starts it moments later:
# a row still `pending` after this long means no relay (or, on SQLite, no worker) is running.
WAITING_TOO_LONG = timedelta(minutes=1)


def oldest_pending_since():
    """When the oldest row that is still `pending` was created; None when no row waits."""
    return db.session.scalar(
        select(func.min(OutboxJob.created_at)).where(OutboxJob.state == OutboxState.PENDING)
    )


def pending_too_long(since) -> bool:
    return since is not None and utcnow() - since > WAITING_TOO_LONG


def list_problem_jobs(limit: int = 200) -> list[OutboxJob]:
    """Failed rows, and open rows older than STUCK_AFTER (newest first) — the ops page's list."""
    stuck = (OutboxJob.state.in_([OutboxState.PENDING, OutboxState.ENQUEUED])) & (
        OutboxJob.created_at < utcnow() - STUCK_AFTER
    )
    stmt = (
        select(OutboxJob)
        .where((OutboxJob.state == OutboxState.FAILED) | stuck)
        .order_by(OutboxJob.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))
