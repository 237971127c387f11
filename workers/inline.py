"""Run outbox jobs in this process: for tests, `flask outbox run-once` and debugging."""

from sqlalchemy import select

from extensions import db
from models import OutboxJob, OutboxState
from models.base import utcnow
from workers.registry import resolve


def run_outbox_job(job_id: int) -> None:
    """Execute one outbox row now and mark it done (exceptions propagate to the caller)."""
    job = db.session.get(OutboxJob, job_id)
    if job is None or job.state == OutboxState.DONE:
        return
    resolve(job.kind)(dict(job.payload))
    job = db.session.get(OutboxJob, job_id)
    job.state, job.finished_at = OutboxState.DONE, utcnow()
    db.session.commit()


def run_pending_jobs(limit: int = 1000) -> int:
    """Run every not-yet-done outbox row in id order; returns how many ran."""
    ids = db.session.scalars(
        select(OutboxJob.id)
        .where(OutboxJob.state.in_([OutboxState.PENDING, OutboxState.ENQUEUED]))
        .order_by(OutboxJob.id)
        .limit(limit)
    ).all()
    for job_id in ids:
        run_outbox_job(job_id)
    return len(ids)
