"""Record work to do after commit (render a notice, send an email) in the same transaction."""

from extensions import db
from models import OutboxJob


def record_job(kind: str, payload: dict | None = None, request=None) -> OutboxJob:
    """Add an outbox row; it is handed to RQ after commit (and by the relay if that fails).

    `payload` holds ids only: never personal data (it ends up in Redis).
    """
    job = OutboxJob(kind=kind, payload=payload or {}, request_id=request.id if request is not None else None)
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault("outbox_new", []).append(job.id)
    return job
