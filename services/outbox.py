"""Record work to do after commit (render a notice, send an email) in the same transaction."""

from flask_babel import gettext as _

from extensions import db
from models import OutboxJob
from services import outbox_dispatch
from services.errors import ValidationFailed


def record_job(kind: str, payload: dict | None = None, request=None) -> OutboxJob:
    """Add an outbox row; it is handed to RQ after commit (and by the relay if that fails).

    `payload` holds ids only: never personal data (it ends up in Redis).
    """
    outbox_dispatch.install()
    job = OutboxJob(kind=kind, payload=payload or {}, request_id=request.id if request is not None else None)
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(outbox_dispatch.INFO_KEY, []).append(job.id)
    return job


def retry_job(job: OutboxJob) -> OutboxJob:
    """Give a failed (or stuck) row a fresh set of attempts; it is re-sent after commit."""
    from models import OutboxState
    from models.base import utcnow

    if job.state == OutboxState.DONE:
        raise ValidationFailed(_("Der Auftrag ist bereits erledigt."))
    job.state, job.attempts, job.available_at, job.finished_at = OutboxState.PENDING, 0, utcnow(), None
    db.session.flush()
    outbox_dispatch.install()
    db.session.info.setdefault(outbox_dispatch.INFO_KEY, []).append(job.id)
    return job
